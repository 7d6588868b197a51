// Loki, by config's `loki.storage`: in distributed (microservices) mode, storing chunks, index and rules in
// Azure Blob Storage through AKS workload identity (no storage key anywhere; the guide's loki-values.yaml,
// with each setting moved to where chart 7.x reads it), or as one single binary on a volume in the cluster.
import { Construct } from 'constructs';
import { Section } from '../lib/config';
import { HelmComponent } from '../lib/component';
import { ClusterSize, requests } from '../lib/sizing';
import { LokiValues } from '../lib/helm-values';
import { GrafanaDashboard, GrafanaDatasource, GrafanaProvisioning } from '../lib/grafana';
import lokiLogsOverview from './dashboards/loki-logs-overview.json';

/**
 * The chart's values plus `loki.storage.bucketNames`: the chart's storage helpers read the container names
 * from there (common storage and ruler storage), but its values.yaml has the key only in a comment, so
 * the generated type lacks it.
 */
export type LokiChartValues = LokiValues & {
  readonly loki?: {
    readonly storage?: { readonly bucketNames?: { readonly chunks: string; readonly ruler: string } };
    /** Copied into Loki's limits_config as is; values.yaml lists only some of Loki's keys. */
    readonly limits_config?: { readonly allow_structured_metadata?: boolean; readonly retention_period?: string };
    /** Copied into Loki's storage_config as is. */
    readonly storage_config?: { readonly azure?: { readonly account_name: string; readonly container_name: string; readonly use_federated_token: boolean } };
  };
};

/** The service account the identity is federated with: system:serviceaccount:<namespace>:loki. */
export const LOKI_SERVICE_ACCOUNT = 'loki';
const WORKLOAD_IDENTITY_USE = { 'azure.workload.identity/use': 'true' };

export interface LokiProps {
  readonly config: Section<'loki'>;
  /** The ruler's Alertmanager. */
  readonly alertmanagerUrl: string;
  /** The Grafana that gets Loki's datasource and dashboard. */
  readonly grafana: GrafanaProvisioning;
  /**
   * Tempo's datasource, which a trace id in a log line links to.
   * @default - no trace links: an environment without Tempo
   */
  readonly traces?: { readonly datasourceUid: string };
  /** How large the component runs (config `cluster.size`). @default 'standard' */
  readonly size?: ClusterSize;
}

/** The datasource uids Loki's and Tempo's datasources are provisioned under, and link each other by. */
export const DATASOURCE_UIDS = { loki: 'loki', tempo: 'tempo' } as const;

/** Loki: the chart, and Grafana's Loki datasource (with its link to Tempo) and logs dashboard. */
export class LokiChart extends HelmComponent<LokiChartValues> {
  /** The gateway every client talks to (push and query), e.g. http://loki-gateway.loki.svc.cluster.local. */
  public readonly gatewayUrl: string;
  /** Loki runs with auth_enabled: every request names this tenant in X-Scope-OrgID. */
  public readonly tenant: string;

  constructor(scope: Construct, props: LokiProps) {
    const { config: loki, alertmanagerUrl, grafana } = props;
    super(scope, 'loki', {
      namespace: loki.namespace,
      source: { chartKey: 'loki', chartVersion: loki.chartVersion },
      values: loki.storage.kind === 'azure-blob'
        ? distributedOnAzureBlob(loki.storage, alertmanagerUrl)
        : singleBinaryOnFilesystem(loki.storage, alertmanagerUrl),
    });
    if (props.size === 'small') {
      this.addValues({
        // The memcached caches request 11 GiB between them (chunks 9.6 GiB); the canary (and the chart's
        // test, which needs it) writes synthetic logs on every node.
        chunksCache: { enabled: false },
        resultsCache: { enabled: false },
        lokiCanary: { enabled: false },
        test: { enabled: false },
        singleBinary: { resources: requests('50m', '256Mi') },
        gateway: { resources: requests('5m', '16Mi') },
        sidecar: { resources: requests('5m', '32Mi') },
      });
    }
    // The chart names the gateway <release>-gateway (the release name contains the chart name); port 80.
    this.gatewayUrl = `http://${this.releaseName}-gateway.${loki.namespace}.svc.cluster.local`;
    this.tenant = loki.tenant;

    // The guide's loki file also deletes and re-creates "Loki" on every provisioning run (deleteDatasources),
    // a one-off migration step; with a fixed uid there is nothing to migrate.
    new GrafanaDatasource(this, 'datasource', {
      grafana,
      name: 'loki-datasource',
      file: {
        apiVersion: 1,
        prune: true,
        datasources: [{
          name: 'Loki',
          uid: DATASOURCE_UIDS.loki,
          type: 'loki',
          access: 'proxy',
          url: this.gatewayUrl,
          isDefault: false,
          editable: false,
          version: 1,
          jsonData: {
            // Loki runs with auth_enabled: every query names the tenant the log shipper pushes as.
            httpHeaderName1: 'X-Scope-OrgID',
            // The guide has derivedFields beside jsonData, where Grafana ignores it, and without `url`, which
            // is the query the link runs in Tempo.
            ...(props.traces ? {
              derivedFields: [{
                name: 'traceID',
                matcherRegex: '(?:traceID|traceId|trace_id)=(\\w+)',
                datasourceUid: props.traces.datasourceUid,
                url: '${__value.raw}',
                urlDisplayLabel: 'Open trace in Tempo',
              }],
            } : {}),
          },
          // The tenant id, not a credential; Grafana only accepts header values here.
          secureJsonData: { httpHeaderValue1: this.tenant },
        }],
      },
    });
    new GrafanaDashboard(this, 'dashboard', { grafana, name: 'grafana-dashboards-loki', file: 'loki-overview.json', dashboard: lokiLogsOverview });
  }
}

type LokiStorage = Section<'loki'>['storage'];
/** Loki config keys the chart has no value of its own for: the ruler, which the guide configures. */
const rulerConfig = (alertmanagerUrl: string) => ({ enable_api: true, alertmanager_url: alertmanagerUrl });

/** The guide's Loki: distributed, on Azure Blob Storage through workload identity. */
function distributedOnAzureBlob(storage: Extract<LokiStorage, { kind: 'azure-blob' }>, alertmanagerUrl: string): LokiChartValues {
  return {
    deploymentMode: 'Distributed',
    serviceAccount: {
      name: LOKI_SERVICE_ACCOUNT,
      annotations: { 'azure.workload.identity/client-id': storage.clientId },
      // As the guide; the webhook itself acts on the pods' label (loki.podLabels below).
      labels: { ...WORKLOAD_IDENTITY_USE },
    },
    loki: {
      // Every Loki pod asks the webhook for the federated token.
      podLabels: { ...WORKLOAD_IDENTITY_USE },
      storage: {
        type: 'azure',
        bucketNames: { chunks: storage.containers.chunks, ruler: storage.containers.ruler },
        azure: { accountName: storage.storageAccount, useFederatedToken: true },
      },
      schemaConfig: {
        configs: [{
          from: '2024-04-01',
          store: 'tsdb',
          object_store: 'azure',
          schema: 'v13',
          index: { prefix: 'loki_index_', period: '24h' },
        }],
      },
      // The chart copies loki.storage_config and loki.limits_config into Loki's config as they are.
      // (The guide's top-level ruler.storage is not repeated: the chart ignores it there and writes
      // the ruler's storage from loki.storage above.)
      storage_config: { azure: { account_name: storage.storageAccount, container_name: storage.containers.chunks, use_federated_token: true } },
      limits_config: { allow_structured_metadata: true, volume_enabled: true, retention_period: '672h' },
      compactor: { retention_enabled: true, delete_request_store: 'azure' },
      // The guide sets this on the querier component (querier.query_ingesters_within), where the
      // chart ignores it; it is Loki's querier config.
      querier: { query_ingesters_within: '3h' },
      // Loki config keys the chart has no value of its own for: merged over the generated config.
      structuredConfig: {
        // The guide puts these under the top-level ruler (the ruler component), where the chart
        // ignores them.
        ruler: { enable_api: true, alertmanager_url: alertmanagerUrl },
      },
    },
    ingester: { replicas: 3, zoneAwareReplication: { enabled: false } },
    querier: { replicas: 3, maxUnavailable: 2 },
    queryFrontend: { replicas: 2, maxUnavailable: 1 },
    queryScheduler: { replicas: 2 },
    distributor: { replicas: 3, maxUnavailable: 2 },
    compactor: { replicas: 1 },
    // The guide configures rule storage and an Alertmanager for the ruler but never runs one: the chart's
    // ruler has 0 replicas in distributed mode. One replica makes those settings take effect.
    ruler: { replicas: 1 },
    indexGateway: { replicas: 2, maxUnavailable: 1 },
    bloomPlanner: { replicas: 0 },
    bloomBuilder: { replicas: 0 },
    bloomGateway: { replicas: 0 },
    // The simple-scalable and single-binary targets stay off in distributed mode.
    backend: { replicas: 0 },
    read: { replicas: 0 },
    write: { replicas: 0 },
    singleBinary: { replicas: 0 },
  };
}

/**
 * One Loki (single binary) on a volume of its own: no cloud. A filesystem cannot be shared between Loki's
 * components, so the chart refuses more than one replica or any distributed target with it; the ruler keeps
 * its rules on the same volume.
 */
function singleBinaryOnFilesystem(storage: Extract<LokiStorage, { kind: 'filesystem' }>, alertmanagerUrl: string): LokiChartValues {
  return {
    deploymentMode: 'SingleBinary',
    serviceAccount: { name: LOKI_SERVICE_ACCOUNT },
    loki: {
      // The chart's default filesystem paths (/var/loki/chunks, /var/loki/rules), on the single binary's volume.
      storage: { type: 'filesystem' },
      // One replica: nothing to replicate to.
      commonConfig: { replication_factor: 1 },
      schemaConfig: {
        configs: [{
          from: '2024-04-01',
          store: 'tsdb',
          object_store: 'filesystem',
          schema: 'v13',
          index: { prefix: 'loki_index_', period: '24h' },
        }],
      },
      limits_config: { allow_structured_metadata: true, volume_enabled: true, retention_period: '672h' },
      compactor: { retention_enabled: true, delete_request_store: 'filesystem' },
      querier: { query_ingesters_within: '3h' },
      structuredConfig: { ruler: { ...rulerConfig(alertmanagerUrl), storage: { type: 'local', local: { directory: '/var/loki/rules' } } } },
    },
    singleBinary: { replicas: 1, persistence: { enabled: true, size: storage.size } },
    ingester: { replicas: 0 },
    querier: { replicas: 0 },
    queryFrontend: { replicas: 0 },
    queryScheduler: { replicas: 0 },
    distributor: { replicas: 0 },
    compactor: { replicas: 0 },
    ruler: { replicas: 0 },
    indexGateway: { replicas: 0 },
    bloomPlanner: { replicas: 0 },
    bloomBuilder: { replicas: 0 },
    bloomGateway: { replicas: 0 },
    backend: { replicas: 0 },
    read: { replicas: 0 },
    write: { replicas: 0 },
  };
}
