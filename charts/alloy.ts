// Grafana Alloy: Promtail's successor (Promtail reached end of life on 2026-03-02). A DaemonSet whose
// configuration is written here from typed parts (lib/alloy-syntax.ts): it tails the logs of the pods on
// its node and pushes them to the Loki gateway as Loki's tenant, with the labels Promtail's streams have.
//
// Why the Kubernetes API (loki.source.kubernetes) and not the node's log files (loki.source.file, as
// Promtail does): reading /var/log/pods needs a hostPath mount and root, so a compromised shipper could read
// every pod's logs and more on its node; through the API, Alloy runs as an unprivileged user with no host
// access, allowed only to read pods and their logs. The price is that the kubelet serves every line over
// HTTP (Alloy's docs: more network and kubelet CPU), and two labels file tailing added cannot be
// reproduced: `filename` (a path on the node) and `stream` (stdout/stderr, which the logs API merges).
// No query, dashboard or link of the platform uses either.
import { Construct } from 'constructs';
import { AlloyComponent, AlloyExpression, renderAlloyConfig } from '../lib/alloy-syntax';
import { Section } from '../lib/config';
import { HelmComponent } from '../lib/component';
import { AlloyValues } from '../lib/helm-values';
import { alloyRule, RelabelRule } from '../lib/relabel';
import { LokiChart } from './loki';
import { PLATFORM_POD_LOG_RULES, PROMTAIL_POD_LOG_RULES } from './pod-logs';

export interface AlloyProps {
  readonly config: Section<'alloy'>;
  /** Where the logs are pushed, as Loki's tenant. */
  readonly loki: LokiChart;
}

/** The environment variable the chart sets to the pod's node (spec.nodeName), which limits discovery to that node. */
export const NODE_NAME_ENV = 'K8S_NODE_NAME';

/** The non-root user of the Alloy image (https://grafana.com/docs/alloy/latest/configure/nonroot/). */
const ALLOY_UID = 473;

/**
 * Where Alloy keeps its state, the read positions of every container's log among it: an emptyDir, so that
 * a restarted container resumes where it stopped instead of sending a container's whole log again.
 */
const STORAGE_PATH = '/var/lib/alloy/data';

/**
 * A label set on pods that have no instance label of their own. loki.source.kubernetes gives such streams
 * `instance="<namespace>/<pod>:<container>"`, which Promtail never set; `loki.relabel` removes that default
 * again (and this label) so that the streams keep exactly Promtail's labels.
 */
const INSTANCE_UNSET = 'instance_unset';

export class AlloyChart extends HelmComponent<AlloyValues> {
  constructor(scope: Construct, props: AlloyProps) {
    const { config, loki } = props;
    super(scope, 'alloy', {
      namespace: config.namespace,
      source: { chartKey: 'alloy', chartVersion: config.chartVersion },
      values: {
        // The PodLogs CRD serves loki.source.podlogs, which this configuration does not use.
        crds: { create: false },
        alloy: {
          configMap: { content: podLogsPipeline(loki) },
          // No usage reports to Grafana Labs: the platform's components call nothing outside the cluster.
          enableReporting: false,
          storagePath: STORAGE_PATH,
          mounts: { extra: [{ name: 'storage', mountPath: STORAGE_PATH }] },
          securityContext: {
            runAsNonRoot: true, runAsUser: ALLOY_UID, runAsGroup: ALLOY_UID,
            allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
          },
          // No CPU limit: throttling would only delay lines, which then pile up in memory. The memory limit
          // bounds a node's shipper if Loki stops accepting and retries pile up.
          resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '512Mi' } },
        },
        global: { podSecurityContext: { fsGroup: ALLOY_UID, seccompProfile: { type: 'RuntimeDefault' } } },
        controller: {
          type: 'daemonset',
          // Promtail's tolerations: control-plane nodes run pods whose logs count too.
          tolerations: [
            { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
            { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
          ],
          volumes: { extra: [{ name: 'storage', emptyDir: {} }] },
        },
        // What the pipeline reads, instead of the chart's default role (which may read every Secret and
        // ConfigMap of the cluster). The chart appends clusterRules to rules without a list separator when
        // either is empty, so the log subresource is given as the one cluster rule.
        rbac: {
          rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
          clusterRules: [{ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }],
        },
        // Promtail is not scraped by the platform's Prometheus today, and neither is Alloy: its metrics
        // port (http-metrics, 12345) is there for a PodScrape when someone wants the shipper's own metrics.
      },
    });
  }
}

/**
 * The pipeline: discover the node's pods, relabel them as Promtail did (and drop the canary), tail their
 * logs through the API, push to Loki as the tenant.
 */
function podLogsPipeline(loki: LokiChart): string {
  const pods = new AlloyComponent('discovery.kubernetes', 'pods', {
    comment: 'The pods of this node only: one Alloy per node, like Promtail.',
    attributes: { role: 'pod' },
    blocks: [{ name: 'selectors', attributes: { role: 'pod', field: AlloyExpression.concat('spec.nodeName=', AlloyExpression.env(NODE_NAME_ENV)) } }],
  });
  const markInstanceUnset: RelabelRule = { source_labels: ['instance'], regex: '', target_label: INSTANCE_UNSET, replacement: 'true' };
  const relabel = new AlloyComponent('discovery.relabel', 'pod_logs', {
    comment: 'Promtail\'s labels (charts/pod-logs.ts), the platform\'s service and service_name, the loki-canary drop.',
    attributes: { targets: pods.export('targets') },
    blocks: [...PROMTAIL_POD_LOG_RULES, ...PLATFORM_POD_LOG_RULES, markInstanceUnset].map(alloyRule),
  });
  const write = new AlloyComponent('loki.write', 'loki', {
    attributes: {},
    blocks: [{ name: 'endpoint', attributes: { url: `${loki.gatewayUrl}/loki/api/v1/push`, tenant_id: loki.tenant } }],
  });
  const restoreInstance = new AlloyComponent('loki.relabel', 'promtail_labels', {
    comment: `Removes the instance label loki.source.kubernetes adds where the pod has none (marked ${INSTANCE_UNSET}).`,
    attributes: { forward_to: [write.export('receiver')] },
    blocks: ([
      { source_labels: [INSTANCE_UNSET], regex: 'true', target_label: 'instance', replacement: '' },
      { action: 'labeldrop', regex: INSTANCE_UNSET },
    ] satisfies RelabelRule[]).map(alloyRule),
  });
  const source = new AlloyComponent('loki.source.kubernetes', 'pod_logs', {
    attributes: { targets: relabel.export('output'), forward_to: [restoreInstance.export('receiver')] },
  });
  return renderAlloyConfig([pods, relabel, source, restoreInstance, write]);
}
