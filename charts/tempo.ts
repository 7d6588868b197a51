// Tempo (tempo-distributed): receives the mesh's spans over OTLP gRPC, stores trace blocks in Azure Blob
// Storage (or the chart's MinIO in the cluster, config's `tempo.storage`), and its metrics generator turns
// spans into service-graph and span metrics that it remote-writes to Prometheus. The guide's
// tempo-values2.yaml. No storage credential appears in values: Tempo expands ${STORAGE_ACCOUNT_ACCESS_KEY}
// (or MinIO's ${MINIO_ROOT_USER} and ${MINIO_ROOT_PASSWORD}) from environment variables filled from a
// declared secret.
import { Construct } from 'constructs';
import { Section } from '../lib/config';
import { HelmComponent } from '../lib/component';
import { ClusterSize, requests } from '../lib/sizing';
import { TempoDistributedValues } from '../lib/helm-values';
import { SecretsChart } from './secrets';
import { SecretDeclaration } from '../lib/secrets';
import { GrafanaDashboard, GrafanaDatasource, GrafanaProvisioning } from '../lib/grafana';
import { DATASOURCE_UIDS } from './loki';
import tempoServiceObservability from './dashboards/tempo-service-observability.json';

/**
 * The chart's values plus `storage.trace.azure`: the chart's config template writes that map when the
 * backend is azure, but its values.yaml has the key only in a comment, so the generated type lacks it.
 */
export type TempoChartValues = TempoDistributedValues & {
  readonly storage?: {
    readonly trace?: {
      readonly azure?: {
        readonly container_name: string;
        readonly storage_account_name: string;
        readonly storage_account_key: string;
      };
      /** Likewise for backend s3 (Tempo's s3 config), here MinIO's. */
      readonly s3?: {
        readonly bucket: string;
        readonly endpoint: string;
        readonly access_key: string;
        readonly secret_key: string;
        readonly insecure: boolean;
        readonly forcepathstyle: boolean;
      };
    };
  };
  /** The MinIO subchart's own values, which the parent's values.yaml does not list. */
  readonly minio?: { readonly existingSecret?: string };
};

export const AZURE_CREDENTIALS: SecretDeclaration = {
  name: 'tempo-azure-credentials',
  type: 'Opaque',
  keys: { STORAGE_ACCOUNT_ACCESS_KEY: 'tempo-storage-account-key' },
  purpose: 'Tempo writing traces to the Azure storage account',
};

/** MinIO's root login, which Tempo also writes with (MinIO's existingSecret: these two key names are MinIO's). */
export const MINIO_CREDENTIALS: SecretDeclaration = {
  name: 'tempo-minio-credentials',
  type: 'Opaque',
  keys: { rootUser: 'tempo-minio-root-user', rootPassword: 'tempo-minio-root-password' },
  purpose: 'the login of Tempo\'s MinIO (its root user), which Tempo writes traces with',
};
/** The bucket Tempo's trace blocks go to in MinIO; the chart's make-bucket job creates it. */
const MINIO_BUCKET = 'tempo-traces';

const KEY_ENV = 'STORAGE_ACCOUNT_ACCESS_KEY';
const MINIO_USER_ENV = 'MINIO_ROOT_USER';
const MINIO_PASSWORD_ENV = 'MINIO_ROOT_PASSWORD';
/** The components that load Tempo's config, which names the credentials as ${VARIABLE}s. */
const CONFIG_READERS = ['distributor', 'ingester', 'querier', 'queryFrontend', 'compactor', 'metricsGenerator'] as const;
const OTLP_GRPC_PORT = 4317;

export interface TempoProps {
  readonly config: Section<'tempo'>;
  readonly secrets: SecretsChart;
  /** Where the metrics generator remote-writes service-graph and span metrics. */
  readonly prometheusUrl: string;
  /** The Grafana that gets Tempo's datasource and dashboard. */
  readonly grafana: GrafanaProvisioning;
  /** How large the component runs (config `cluster.size`). @default 'standard' */
  readonly size?: ClusterSize;
  /**
   * Loki's datasource, which a span links to (the logs of its pod around its time).
   * @default - no log links: an environment without Loki
   */
  readonly logs?: { readonly datasourceUid: string };
}

/** Tempo: the chart, and Grafana's Tempo datasource (linked to Loki and Prometheus) and service dashboard. */
export class TempoChart extends HelmComponent<TempoChartValues> {
  /** Grafana's Tempo datasource URL: the query frontend's HTTP API. */
  public readonly queryFrontendUrl: string;
  /** Where the mesh sends spans (OTLP gRPC): host and port of the distributor. */
  public readonly otlpGrpc: { readonly host: string; readonly port: number };

  constructor(scope: Construct, props: TempoProps) {
    const { config: tempo, secrets, prometheusUrl, grafana } = props;
    super(scope, 'tempo', {
      namespace: tempo.namespace,
      source: { chartKey: 'tempo-distributed', chartVersion: tempo.chartVersion },
      values: {
        metricsGenerator: {
          enabled: true,
          config: {
            registry: { collection_interval: '15s' },
            storage: { remote_write: [{ url: `${prometheusUrl}/api/v1/write` }] },
          },
        },
        // What the mesh sends: OTLP over gRPC only.
        traces: {
          otlp: {
            http: { enabled: false, receiverConfig: {} },
            grpc: { enabled: true, receiverConfig: {}, port: OTLP_GRPC_PORT },
          },
        },
        // The generator's processors are switched on per tenant; these are the defaults for all.
        overrides: { defaults: { metrics_generator: { processors: ['service-graphs', 'span-metrics'] } } },
        ...(tempo.storage.kind === 'azure-blob' ? {
          storage: {
            trace: {
              backend: 'azure',
              azure: {
                container_name: tempo.storage.container,
                storage_account_name: tempo.storage.storageAccount,
                storage_account_key: `\${${KEY_ENV}}`,
              },
            },
          },
        } : {}),
      },
    });
    if (tempo.storage.kind === 'azure-blob') {
      const key = secrets.use(this, AZURE_CREDENTIALS, tempo.namespace);
      this.readConfigFrom([{ name: KEY_ENV, valueFrom: { secretKeyRef: { name: key.name, key: key.key(KEY_ENV) } } }]);
    } else {
      const login = secrets.use(this, MINIO_CREDENTIALS, tempo.namespace);
      // The chart's MinIO, one server on one volume (standalone), logging in with the declared secret (the
      // chart's default root password is never rendered); its Service is <release>-minio on port 9000.
      this.addValues({
        minio: {
          enabled: true,
          mode: 'standalone',
          existingSecret: login.name,
          persistence: { size: tempo.storage.size },
          buckets: [{ name: MINIO_BUCKET, policy: 'none', purge: false }],
        },
        storage: {
          trace: {
            backend: 's3',
            s3: {
              bucket: MINIO_BUCKET,
              endpoint: `${this.releaseName}-minio.${tempo.namespace}.svc.cluster.local:9000`,
              access_key: `\${${MINIO_USER_ENV}}`,
              secret_key: `\${${MINIO_PASSWORD_ENV}}`,
              // MinIO serves plain HTTP inside the cluster, at the path of the bucket.
              insecure: true,
              forcepathstyle: true,
            },
          },
        },
      });
      this.readConfigFrom([
        { name: MINIO_USER_ENV, valueFrom: { secretKeyRef: { name: login.name, key: login.key('rootUser') } } },
        { name: MINIO_PASSWORD_ENV, valueFrom: { secretKeyRef: { name: login.name, key: login.key('rootPassword') } } },
      ]);
    }

    if (props.size === 'small') {
      this.addValues({
        // One ingester, which then holds the only copy of each trace until it flushes.
        ingester: { replicas: 1, config: { replication_factor: 1 }, resources: requests('10m', '128Mi') },
        distributor: { resources: requests('10m', '64Mi') },
        querier: { resources: requests('10m', '64Mi') },
        queryFrontend: { resources: requests('10m', '48Mi') },
        compactor: { resources: requests('10m', '64Mi') },
        metricsGenerator: { resources: requests('10m', '64Mi') },
        memcached: { enabled: false },
        ...(tempo.storage.kind === 'minio' ? { minio: { resources: { requests: { cpu: '10m', memory: '128Mi' } } } } : {}),
      });
    }
    // The chart names its Services <fullname>-<component>; its fullname is the release name when that
    // contains "tempo" (the base name, not the chart's name), so tempo-query-frontend, tempo-distributor.
    this.queryFrontendUrl = `http://${this.releaseName}-query-frontend.${tempo.namespace}.svc.cluster.local:3200`;
    this.otlpGrpc = { host: `${this.releaseName}-distributor.${tempo.namespace}.svc.cluster.local`, port: OTLP_GRPC_PORT };

    new GrafanaDatasource(this, 'datasource', {
      grafana,
      name: 'tempo-datasource',
      file: {
        apiVersion: 1,
        datasources: [{
          name: 'Tempo',
          uid: DATASOURCE_UIDS.tempo,
          type: 'tempo',
          access: 'proxy',
          url: this.queryFrontendUrl,
          basicAuth: false,
          isDefault: false,
          editable: false,
          version: 1,
          jsonData: {
            // The service graph's metrics are in Prometheus (the metrics generator remote-writes them).
            serviceMap: { datasourceUid: grafana.datasourceUid.prometheus },
            nodeGraph: { enabled: true },
            ...(props.logs ? {
              tracesToLogsV2: {
                datasourceUid: props.logs.datasourceUid,
                spanStartTimeShift: '-2m',
                spanEndTimeShift: '2m',
                // tracesToLogsV2 takes {key, value} pairs (span attribute -> Loki label); the guide's plain
                // strings are the format of the retired tracesToLogs. Its "cluster" is dropped: no Loki stream
                // has that label, so any span carrying it would match no logs.
                tags: [
                  { key: 'namespace', value: 'namespace' },
                  { key: 'pod', value: 'pod' },
                  { key: 'service.name', value: 'service' },
                ],
              },
            } : {}),
            tracesToMetrics: {
              datasourceUid: grafana.datasourceUid.prometheus,
              tags: [{ key: 'service.name', value: 'service' }],
              queries: [
                { name: 'Request rate', query: 'sum(rate(traces_spanmetrics_calls_total{$__tags}[5m]))' },
                { name: 'p95 latency', query: 'histogram_quantile(0.95, sum by (le) (rate(traces_spanmetrics_latency_bucket{$__tags}[5m])))' },
              ],
            },
          },
        }],
      },
    });
    new GrafanaDashboard(this, 'dashboard', {
      grafana, name: 'grafana-dashboard-tempo-observability', file: 'tempo-observability.json', dashboard: tempoServiceObservability, folder: 'Tempo',
    });
  }

  /** Every component that loads Tempo's config expands ${VARIABLE}s from `env`. */
  private readConfigFrom(env: readonly object[]): void {
    // Per component, not global.extraArgs: that would also reach memcached, which refuses the flag.
    const readsEnv = () => ({ extraArgs: ['-config.expand-env=true'], extraEnv: [...env] });
    this.addValues(Object.fromEntries(CONFIG_READERS.map((c) => [c, readsEnv()])) as TempoChartValues);
  }
}
