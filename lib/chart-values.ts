// Which keys of a Helm values object a chart never reads.
//
// `unreadValues(archive, values)` loads a packaged chart (.tgz, by path or as a Buffer) with its
// subcharts and answers, for every key of `values`, whether the chart can possibly read it. It is a
// static approximation of Helm's template engine that errs towards "read": a key is reported only when
// nothing in the chart gives any sign of reading it. `explainValue` tells why a key counts as read.
//
// A value path is READ when one of these holds, per chart scope (the chart itself; and, for the keys
// under a subchart's name or `alias`, that subchart):
//   1. Defaults: the chart's values.yaml has the key. If the default there is a non-empty map the
//      children are checked the same way; if it is `{}`, null, a list or a scalar, the whole subtree is
//      accepted (charts render such maps with toYaml, and a scalar may be replaced by a map).
//   2. Templates reference the path or a prefix of it. References are collected from every action
//      `{{ … }}` of templates/** (including _helpers.tpl and NOTES.txt), of every *.tpl file, of the
//      files the templates read with `.Files.Get/.GetBytes/.Glob/.Lines` (a printf'd name becomes a
//      glob; a name we cannot resolve pulls in every file of the chart), and of the string defaults in
//      values.yaml (charts `tpl` them). Forms followed:
//        `.Values.a.b`, `$.Values.a.b`, `$root.Values.a.b`, `($.Values.a).b`, `index .Values "a" "b"`,
//        `(index .Values "a").b`, `get .Values.a "b"`, `dig "b" "c" default .Values.a`;
//        `$v := .Values.a` or `$v := index .Values "a"`, then `$v.b` / `index $v "b"` (per file);
//        `include "d" (dict "k" .Values.a)`, then `.k.b` / `index .k "b"` inside define "d";
//        `with <one of the above>`, then `.b` / `index . "b"` inside its body (until else/end, not inside
//        a nested with/range);
//        a computed key (`index .Values $name`, tempo's `(index .ctx.Values $component).image`) matches
//        any key at that level (`*`).
//      A reference that ends at a path reads that path's whole subtree (`toYaml .Values.a`,
//      `range .Values.a`, `include "x" .Values.a`, a bare `$v` or a bare `.` inside a with body).
//      Only two forms read less: `hasKey .Values.a "b"`, and an `if` made only of references, literals
//      and and/or/not/eq/ne/lt/le/gt/ge/empty, read the tested key but not the keys below it.
//      Strings are not references (`".Values.x"` in a literal), nor are comments `{{/* … */}}` or text
//      outside actions.
//   3. Helm itself reads it: `global` (shared with every subchart), the `condition` paths and `tags` of
//      Chart.yaml's dependencies, the parent paths of `import-values`, and a subchart's `exports`.
//   4. values.schema.json (when present) names it: a key listed under `properties`, matching
//      `patternProperties`, or allowed by an explicit `additionalProperties` (a schema or `true`), after
//      resolving local `$ref`s and merging allOf/anyOf/oneOf. A key whose schema lists no properties of
//      its own accepts its subtree.
//   5. Whole-values forms:
//      - `range`/`with` over `.Values` itself, or `tpl` of a template built from strings that mention
//        `.Values` (outside NOTES.txt): everything is read (the chart is not analysed further).
//      - `.Values` as the context of `include "x"` / `template "x"`: the relative references (`.a.b`) of
//        define "x" (and of the defines it includes with `.`) are read.
//      - `.Values` serialised whole (`toYaml .Values`, `toJson`, or a variable made from it, e.g. Kiali's
//        `$cm := omit .Values …` … `toYaml $cm`): the application, not the chart, reads the keys; the
//        top-level sections values.yaml declares are accepted whole, and an undeclared top-level key is
//        reported (the chart documents no such setting, so the application most likely ignores it; the
//        reason says the chart passes it through).
//      - Istio's `$defaults := $.Values.<k>` … `set $ "Values" (mustMergeOverwrite $defaults $.Values)`:
//        the defaults under `<k>` (`_internal_defaults_do_not_set`) count as root defaults.
//      - merge/set/unset/omit of `.Values` otherwise read no key.
//   Library subcharts (`type: library`) run in their parent's context: their templates count as the
//   parent's.
//
// What it can prove: that no template, helper, tpl'd file or default of the chart (or of the subchart
// the key belongs to), and no schema property, names the key or a prefix of it in a form above. Helm
// reaches values only through templates, so such a key changes nothing `helm template` renders, whatever
// the other values are, unless the chart reaches it in a way listed below.
// What it cannot prove, and so accepts (a missed unread key, never a false report):
//   - keys under a prefix read whole: a typo inside a free-form map (`toYaml .Values.resources`,
//     `configs.cm`, `alertmanager.config`), or inside a section an application reads from a whole-values
//     dump (Kiali, istiod);
//   - keys read through `.` inside range, through a define's positional argument, through `tpl` of a
//     string the user supplies, or via lookups of other releases; keys only Istio profiles
//     (files/profile-*.yaml) set;
//   - whether a read key has any effect with the other values given (a setting of a disabled component:
//     tempo's traces.otlp.grpc.port is read only by the disabled gateway), and whether the consumer of a
//     whole-values dump reads a key inside a declared section.
// What could make it report a key the chart does read (none seen over the lab's 14 charts, their 84 ci/
// values files, and a render-diff check of every lab value): a reference in a form the patterns above
// do not parse, e.g. built with printf and then evaluated by something other than tpl.
// Parsing is cached per archive digest (sha256 of the archive bytes); a path is re-read and re-hashed on
// every call (a few ms for all lab charts).
import { distance } from 'fastest-levenshtein';
import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import * as path from 'path';
import { writeFileAtomic } from './atomic-write';
import { canonicalJson } from './render';
import * as jsyaml from 'js-yaml';
import { readTar } from './archive';
import { parse as parseYamlLenient } from 'yaml';

/** A key of the values object that the chart never reads. */
export interface UnreadValue {
  /** The key's path, dotted (`a.b.c`; keys that are not identifiers in brackets: `a["x.y"]`). */
  readonly path: string;
  /** The key's path, segment by segment. */
  readonly segments: readonly string[];
  /** Why it is considered unread, naming the chart (and subchart) and version. */
  readonly reason: string;
}

/** A chart's identity, from its Chart.yaml. */
export interface ChartIdentity {
  readonly name: string;
  readonly version: string;
  /** Subcharts by the key their values live under (alias or name). */
  readonly subcharts: Readonly<Record<string, ChartIdentity>>;
}

type Json = unknown;
type Obj = Record<string, Json>;

function isObj(x: unknown): x is Obj {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/** The path of a value as fieldPath in lib/validation/schema.ts writes it. */
export function formatValuePath(segments: readonly string[]): string {
  let out = '';
  for (const p of segments) {
    if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

const SEP = '\u0000';
const pkey = (segs: readonly string[]) => segs.join(SEP);

// ---------------------------------------------------------------------------------------------
// Archive reading


function isText(b: Buffer): boolean {
  return b.length < 4 * 1024 * 1024 && !b.subarray(0, 8000).includes(0);
}

function parseYaml(text: string): Json {
  try {
    return jsyaml.load(text, { json: true });
  } catch {
    // js-yaml refuses empty documents and a few YAML 1.1 constructs that Helm (go-yaml) accepts.
    try {
      return parseYamlLenient(text, { uniqueKeys: false, merge: true, maxAliasCount: -1, logLevel: 'silent' });
    } catch {
      return undefined;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The chart model

interface Refs {
  /** Paths read whole (a reference ends there), with the first file that does. */
  readonly whole: Map<string, string>;
  /** Strict prefixes of referenced paths (the templates reach below them), and paths only tested for presence. */
  readonly inner: Set<string>;
  /** References with a computed key (`*`), e.g. `(index .Values $component).image`. */
  readonly wild: { readonly segs: readonly string[]; readonly file: string; readonly presence: boolean }[];
  /** Values given to a define as a dict entry: `include "d" (dict "k" .Values.a)`. */
  readonly params: { readonly define: string; readonly key: string; readonly paths: readonly string[][]; readonly file: string }[];
  /** The file that serialises .Values whole, if any. */
  rootDump?: string;
  /** The file that reads every key (range/with over .Values, or .Values given to what we cannot follow). */
  rootWhole?: string;
  /** Paths of values.yaml whose content the templates merge under .Values as defaults. */
  readonly defaultsAt: string[][];
  /** Defines given .Values as their context. */
  readonly rootDefines: Set<string>;
}

interface ChartModel extends ChartIdentity {
  readonly subcharts: Record<string, ChartModel>;
  readonly label: string;
  /** values.yaml with the defaultsAt content merged at the root; undefined when it cannot be parsed. */
  readonly defaults: Json;
  readonly defaultsUnparsable: boolean;
  readonly schema?: Obj;
  readonly refs: Refs;
  knownKeys?: string[][];
}

/** Records a reference: the whole subtree at `segs`, or (presence) only the key itself. */
function addRef(refs: Refs, segs: readonly string[], file: string, presence = false): void {
  if (segs.length === 0) return;
  if (segs.includes('*')) {
    refs.wild.push({ segs, file, presence });
    return;
  }
  if (presence) refs.inner.add(pkey(segs));
  else if (!refs.whole.has(pkey(segs))) refs.whole.set(pkey(segs), file);
  for (let i = 0; i < segs.length; i++) refs.inner.add(pkey(segs.slice(0, i)));
}

/** Files of one chart (paths relative to the chart's folder) -> model; subcharts recursively. */
function buildChart(files: Map<string, Buffer>, parentLabel?: string, keyInParent?: string): ChartModel {
  const chartYaml = files.get('Chart.yaml');
  const meta = chartYaml ? parseYaml(chartYaml.toString('utf8')) : undefined;
  const m = isObj(meta) ? meta : {};
  const name = typeof m.name === 'string' ? m.name : '(unnamed chart)';
  const version = m.version === undefined ? '' : String(m.version);
  const label = parentLabel ? `${parentLabel} (subchart ${keyInParent}: ${name} ${version})` : `${name} ${version}`;

  // Subcharts: folders charts/<x>/ with a Chart.yaml, and archives charts/*.tgz.
  const subFiles: Map<string, Buffer>[] = [];
  const folders = new Set<string>();
  for (const p of files.keys()) {
    const mm = /^charts\/([^/]+)\/Chart\.yaml$/.exec(p);
    if (mm) folders.add(mm[1]);
  }
  for (const f of folders) {
    const prefix = `charts/${f}/`;
    const sub = new Map<string, Buffer>();
    for (const [p, b] of files) if (p.startsWith(prefix)) sub.set(p.slice(prefix.length), b);
    subFiles.push(sub);
  }
  for (const [p, b] of files) {
    if (!/^charts\/[^/]+\.tgz$/.test(p)) continue;
    const inner = rootFolder(readTar(b));
    if (inner) subFiles.push(inner);
  }
  const subMeta = subFiles.map((sf) => {
    const y = sf.get('Chart.yaml');
    const parsed = y ? parseYaml(y.toString('utf8')) : undefined;
    return { files: sf, meta: isObj(parsed) ? parsed : {} };
  });

  // Dependencies: Chart.yaml (v2) or requirements.yaml (v1).
  let deps: Json = m.dependencies;
  if (!Array.isArray(deps) && files.has('requirements.yaml')) {
    const r = parseYaml(files.get('requirements.yaml')!.toString('utf8'));
    deps = isObj(r) ? r.dependencies : undefined;
  }
  const depList = (Array.isArray(deps) ? deps : []).filter(isObj);

  const refs: Refs = { whole: new Map(), inner: new Set(), wild: [], params: [], defaultsAt: [], rootDefines: new Set() };
  const helmReads: [string[], string][] = [];
  const subcharts: Record<string, ChartModel> = {};
  const used = new Set<number>();
  const libraryTexts: { file: string; text: string }[] = [];
  for (const d of depList) {
    const depName = typeof d.name === 'string' ? d.name : undefined;
    if (!depName) continue;
    const key = typeof d.alias === 'string' && d.alias ? d.alias : depName;
    if (typeof d.condition === 'string') {
      for (const c of d.condition.split(',')) if (c.trim()) helmReads.push([c.trim().split('.'), `Chart.yaml (condition of ${depName})`]);
    }
    if (Array.isArray(d.tags) && d.tags.length > 0) helmReads.push([['tags'], `Chart.yaml (tags of ${depName})`]);
    const idx = subMeta.findIndex((s, i) => !used.has(i) && s.meta.name === depName);
    if (idx < 0) {
      helmReads.push([[key], `Chart.yaml (dependency ${depName}, not packaged)`]); // helm would fail; accept its values
      continue;
    }
    used.add(idx);
    const sm = subMeta[idx];
    if (sm.meta.type === 'library') {
      for (const t of templateTexts(sm.files).texts) libraryTexts.push(t);
      continue;
    }
    const sub = buildChart(sm.files, label, key);
    subcharts[key] = sub;
    for (const iv of Array.isArray(d['import-values']) ? d['import-values'] : []) {
      if (typeof iv === 'string') {
        const exp = isObj(sub.defaults) && isObj(sub.defaults.exports) ? sub.defaults.exports[iv] : undefined;
        if (isObj(exp)) for (const k of Object.keys(exp)) helmReads.push([[k], `Chart.yaml (import-values of ${depName})`]);
      } else if (isObj(iv) && typeof iv.parent === 'string') {
        const parent = iv.parent.split('.').filter((s) => s !== '');
        if (parent.length > 0) helmReads.push([parent, `Chart.yaml (import-values of ${depName})`]);
        else if (typeof iv.child === 'string') {
          // Imported at the parent's root: the child's keys under `child` become root keys.
          let cur: Json = sub.defaults;
          for (const s of iv.child.split('.').filter((x) => x !== '')) cur = isObj(cur) ? cur[s] : undefined;
          if (isObj(cur)) for (const k of Object.keys(cur)) helmReads.push([[k], `Chart.yaml (import-values of ${depName})`]);
        }
      }
    }
  }
  subMeta.forEach((sm, i) => {
    if (used.has(i)) return;
    if (sm.meta.type === 'library') {
      for (const t of templateTexts(sm.files).texts) libraryTexts.push(t);
      return;
    }
    const subName = typeof sm.meta.name === 'string' ? sm.meta.name : undefined;
    if (subName && !subcharts[subName]) subcharts[subName] = buildChart(sm.files, label, subName);
  });

  // values.yaml and values.schema.json
  const valuesText = files.get('values.yaml')?.toString('utf8');
  let rawDefaults: Json = valuesText === undefined ? {} : parseYaml(valuesText);
  if (rawDefaults === null || (valuesText !== undefined && valuesText.trim() === '')) rawDefaults = {};
  const defaultsUnparsable = !isObj(rawDefaults);
  let schema: Obj | undefined;
  const schemaText = files.get('values.schema.json');
  if (schemaText) {
    try {
      const s = JSON.parse(schemaText.toString('utf8'));
      if (isObj(s)) schema = s;
    } catch {
      schema = undefined;
    }
  }

  // Templates and what they read.
  const { texts, all } = templateTexts(files);
  texts.push(...libraryTexts);
  if (isObj(rawDefaults)) {
    // String defaults the chart tpl's.
    const walk = (v: Json, at: string) => {
      if (typeof v === 'string') { if (v.includes('{{')) texts.push({ file: `values.yaml:${at}`, text: v }); }
      else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
      else if (isObj(v)) for (const [k, x] of Object.entries(v)) walk(x, at ? `${at}.${k}` : k);
    };
    walk(rawDefaults, '');
  }
  scanAll(texts, all, refs);
  for (const [p, why] of helmReads) addRef(refs, p, why);

  let defaults: Json = rawDefaults;
  if (isObj(rawDefaults) && refs.defaultsAt.length > 0) {
    let merged: Obj = { ...rawDefaults };
    for (const at of refs.defaultsAt) {
      let cur: Json = rawDefaults;
      for (const s of at) cur = isObj(cur) ? cur[s] : undefined;
      if (isObj(cur)) merged = deepMerge(cur, merged);
    }
    defaults = merged;
  }

  return { name, version, label, subcharts, defaults, defaultsUnparsable, schema, refs };
}

function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObj(out[k]) && isObj(v) ? deepMerge(out[k] as Obj, v) : v;
  return out;
}

/** The files of the archive's single top folder, relative to it. */
function rootFolder(files: Map<string, Buffer>): Map<string, Buffer> | undefined {
  let top: string | undefined;
  for (const p of files.keys()) {
    const m = /^([^/]+)\/Chart\.yaml$/.exec(p);
    if (m) { top = m[1]; break; }
  }
  if (top === undefined) return files.has('Chart.yaml') ? files : undefined;
  const prefix = `${top}/`;
  const out = new Map<string, Buffer>();
  for (const [p, b] of files) if (p.startsWith(prefix)) out.set(p.slice(prefix.length), b);
  return out;
}

interface TemplateText { readonly file: string; readonly text: string }

/** templates/** and *.tpl of a chart (not of its subcharts), and every other text file for .Files. */
function templateTexts(files: Map<string, Buffer>): { texts: TemplateText[]; all: Map<string, Buffer> } {
  const texts: TemplateText[] = [];
  const all = new Map<string, Buffer>();
  for (const [p, b] of files) {
    if (p.startsWith('charts/')) continue;
    if ((p.startsWith('templates/') || p.endsWith('.tpl')) && isText(b)) texts.push({ file: p, text: b.toString('utf8') });
    else all.set(p, b);
  }
  return { texts, all };
}

// ---------------------------------------------------------------------------------------------
// Template scanning

const ID = '[A-Za-z_][A-Za-z0-9_]*';
const CHAIN = `((?:\\.${ID})*)`;
const STR = '(?:"(?:[^"\\\\]|\\\\.)*"|`[^`]*`)';
/** A values reference: something ending in `.Values`, or a variable; then a field chain. */
const REF = `([$\\w.]*?\\.Values(?![\\w])|\\$${ID})${CHAIN}`;
const RE_ACTION = /\{\{-?([\s\S]*?)-?\}\}/g;
const RE_ASSIGN = new RegExp(`^\\s*(\\$${ID})\\s*:?=\\s*([\\s\\S]*?)\\s*$`);
const RE_PURE_REF = new RegExp(`^\\(?\\s*${REF}\\s*\\)?$`);
const RE_PURE_INDEX = new RegExp(`^\\(?\\s*index\\s+${REF}((?:\\s+${STR})+)\\s*\\)?$`);
/** An argument of index: a string (a key), or anything else (a computed key: `*`). */
const ARG = `(?:${STR}|\\$?[\\w.]+|\\([^()]*\\))`;
const RE_PAREN_INDEX = new RegExp(`\\(\\s*index\\s+${REF}((?:\\s+${ARG})+)\\s*\\)((?:\\.${ID})+)`, 'g');
const RE_INDEX = new RegExp(`\\b(index|hasKey|get)\\s+${REF}((?:\\s+${ARG})+)`, 'g');
const RE_DIG = new RegExp(`\\bdig\\s+((?:${STR}\\s+)+)(\\([^()]*\\)\\s+|[^\\s"()]+\\s+)?${REF}`, 'g');
const RE_ARG = new RegExp(ARG, 'g');
const RE_DICT_INCLUDE = /\b(?:include|template)\s+"([^"]+)"\s+\(\s*dict\s+/g;
const RE_FULL_REF = new RegExp(`^${REF}$`);
/** What may stand in an `if` beside value references for them to be mere tests (presence reads). */
const RE_TEST_ONLY = /^(?:\s|\(|\)|\b(?:and|or|not|eq|ne|lt|le|gt|ge|empty|hasKey|true|false|nil)\b|-?\d+(?:\.\d+)?)*$/;
const RE_PAREN_REF = new RegExp(`\\(\\s*${REF}\\s*\\)((?:\\.${ID})+)`, 'g');
const RE_REF = new RegExp(REF, 'g');
const RE_STR = new RegExp(STR, 'g');
const RE_SERIALISE = /\b(?:toYaml|toJson|toPrettyJson|toRawJson|mustToJson|mustToPrettyJson|mustToRawJson|toToml)\b/;
const RE_FILES = new RegExp(`\\.Files\\.(?:Get|GetBytes|Glob|Lines)\\s+(?:(${STR})|\\(\\s*printf\\s+(${STR})|(\\S+))`, 'g');
const RE_SET_VALUES = /\bset\s+(?:\$|\.)\s+"Values"/;
const RE_MERGE_FIRST = new RegExp(`\\b(?:mustMergeOverwrite|mergeOverwrite|mustMerge|merge)\\s+(\\$${ID})`, 'g');
const RE_WITH = /^with\s+([\s\S]+)$/;
const RE_BARE_DOT = /(?<![\w$)\].])\.(?![\w])/;
const RE_BARE_DOT_G = /(?<![\w$)\].])\.(?![\w])/g;
const RE_REL_REF = new RegExp(`(?<![\\w$)\\].])\\.(${ID})${CHAIN}`, 'g');
const RE_REL_INDEX = new RegExp(`\\b(index|hasKey|get)\\s+\\.(?![\\w])((?:\\s+${ARG})+)`, 'g');
const RE_ROOT_INCLUDE = /\b(?:include|template)\s+"([^"]+)"\s+\(?\s*$/;

interface Action { readonly body: string; readonly start: number; readonly end: number }

function actions(text: string): Action[] {
  const out: Action[] = [];
  RE_ACTION.lastIndex = 0;
  for (let m = RE_ACTION.exec(text); m; m = RE_ACTION.exec(text)) {
    const body = m[1].trim();
    if (body.startsWith('/*')) continue; // a comment
    out.push({ body, start: m.index, end: m.index + m[0].length });
  }
  return out;
}

function unquote(s: string): string {
  if (s.startsWith('`')) return s.slice(1, -1);
  try {
    return JSON.parse(s);
  } catch {
    return s.slice(1, -1);
  }
}

function strings(s: string): string[] {
  return (s.match(RE_STR) ?? []).map(unquote);
}

function chainOf(s: string | undefined): string[] {
  return s ? s.split('.').filter((x) => x !== '') : [];
}

type Aliases = Map<string, string[][]>;

/** The value paths a reference stands for ([] is .Values itself); undefined for an unknown variable. */
function resolve(base: string, chain: string | undefined, aliases: Aliases): string[][] | undefined {
  const rest = chainOf(chain);
  if (base.endsWith('.Values')) return [rest];
  const bases = aliases.get(base);
  return bases?.map((b) => [...b, ...rest]);
}

/** Pass 1: `$v := <values reference>` per file (union over the file's defines). */
function collectAliases(acts: readonly Action[]): { aliases: Aliases; pure: Set<number> } {
  const aliases: Aliases = new Map();
  const pure = new Set<number>();
  const add = (name: string, paths: string[][]) => {
    const l = aliases.get(name) ?? [];
    for (const p of paths) if (!l.some((q) => pkey(q) === pkey(p))) l.push(p);
    aliases.set(name, l);
  };
  acts.forEach((a, i) => {
    const m = RE_ASSIGN.exec(a.body);
    if (!m) return;
    const [, name, rhs] = m;
    let r = RE_PURE_INDEX.exec(rhs);
    if (r) {
      const paths = resolve(r[1], r[2], aliases);
      if (paths) { add(name, paths.map((p) => [...p, ...strings(r![3])])); pure.add(i); }
      return;
    }
    r = RE_PURE_REF.exec(rhs);
    if (r) {
      const paths = resolve(r[1], r[2], aliases);
      if (paths) { add(name, paths); pure.add(i); }
      return;
    }
    // A variable made from .Values as a whole (omit/deepCopy/merge of .Values): an alias of the root.
    const code = rhs.replace(RE_STR, (q) => ' '.repeat(q.length));
    RE_REF.lastIndex = 0;
    for (let x = RE_REF.exec(code); x; x = RE_REF.exec(code)) {
      const paths = resolve(x[1], x[2], aliases);
      if (paths?.some((p) => p.length === 0)) { add(name, [[]]); break; }
    }
  });
  return { aliases, pure };
}

interface ScanState {
  readonly refs: Refs;
  /** Name and text of every define, for root-context includes. */
  readonly defines: Map<string, string[]>;
  /** Paths given to .Files. */
  readonly filePatterns: RegExp[];
  allFiles: boolean;
}

function scanText(t: TemplateText, st: ScanState): void {
  const acts = actions(t.text);
  const { aliases, pure } = collectAliases(acts);
  collectDefines(t.text, acts, st.defines);
  const withs = scanWithBodies(acts, aliases, t.file, st.refs);
  acts.forEach((a, i) => {
    const body = a.body;
    // A template built at render time from strings: `tpl (print "{{" … ".Values." … "}}") $`. istiod's NOTES.txt
    // does it to warn about deprecated keys (NOTES are not rendered by helm template, i.e. Argo CD);
    // anywhere else we cannot know what it reads.
    if (body.includes('tpl') && /\btpl\b/.test(body) && strings(body).some((x) => /\.Values\b|\{\{/.test(x)) && !/(^|\/)NOTES\.txt$/.test(t.file)) {
      st.refs.rootWhole ??= `${t.file} (tpl of a template built from strings)`;
    }
    // .Files
    RE_FILES.lastIndex = 0;
    for (let f = body.includes('.Files') ? RE_FILES.exec(body) : null; f; f = RE_FILES.exec(body)) {
      if (f[1]) st.filePatterns.push(globRegex(unquote(f[1]), false));
      else if (f[2]) st.filePatterns.push(globRegex(unquote(f[2]), true));
      else st.allFiles = true;
    }
    // The istio defaults pattern.
    if (body.includes('"Values"') && RE_SET_VALUES.test(body)) {
      RE_MERGE_FIRST.lastIndex = 0;
      for (let m = RE_MERGE_FIRST.exec(body); m; m = RE_MERGE_FIRST.exec(body)) {
        for (const p of aliases.get(m[1]) ?? []) if (p.length > 0) st.refs.defaultsAt.push(p);
      }
    }
    if (pure.has(i) || (!body.includes('Values') && !body.includes('$'))) return;
    let rest = body;
    const rootUses: number[] = [];
    // In `if and .Values.a (not .Values.b.c)` the references are only tested: the keys are read, not
    // their subtrees.
    const cond = /^(?:else\s+)?if\s+([\s\S]*)$/.exec(body);
    const testOnly = !!cond && RE_TEST_ONLY.test(cond[1].replace(RE_REF, ' ').replace(RE_STR, ' '));
    const take = (paths: string[][] | undefined, at: number, presence = testOnly || withs.has(i)) => {
      for (const p of paths ?? []) {
        if (p.length === 0) rootUses.push(at);
        else addRef(st.refs, p, t.file, presence);
      }
    };
    const mask = (all: string) => ' '.repeat(all.length);
    if (rest.includes('dict')) rest = maskDictParams(rest, aliases, t.file, st.refs);
    if (rest.includes('dig')) rest = rest.replace(RE_DIG, (all, strs: string, dflt: string | undefined, base: string, chain: string, off: number) => {
      const keys = strings(strs);
      if (dflt === undefined) keys.pop(); // the last string was the default
      take(resolve(base, chain, aliases)?.map((p) => [...p, ...keys]), off);
      return mask(all);
    });
    const indexed = /\b(?:index|hasKey|get)\b/.test(rest);
    if (indexed) rest = rest.replace(RE_PAREN_INDEX, (all, base: string, chain: string, args: string, after: string, off: number) => {
      take(resolve(base, chain, aliases)?.map((p) => [...p, ...indexKeys(args), ...chainOf(after)]), off, withs.has(i));
      return mask(all);
    });
    if (indexed) rest = rest.replace(RE_INDEX, (all, fn: string, base: string, chain: string, args: string, off: number) => {
      const keys = indexKeys(args);
      take(resolve(base, chain, aliases)?.map((p) => [...p, ...(fn === 'index' ? keys : keys.slice(0, 1))]), off, fn === 'hasKey' || testOnly || withs.has(i));
      return mask(all);
    });
    rest = rest.replace(RE_STR, mask); // a string is not a reference, even one that spells ".Values.x"
    if (rest.includes('(')) rest = rest.replace(RE_PAREN_REF, (all, base: string, chain: string, after: string, off: number) => {
      take(resolve(base, chain, aliases)?.map((p) => [...p, ...chainOf(after)]), off, withs.has(i));
      return mask(all);
    });
    rest = rest.replace(RE_REF, (all, base: string, chain: string, off: number) => {
      take(resolve(base, chain, aliases), off);
      return mask(all);
    });
    for (const at of rootUses) classifyRootUse(body, at, t.file, st);
  });
}

/** The keys of index's arguments: a string is a key, anything else a computed key (`*`). */
function indexKeys(args: string): string[] {
  return (args.match(RE_ARG) ?? []).map((a) => (a.startsWith('"') || a.startsWith('`') ? unquote(a) : '*'));
}

/**
 * `include "d" (dict "k" .Values.a …)`: records that define d sees .Values.a as `.k` (its references
 * are resolved once every define is known) and masks the entry, so that it is not a read of all of `a`.
 */
function maskDictParams(body: string, aliases: Aliases, file: string, refs: Refs): string {
  let out = body;
  RE_DICT_INCLUDE.lastIndex = 0;
  for (let m = RE_DICT_INCLUDE.exec(body); m; m = RE_DICT_INCLUDE.exec(body)) {
    let i = m.index + m[0].length;
    for (;;) {
      while (/\s/.test(body[i] ?? '')) i++;
      const key = /^"((?:[^"\\]|\\.)*)"/.exec(body.slice(i));
      if (!key) break;
      i += key[0].length;
      while (/\s/.test(body[i] ?? '')) i++;
      const start = i;
      if (body[i] === '(') {
        let depth = 0;
        for (; i < body.length; i++) {
          if (body[i] === '(') depth++;
          else if (body[i] === ')' && --depth === 0) { i++; break; }
        }
      } else if (body[i] === '"') {
        const lit = /^"(?:[^"\\]|\\.)*"/.exec(body.slice(i));
        i += lit ? lit[0].length : 1;
      } else {
        while (i < body.length && !/[\s()]/.test(body[i])) i++;
      }
      if (i === start) break;
      const r = RE_FULL_REF.exec(body.slice(start, i));
      const paths = r ? resolve(r[1], r[2], aliases) : undefined;
      if (paths && paths.every((p) => p.length > 0)) {
        refs.params.push({ define: m[1], key: key[1], paths, file });
        out = out.slice(0, start) + ' '.repeat(i - start) + out.slice(i);
      }
    }
  }
  return out;
}

/**
 * `{{ with <values reference> }} … {{ end }}`: inside, `.` is the value. Its relative references
 * (`.a.b`, `index . "a"`, `hasKey . "a"`) read below the reference; a bare `.` (toYaml ., include "x" .,
 * $v := .) reads all of it. Nested with/range rebind `.` (their own expression is still relative);
 * their else branches do not. Returns the indexes of the with actions so analysed: their reference
 * itself is only tested.
 */
function scanWithBodies(acts: readonly Action[], aliases: Aliases, file: string, refs: Refs): Set<number> {
  const done = new Set<number>();
  for (let i = 0; i < acts.length; i++) {
    const w = RE_WITH.exec(acts[i].body);
    if (!w) continue;
    const paths = withPaths(w[1].trim(), aliases);
    if (!paths || paths.some((p) => p.length === 0)) continue;
    // The true branch: until the matching else/end at depth 0.
    const body: { body: string; rebound: boolean }[] = [];
    const nested: { rebinds: boolean }[] = [];
    let closed = false;
    for (let j = i + 1; j < acts.length; j++) {
      const b = acts[j].body;
      const rebound = nested.some((n) => n.rebinds);
      if (/^(?:if|range|with|define|block)\b/.test(b)) {
        body.push({ body: b, rebound });
        nested.push({ rebinds: /^(?:range|with)\b/.test(b) });
        continue;
      }
      if (/^end\b/.test(b)) {
        if (nested.length === 0) { closed = true; break; }
        nested.pop();
        continue;
      }
      if (/^else\b/.test(b)) {
        if (nested.length === 0) { closed = true; break; }
        nested[nested.length - 1].rebinds = false; // the else branch of with/range keeps the outer dot
        body.push({ body: b, rebound: nested.some((n) => n.rebinds) });
        continue;
      }
      body.push({ body: b, rebound });
    }
    if (!closed) continue;
    done.add(i);
    const whole = (why: string) => { for (const p of paths) addRef(refs, p, why); };
    for (const a of body) {
      if (a.rebound) continue;
      const why = `${file} (inside with)`;
      const cond = /^(?:else\s+)?if\s+([\s\S]*)$/.exec(a.body);
      let rest = a.body.replace(/\$\w*(?:\.[A-Za-z_]\w*)*/g, (m0) => ' '.repeat(m0.length)); // $, $v, $v.a are not the dot
      const testOnly = !!cond && RE_TEST_ONLY.test(cond[1].replace(RE_REL_REF, ' ').replace(RE_STR, ' ').replace(RE_BARE_DOT_G, ' '));
      rest = rest.replace(RE_REL_INDEX, (m0, fn: string, args: string) => {
        const keys = indexKeys(args);
        for (const p of paths) addRef(refs, [...p, ...(fn === 'index' ? keys : keys.slice(0, 1))], why, fn === 'hasKey' || testOnly);
        return ' '.repeat(m0.length);
      });
      rest = rest.replace(RE_STR, (m0) => ' '.repeat(m0.length));
      rest = rest.replace(RE_REL_REF, (m0, first: string, chain: string) => {
        for (const p of paths) addRef(refs, [...p, first, ...chainOf(chain)], why, testOnly);
        return ' '.repeat(m0.length);
      });
      if (RE_BARE_DOT.test(rest) && !testOnly) whole(`${file} (with … uses . whole)`);
    }
  }
  return done;
}

/** The values paths of a with expression we can follow; undefined for anything else. */
const RE_WITH_REF = new RegExp(`^\\(?\\s*${REF}\\s*\\)?$`);
const RE_WITH_INDEX = new RegExp(`^\\(?\\s*index\\s+${REF}((?:\\s+${ARG})+)\\s*\\)?$`);
const RE_WITH_PAREN_REF = new RegExp(`^\\(\\s*${REF}\\s*\\)((?:\\.${ID})+)$`);
const RE_WITH_PAREN_INDEX = new RegExp(`^\\(\\s*index\\s+${REF}((?:\\s+${ARG})+)\\s*\\)((?:\\.${ID})+)$`);

/** The values paths of a with expression we can follow; undefined for anything else. */
function withPaths(expr: string, aliases: Aliases): string[][] | undefined {
  if (!expr.includes('.Values') && !expr.includes('$')) return undefined;
  let m = RE_WITH_REF.exec(expr);
  if (m) return resolve(m[1], m[2], aliases);
  m = RE_WITH_INDEX.exec(expr);
  if (m) { const keys = indexKeys(m[3]); return resolve(m[1], m[2], aliases)?.map((p) => [...p, ...keys]); }
  m = RE_WITH_PAREN_REF.exec(expr);
  if (m) { const after = chainOf(m[3]); return resolve(m[1], m[2], aliases)?.map((p) => [...p, ...after]); }
  m = RE_WITH_PAREN_INDEX.exec(expr);
  if (m) { const keys = indexKeys(m[3]); const after = chainOf(m[4]); return resolve(m[1], m[2], aliases)?.map((p) => [...p, ...keys, ...after]); }
  return undefined;
}

/** What a use of .Values as a whole means. */
function classifyRootUse(body: string, at: number, file: string, st: ScanState): void {
  if (/^(?:range|with)\b/.test(body)) { st.refs.rootWhole ??= file; return; }
  const inc = RE_ROOT_INCLUDE.exec(body.slice(0, at).replace(/[$\w.]*$/, ''));
  if (inc) { st.refs.rootDefines.add(inc[1]); return; }
  if (RE_SERIALISE.test(body)) { st.refs.rootDump ??= file; return; }
  if (/\btpl\b/.test(body)) { st.refs.rootWhole ??= file; return; }
  // Otherwise: merge/set/unset/omit/hasKey plumbing on .Values; not a read of any key.
}

/** Records the text of each `define "name"` … `end` (nesting by if/range/with/define/block). */
function collectDefines(text: string, acts: readonly Action[], defines: Map<string, string[]>): void {
  const stack: { name?: string; start: number }[] = [];
  for (const a of acts) {
    const d = /^define\s+"([^"]+)"/.exec(a.body);
    if (d) { stack.push({ name: d[1], start: a.end }); continue; }
    if (/^(?:if|range|with|block)\b/.test(a.body)) { stack.push({ start: a.end }); continue; }
    if (/^end\b/.test(a.body)) {
      const top = stack.pop();
      if (top?.name) defines.set(top.name, [...(defines.get(top.name) ?? []), text.slice(top.start, a.start)]);
    }
  }
}

const BUILTINS = new Set(['Values', 'Release', 'Chart', 'Capabilities', 'Template', 'Files', 'Subcharts']);
const RE_RELATIVE = new RegExp(`(?<![\\w$)\\].])\\.(${ID})${CHAIN}`, 'g');

/** A define given .Values as its context: its relative references are value paths. */
function scanRootDefine(name: string, st: ScanState, seen: Set<string>): void {
  if (seen.has(name)) return;
  seen.add(name);
  const bodies = st.defines.get(name);
  if (!bodies) { st.refs.rootWhole ??= `define "${name}" (not found)`; return; }
  for (const text of bodies) {
    for (const a of actions(text)) {
      const inc = /\b(?:include|template)\s+"([^"]+)"\s+\.(?![\w.])/.exec(a.body);
      if (inc) scanRootDefine(inc[1], st, seen);
      if (/^(?:range|with)\s+\.(?![\w.])/.test(a.body)) st.refs.rootWhole ??= `define "${name}"`;
      else if (RE_SERIALISE.test(a.body) && /(?<![\w$)\].])\.(?![\w.])/.test(a.body)) st.refs.rootDump ??= `define "${name}"`;
      RE_RELATIVE.lastIndex = 0;
      for (let m = RE_RELATIVE.exec(a.body); m; m = RE_RELATIVE.exec(a.body)) {
        if (!BUILTINS.has(m[1])) addRef(st.refs, [m[1], ...chainOf(m[2])], `define "${name}" (given .Values)`);
      }
    }
  }
}

/** A .Files glob (or a printf format, whose verbs match anything) as a regular expression. */
function globRegex(pattern: string, printf: boolean): RegExp {
  let p = printf ? pattern.replace(/%[-+# 0-9.]*[a-zA-Z]/g, '\u0001') : pattern;
  p = p.replace(/^\.\//, '');
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\u0001') re += '.*';
    else if (c === '*' && p[i + 1] === '*') { re += '.*'; i++; }
    else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') re += '(?:';
    else if (c === '}') re += ')';
    else if (c === ',' && re.includes('(?:')) re += '|';
    else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function scanAll(texts: TemplateText[], others: Map<string, Buffer>, refs: Refs): void {
  const st: ScanState = { refs, defines: new Map(), filePatterns: [], allFiles: false };
  for (const t of texts) scanText(t, st);
  // Files read through .Files, until no new file is pulled in.
  const done = new Set<string>();
  for (let changed = true; changed;) {
    changed = false;
    for (const [p, b] of others) {
      if (done.has(p) || p === 'values.yaml' || p === 'Chart.yaml' || !isText(b)) continue;
      if (!st.allFiles && !st.filePatterns.some((re) => re.test(p))) continue;
      done.add(p);
      changed = true;
      scanText({ file: p, text: b.toString('utf8') }, st);
    }
  }
  for (const name of [...refs.rootDefines]) scanRootDefine(name, st, new Set());
  for (const param of refs.params) scanParam(param, st);
}

/**
 * A define's use of a dict entry that holds a values reference: `.k.a.b` (or `$.k.a.b`) reads
 * path+a.b, `index .k "a"` path+a; any other use of `.k` (bare: with, toYaml, passed on) reads all of
 * it, and so does a define we cannot find.
 */
function scanParam(param: Refs['params'][number], st: ScanState): void {
  const bodies = st.defines.get(param.define);
  const all = (why: string) => { for (const p of param.paths) addRef(st.refs, p, why); };
  if (!bodies) { all(`${param.file} (given to define "${param.define}", not found)`); return; }
  const k = param.key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const why = `define "${param.define}" (given .${param.key} by ${param.file})`;
  const reIndex = new RegExp(`\\b(index|hasKey|get)\\s+(?:\\$|(?<![\\w$)\\].]))\\.${k}(?![\\w])((?:\\s+${ARG})+)`, 'g');
  const reChain = new RegExp(`(?:\\$|(?<![\\w$)\\].]))\\.${k}(?![\\w])${CHAIN}`, 'g');
  for (const text of bodies) {
    for (const a of actions(text)) {
      let rest = a.body.replace(reIndex, (m0, fn: string, args: string) => {
        const keys = indexKeys(args);
        for (const p of param.paths) addRef(st.refs, [...p, ...(fn === 'index' ? keys : keys.slice(0, 1))], why, fn === 'hasKey');
        return ' '.repeat(m0.length);
      });
      rest.replace(reChain, (m0, chain: string) => {
        for (const p of param.paths) addRef(st.refs, [...p, ...chainOf(chain)], why);
        return ' '.repeat(m0.length);
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// values.schema.json

/** The schema nodes a node stands for: itself, its local $ref target, and its allOf/anyOf/oneOf branches. */
function schemaParts(root: Obj, node: Json, depth = 0): Obj[] {
  if (!isObj(node) || depth > 20) return [];
  const out: Obj[] = [node];
  if (typeof node.$ref === 'string' && node.$ref.startsWith('#')) {
    let cur: Json = root;
    for (const raw of node.$ref.slice(1).split('/').filter((s) => s !== '')) {
      const k = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      cur = isObj(cur) ? cur[k] : undefined;
    }
    out.push(...schemaParts(root, cur, depth + 1));
  }
  for (const comb of ['allOf', 'anyOf', 'oneOf'] as const) {
    const l = node[comb];
    if (Array.isArray(l)) for (const b of l) out.push(...schemaParts(root, b, depth + 1));
  }
  return out;
}

/** Whether a schema constrains the keys below it (it lists properties). */
function constrainsKeys(root: Obj, nodes: readonly Json[]): boolean {
  return nodes.some((n) => schemaParts(root, n).some((p) => isObj(p.properties) || isObj(p.patternProperties)));
}

/**
 * What the schema says about key `k` under `nodes`: 'whole' (allowed, free-form below), the child
 * schemas (allowed, with properties of their own), or undefined (not named).
 */
function schemaChild(root: Obj, nodes: readonly Json[], k: string): 'whole' | Json[] | undefined {
  const children: Json[] = [];
  for (const n of nodes) {
    for (const p of schemaParts(root, n)) {
      if (isObj(p.properties) && Object.prototype.hasOwnProperty.call(p.properties, k)) children.push(p.properties[k]);
      if (isObj(p.patternProperties)) {
        for (const [re, s] of Object.entries(p.patternProperties)) {
          try {
            if (new RegExp(re, 'u').test(k)) children.push(s);
          } catch { /* a pattern JavaScript cannot compile */ }
        }
      }
      if (p.additionalProperties === true) return 'whole';
      if (isObj(p.additionalProperties)) children.push(p.additionalProperties);
    }
  }
  if (children.length === 0) return undefined;
  return constrainsKeys(root, children) ? children : 'whole';
}

// ---------------------------------------------------------------------------------------------
// The check

interface Scope {
  readonly chart: ChartModel;
  readonly at: readonly string[];
  /** The chart's defaults at `at`; NONE when values.yaml has nothing there. */
  readonly defaults: Json;
  readonly schema?: readonly Json[];
  readonly top: boolean;
  /** Only a computed key (`*`) reaches here: the level holds computed sections, which are maps. */
  readonly wildOnly?: boolean;
}
const NONE = Symbol('none');

function rootScope(chart: ChartModel): Scope {
  return { chart, at: [], defaults: chart.defaults, schema: chart.schema ? [chart.schema] : undefined, top: true };
}

/** Why a key is read whole (evidence, for explainValue), or the scopes to check its children in. */
type Step = { readonly whole: string } | { readonly scopes: Scope[] };

function step(scope: Scope, k: string): Step {
  const { chart } = scope;
  const p = [...scope.at, k];
  const refs = chart.refs;
  const at = `${chart.label}: `;
  if (scope.top && k === 'global') return { whole: `${at}global is shared with every chart and subchart` };
  if (refs.rootWhole) return { whole: `${at}${refs.rootWhole} reads .Values as a whole` };
  if (chart.defaultsUnparsable) return { whole: `${at}values.yaml cannot be parsed, so every key is taken as read` };
  const file = refs.whole.get(pkey(p));
  if (file !== undefined) return { whole: `${at}${file} reads ${formatValuePath(p)}` };
  const fits = (w: readonly string[]) => p.every((s, i) => w[i] === '*' || w[i] === s);
  const wild = refs.wild.find((w) => !w.presence && w.segs.length === p.length && fits(w.segs));
  if (wild) return { whole: `${at}${wild.file} reads ${formatValuePath(wild.segs)}` };
  const wildInner = refs.wild.some((w) => (w.segs.length > p.length || (w.presence && w.segs.length === p.length)) && fits(w.segs));
  let childDefaults: Json = NONE;
  const d = scope.defaults;
  if (isObj(d) && Object.prototype.hasOwnProperty.call(d, k)) {
    const dk = d[k];
    if (!isObj(dk) || Object.keys(dk).length === 0) {
      return { whole: `${at}values.yaml has ${formatValuePath(p)} (${Array.isArray(dk) ? 'a list' : isObj(dk) ? 'an empty map' : dk === null ? 'null' : 'a scalar'})` };
    }
    if (scope.top && refs.rootDump) return { whole: `${at}values.yaml declares section ${k}, and ${refs.rootDump} passes .Values whole to the application` };
    childDefaults = dk;
  }
  let childSchema: Json[] | undefined;
  if (scope.schema && chart.schema) {
    const s = schemaChild(chart.schema, scope.schema, k);
    if (s === 'whole') return { whole: `${at}values.schema.json allows ${formatValuePath(p)}` };
    childSchema = s;
  }
  const out: Scope[] = [];
  const exact = childDefaults !== NONE || !!childSchema || refs.inner.has(pkey(p));
  if (exact || wildInner) out.push({ chart, at: p, defaults: childDefaults, schema: childSchema, top: false, wildOnly: !exact });
  const sub = scope.top ? chart.subcharts[k] : undefined;
  if (sub) out.push(rootScope(sub));
  return { scopes: out };
}

function reasonFor(scopes: readonly Scope[]): string {
  const parts: string[] = [];
  for (const s of scopes) {
    const where = s.at.length === 0 ? 'at the top level' : `under ${formatValuePath(s.at)}`;
    let r = `${s.chart.label} has no default for it ${where} of its values.yaml, and no template reads it or a prefix of it`;
    if (s.schema && s.chart.schema) {
      const root = s.chart.schema;
      const closed = s.schema.some((n) => schemaParts(root, n).some((x) => x.additionalProperties === false));
      r += closed ? '; values.schema.json forbids it, so helm refuses to render' : '; values.schema.json does not list it either';
    }
    if (s.top && s.chart.refs.rootDump) {
      r += ` (${s.chart.refs.rootDump} passes .Values whole to the application, which thus receives the key, ` +
        'but the chart declares no such setting, so the application most likely ignores it)';
    }
    parts.push(r);
  }
  return parts.join('; ');
}

function check(values: Json, at: string[], scopes: readonly Scope[], out: UnreadValue[]): void {
  if (!isObj(values)) return;
  for (const [k, v] of Object.entries(values)) {
    const p = [...at, k];
    const next: Scope[] = [];
    let whole = false;
    for (const s of scopes) {
      const r = step(s, k);
      if ('whole' in r) { whole = true; break; }
      next.push(...r.scopes);
    }
    if (whole) continue;
    if (next.length === 0) {
      out.push({ path: formatValuePath(p), segments: p, reason: reasonFor(scopes) });
      continue;
    }
    if (next.every((n) => n.wildOnly) && !(isObj(v) && Object.keys(v).length > 0)) {
      // e.g. `zz: 1` where the chart only reads `(index .Values $component).image`: a section the chart
      // computes the name of is a map, and a name it computes is one its values.yaml declares.
      out.push({ path: formatValuePath(p), segments: p, reason: `${reasonFor(scopes)} (only keys computed at render time reach this level, and they are read as maps)` });
      continue;
    }
    check(v, p, next, out);
  }
}

// ---------------------------------------------------------------------------------------------
// Loading, cache, API

const cache = new Map<string, ChartModel>();

function load(archive: string | Buffer): ChartModel {
  const buf = typeof archive === 'string' ? readFileSync(archive) : archive;
  const digest = createHash('sha256').update(buf).digest('hex');
  let model = cache.get(digest);
  if (!model) {
    const files = rootFolder(readTar(buf));
    if (!files) throw new Error(`${typeof archive === 'string' ? archive : 'the archive'} holds no Chart.yaml`);
    model = buildChart(files);
    cache.set(digest, model);
  }
  return model;
}

/**
 * The keys of `values` that the chart in `archive` (a .tgz path or its bytes) never reads, in the order
 * of `values`; [] when every key is read. Throws when the archive cannot be read or holds no chart.
 */
export function unreadValues(archive: string | Buffer, values: object): UnreadValue[] {
  const buf = typeof archive === 'string' ? readFileSync(archive) : archive;
  const file = resultsDir && path.join(resultsDir, `${createHash('sha256').update(RESULTS_FORMAT).update(buf).update(canonicalJson(values)).digest('hex')}.json`);
  if (file) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as UnreadValue[];
    } catch {
      // Not analysed yet (or an unreadable entry): analyse.
    }
  }
  const out: UnreadValue[] = [];
  check(values, [], [rootScope(load(buf))], out);
  if (file) {
    try {
      writeFileAtomic(file, JSON.stringify(out));
    } catch {
      // Only a cache (dist/ may be read-only).
    }
  }
  return out;
}

/** Bump when the analysis changes: every stored result is then stale. */
const RESULTS_FORMAT = 'chart-values/1';
let resultsDir: string | undefined;

/**
 * Keeps each result in `dir` (build output, e.g. dist/values-cache), keyed by the archive's bytes and the
 * values, so that an unchanged synth does not analyse the charts again. Undefined: in memory only.
 */
export function storeUnreadValuesIn(dir: string | undefined): string | undefined {
  const previous = resultsDir;
  resultsDir = dir;
  return previous;
}

/**
 * Why the chart counts a value path as read (the evidence at the first level that accepts it whole),
 * or why not; for debugging a report or a missed key.
 */
export function explainValue(archive: string | Buffer, segments: readonly string[]): string {
  let scopes: Scope[] = [rootScope(load(archive))];
  for (let i = 0; i < segments.length; i++) {
    const next: Scope[] = [];
    for (const s of scopes) {
      const r = step(s, segments[i]);
      if ('whole' in r) return `read: ${r.whole}`;
      next.push(...r.scopes);
    }
    if (next.length === 0) return `unread: ${reasonFor(scopes)}`;
    scopes = next;
  }
  return `read: ${scopes.map((s) => s.chart.label).join(', ')} ${scopes.some((s) => s.defaults !== NONE) ? 'declare' : 'reach below'} ${formatValuePath(segments)}`;
}

/** The chart's name, version and subcharts (by the key of their values). */
export function chartIdentity(archive: string | Buffer): ChartIdentity {
  const strip = (c: ChartModel): ChartIdentity => ({
    name: c.name,
    version: c.version,
    subcharts: Object.fromEntries(Object.entries(c.subcharts).map(([k, s]) => [k, strip(s)])),
  });
  return strip(load(archive));
}

/** Forgets every parsed chart. */
export function clearChartValuesCache(): void {
  cache.clear();
}

// ---------------------------------------------------------------------------------------------
// Suggestions

function knownKeys(chart: ChartModel): string[][] {
  if (chart.knownKeys) return chart.knownKeys;
  const out = new Map<string, string[]>();
  const add = (p: string[]) => { if (p.length > 0) out.set(pkey(p), p); };
  const skip = new Set(chart.refs.defaultsAt.map(pkey));
  const walk = (v: Json, at: string[]) => {
    if (!isObj(v)) return;
    for (const [k, x] of Object.entries(v)) {
      const p = [...at, k];
      if (skip.has(pkey(p))) continue;
      add(p);
      walk(x, p);
    }
  };
  walk(chart.defaults, []);
  for (const w of chart.refs.whole.keys()) add(w.split(SEP));
  if (chart.schema) {
    const root = chart.schema;
    const walkSchema = (nodes: Json[], at: string[]) => {
      if (at.length > 8) return;
      for (const n of nodes) {
        for (const part of schemaParts(root, n)) {
          if (!isObj(part.properties)) continue;
          for (const [k, s] of Object.entries(part.properties)) {
            const p = [...at, k];
            if (out.has(pkey(p))) continue;
            add(p);
            walkSchema([s], p);
          }
        }
      }
    };
    walkSchema([root], []);
  }
  for (const [k, sub] of Object.entries(chart.subcharts)) for (const p of knownKeys(sub)) add([k, ...p]);
  chart.knownKeys = [...out.values()];
  return chart.knownKeys;
}

const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
const words = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(/[^a-z0-9]+/).filter((w) => w !== '');

/**
 * A key of the chart (values.yaml, templates, schema, subcharts) that an unread key most likely
 * meant: a sibling with a near-identical name, the same name elsewhere, or a key whose path holds
 * every word of the name (`istio_namespace` -> `external_services.istio.root_namespace`).
 */
export function suggestValueKey(archive: string | Buffer, segments: readonly string[]): string | undefined {
  if (segments.length === 0) return undefined;
  const keys = knownKeys(load(archive));
  const leaf = segments[segments.length - 1];
  const parent = pkey(segments.slice(0, -1));
  const self = pkey(segments);
  const shared = (p: string[]) => { let i = 0; while (i < p.length - 1 && i < segments.length - 1 && p[i] === segments[i]) i++; return i; };
  const best = (cands: string[][], score: (p: string[]) => number) =>
    cands.filter((p) => pkey(p) !== self).map((p) => ({ p, s: score(p) })).sort((x, y) => x.s - y.s || x.p.length - y.p.length)[0]?.p;

  // 1. A sibling: same name but for case and separators, or a small edit away.
  const limit = Math.max(1, Math.floor(leaf.length / 4));
  const siblings = keys.filter((p) => pkey(p.slice(0, -1)) === parent);
  const sib = best(siblings.filter((p) => norm(p[p.length - 1]) === norm(leaf) || distance(p[p.length - 1], leaf) <= limit),
    (p) => (norm(p[p.length - 1]) === norm(leaf) ? 0 : distance(p[p.length - 1], leaf)));
  if (sib) return formatValuePath(sib);
  // 2. The same name elsewhere: the one sharing the longest prefix.
  const same = best(keys.filter((p) => norm(p[p.length - 1]) === norm(leaf)), (p) => -shared(p));
  if (same) return formatValuePath(same);
  // 3. A key whose path holds every word of a multi-word name, its own name one of them.
  const w = words(leaf);
  if (w.length >= 2) {
    const hit = best(keys.filter((p) => {
      const pw = new Set(p.flatMap(words));
      const own = new Set(words(p[p.length - 1]));
      return w.every((x) => pw.has(x)) && w.some((x) => own.has(x));
    }), (p) => p.length - shared(p));
    if (hit) return formatValuePath(hit);
  }
  return undefined;
}
