// Prometheus relabeling rules as data: Promtail reads them as `relabel_configs` (YAML) and Grafana Alloy as
// `rule` blocks (discovery.relabel, loki.relabel), with the same field names and the same semantics, so one
// definition serves both log shippers.
// https://prometheus.io/docs/prometheus/latest/configuration/configuration/#relabel_config
import { AlloyBlock } from './alloy-syntax';

/** The relabel actions the platform uses. */
export type RelabelAction = 'replace' | 'keep' | 'drop' | 'labeldrop' | 'labelkeep';

/** One relabeling rule, spelled as Promtail's YAML and Alloy's `rule` block both spell it. */
export interface RelabelRule {
  /** @default - none (the rule sees the empty string) */
  readonly source_labels?: readonly string[];
  /** @default ";" */
  readonly separator?: string;
  /** Anchored at both ends. @default "(.*)" */
  readonly regex?: string;
  readonly target_label?: string;
  /** @default "$1" */
  readonly replacement?: string;
  /** @default "replace" */
  readonly action?: RelabelAction;
}

/** The rule as an Alloy `rule` block (the attributes it sets, in Alloy's own order). */
export function alloyRule(rule: RelabelRule): AlloyBlock {
  const { source_labels, separator, regex, target_label, replacement, action } = rule;
  const attributes = Object.fromEntries(Object.entries({ source_labels, separator, regex, target_label, replacement, action })
    .filter(([, v]) => v !== undefined)) as Record<string, string | readonly string[]>;
  return { name: 'rule', attributes };
}
