// Istio as Argo CD Applications: the base (CRDs), istiod and ingress gateway Helm charts, plus the mesh-wide
// Telemetry that sends traces to Tempo. The guide's `istioctl install -f` with an IstioOperator is gone on
// purpose: one cluster must have one way to install Istio, and a second control plane described next to
// the charts would fight them. The guide's operator settings (demo profile, mesh config) live in the
// istiod values below.
import { Construct } from 'constructs';
import { PlatformConfig } from '../lib/config';
import { HelmComponent, ManifestComponent } from '../lib/component';
import { IstioBaseValues, IstiodValues, IstioGatewayValues } from '../lib/helm-values';
import { Telemetry } from '../imports/telemetry.istio.io';

export const ISTIO_CHARTS = 'https://istio-release.storage.googleapis.com/charts';
/** The ingress gateway's name; Istio's Ingress support (cert-manager's HTTP-01 solver) expects it. */
export const INGRESS_GATEWAY = 'istio-ingressgateway';
/** The labels the apps' Gateways select, as istioctl's demo profile sets them. */
export const INGRESS_GATEWAY_LABELS: Readonly<Record<string, string>> = { istio: 'ingressgateway', app: INGRESS_GATEWAY };
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
type IstiodChartValues = Omit<IstiodValues, 'meshConfig'> & { readonly meshConfig?: MeshConfig };

/** Where Envoy sends spans: Tempo's distributor, OTLP over gRPC (charts/tempo.ts `otlpGrpc`). */
export interface OtlpEndpoint {
  readonly host: string;
  readonly port: number;
}

/** The mesh settings of the guide's IstioOperator, for the istiod chart. */
export function meshConfig(tracing: OtlpEndpoint): MeshConfig {
  return {
    // The demo profile's access log, which Kiali and Loki show.
    accessLogFile: '/dev/stdout',
    defaultProviders: { metrics: ['prometheus'], tracing: [TRACING_PROVIDER] },
    extensionProviders: [{
      name: TRACING_PROVIDER,
      opentelemetry: { service: tracing.host, port: tracing.port },
    }],
  };
}

/** Istio's CRDs and the validating webhook's base. */
export class IstioBaseChart extends HelmComponent<IstioBaseValues> {
  constructor(scope: Construct, config: PlatformConfig) {
    super(scope, 'istio-base', {
      namespace: config.istio.namespace,
      // istiod turns the webhook's failurePolicy from Ignore to Fail once it serves; Argo CD is told to
      // ignore that field (charts/argo-cd.ts) and must not put it back when it syncs for another reason.
      syncOptions: ['RespectIgnoreDifferences=true'],
      source: { chartKey: 'istio-base', chartVersion: config.istio.chartVersion },
      releaseName: 'istio-base',
      values: { global: { istioNamespace: config.istio.namespace } },
    });
  }
}

/** The control plane, with the demo profile's relevant settings and the guide's mesh config. */
export class IstiodChart extends HelmComponent<IstiodChartValues> {
  constructor(scope: Construct, config: PlatformConfig, base: IstioBaseChart, tracing: OtlpEndpoint) {
    super(scope, 'istiod', {
      namespace: config.istio.namespace,
      runtimeObjects: [{
        kind: 'ConfigMap', name: 'istio-ca-root-cert', keys: ['root-cert.pem'],
        createdBy: 'istiod\'s namespace controller, in every namespace, for the sidecars and gateways',
      }],
      dependsOn: [base],
      // istiod fills in the webhooks' caBundle at run time (see charts/argo-cd.ts).
      syncOptions: ['RespectIgnoreDifferences=true'],
      source: { chartKey: 'istiod', chartVersion: config.istio.chartVersion },
      releaseName: 'istiod',
      values: {
        // From istioctl's demo profile: one replica, small requests, every request traced (the Telemetry's
        // sampling percentage takes precedence over traceSampling once it exists).
        autoscaleEnabled: false,
        traceSampling: 100,
        resources: { requests: { cpu: '10m', memory: '100Mi' } },
        global: {
          istioNamespace: config.istio.namespace,
          proxy: { resources: { requests: { cpu: '10m', memory: '40Mi' } } },
          // With one replica the chart's PodDisruptionBudget (minAvailable 1) allows no eviction, so node
          // drains and AKS upgrades would hang on istiod. Sidecars keep their last config while istiod
          // restarts on another node.
          defaultPodDisruptionBudget: { enabled: false },
        },
        meshConfig: { enablePrometheusMerge: true, ...meshConfig(tracing) },
      },
    });
  }
}

/** The ingress gateway the apps' Gateways bind to, on an Azure load balancer. */
export class IstioGatewayChart extends HelmComponent<IstioGatewayValues> {
  public readonly selector: Readonly<Record<string, string>> = INGRESS_GATEWAY_LABELS;
  /** Where the gateway runs; a Gateway's credentialName secret must live here. */
  public readonly gatewayNamespace: string;

  constructor(scope: Construct, config: PlatformConfig, istiod: IstiodChart) {
    super(scope, INGRESS_GATEWAY, {
      namespace: config.istio.namespace,
      // The gateway's pod is a proxy injected by istiod's webhook (inject.istio.io/templates: gateway).
      dependsOn: [istiod],
      source: { chartKey: 'istio-gateway', chartVersion: config.istio.chartVersion },
      releaseName: INGRESS_GATEWAY,
      values: {
        labels: { ...INGRESS_GATEWAY_LABELS },
        resources: { requests: { cpu: '10m', memory: '40Mi' } },
        autoscaling: { enabled: false },
      },
    });
    this.gatewayNamespace = config.istio.namespace;
  }
}

/** The mesh-wide tracing policy: every proxy sends spans to Tempo through the otlp provider. */
export class IstioTelemetryChart extends ManifestComponent {
  constructor(scope: Construct, config: PlatformConfig, istiod: IstiodChart) {
    // The provider is defined in istiod's mesh config; a Telemetry naming it before istiod knows it is
    // rejected by the validating webhook.
    super(scope, 'istio-telemetry', { namespace: config.istio.namespace, dependsOn: [istiod] });
    new Telemetry(this, 'mesh-default', {
      metadata: { name: 'mesh-default', namespace: config.istio.namespace },
      spec: {
        tracing: [{
          providers: [{ name: TRACING_PROVIDER }],
          randomSamplingPercentage: config.istio.tracingSamplingPercentage,
        }],
      },
    });
  }
}

/** The labels that turn on sidecar injection, per namespace, for the Namespace objects. */
export function injectionLabels(config: PlatformConfig): Record<string, Record<string, string>> {
  return Object.fromEntries(config.istio.injectionNamespaces.map((ns) => [ns, { 'istio-injection': 'enabled' }]));
}
