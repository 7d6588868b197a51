// The labels every pod log stream carries in Loki, whichever shipper pushes it (charts/promtail.ts or
// charts/alloy.ts): the platform relies on them (Grafana's Loki dashboard filters by namespace and pod,
// Tempo's traces-to-logs link matches `service`), so both shippers take them from here.
import { RelabelRule } from '../lib/relabel';

/**
 * What the platform adds to the shipper's pod labels, and the canary drop. Promtail appends these to its
 * chart's kubernetes-pods job; Alloy applies them after the Promtail-compatible rules below.
 */
export const PLATFORM_POD_LOG_RULES: readonly RelabelRule[] = [
  // `service` is what Tempo's traces-to-logs link matches (span attribute service.name).
  { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], target_label: 'service' },
  { source_labels: ['__meta_kubernetes_pod_label_app'], target_label: 'service_name' },
  // The canary's synthetic lines would only add noise to every query.
  { action: 'drop', source_labels: ['__meta_kubernetes_pod_name'], regex: 'loki-canary-.*' },
];

/**
 * The labels the promtail chart's kubernetes-pods job gives each pod's stream (promtail 6.17.1, values.yaml
 * `config.snippets.scrapeConfigs` and `config.snippets.common`), minus its `__path__` rules, which only
 * file tailing needs: app, instance and component from the usual pod labels, node_name, namespace, job
 * (`<namespace>/<app>`), pod and container. A shipper that replaces Promtail applies them so that every
 * query and dashboard written against Promtail's streams keeps working; test/alloy.spec.ts evaluates these
 * and the rendered promtail chart's rules on the same pods and compares.
 */
export const PROMTAIL_POD_LOG_RULES: readonly RelabelRule[] = [
  { source_labels: ['__meta_kubernetes_pod_controller_name'], regex: '([0-9a-z-.]+?)(-[0-9a-f]{8,10})?', action: 'replace', target_label: '__tmp_controller_name' },
  {
    source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name', '__meta_kubernetes_pod_label_app', '__tmp_controller_name', '__meta_kubernetes_pod_name'],
    regex: '^;*([^;]+)(;.*)?$', action: 'replace', target_label: 'app',
  },
  {
    source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_instance', '__meta_kubernetes_pod_label_instance'],
    regex: '^;*([^;]+)(;.*)?$', action: 'replace', target_label: 'instance',
  },
  {
    source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_component', '__meta_kubernetes_pod_label_component'],
    regex: '^;*([^;]+)(;.*)?$', action: 'replace', target_label: 'component',
  },
  { action: 'replace', source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'node_name' },
  { action: 'replace', source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
  { action: 'replace', replacement: '$1', separator: '/', source_labels: ['namespace', 'app'], target_label: 'job' },
  { action: 'replace', source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
  { action: 'replace', source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
];
