// Kiali, the mesh console at dashboard.<domain>: the kiali-server chart (the guide applies Istio's
// samples/addons/kiali.yaml, which is that chart rendered) reading the kube-prometheus-stack Prometheus
// and Grafana, the Certificate and Ingress of the guide, and the ServiceEntries that make external hosts
// (the Azure MySQL server) appear in Kiali's graph instead of as PassthroughCluster.
import { Construct } from 'constructs';
import { Section } from '../lib/config';
import { HelmComponent } from '../lib/component';
import { KialiServerValues } from '../lib/helm-values';
import { Exposure } from '../lib/exposure';
import { ClusterIssuerRef, TlsEndpoint } from '../lib/tls-endpoint';
import { ServiceEntry, ServiceEntrySpecLocation, ServiceEntrySpecResolution } from '../imports/networking.istio.io';
import { IstiodChart } from './istio';
import { SecretsChart } from './secrets';
import { SecretDeclaration } from '../lib/secrets';

export const LOGIN_SIGNING_KEY: SecretDeclaration = {
  name: 'kiali-login-signing-key',
  type: 'Opaque',
  keys: { key: 'kiali-signing-key' },
  purpose: 'key Kiali signs login sessions with (32 characters; otherwise regenerated on every render)',
};

export const KIALI_SERVICE = 'kiali';
export const KIALI_PORT = 20001;

/** The in-cluster URLs Kiali reads metrics and links dashboards from (charts/kube-prometheus-stack.ts). */
export interface KialiBackends {
  readonly prometheusUrl: string;
  /** In-cluster, for Kiali's own queries. */
  readonly grafanaUrl: string;
  /** Public, for the links Kiali shows users. */
  readonly grafanaPublicUrl: string;
}

/**
 * The external_services fields we set. The chart's values.yaml lists only `enabled` flags, but it
 * copies external_services into Kiali's config as is, so every field of Kiali's config is accepted.
 */
type KialiChartValues = Omit<KialiServerValues, 'external_services'> & {
  readonly external_services?: NonNullable<KialiServerValues['external_services']> & {
    readonly prometheus?: { readonly url?: string };
    readonly grafana?: { readonly enabled?: boolean; readonly internal_url?: string; readonly external_url?: string };
    readonly tracing?: { readonly enabled?: boolean };
  };
};

export interface KialiProps {
  readonly config: Section<'kiali'>;
  /** Kiali's host is dashboard.<domain>. */
  readonly domain: string;
  /** How the environment serves its endpoints (an Ingress, or a route on the shared Gateway). */
  readonly exposure: Exposure;
  /** Issues dashboard.<domain>'s certificate; must answer HTTP-01 through the exposure's class or Gateway. */
  readonly issuer: ClusterIssuerRef;
  /** The mesh Kiali shows; its root namespace gets the ServiceEntries. */
  readonly istiod: IstiodChart;
  readonly backends: KialiBackends;
  readonly secrets: SecretsChart;
}

/** Kiali: the chart, dashboard.<domain> (Certificate and Ingress), and the mesh's external services. */
export class KialiChart extends HelmComponent<KialiChartValues> {
  public readonly endpoint: TlsEndpoint;

  constructor(scope: Construct, props: KialiProps) {
    const { config, backends, secrets, istiod } = props;
    const ns = config.namespace;
    super(scope, 'kiali', {
      namespace: ns,
      dependsOn: [istiod],
      source: { chartKey: 'kiali-server', chartVersion: config.chartVersion },
      releaseName: 'kiali',
      values: {
        // The samples addon logs everyone in anonymously; behind a public Ingress that would show the
        // mesh's topology and config to the internet. Log in with a service account token instead
        // (`kubectl -n <namespace> create token kiali`).
        auth: { strategy: 'token' },
        deployment: { instance_name: KIALI_SERVICE },
        server: { port: KIALI_PORT },
        external_services: {
          prometheus: { url: backends.prometheusUrl },
          // The guide gives the in-cluster address as the external one too, so every Grafana link in Kiali's
          // UI would point browsers at a cluster-internal name; the links use Grafana's public host.
          grafana: { enabled: true, internal_url: backends.grafanaUrl, external_url: backends.grafanaPublicUrl },
          // The guide has no Jaeger; Kiali would report an error on every page looking for one.
          tracing: { enabled: false },
        },
      },
    });
    // Left empty, the chart renders a random signing key on every render: Argo CD would see a diff
    // forever and each sync would log everyone out. The chart mounts a `secret:<name>:<key>` reference
    // itself; the name differs from the chart's own kiali-signing-key Secret, which then holds only
    // this reference.
    const signingKey = secrets.use(this, LOGIN_SIGNING_KEY, ns);
    this.addValues({ login_token: { signing_key: `secret:${signingKey.name}:${signingKey.key('key')}` } });

    this.endpoint = new TlsEndpoint(this, 'endpoint', {
      host: `dashboard.${props.domain}`,
      namespace: ns,
      secretName: 'dashboard-secret',
      issuer: props.issuer,
      route: { exposure: props.exposure, name: 'dashboard', backend: { service: KIALI_SERVICE, port: KIALI_PORT } },
    });
    for (const e of config.externalServices) {
      new ServiceEntry(this, `service-entry-${e.name}`, {
        // The root namespace makes the entry visible to every namespace of the mesh.
        metadata: { name: e.name, namespace: istiod.rootNamespace },
        spec: {
          hosts: [e.host],
          ports: [{ number: e.port, name: e.portName ?? `${e.protocol.toLowerCase()}-${e.port}`, protocol: e.protocol }],
          resolution: ServiceEntrySpecResolution.DNS,
          location: ServiceEntrySpecLocation.MESH_UNDERSCORE_EXTERNAL,
        },
      });
    }
  }
}
