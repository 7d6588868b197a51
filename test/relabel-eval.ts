// Prometheus relabeling, evaluated on a label set as Prometheus (and so Promtail and Alloy, which use its
// code) does, for tests that check what a shipper's rules make of a pod rather than how they are spelled.
// https://github.com/prometheus/prometheus/blob/main/model/relabel/relabel.go
// The regexes the platform uses are RE2 that JavaScript reads the same way.

export interface Rule {
  readonly source_labels?: readonly string[];
  readonly separator?: string;
  readonly regex?: string;
  readonly target_label?: string;
  readonly replacement?: string;
  readonly action?: string;
}

export type Labels = Record<string, string>;

/** Go's Regexp.Expand: `$1`, `${1}`, `$name`, `${name}`; `$$` is a dollar. A missing group is empty. */
function expand(template: string, m: RegExpExecArray): string {
  return template.replace(/\$(\$|\{(\w+)\}|(\w+))/g, (_all, whole: string, braced?: string, bare?: string) => {
    if (whole === '$') return '$';
    const name = braced ?? bare!;
    const value = /^\d+$/.test(name) ? m[Number(name)] : m.groups?.[name];
    return value ?? '';
  });
}

/** The labels after the rules, or undefined when a rule drops the target. */
export function relabel(input: Labels, rules: readonly Rule[]): Labels | undefined {
  const labels: Labels = { ...input };
  for (const r of rules) {
    const action = r.action ?? 'replace';
    const re = new RegExp(`^(?:${r.regex ?? '(.*)'})$`);
    const value = (r.source_labels ?? []).map((l) => labels[l] ?? '').join(r.separator ?? ';');
    switch (action) {
      case 'drop':
        if (re.test(value)) return undefined;
        break;
      case 'keep':
        if (!re.test(value)) return undefined;
        break;
      case 'replace': {
        const m = re.exec(value);
        if (!m) break;
        const target = expand(r.target_label ?? '', m);
        const res = expand(r.replacement ?? '$1', m);
        if (res === '') delete labels[target];
        else labels[target] = res;
        break;
      }
      case 'labeldrop':
        for (const k of Object.keys(labels)) if (re.test(k)) delete labels[k];
        break;
      case 'labelkeep':
        for (const k of Object.keys(labels)) if (!re.test(k)) delete labels[k];
        break;
      default:
        throw new Error(`relabel action "${action}" is not modelled`);
    }
  }
  return labels;
}

/** Without the labels that start with "__" (Prometheus's reserved prefix), which no stream keeps. */
export function publicLabels(labels: Labels): Labels {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => !k.startsWith('__')));
}
