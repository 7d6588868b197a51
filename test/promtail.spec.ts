import * as yaml from 'js-yaml';
import { labConfig, render } from './helpers';

const lab = render();
const app = lab.app('promtail');
const values = lab.values(app.metadata.name);

describe('promtail', () => {
  test('the pinned chart in the monitoring namespace', () => {
    expect(lab.chart(app.metadata.name)).toMatchObject({ repoURL: 'https://grafana.github.io/helm-charts', chart: 'promtail', targetRevision: '6.17.1' });
    expect(app.spec.destination.namespace).toBe('monitoring');
  });

  test('pushes to the Loki gateway as the configured tenant', () => {
    expect(values.config.clients).toEqual([{ url: 'http://loki-gateway.loki.svc.cluster.local/loki/api/v1/push', tenant_id: 'self-monitoring' }]);
    const other = render(labConfig((r) => { r.loki.tenant = 'platform'; }));
    expect(other.values('promtail').config.clients[0].tenant_id).toBe('platform');
  });

  test('the guide\'s labels and canary drop are appended to the chart\'s kubernetes-pods job', () => {
    // A top-level scrape_configs (as the guide has it) is not a value the chart reads.
    expect(values.scrape_configs).toBeUndefined();
    expect(values.config.snippets.extraRelabelConfigs).toEqual([
      { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], target_label: 'service' },
      { source_labels: ['__meta_kubernetes_pod_label_app'], target_label: 'service_name' },
      { action: 'drop', source_labels: ['__meta_kubernetes_pod_name'], regex: 'loki-canary-.*' },
    ]);
    // The chart's own job keeps its CRI parsing and namespace/pod/container labels.
    expect(values.config.snippets.scrapeConfigs).toBeUndefined();
    expect(values.config.snippets.pipelineStages).toBeUndefined();
  });

  test('the label Tempo\'s traces-to-logs link matches on is one Promtail sets', () => {
    const tempo: any = yaml.load(Object.values(lab.get('ConfigMap', 'tempo-datasource', 'monitoring').data)[0] as string);
    const targets = values.config.snippets.extraRelabelConfigs.map((r: any) => r.target_label);
    const chartLabels = ['namespace', 'pod', 'container', 'app', 'instance', 'component', 'job', 'node_name'];
    for (const t of tempo.datasources[0].jsonData.tracesToLogsV2.tags) expect([...chartLabels, ...targets]).toContain(t.value ?? t.key);
  });
});
