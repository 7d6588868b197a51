// Promtail: a DaemonSet that tails every pod's logs and pushes them to the Loki gateway as Loki's tenant.
// The guide's promtail-values.yaml.
import { Construct } from 'constructs';
import { Section } from '../lib/config';
import { HelmComponent } from '../lib/component';
import { ClusterSize, requests } from '../lib/sizing';
import { PromtailValues } from '../lib/helm-values';
import { LokiChart } from './loki';
import { PLATFORM_POD_LOG_RULES } from './pod-logs';

export interface PromtailProps {
  /** How large the component runs (config `cluster.size`). @default 'standard' */
  readonly size?: ClusterSize;
  readonly config: Section<'promtail'>;
  /** Where the logs are pushed, as Loki's tenant. */
  readonly loki: LokiChart;
}

export class PromtailChart extends HelmComponent<PromtailValues> {
  constructor(scope: Construct, props: PromtailProps) {
    const { config, loki } = props;
    super(scope, 'promtail', {
      namespace: config.namespace,
      source: { chartKey: 'promtail', chartVersion: config.chartVersion },
      values: {
        config: {
          clients: [{ url: `${loki.gatewayUrl}/loki/api/v1/push`, tenant_id: loki.tenant }],
          snippets: {
            // The guide writes its own kubernetes-pods job under a top-level `scrape_configs:`, which the
            // chart never reads. The chart's kubernetes-pods job already has the guide's CRI parsing and its
            // namespace, pod and container labels; the guide's additions (charts/pod-logs.ts: `service`,
            // `service_name`, the canary drop) are appended to that job here.
            extraRelabelConfigs: [...PLATFORM_POD_LOG_RULES],
          },
        },
      },
    });
    if (props.size === 'small') this.addValues({ resources: requests('10m', '64Mi') });
  }
}
