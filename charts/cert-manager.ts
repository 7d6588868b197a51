// cert-manager: the chart that issues every TLS certificate of the platform, the ClusterIssuers every
// Certificate refers to (Let's Encrypt through HTTP-01, one per ingress class that answers challenges, or
// a self-signed CA of the cluster's own, as config declares them). The chart installs its own CRDs, so the components that write Certificates are
// synced after it. Its PodMonitor is kube-prometheus-stack's (see `metrics`): the stack's endpoints need
// cert-manager first, so a monitor here would make each wait for the other.
import { Construct } from 'constructs';
import { ACME_SERVERS, AcmeIssuer, CaIssuer, IssuerConfig, Section } from '../lib/config';
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
    for (const issuer of config.issuers) this.addIssuer(issuer, props);
    this.metrics = { namespace: config.namespace, matchLabels: CONTROLLER_LABELS, port: 9402, path: '/metrics' };
  }

  /** The issuer named `name`; throws, listing the declared ones, if there is none. */
  public issuer(name: string): ClusterIssuerRef {
    const ref = this.issuers.get(name);
    if (!ref) throw new Error(`no ClusterIssuer "${name}"; declared: ${[...this.issuers.keys()].join(', ')}`);
    return ref;
  }

  private addIssuer(issuer: IssuerConfig, props: CertManagerProps): void {
    if (issuer.ca !== undefined) this.addCaIssuer(issuer, props.config.namespace);
    else this.addAcmeIssuer(issuer, props);
  }

  private addAcmeIssuer(issuer: AcmeIssuer, props: CertManagerProps): void {
    if (props.config.acmeEmail === undefined) throw new Error(`ACME issuer ${issuer.name} needs certManager.acmeEmail`);
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
          solvers: [{
            http01: {
              ingress: {
                class: issuer.http01IngressClass,
                podTemplate: { spec: { nodeSelector: { ...props.nodeSelector } } },
              },
            },
          }],
        },
      },
    });
    this.issuers.set(issuer.name, { name: issuer.name, http01IngressClass: issuer.http01IngressClass, declaredBy: this });
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
