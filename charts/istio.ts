// Istio as Argo CD Applications: the base (CRDs), istiod and ingress gateway Helm charts, plus the mesh-wide
// Telemetry that sends traces to Tempo. The guide's `istioctl install -f` with an IstioOperator is gone on
// purpose: one cluster must have one way to install Istio, and a second control plane described next to
// the charts would fight them. The guide's operator settings (demo profile, mesh config) live in the
// istiod values below.
import { Construct } from 'constructs';
import { Section } from '../lib/config';
import { HelmComponent } from '../lib/component';
import { everyVersionOf } from '../lib/versions';
import { ENVOY_METRICS, MonitoringStack, PodScrape } from '../lib/monitoring';
import { IstioBaseValuesByVersion, IstiodValuesByVersion, IstioGatewayValuesByVersion } from '../lib/helm-values';
import { Telemetry } from '../imports/telemetry.istio.io';
import { PeerAuthentication, PeerAuthenticationSpecMtlsMode } from '../imports/security.istio.io';

/** The ingress gateway's name; Istio's Ingress support (cert-manager's HTTP-01 solver) expects it. */
export const INGRESS_GATEWAY = 'istio-ingressgateway';
/** The labels the apps' Gateways select, as istioctl's demo profile sets them. */
export const INGRESS_GATEWAY_LABELS: Readonly<Record<string, string>> = { istio: 'ingressgateway', app: INGRESS_GATEWAY };
/** The mesh's trust domain (MeshConfig's default): the first part of every workload's SPIFFE principal. */
export const TRUST_DOMAIN = 'cluster.local';

/** The mTLS identity of the pods of a ServiceAccount, as AuthorizationPolicy `principals` name it. */
export function principal(namespace: string, serviceAccount: string): string {
  return `${TRUST_DOMAIN}/ns/${namespace}/sa/${serviceAccount}`;
}

/** The tracing provider Envoy sends spans to, by name (Telemetry refers to it). */
export const TRACING_PROVIDER = 'otlp';

/**
 * The MeshConfig fields we set. istiod's values.yaml lists only `enablePrometheusMerge`, but the chart
 * writes `meshConfig` as is into the mesh ConfigMap, so any MeshConfig field is accepted.
 */
interface MeshConfig {
  readonly enablePrometheusMerge?: boolean;
  readonly accessLogFile?: string;
  readonly defaultProviders?: { readonly metrics?: string[]; readonly tracing?: string[]; readonly accessLogging?: string[] };
  readonly extensionProviders?: { readonly name: string; readonly opentelemetry: { readonly service: string; readonly port: number } }[];
}
/** istiod's values of one chart version, with the MeshConfig fields we set. */
type WithMeshConfig<V> = V extends unknown ? Omit<V, 'meshConfig'> & { readonly meshConfig?: MeshConfig } : never;

/**
 * The Istio chart versions an environment may run (`istio.chartVersion`; versions.yaml lists them for the
 * three charts). Each chart's values below `satisfies` the generated values type of every one of them, so
 * a key that one version's chart does not read fails to compile; this list must name exactly the versions
 * lib/helm-values has types for (a compile error otherwise), so a newly listed version is not run with
 * values nobody checked against its chart.
 */
const ISTIO_VERSIONS = everyVersionOf<keyof IstioBaseValuesByVersion | keyof IstiodValuesByVersion | keyof IstioGatewayValuesByVersion>()(['1.24.2', '1.30.3']);
type IstioVersion = typeof ISTIO_VERSIONS[number];
type IstioBaseValues = IstioBaseValuesByVersion[IstioVersion];
type IstiodChartValues = WithMeshConfig<IstiodValuesByVersion[IstioVersion]>;
type IstioGatewayValues = IstioGatewayValuesByVersion[IstioVersion];

/** Refuses a chart version whose values were not checked against its chart (see ISTIO_VERSIONS). */
function requireCheckedVersion(chart: HelmComponent<object>): void {
  if (!(ISTIO_VERSIONS as readonly string[]).includes(chart.source.version)) {
    throw new Error(`${chart.name}: chart ${chart.source.chart} ${chart.source.version} is listed in versions.yaml, but charts/istio.ts checks its values ` +
      `against ${ISTIO_VERSIONS.join(', ')} only; run npm run gen:helm-values and add ${chart.source.version} to ISTIO_VERSIONS there`);
  }
}

/** Where Envoy sends spans: Tempo's distributor, OTLP over gRPC (charts/tempo.ts `otlpGrpc`). */
export interface OtlpEndpoint {
  readonly host: string;
  readonly port: number;
}

/** The mesh settings of the guide's IstioOperator, for the istiod chart; spans go nowhere without `tracing`. */
export function meshConfig(tracing: OtlpEndpoint | undefined): MeshConfig {
  // The demo profile's access log, which Kiali and Loki show.
  const accessLogFile = '/dev/stdout';
  if (!tracing) return { accessLogFile, defaultProviders: { metrics: ['prometheus'] } };
  return {
    accessLogFile,
    defaultProviders: { metrics: ['prometheus'], tracing: [TRACING_PROVIDER] },
    extensionProviders: [{
      name: TRACING_PROVIDER,
      opentelemetry: { service: tracing.host, port: tracing.port },
    }],
  };
}

type IstioConfig = Section<'istio'>;

/** Istio's CRDs and the validating webhook's base. */
export class IstioBaseChart extends HelmComponent<IstioBaseValues> {
  constructor(scope: Construct, props: { readonly config: IstioConfig }) {
    const { config } = props;
    super(scope, 'istio-base', {
      namespace: config.namespace,
      // istiod turns the webhook's failurePolicy from Ignore to Fail once it serves; Argo CD is told to
      // ignore that field (charts/argo-cd.ts) and must not put it back when it syncs for another reason.
      syncOptions: ['RespectIgnoreDifferences=true'],
      source: { chartKey: 'istio-base', chartVersion: config.chartVersion },
      releaseName: 'istio-base',
      values: ({ global: { istioNamespace: config.namespace } } satisfies IstioBaseValuesByVersion['1.24.2']) satisfies IstioBaseValuesByVersion['1.30.3'],
    });
    requireCheckedVersion(this);
  }
}

export interface IstiodProps {
  readonly config: IstioConfig;
  readonly base: IstioBaseChart;
  /**
   * Where every proxy sends spans (Tempo's distributor).
   * @default - no tracing: an environment without Tempo
   */
  readonly tracing?: OtlpEndpoint;
  readonly monitoring: MonitoringStack;
}

/**
 * The control plane, with the demo profile's relevant settings and the guide's mesh config; the
 * mesh-wide Telemetry that sends every proxy's spans to Tempo; and istiod's PodMonitor.
 */
export class IstiodChart extends HelmComponent<IstiodChartValues> {
  /** The mesh's root namespace: mesh-wide policy (Telemetry, ServiceEntries for every namespace) goes here. */
  public readonly rootNamespace: string;
  /** The namespaces whose sidecars accept mutual TLS only: the injected ones (istio.injectionNamespaces). */
  public readonly strictMtlsNamespaces: readonly string[];
  /**
   * What every sidecar must see whatever its Sidecar egress scope (`namespace/host`): the root namespace
   * (ServiceEntries, the gateways) and the tracing backend, whose cluster Envoy finds only among the hosts
   * in scope (spans are dropped silently otherwise: istio/istio#53701).
   */
  public readonly meshEgressHosts: readonly string[];

  constructor(scope: Construct, props: IstiodProps) {
    const { config, base, tracing } = props;
    super(scope, 'istiod', {
      namespace: config.namespace,
      runtimeObjects: [{
        kind: 'ConfigMap', name: 'istio-ca-root-cert', keys: ['root-cert.pem'],
        createdBy: 'istiod\'s namespace controller, in every namespace, for the sidecars and gateways',
      }],
      dependsOn: [base],
      // istiod fills in the webhooks' caBundle at run time (see charts/argo-cd.ts).
      syncOptions: ['RespectIgnoreDifferences=true'],
      source: { chartKey: 'istiod', chartVersion: config.chartVersion },
      releaseName: 'istiod',
      values: ({
        // From istioctl's demo profile: one replica, small requests, every request traced (the Telemetry's
        // sampling percentage takes precedence over traceSampling once it exists).
        autoscaleEnabled: false,
        traceSampling: 100,
        resources: { requests: { cpu: '10m', memory: '100Mi' } },
        global: {
          istioNamespace: config.namespace,
          proxy: { resources: { requests: { cpu: '10m', memory: '40Mi' } } },
          // With one replica the 1.24 chart's PodDisruptionBudget (minAvailable 1) allows no eviction, so
          // node drains and AKS upgrades would hang on istiod. Sidecars keep their last config while istiod
          // restarts on another node. (The 1.30 chart renders its budget only above one replica.)
          defaultPodDisruptionBudget: { enabled: false },
        },
        meshConfig: { enablePrometheusMerge: true, ...meshConfig(tracing) },
      } satisfies WithMeshConfig<IstiodValuesByVersion['1.24.2']>) satisfies WithMeshConfig<IstiodValuesByVersion['1.30.3']>,
    });
    requireCheckedVersion(this);
    this.rootNamespace = config.namespace;
    // STRICT where sidecars are injected: a pod there accepts only mesh peers with a certificate, so an
    // AuthorizationPolicy's principals are the caller's proven identity. Owned here, next to the injection
    // labels of the same list (injectionLabels), so "injected" and "mTLS only" cannot drift apart. (A
    // namespace-wide policy in the root namespace would apply mesh-wide, which STRICT would also mean.)
    this.strictMtlsNamespaces = [...config.injectionNamespaces];
    for (const ns of this.strictMtlsNamespaces) {
      new PeerAuthentication(this, `mtls-${ns}`, {
        metadata: { name: 'default', namespace: ns },
        spec: { mtls: { mode: PeerAuthenticationSpecMtlsMode.STRICT } },
      });
    }
    const tracingNamespace = tracing?.host.split('.')[1];
    this.meshEgressHosts = [`${this.rootNamespace}/*`, ...(tracing && tracingNamespace ? [`${tracingNamespace}/${tracing.host}`] : [])];
    if (tracing) {
      new Telemetry(this, 'mesh-default', {
        metadata: { name: 'mesh-default', namespace: this.rootNamespace },
        spec: {
          tracing: [{
            providers: [{ name: TRACING_PROVIDER }],
            randomSamplingPercentage: config.tracingSamplingPercentage,
          }],
        },
      });
    }
    new PodScrape(this, 'scrape', {
      stack: props.monitoring,
      name: 'istiod',
      podNamespace: config.namespace,
      matchLabels: { app: 'istiod' },
      jobLabel: 'app',
      // The monitoring port, which istiod does not name.
      port: 15014,
      path: '/metrics',
    });
  }
}

export interface IstioGatewayProps {
  readonly config: IstioConfig;
  readonly istiod: IstiodChart;
  readonly monitoring: MonitoringStack;
}

/** The ingress gateway the apps' Gateways bind to, on an Azure load balancer, and the gateways' PodMonitor. */
export class IstioGatewayChart extends HelmComponent<IstioGatewayValues> {
  public readonly selector: Readonly<Record<string, string>> = INGRESS_GATEWAY_LABELS;
  /** Where the gateway runs; a Gateway's credentialName secret must live here. */
  public readonly gatewayNamespace: string;

  /**
   * The gateway pods' mTLS identity, read from what the chart renders (its Deployment's service account):
   * available once the platform's charts are rendered, so objects take it lazily (cdk8s `Lazy`).
   */
  public get principal(): string {
    const deployment = this.render.objects.map((o) => o.manifest as any)
      .find((m) => m.kind === 'Deployment' && m.metadata?.name === this.releaseName);
    const sa = deployment?.spec?.template?.spec?.serviceAccountName;
    if (typeof sa !== 'string' || sa === '') {
      throw new Error(`${this.name}: the chart renders no Deployment ${this.releaseName} with a serviceAccountName, so the gateway's mTLS principal is unknown; check the chart's serviceAccount values`);
    }
    return principal(deployment.metadata.namespace ?? this.gatewayNamespace, sa);
  }

  constructor(scope: Construct, props: IstioGatewayProps) {
    const { config, istiod } = props;
    super(scope, INGRESS_GATEWAY, {
      namespace: config.namespace,
      // The gateway's pod is a proxy injected by istiod's webhook (inject.istio.io/templates: gateway).
      dependsOn: [istiod],
      source: { chartKey: 'istio-gateway', chartVersion: config.chartVersion },
      releaseName: INGRESS_GATEWAY,
      values: ({
        labels: { ...INGRESS_GATEWAY_LABELS },
        resources: { requests: { cpu: '10m', memory: '40Mi' } },
        autoscaling: { enabled: false },
      } satisfies IstioGatewayValuesByVersion['1.24.2']) satisfies IstioGatewayValuesByVersion['1.30.3'],
    });
    requireCheckedVersion(this);
    this.gatewayNamespace = config.namespace;
    new PodScrape(this, 'scrape', {
      stack: props.monitoring,
      name: 'istio-gateways',
      podNamespace: config.namespace,
      // The guide's monitor covers an egress gateway too, should one run.
      matchExpressions: [{ key: 'istio', operator: 'In', values: ['ingressgateway', 'egressgateway'] }],
      jobLabel: 'istio',
      ...ENVOY_METRICS,
    });
  }
}

/** The labels that turn on sidecar injection, per namespace, for the Namespace objects. */
export function injectionLabels(config: IstioConfig): Record<string, Record<string, string>> {
  return Object.fromEntries(config.injectionNamespaces.map((ns) => [ns, { 'istio-injection': 'enabled' }]));
}
