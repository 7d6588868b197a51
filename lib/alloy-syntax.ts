// Grafana Alloy configuration (the Alloy syntax, formerly River) written from typed data, so that a
// component's pipeline is built from values and references rather than pasted text: a reference can only
// name a component that is part of the same configuration, and strings are always quoted and escaped.
// https://grafana.com/docs/alloy/latest/get-started/configuration-syntax/

/** A value of an attribute: a literal, a list, an object, or an expression (a reference, a function call). */
export type AlloyValue = string | number | boolean | AlloyExpression | readonly AlloyValue[] | { readonly [key: string]: AlloyValue };

/** Something Alloy evaluates rather than a literal: another component's export, an environment variable, a concatenation. */
export class AlloyExpression {
  /** An environment variable of the Alloy process, `sys.env("NAME")`. */
  public static env(name: string): AlloyExpression {
    return new AlloyExpression(`sys.env(${quote(name)})`, []);
  }

  /** Strings joined with `+`. */
  public static concat(...parts: readonly (string | AlloyExpression)[]): AlloyExpression {
    const exprs = parts.map((p) => (typeof p === 'string' ? new AlloyExpression(quote(p), []) : p));
    return new AlloyExpression(exprs.map((e) => e.text).join(' + '), exprs.flatMap((e) => e.components));
  }

  /** An export of a component, e.g. `discovery.kubernetes.pods.targets`. */
  public static exportOf(component: AlloyComponent, field: string): AlloyExpression {
    if (!IDENTIFIER.test(field)) throw new Error(`${component.id}: "${field}" is not an export name`);
    return new AlloyExpression(`${component.id}.${field}`, [component]);
  }

  private constructor(readonly text: string, readonly components: readonly AlloyComponent[]) {}
}

/** A block inside a component (`rule { ... }`, `endpoint { ... }`): attributes, then nested blocks. */
export interface AlloyBlock {
  readonly name: string;
  readonly attributes?: Readonly<Record<string, AlloyValue>>;
  readonly blocks?: readonly AlloyBlock[];
}

export interface AlloyComponentProps {
  /** Attributes, written in this order. */
  readonly attributes?: Readonly<Record<string, AlloyValue>>;
  /** Blocks, written after the attributes in this order. */
  readonly blocks?: readonly AlloyBlock[];
  /** Why the component is there, written as a comment above it. */
  readonly comment?: string;
}

/** One component of a configuration, e.g. `loki.write "default" { ... }`. */
export class AlloyComponent {
  /** How other components refer to it: `<name>.<label>`. */
  public readonly id: string;

  constructor(readonly name: string, readonly label: string, readonly props: AlloyComponentProps) {
    if (!/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/.test(name)) throw new Error(`"${name}" is not an Alloy component name such as loki.write`);
    if (!IDENTIFIER.test(label)) throw new Error(`${name}: label "${label}" must be an identifier (letters, digits, "_")`);
    this.id = `${name}.${label}`;
  }

  /** An export of this component, for another component's attribute. */
  public export(field: string): AlloyExpression {
    return AlloyExpression.exportOf(this, field);
  }
}

/**
 * A whole configuration, in the order given (Alloy itself orders by references). Refuses two components
 * with one id, and a reference to a component that is not part of it.
 */
export function renderAlloyConfig(components: readonly AlloyComponent[]): string {
  const ids = new Set<string>();
  for (const c of components) {
    if (ids.has(c.id)) throw new Error(`Alloy component ${c.id} is declared twice`);
    ids.add(c.id);
  }
  const out: string[] = [];
  for (const c of components) {
    for (const ref of referencesOf(c.props)) {
      if (!components.includes(ref)) throw new Error(`Alloy component ${c.id} refers to ${ref.id}, which is not part of the configuration`);
    }
    if (out.length > 0) out.push('');
    if (c.props.comment) out.push(...c.props.comment.split('\n').map((l) => `// ${l}`));
    out.push(...body(`${c.name} ${quote(c.label)}`, c.props, ''));
  }
  return `${out.join('\n')}\n`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const INDENT = '  ';

function body(header: string, b: AlloyComponentProps | AlloyBlock, indent: string): string[] {
  const inner = indent + INDENT;
  const attributes = Object.entries(b.attributes ?? {});
  const width = Math.max(0, ...attributes.map(([k]) => k.length));
  const lines = attributes.map(([k, v]) => {
    if (!IDENTIFIER.test(k)) throw new Error(`"${k}" is not an attribute name`);
    return `${inner}${k.padEnd(width)} = ${value(v, inner)}`;
  });
  for (const nested of b.blocks ?? []) {
    if (lines.length > 0) lines.push('');
    lines.push(...body(nested.name, nested, inner));
  }
  return [`${indent}${header} {`, ...lines, `${indent}}`];
}

function value(v: AlloyValue, indent: string): string {
  if (v instanceof AlloyExpression) return v.text;
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`${v} is not a number Alloy can read`);
    return String(v);
  }
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => value(x, indent)).join(', ')}]`;
  const entries = Object.entries(v as Record<string, AlloyValue>);
  if (entries.length === 0) return '{}';
  const inner = indent + INDENT;
  // Keys that are not identifiers (label names with dots or dashes) are quoted, which Alloy allows.
  return `{\n${entries.map(([k, x]) => `${inner}${IDENTIFIER.test(k) ? k : quote(k)} = ${value(x, inner)},`).join('\n')}\n${indent}}`;
}

/**
 * A double-quoted Alloy string. JSON's escapes (\" \\ \n \t \uXXXX) are all escapes Alloy reads too; the
 * chart passes the configuration through Helm's `tpl`, so template delimiters are refused rather than run.
 */
function quote(s: string): string {
  if (s.includes('{{') || s.includes('}}')) throw new Error(`"${s}": the alloy chart runs its configuration through Helm's tpl, which would evaluate "{{"/"}}"`);
  return JSON.stringify(s);
}

function referencesOf(b: AlloyComponentProps | AlloyBlock): AlloyComponent[] {
  const out: AlloyComponent[] = [];
  const walk = (v: AlloyValue): void => {
    if (v instanceof AlloyExpression) out.push(...v.components);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object') Object.values(v as Record<string, AlloyValue>).forEach(walk);
  };
  Object.values(b.attributes ?? {}).forEach(walk);
  for (const nested of b.blocks ?? []) out.push(...referencesOf(nested));
  return out;
}
