// cert-manager: the chart that issues every TLS certificate of the platform, the ClusterIssuers every
// Certificate refers to (Let's Encrypt through HTTP-01, one per ingress class that answers challenges, or
// a self-signed CA of the cluster's own, as config declares them). The chart installs its own CRDs, so the components that write Certificates are
// synced after it. Its PodMonitor is kube-prometheus-stack's (see `metrics`): the stack's endpoints need
// cert-manager first, so a monitor here would make each wait for the other.
import { Construct } from 'constructs';
import { ACME_SERVERS, AcmeIssuer, CaIssuer, http01Solver, IssuerConfig, isCaIssuer, Section } from '../lib/config';
import { Exposure, GatewayExposure } from '../lib/exposure';
import { HelmComponent } from '../lib/component';
import { ClusterSize, requests } from '../lib/sizing';
import { CertManagerValues } from '../lib/helm-values';
import { ClusterIssuerRef } from '../lib/tls-endpoint';
import { Certificate, CertificateSpecPrivateKeyAlgorithm, ClusterIssuer } from '../imports/cert-manager.io';

export interface CertManagerProps {
  readonly config: Section<'certManager'>;
  /** Where the controller and the ACME solver pods may run. */
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** How large the component runs (config `cluster.size`). @default 'standard' */
  readonly size?: ClusterSize;
  /**
   * The environment's exposure: with a Gateway, issuers may solve HTTP-01 through HTTPRoutes on it
   * (config `http01GatewayHTTPRoute`), and the controller watches the Gateway API.
   * @default - an Ingress exposure: issuers solve through ingress classes only
   */
  readonly exposure?: Exposure;
}

/** Pods that serve Prometheus metrics, for a monitor that lives elsewhere. */
export interface MetricsPods {
  readonly namespace: string;
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly port: number;
  readonly path: string;
}

/** The controller's pods, which its PodMonitor selects. */
const CONTROLLER_LABELS = { 'app.kubernetes.io/name': 'cert-manager' } as const;

export class CertManagerChart extends HelmComponent<CertManagerValues> {
  /** The controller's metrics endpoint. */
  public readonly metrics: MetricsPods;
  private readonly issuers = new Map<string, ClusterIssuerRef>();

  constructor(scope: Construct, props: CertManagerProps) {
    const { config } = props;
    super(scope, 'cert-manager', {
      namespace: config.namespace,
      source: { chartKey: 'cert-manager', chartVersion: config.chartVersion },
      values: {
        // The guide's `--set installCRDs=true`, under its current name: the chart deprecated installCRDs
        // for crds.enabled. (Its cert-manager.crd-check template, which would refuse both at once, is
        // defined but not included by v1.21.1: nothing but this value stops the deprecated one.)
        // keep=true: removing the Application must not delete the CRDs and with them every certificate.
        crds: { enabled: true, keep: true },
        nodeSelector: { ...props.nodeSelector },
        // The chart's default lease namespace is kube-system, which is outside the platform's project (and,
        // on AKS, a namespace the provider manages): Argo CD would refuse the whole sync. The controller and
        // cainjector hold their leases in their own namespace instead.
        global: { leaderElection: { namespace: config.namespace } },
      },
    });
    if (props.size === 'small') {
      this.addValues({ resources: requests('10m', '64Mi'), cainjector: { resources: requests('10m', '64Mi') }, webhook: { resources: requests('10m', '32Mi') } });
    }
    const gateway = props.exposure?.kind === 'gateway-api' ? props.exposure : undefined;
    if (gateway) {
      // The gatewayHTTPRoute solver needs the controller's Gateway API support, which is off by default;
      // the chart's own 1.21 values document it as config.gatewayAPI.enabled. With it on, the controller
      // does not start before the Gateway API CRDs exist: the gateway-api component is synced first.
      this.addValues({ config: { apiVersion: 'controller.config.cert-manager.io/v1alpha1', kind: 'ControllerConfiguration', gatewayAPI: { enabled: true } } });
    }
    for (const issuer of config.issuers) this.addIssuer(issuer, props, gateway);
    this.metrics = { namespace: config.namespace, matchLabels: CONTROLLER_LABELS, port: 9402, path: '/metrics' };
  }

  /** The issuer named `name`; throws, listing the declared ones, if there is none. */
  public issuer(name: string): ClusterIssuerRef {
    const ref = this.issuers.get(name);
    if (!ref) throw new Error(`no ClusterIssuer "${name}"; declared: ${[...this.issuers.keys()].join(', ')}`);
    return ref;
  }

  private addIssuer(issuer: IssuerConfig, props: CertManagerProps, gateway: GatewayExposure | undefined): void {
    if (isCaIssuer(issuer)) this.addCaIssuer(issuer, props.config.namespace);
    else this.addAcmeIssuer(issuer as AcmeIssuer, props, gateway);
  }

  private addAcmeIssuer(issuer: AcmeIssuer, props: CertManagerProps, gateway: GatewayExposure | undefined): void {
    if (props.config.acmeEmail === undefined) throw new Error(`ACME issuer ${issuer.name} needs certManager.acmeEmail`);
    const solver = http01Solver(issuer)!;
    const podTemplate = { spec: { nodeSelector: { ...props.nodeSelector } } };
    let http01;
    if ('ingressClass' in solver) {
      http01 = { ingress: { class: solver.ingressClass, podTemplate } };
    } else {
      // Config refuses a Gateway solver without the Gateway; this is a construct-level guard.
      if (!gateway || gateway.gatewayName !== solver.gateway) throw new Error(`issuer ${issuer.name} solves through Gateway "${solver.gateway}", which the exposure does not make`);
      // The solver's HTTPRoute is made next to the Certificate and attaches to the Gateway's HTTP listener,
      // whose allowedRoutes admit the namespaces the Certificates live in.
      http01 = {
        gatewayHttpRoute: {
          parentRefs: [{ name: gateway.gatewayName, namespace: gateway.namespace, kind: 'Gateway', sectionName: GatewayExposure.HTTP_LISTENER }],
          podTemplate,
        },
      };
    }
    new ClusterIssuer(this, issuer.name, {
      metadata: {
        name: issuer.name,
        // Applied once the chart's own objects (wave 0) are healthy: the webhook that admits a
        // ClusterIssuer must be serving, or the sync fails until a retry.
        annotations: { 'argocd.argoproj.io/sync-wave': '1' },
      },
      spec: {
        acme: {
          server: ACME_SERVERS[issuer.acme],
          email: props.config.acmeEmail,
          privateKeySecretRef: { name: issuer.name },
          solvers: [{ http01 }],
        },
      },
    });
    this.issuers.set(issuer.name, { name: issuer.name, http01: solver, declaredBy: this });
  }

  /**
   * A CA of the cluster's own, in three objects: a self-signed ClusterIssuer `<name>-root` that signs only
   * the CA's certificate, that CA Certificate (isCA) whose key pair is the Secret `<name>` in cert-manager's
   * namespace (where a ClusterIssuer reads its secret), and the ClusterIssuer `<name>` that signs the
   * endpoints' certificates with it. Each waits for the one before (waves 1 to 3) so that the first sync
   * ends healthy instead of retrying. Browsers trust it once the CA certificate is imported (README).
   */
  private addCaIssuer(issuer: CaIssuer, namespace: string): void {
    const wave = (n: number) => ({ 'argocd.argoproj.io/sync-wave': String(n) });
    const root = `${issuer.name}-root`;
    new ClusterIssuer(this, root, { metadata: { name: root, annotations: wave(1) }, spec: { selfSigned: {} } });
    new Certificate(this, `${issuer.name}-certificate`, {
      metadata: { name: issuer.name, namespace, annotations: wave(2) },
      spec: {
        isCa: true,
        commonName: `${issuer.name} (platform CA)`,
        secretName: issuer.name,
        // Ten years: a laptop CA is re-imported into the trust store only when it changes.
        duration: '87600h',
        privateKey: { algorithm: CertificateSpecPrivateKeyAlgorithm.ECDSA, size: 256 },
        issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: root },
      },
    });
    new ClusterIssuer(this, issuer.name, { metadata: { name: issuer.name, annotations: wave(3) }, spec: { ca: { secretName: issuer.name } } });
    this.issuers.set(issuer.name, { name: issuer.name, declaredBy: this });
  }
}
