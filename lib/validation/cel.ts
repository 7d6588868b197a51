// CEL validation rules of CRD schemas (x-kubernetes-validations), evaluated as the API server evaluates them
// when an object is created, with @bufbuild/cel (cel-spec) and the Kubernetes library functions of
// ./cel-library.ts. As the API server does:
// - the schema's defaults are filled in first (structural defaulting), so `self.value` of a path match
//   that left out `value: /` sees the default;
// - each rule runs at its schema node with `self` the value there, typed by the schema: integer -> int,
//   number -> double, x-kubernetes-int-or-string -> int or string, format byte -> bytes, date-time -> timestamp,
//   an object with properties -> its declared fields under their escaped names (`namespace` is
//   `__namespace__`, `a-b` is `a__dash__b`), additionalProperties -> a map; a field left out is absent
//   (`has(self.x)` is false; `self.x` is an error); at a resource's root (and an embedded resource's)
//   apiVersion, kind, metadata.name and metadata.generateName are visible too;
// - a rule that is false is a violation with its messageExpression's value, else its message, else
//   "failed rule: <rule>"; its fieldPath names the field, its reason the kind of refusal.
// Not as the API server does:
// - transition rules (those that read `oldSelf`) compare an update with the stored object; validation here
//   is of creation, so they do not apply: counted as not applicable, not evaluated, never passed;
// - a rule that cannot be evaluated here (it does not parse, calls a function this evaluator lacks, or its
//   evaluation fails, e.g. on a missing field) is reported as not evaluated, with why: the API server
//   would refuse the object on such an error, but the error may be this evaluator's own;
// - cost limits are not enforced, and list-type set/map lists compare as plain lists.
// Each rule is parsed and planned once per process and kept (by its text); only schema subtrees that hold
// rules are walked.
import type { CelInput } from '@bufbuild/cel';

type Schema = Record<string, any>;

/** One entry of x-kubernetes-validations. */
export interface CelRule {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
  readonly fieldPath?: string;
  readonly reason?: string;
  readonly optionalOldSelf?: boolean;
}

export interface CelViolation {
  /** Where the rule failed (its node, or its fieldPath): path parts as for schema.ts fieldPath(). */
  readonly path: readonly (string | number)[];
  /** The rule's message (messageExpression, message, or "failed rule: ..."). */
  readonly message: string;
  /** The API server's kind of refusal: FieldValueInvalid unless the rule names another reason. */
  readonly reason: string;
  readonly rule: string;
}

export interface CelNotEvaluated {
  readonly path: readonly (string | number)[];
  readonly rule: string;
  /** Why: a parse error, an unknown function, the evaluation's error. */
  readonly why: string;
}

export interface CelOutcome {
  readonly violations: CelViolation[];
  readonly notEvaluated: CelNotEvaluated[];
  /** Rules evaluated to true or false. */
  evaluated: number;
  /** Transition rules (reading oldSelf), which do not apply to creation. */
  transitionRules: number;
}

/**
 * The version of this evaluator, in the schema cache key (lib/validation/index.ts): an object that passed
 * one version's evaluation is checked again by another.
 */
export const CEL_EVALUATOR_VERSION = 'cel/1';

type Runtime = typeof import('./cel-runtime');
let runtime: Runtime | undefined;
/** The evaluator, loaded on first use (./cel-runtime.ts says why). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cel = (): Runtime => (runtime ??= require('./cel-runtime') as Runtime);

/** Calls the planner handles itself (operators and macros' helpers), which no function resolver lists. */
const PLANNER_CALLS = new Set(['_&&_', '_||_', '_?_:_', '@not_strictly_false', '_[_]', '!_', '@in']);

interface Program {
  readonly run?: (bindings: Record<string, CelInput>) => unknown;
  /** Set when the rule cannot be evaluated, whatever the object. */
  readonly unusable?: string;
  readonly usesOldSelf: boolean;
}

const programs = new Map<string, Program>();

/** What an AST calls and reads: function names (with their receiver's name, for messages) and identifiers. */
function survey(expr: any, calls: Set<string>, idents: Set<string>): void {
  if (!expr) return;
  const k = expr.exprKind;
  switch (k?.case) {
    case 'identExpr': idents.add(k.value.name); break;
    case 'selectExpr': survey(k.value.operand, calls, idents); break;
    case 'callExpr':
      calls.add(k.value.function);
      survey(k.value.target, calls, idents);
      for (const a of k.value.args) survey(a, calls, idents);
      break;
    case 'listExpr': for (const e of k.value.elements) survey(e, calls, idents); break;
    case 'structExpr': for (const e of k.value.entries) { survey(e.keyKind?.value, calls, idents); survey(e.value, calls, idents); } break;
    case 'comprehensionExpr':
      for (const f of ['iterRange', 'accuInit', 'loopCondition', 'loopStep', 'result']) survey(k.value[f], calls, idents);
      break;
    default:
  }
}

/** A rule's program, parsed and planned on first use. */
export function compileRule(text: string): Program {
  let p = programs.get(text);
  if (p) return p;
  // Outside the try: an evaluator that fails to load fails the run, rather than every rule "not parsing".
  const runtime = cel();
  try {
    const parsed = runtime.parse(text);
    const calls = new Set<string>();
    const idents = new Set<string>();
    survey(parsed.expr, calls, idents);
    const unknown = [...calls].filter((c) => !PLANNER_CALLS.has(c) && !runtime.env.funcs.find(c)).sort();
    const usesOldSelf = idents.has('oldSelf');
    p = unknown.length > 0
      ? { unusable: `it calls ${unknown.map((u) => `${u}()`).join(', ')}, which this evaluator does not implement (lib/validation/cel-library.ts)`, usesOldSelf }
      : { run: runtime.plan(runtime.env, parsed) as (b: Record<string, CelInput>) => unknown, usesOldSelf };
  } catch (e) {
    p = { unusable: `it does not parse: ${(e as Error).message.split('\n')[0]}`, usesOldSelf: /\boldSelf\b/.test(text) };
  }
  programs.set(text, p);
  return p;
}

// ---- Schema helpers ----

/** Resolves a `#/definitions/<name>` reference of a CRD schema (scripts/gen-schemas.js shares subtrees so). */
function resolve(node: Schema | undefined, root: Schema): Schema | undefined {
  let n = node;
  for (let i = 0; n && typeof n.$ref === 'string' && i < 20; i++) {
    const m = /^#\/definitions\/(.+)$/.exec(n.$ref);
    n = m ? (root.definitions as Schema | undefined)?.[m[1]] : undefined;
  }
  return n;
}

/** Walks the structural children of a schema node. */
function children(node: Schema): Schema[] {
  const out: Schema[] = [];
  if (node.properties) out.push(...Object.values(node.properties as Schema));
  if (node.items && typeof node.items === 'object' && !Array.isArray(node.items)) out.push(node.items);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') out.push(node.additionalProperties);
  return out;
}

/** Per keyword, whether each schema node's subtree holds it (memoized: schemas live as long as the process). */
const holds = new Map<string, WeakMap<object, boolean>>();
function subtreeHolds(node: Schema | undefined, root: Schema, keyword: string): boolean {
  const n = resolve(node, root);
  if (!n) return false;
  let memo = holds.get(keyword);
  if (!memo) holds.set(keyword, (memo = new WeakMap()));
  const known = memo.get(n);
  if (known !== undefined) return known;
  memo.set(n, false); // a cycle through definitions holds nothing more
  const result = n[keyword] !== undefined || children(n).some((c) => subtreeHolds(c, root, keyword));
  memo.set(n, result);
  return result;
}

/** Whether a CRD schema has any CEL rule: objects of CRDs without are not walked at all. */
export function hasCelRules(schema: Schema): boolean {
  return subtreeHolds(schema, schema, 'x-kubernetes-validations');
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The object with the schema's defaults filled in where a field is absent, as the API server defaults a
 * request; the input is not changed (changed parts are copied).
 */
export function withDefaults(node: Schema | undefined, value: unknown, root: Schema): unknown {
  const n = resolve(node, root);
  if (!n || value === undefined || !subtreeHolds(n, root, 'default')) return value;
  if (Array.isArray(value)) {
    const items = resolve(n.items, root);
    if (!items) return value;
    const out = value.map((v) => withDefaults(items, v, root));
    return out.some((v, i) => v !== value[i]) ? out : value;
  }
  if (!isPlainObject(value)) return value;
  let out: Record<string, unknown> | undefined;
  const set = (k: string, v: unknown) => { if (v !== value[k]) (out ??= { ...value })[k] = v; };
  for (const [k, sub] of Object.entries((n.properties ?? {}) as Schema)) {
    const s = resolve(sub, root);
    if (!s) continue;
    if (value[k] === undefined && s.default !== undefined) set(k, withDefaults(s, structuredClone(s.default), root));
    else if (value[k] !== undefined) set(k, withDefaults(s, value[k], root));
  }
  const extra = resolve(typeof n.additionalProperties === 'object' ? n.additionalProperties : undefined, root);
  if (extra) for (const [k, v] of Object.entries(value)) set(k, withDefaults(extra, v, root));
  return out ?? value;
}

// ---- From JSON to CEL values ----

const RESERVED = new Set(['true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if',
  'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while']);

/**
 * A property name as CEL rules see it (k8s.io/apiserver/pkg/cel Escape): reserved words become `__word__`,
 * and `__`, `.`, `-`, `/` become `__underscores__`, `__dot__`, `__dash__`, `__slash__`. Undefined for a
 * name that cannot be escaped (rules cannot read such a field).
 */
export function escapeProperty(name: string): string | undefined {
  if (RESERVED.has(name)) return `__${name}__`;
  if (!/^[a-zA-Z_.\-/][a-zA-Z0-9_.\-/]*$/.test(name)) return undefined;
  let out = '';
  for (let i = 0; i < name.length; i++) {
    if (name.startsWith('__', i)) { out += '__underscores__'; i++; continue; }
    const c = name[i];
    out += c === '.' ? '__dot__' : c === '-' ? '__dash__' : c === '/' ? '__slash__' : c;
  }
  return out;
}

/** A value of a field without a schema (x-kubernetes-preserve-unknown-fields): typed by its JSON. */
function untyped(value: unknown): CelInput {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(untyped);
  if (isPlainObject(value)) return new Map(Object.entries(value).map(([k, v]) => [k, untyped(v)]));
  return value as CelInput;
}

function base64Bytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/** The CEL value of `value` at schema node `node`; `resourceRoot` for a resource's root or an embedded resource. */
export function toCel(node: Schema | undefined, value: unknown, root: Schema, resourceRoot = false): CelInput {
  const n = resolve(node, root);
  if (value === null) return null;
  if (!n) return untyped(value);
  if (n['x-kubernetes-int-or-string'] === true) return typeof value === 'number' ? (Number.isInteger(value) ? BigInt(value) : value) : value as CelInput;
  switch (n.type) {
    case 'integer': return typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : value as CelInput;
    case 'number': return value as CelInput;
    case 'string':
      if (typeof value !== 'string') return value as CelInput;
      if (n.format === 'byte') return base64Bytes(value);
      if (n.format === 'date-time' || n.format === 'date') {
        const d = new Date(value);
        return Number.isNaN(d.getTime()) ? value : cel().timestampFromDate(d);
      }
      return value;
    case 'array': {
      if (!Array.isArray(value)) return untyped(value);
      const items = n.items as Schema | undefined;
      const embedded = resolve(items, root)?.['x-kubernetes-embedded-resource'] === true;
      return value.map((v) => toCel(items, v, root, embedded));
    }
    default:
  }
  if (!isPlainObject(value)) return untyped(value);
  const extra = typeof n.additionalProperties === 'object' ? n.additionalProperties as Schema : undefined;
  if (extra && !n.properties) {
    const embedded = resolve(extra, root)?.['x-kubernetes-embedded-resource'] === true;
    return new Map(Object.entries(value).map(([k, v]) => [k, toCel(extra, v, root, embedded)]));
  }
  if (!n.properties && n['x-kubernetes-preserve-unknown-fields'] === true) return untyped(value);
  const out = new Map<string, CelInput>();
  for (const [k, sub] of Object.entries((n.properties ?? {}) as Schema)) {
    const name = escapeProperty(k);
    if (name === undefined || value[k] === undefined || value[k] === null && resolve(sub, root)?.nullable !== true) continue;
    out.set(name, toCel(sub, value[k], root, resolve(sub, root)?.['x-kubernetes-embedded-resource'] === true));
  }
  if (resourceRoot) {
    for (const k of ['apiVersion', 'kind']) if (typeof value[k] === 'string' && !out.has(k)) out.set(k, value[k] as string);
    const meta = isPlainObject(value.metadata) ? value.metadata : undefined;
    if (meta && !n.properties?.metadata?.properties) {
      const visible = new Map<string, CelInput>();
      for (const k of ['name', 'generateName']) if (typeof meta[k] === 'string') visible.set(k, meta[k] as string);
      out.set('metadata', visible);
    }
  }
  return out;
}

// ---- Evaluation ----

/** `.spec.x`, `.x['a.b']`, `.x[0]`: a rule's fieldPath, relative to its node; undefined when malformed. */
export function parseFieldPath(fieldPath: string): (string | number)[] | undefined {
  const out: (string | number)[] = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_-]*)|\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]/y;
  let i = 0;
  while (i < fieldPath.length) {
    re.lastIndex = i;
    const m = re.exec(fieldPath);
    if (!m) return undefined;
    out.push(m[1] ?? (m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : Number(m[3])));
    i = re.lastIndex;
  }
  return out;
}

function messageOf(rule: CelRule, self: CelInput): string {
  if (rule.messageExpression) {
    // As the API server does, a messageExpression that fails or gives no string falls back to the message.
    const p = compileRule(rule.messageExpression);
    if (p.run) {
      try {
        const r = p.run({ self });
        if (typeof r === 'string' && r.trim() !== '') return r;
      } catch {
        // Falls back below.
      }
    }
  }
  return rule.message ?? `failed rule: ${rule.rule}`;
}

/**
 * Evaluates every CEL rule of a CRD version's schema (its openAPIV3Schema, with `definitions` when the
 * bundle shares subtrees) on an object as it would be created.
 */
export function evaluateCelRules(schema: Schema, manifest: unknown): CelOutcome {
  const outcome: CelOutcome = { violations: [], notEvaluated: [], evaluated: 0, transitionRules: 0 };
  if (!hasCelRules(schema)) return outcome;
  const root = schema;
  const defaulted = withDefaults(schema, manifest, root);
  const walk = (node: Schema | undefined, value: unknown, path: (string | number)[], resourceRoot: boolean) => {
    const n = resolve(node, root);
    if (!n || value === undefined || value === null || !subtreeHolds(n, root, 'x-kubernetes-validations')) return;
    const rules = n['x-kubernetes-validations'] as CelRule[] | undefined;
    if (rules && rules.length > 0) {
      let self: CelInput | undefined;
      for (const rule of rules) {
        const p = compileRule(rule.rule);
        if (p.usesOldSelf && !rule.optionalOldSelf) { outcome.transitionRules++; continue; }
        if (p.unusable || p.usesOldSelf) {
          outcome.notEvaluated.push({ path, rule: rule.rule, why: p.unusable ?? 'it reads oldSelf with optionalOldSelf, which this evaluator does not support' });
          continue;
        }
        let result: unknown;
        try {
          self ??= toCel(n, value, root, resourceRoot);
          result = p.run!({ self });
        } catch (e) {
          result = e;
        }
        if (result === true) { outcome.evaluated++; continue; }
        if (result === false) {
          outcome.evaluated++;
          const extra = rule.fieldPath ? parseFieldPath(rule.fieldPath) : [];
          outcome.violations.push({ path: [...path, ...(extra ?? [])], message: messageOf(rule, self!), reason: rule.reason ?? 'FieldValueInvalid', rule: rule.rule });
          continue;
        }
        const why = cel().isCelError(result) || result instanceof Error
          ? `its evaluation failed: ${(result as Error).message}`
          : `it gave ${typeof result === 'bigint' ? `${result}` : JSON.stringify(result) ?? String(result)}, not a boolean`;
        outcome.notEvaluated.push({ path, rule: rule.rule, why });
      }
    }
    if (Array.isArray(value)) {
      const items = resolve(n.items, root);
      const embedded = items?.['x-kubernetes-embedded-resource'] === true;
      value.forEach((v, i) => walk(items, v, [...path, i], embedded));
      return;
    }
    if (!isPlainObject(value)) return;
    for (const [k, sub] of Object.entries((n.properties ?? {}) as Schema)) {
      if (value[k] !== undefined) walk(sub, value[k], [...path, k], resolve(sub, root)?.['x-kubernetes-embedded-resource'] === true);
    }
    const extra = resolve(typeof n.additionalProperties === 'object' ? n.additionalProperties : undefined, root);
    if (extra && !n.properties) {
      for (const [k, v] of Object.entries(value)) walk(extra, v, [...path, k], extra['x-kubernetes-embedded-resource'] === true);
    }
  };
  walk(schema, defaulted, [], true);
  return outcome;
}

/** The API server's wording of a rule's reason (field.ErrorType). */
export function reasonText(reason: string): string {
  switch (reason) {
    case 'FieldValueForbidden': return 'Forbidden';
    case 'FieldValueRequired': return 'Required value';
    case 'FieldValueDuplicate': return 'Duplicate value';
    default: return 'Invalid value';
  }
}
