import { findLeaks } from '../lib/leaks';
import { labConfig, render } from './helpers';

const lab = render();
const app = lab.app('tempo');
const values = lab.values(app.metadata.name);

describe('tempo', () => {
  test('the pinned tempo-distributed chart in the observability namespace, after the secrets it reads', () => {
    expect(lab.chart(app.metadata.name)).toMatchObject({ repoURL: 'https://grafana.github.io/helm-charts', chart: 'tempo-distributed', targetRevision: '1.61.3' });
    expect(lab.chart(app.metadata.name).helm.releaseName).toBe('tempo');
    expect(app.spec.destination.namespace).toBe('observability');
    expect(lab.wave('tempo')).toBeGreaterThan(lab.wave('secrets'));
  });

  test('receives OTLP over gRPC on 4317 only', () => {
    expect(values.traces.otlp).toEqual({ http: { enabled: false, receiverConfig: {} }, grpc: { enabled: true, receiverConfig: {}, port: 4317 } });
  });

  test('the metrics generator remote-writes service-graph and span metrics into this platform\'s Prometheus', () => {
    expect(values.metricsGenerator.enabled).toBe(true);
    expect(values.metricsGenerator.config).toEqual({
      registry: { collection_interval: '15s' },
      storage: { remote_write: [{ url: 'http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090/api/v1/write' }] },
    });
    expect(values.overrides.defaults.metrics_generator.processors).toEqual(['service-graphs', 'span-metrics']);
    expect(lab.values('kube-prometheus-stack').prometheus.prometheusSpec.enableRemoteWriteReceiver).toBe(true);
  });

  test('trace blocks go to the configured Azure container; the key is expanded from the environment', () => {
    expect(values.storage.trace).toEqual({
      backend: 'azure',
      azure: { container_name: 'tempo-traces', storage_account_name: 'kbleestorageaccount', storage_account_key: '${STORAGE_ACCOUNT_ACCESS_KEY}' },
    });
    const other = render(labConfig((r) => { r.tempo.storage.storageAccount = 'tracesaccount'; r.tempo.storage.container = 'traces'; }));
    expect(other.values('tempo').storage.trace.azure).toMatchObject({ container_name: 'traces', storage_account_name: 'tracesaccount' });
  });

  test.each(['distributor', 'ingester', 'querier', 'queryFrontend', 'compactor', 'metricsGenerator'])(
    '%s expands its config from an environment variable filled from tempo-azure-credentials',
    (component) => {
      expect(values[component].extraArgs).toEqual(['-config.expand-env=true']);
      expect(values[component].extraEnv).toEqual([{
        name: 'STORAGE_ACCOUNT_ACCESS_KEY',
        valueFrom: { secretKeyRef: { name: 'tempo-azure-credentials', key: 'STORAGE_ACCOUNT_ACCESS_KEY' } },
      }]);
    });

  test('the key is a declared secret in Tempo\'s namespace; values hold no credential', () => {
    const declared = lab.secret('tempo-azure-credentials');
    expect(declared.namespaces).toContain('observability');
    expect(Object.keys(declared.keys)).toEqual(['STORAGE_ACCOUNT_ACCESS_KEY']);
    // Not global.extraArgs: memcached would get the flag too.
    expect(values.global).toBeUndefined();
    expect(findLeaks([{ path: 'apps/application-tempo-lab.yaml', manifest: app }])).toEqual([]);
  });

  test('Grafana\'s Tempo datasource reads from this release\'s query frontend', () => {
    const cm = lab.get('ConfigMap', 'tempo-datasource', 'monitoring');
    expect(Object.values(cm.data)[0]).toContain('url: http://tempo-query-frontend.observability.svc.cluster.local:3200');
  });
});
