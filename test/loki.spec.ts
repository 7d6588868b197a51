import { findLeaks } from '../lib/leaks';
import { labConfig, render } from './helpers';

const lab = render();
const app = lab.app('loki');
const values = lab.values(app.metadata.name);

describe('loki', () => {
  test('the pinned chart in the loki namespace, in distributed mode', () => {
    expect(lab.chart(app.metadata.name)).toMatchObject({ repoURL: 'https://grafana.github.io/helm-charts', chart: 'loki', targetRevision: '7.3.0' });
    expect(app.spec.destination.namespace).toBe('loki');
    expect(values.deploymentMode).toBe('Distributed');
  });

  test('the guide\'s replica counts; simple-scalable, single-binary and bloom targets stay off', () => {
    expect(values.ingester).toEqual({ replicas: 3, zoneAwareReplication: { enabled: false } });
    expect(values.querier).toEqual({ replicas: 3, maxUnavailable: 2 });
    expect(values.queryFrontend).toEqual({ replicas: 2, maxUnavailable: 1 });
    expect(values.queryScheduler).toEqual({ replicas: 2 });
    expect(values.distributor).toEqual({ replicas: 3, maxUnavailable: 2 });
    expect(values.compactor).toEqual({ replicas: 1 });
    expect(values.indexGateway).toEqual({ replicas: 2, maxUnavailable: 1 });
    for (const off of ['bloomPlanner', 'bloomBuilder', 'bloomGateway', 'backend', 'read', 'write', 'singleBinary']) {
      expect(values[off]).toEqual({ replicas: 0 });
    }
  });

  test('Azure Blob through workload identity: identity and storage from config, no key anywhere', () => {
    expect(values.serviceAccount).toEqual({
      name: 'loki',
      annotations: { 'azure.workload.identity/client-id': '00000000-0000-0000-0000-000000000000' },
      labels: { 'azure.workload.identity/use': 'true' },
    });
    expect(values.loki.podLabels).toEqual({ 'azure.workload.identity/use': 'true' });
    expect(values.loki.storage).toEqual({
      type: 'azure',
      bucketNames: { chunks: 'loki-chunks', ruler: 'loki-ruler' },
      azure: { accountName: 'kbleestorageaccount', useFederatedToken: true },
    });
    expect(JSON.stringify(values)).not.toMatch(/accountKey|account_key|connectionString|connection_string/);
    expect(findLeaks([{ path: 'apps/application-loki-lab.yaml', manifest: app }])).toEqual([]);
  });

  test('other identities, accounts and containers come from config', () => {
    const other = render(labConfig((r) => {
      r.loki.storage.clientId = '11111111-2222-3333-4444-555555555555';
      r.loki.storage.storageAccount = 'otheraccount';
      r.loki.storage.containers = { chunks: 'c-chunks', ruler: 'c-rules' };
    })).values('loki');
    expect(other.serviceAccount.annotations['azure.workload.identity/client-id']).toBe('11111111-2222-3333-4444-555555555555');
    expect(other.loki.storage.azure.accountName).toBe('otheraccount');
    expect(other.loki.storage.bucketNames).toEqual({ chunks: 'c-chunks', ruler: 'c-rules' });
  });

  test('names Azure would refuse are refused at synth', () => {
    expect(() => labConfig((r) => { r.loki.storage.storageAccount = 'Kblee-Storage'; })).toThrow(/loki\.storage\.storageAccount: must be an Azure storage account name/);
    expect(() => labConfig((r) => { r.loki.storage.containers.chunks = 'Loki_Chunks'; })).toThrow(/loki\.storage\.containers\.chunks: must be an Azure Blob container name/);
    expect(() => labConfig((r) => { r.loki.storage.clientId = '<CLIENT_ID>'; })).toThrow(/loki\.storage\.clientId: must be a GUID/);
  });

  test('TSDB schema v13 on Azure, 28 days of retention enforced by the compactor', () => {
    expect(values.loki.schemaConfig).toEqual({
      configs: [{ from: '2024-04-01', store: 'tsdb', object_store: 'azure', schema: 'v13', index: { prefix: 'loki_index_', period: '24h' } }],
    });
    expect(values.loki.compactor).toEqual({ retention_enabled: true, delete_request_store: 'azure' });
    expect(values.loki.limits_config).toEqual({ allow_structured_metadata: true, volume_enabled: true, retention_period: '672h' });
  });

  test('settings the guide puts where the chart ignores them are where Loki reads them', () => {
    expect(values.loki.querier).toEqual({ query_ingesters_within: '3h' });
    expect(values.querier.query_ingesters_within).toBeUndefined();
    // The top-level ruler is the component: only its replica count, so the settings above take effect.
    expect(values.ruler).toEqual({ replicas: 1 });
    expect(values.loki.storage_config).toEqual({ azure: { account_name: 'kbleestorageaccount', container_name: 'loki-chunks', use_federated_token: true } });
    expect(values.loki.structuredConfig.ruler).toEqual({
      enable_api: true,
      alertmanager_url: 'http://kube-prometheus-stack-alertmanager.monitoring.svc.cluster.local:9093',
    });
  });

  test('Promtail and Grafana reach Loki through its gateway, wherever Loki runs', () => {
    const moved = render(labConfig((r) => { r.loki.namespace = 'logs'; }));
    const push = moved.values('promtail').config.clients[0].url;
    expect(push).toBe('http://loki-gateway.logs.svc.cluster.local/loki/api/v1/push');
    expect(Object.values(moved.get('ConfigMap', 'loki-datasource', 'monitoring').data)[0]).toContain('url: http://loki-gateway.logs.svc.cluster.local\n');
  });
});
