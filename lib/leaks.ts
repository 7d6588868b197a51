// The one leak scan: synth (before anything is written), `npm run validate` (gitops/ as it is on disk) and
// the cdk8s validation plugin all call it on what is, or would be, written to gitops/: every string of every
// object (metadata, annotations and labels included, on pod templates too), the Helm values of every
// Application, the files embedded in ConfigMaps and values (parsed when they are YAML or JSON), every
// document of multi-document files such as bootstrap/argo-cd/install.yaml, and text files.
//
// What it finds, and how:
// - credentials of known shapes (tokens, webhooks, private keys, connection strings, ...): secretlint's
//   recommended rules (lib/secret-scan.ts), the only list of token patterns;
// - a password in the user info of a URL (`https://user:password@host/...`), and a credential parameter of
//   a URL's query (`?access_token=...`, `&sig=...`): the URL grammar;
// - an HTTP Authorization credential (`Basic <base64 of user:password>`, `Bearer <token>`) in any string;
// - a literal under a secret-looking key (`password`, `token`, `db-password`, `apiKey`, `dbPass`, `pw`, an
//   `auth` holding `Basic ...`) in annotations, labels, Helm values, ConfigMap data, environment variables and
//   embedded files: YAML and JSON when they parse, other text (shell, INI, env files) line by line
//   (`export DB_PASSWORD=...`, `password = ...`);
// - a v1 Secret that carries data.
// No message ever holds a found value: a leak names the file, the object, the field and the kind of secret.
// Objects found clean are remembered by digest in dist/leak-cache.json, so a warm synth scans nothing again.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { writeFileAtomic } from './atomic-write';
import { projectRoot } from './helm';
import type { Manifest } from './platform';
import { authorizationCredentials, isBasicCredential, REDACTED, redactSecrets, secretlint, secretlintVersion, startSecretlint, urlCredentials } from './secret-scan';
import type { Violation } from './validation';
import { jsonOf } from './validation/context';

export interface Leak {
  /** The file the object is in. */
  readonly file: string;
  /** `Kind namespace/name (file)`. */
  readonly object: string;
  /** Dotted path of the field, e.g. spec.source.helm.valuesObject.core.secret. */
  readonly field: string;
  /** What kind of secret is there, never the value, and what to do. */
  readonly reason: string;
}

/** An object as written to gitops/, or a file of text (README.md) as written. */
export type LeakInput = { readonly path: string; readonly manifest: Manifest | unknown } | { readonly path: string; readonly text: string };

/** Key words of a credential held as a literal. */
const SECRET_WORD = /(password|passwd|passphrase|pwd|token|api[-_]?key|secret|credential|private[-_]?key|webhook|access[-_]?key|auth[-_]?key|signing[-_]?key|htpasswd)/i;
/** The same without the bare word `secret`, which also names Secrets (`auth-secret: monitoring-basic-auth`). */
const STRONG_SECRET_WORD = /(password|passwd|passphrase|pwd|token|api[-_]?key|credential|private[-_]?key|webhook|access[-_]?key|auth[-_]?key|signing[-_]?key|htpasswd|client[-_]?secret|secret[-_]?key)/i;
/** Keys that name where a credential is, rather than holding it. */
const REFERENCE_KEY = /^existing|(name|names|ref|file|files|path|paths|namespace|selector|create|enabled|mount|mountPath|items|keys?Ref|type|format|length|ttl|expiry|expiration|duration|provider|source|store|mode|audience|header|template|env|volume)$/i;
/** Literals that only point at a credential, or hold none: env and template expansion, paths, booleans, empty. */
const REFERENCE_VALUE = /^(secret:[a-z0-9.-]+:[A-Za-z0-9._-]+|\$__[a-z]+\{[^}]*\}|\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_.-]*(:[A-Za-z0-9_.-]+)?|\{\{.*\}\}|\/[\w./-]*|true|false|yes|no|null|~|)$/is;
/**
 * Keys that end in a short word for a password (`dbPass`, `SMTP_PASS`, `example.com/pw`, `adminPwd`), or
 * hold `pw`/`pass` as a word (`PW_ADMIN`, `pass_phrase`); not `bypass`, `compass`, `two-pass`, `pass-through`.
 */
const PASS_SUFFIX = /(pass|pw|pwd|passwd)$/i;
const NOT_PASS_SUFFIX = /(by|com|sur|tres|over|under|en|im|mis|bi|multi|single|one|two|three|first|second|third|final|high|low|band)[-_]?pass$/i;
const NOT_AFTER_PASS = new Set(['through', 'thru', 'rate', 'count', 'fail', 'threshold', 'percent', 'percentage', 'mark', 'score', 'limit', 'number']);
function isPassKey(name: string): boolean {
  if (PASS_SUFFIX.test(name)) return !NOT_PASS_SUFFIX.test(name);
  if (!/pw|pass/i.test(name)) return false;
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(/[^a-z0-9]+/);
  return words.some((x, i) => x === 'pw' || (x === 'pass' && !NOT_AFTER_PASS.has(words[i + 1])));
}
/** Keys that name an HTTP Authorization (`auth`, `example.com/auth`, `proxyAuth`, `Authorization`). */
const AUTH_KEY = /auth(orization)?$/i;
/**
 * What an `auth` key holds when it is a credential: `Basic <base64>`, `Bearer <token>` (looser than in any
 * string: the key says what it is), or the base64 of `user:password` itself (a docker config's `auth`).
 * `basic`, `Basic realm`, a Secret's name are none.
 */
function isAuthorizationValue(v: string): boolean {
  const m = /^(basic|bearer)\s+(\S{8,})$/i.exec(v);
  if (m) {
    const cred = m[2];
    if (REFERENCE_VALUE.test(cred) || /^(\{|<|\$)/.test(cred)) return false;
    return m[1].toLowerCase() === 'bearer' || isBasicCredential(cred) || (/^[A-Za-z0-9+/_-]+=*$/.test(cred) && /[0-9=+/]|[a-z][A-Z]|[A-Z][a-z]*[A-Z]/.test(cred));
  }
  return v.length >= 8 && isBasicCredential(v);
}
/** Could `text` hold a key that names a credential (or an escape that spells one)? Checked before parsing. */
const MAY_NAME_CREDENTIAL = /pass|pw|token|secret|key|credential|webhook|auth|\\/i;

/** A Kubernetes object reference `[namespace/]name`. */
const OBJECT_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;

/** Bump when the scan finds more or less, so that the cache of clean objects is dropped. */
const SCAN_FORMAT = 'leaks/3';
/** Embedded documents larger than this are scanned as text only. */
const MAX_EMBEDDED = 4 * 1024 * 1024;
/** Nesting deeper than this is scanned as text (Kubernetes objects, CRD schemas included, stay under 40). */
const MAX_DEPTH = 100;

/** A field, as a linked list from the leaf up: cheap to extend while walking large objects. */
interface Path {
  readonly up?: Path;
  readonly seg: string | number | typeof EMBEDDED;
}
const EMBEDDED = Symbol('embedded');
const at = (up: Path | undefined, seg: Path['seg']): Path => ({ up, seg });
const ROOT: Path | undefined = undefined;

/** Where a string sits: what rules apply to the keys around it. */
type Context =
  /** Helm values, an embedded file, Application parameters: every key counts. */
  | 'values'
  /** annotations or labels. */
  | 'meta'
  /** A ConfigMap's data: keys are file names, values are files. */
  | 'data'
  | 'other';

type Kind = 'secret-data' | 'secretlint' | 'url' | 'url-query' | 'authorization' | 'literal' | 'key';

interface Finding {
  readonly field: Path | string | undefined;
  readonly kind: Kind;
  readonly what: string;
  /** The values to mask wherever a message could show them. */
  readonly secrets: readonly string[];
}

const FIX: Record<Kind, string> = {
  'secret-data': 'declare the secret where its component uses it (a SecretDeclaration passed to SecretsChart.use(), which writes an ExternalSecret or SealedSecret) and refer to it; a Secret in git is readable by anyone with the repo',
  secretlint: 'declare the secret where its component uses it (SecretsChart.use()) and refer to it (existingSecret, secretKeyRef, a mounted file); rotate it: it may already be in git history or CI logs',
  url: 'remove the user info from the URL: Argo CD and git read repository credentials from a repository Secret (`argocd repo add`, or a declared secret), never from the URL; rotate the password',
  'url-query': 'remove the credential from the URL\'s query: Argo CD and git read repository credentials from a repository Secret (`argocd repo add`), other clients from a declared secret (SecretsChart.use()) they are given, never from the URL; rotate the credential',
  authorization: 'declare the credential where its component uses it (SecretsChart.use()) and refer to it (a header or file read from a Secret); rotate it: it may already be in git history or CI logs',
  literal: 'declare the secret where its component uses it (SecretsChart.use()) and refer to it (existingSecret, secretKeyRef, a mounted file); annotations and labels can hold no secret at all: anyone who can list the object reads them',
  key: 'a key of this object is itself a credential; remove it and rotate the credential',
};

// ---------------------------------------------------------------------------------------------- walking

/** The text handed to secretlint, one line `key: value` per key and string (key-aware rules see the key), and an index of its lines. */
class ScanText {
  readonly lines: string[] = [];
  readonly offsets: number[] = [];
  readonly valueAts: number[] = [];
  readonly fields: (Path | undefined)[] = [];
  readonly keys: string[] = [];
  readonly walks: Walk[] = [];
  private offset = 0;

  add(w: Walk, key: string, value: string | undefined, field: Path | undefined): void {
    const head = value === undefined ? `${key}:` : `${key}: `;
    this.lines.push(value === undefined ? head : head + value);
    this.offsets.push(this.offset);
    this.valueAts.push(head.length);
    this.fields.push(field);
    this.keys.push(key);
    this.walks.push(w);
    this.offset += head.length + (value === undefined ? 0 : value.length) + 1;
  }

  /** The line that holds position `p` of the joined text. */
  lineAt(p: number): number {
    let lo = 0;
    let hi = this.offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offsets[mid] <= p) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

interface Walk {
  readonly input: number;
  readonly text: ScanText;
  readonly findings: Finding[];
}

/** The last part of a key, for matching: `nginx.ingress.kubernetes.io/auth-secret` -> `auth-secret`. */
const keyName = (key: string) => key.slice(key.lastIndexOf('/') + 1);

/** A key ending in Key/User names a key of a sibling `existingSecret`: `{ existingSecret, passwordKey }`. */
function namesKeyOfSibling(parent: Record<string, unknown> | undefined, key: string): boolean {
  return !!parent && /(Key|User|Name)$/.test(key) && Object.keys(parent).some((k) => /^existing/i.test(k) || /secret(Name|Ref)?$/i.test(k));
}

/** True when `value` under `key` is a credential held as a literal, in `context`. */
function literalUnderSecretKey(key: string, value: string, context: Context, parent?: Record<string, unknown>): boolean {
  const name = keyName(key);
  const secretWord = SECRET_WORD.test(name);
  const pass = !secretWord && isPassKey(name);
  const auth = !secretWord && !pass && AUTH_KEY.test(name);
  if (!secretWord && !pass && !auth) return false;
  const v = value.trim();
  if (REFERENCE_KEY.test(name) || REFERENCE_VALUE.test(v) || namesKeyOfSibling(parent, key)) return false;
  // `auth` names a credential only by what it holds: `auth-type: basic` is a setting.
  if (auth) return isAuthorizationValue(v);
  // `*-secret` annotations and labels name a Secret (ingress-nginx's auth-secret, ...); so does a list of
  // `secrets` (the Prometheus operator's alertmanagerSpec.secrets). A pass/pw key names no Secret.
  if (!pass && (context !== 'values' || /secrets$/i.test(name)) && !STRONG_SECRET_WORD.test(name) && OBJECT_NAME.test(value) && value.length <= 253) return false;
  return true;
}

/**
 * True when `value` under `key` (a values key, an annotation, an environment variable's name) is a
 * credential held as a literal: for code that prints values (plan's diffs, schema messages) to hide it.
 */
export function isSecretLiteral(key: string, value: unknown): boolean {
  return typeof value === 'string' && literalUnderSecretKey(key, value, 'values');
}

function report(w: Walk, field: Path | string | undefined, kind: Kind, what: string, secrets: readonly string[]): void {
  w.findings.push({ field, kind, what, secrets });
}

function checkString(w: Walk, key: string, value: string, field: Path | undefined, context: Context, parent?: Record<string, unknown>): void {
  w.text.add(w, key, value, field);
  credentialsIn(w, value, () => field);
  if (context !== 'other' && literalUnderSecretKey(key, value, context, parent)) {
    const where = context === 'meta' ? (isUnder(field, 'labels') ? 'a label' : 'an annotation') : context === 'data' ? 'a ConfigMap key' : 'a key';
    report(w, field, 'literal', `a literal value under ${where} that names a credential ("${keyName(key)}")`, [value]);
  }
  if (value.length >= 3) embedded(w, value, field, value);
}

/**
 * Credentials that are one by their shape, in any string: URL user info and query credentials, HTTP
 * Authorization values. `fieldAt` names the field (or line) of a position; `unless` skips what a text that
 * was already scanned holds verbatim (an embedded file's strings, after parsing undid its escapes).
 */
function credentialsIn(w: Walk, value: string, fieldAt: (start: number) => Path | string | undefined, unless?: string): void {
  if (value.includes('://') || value.includes('=')) {
    for (const c of urlCredentials(value)) {
      const secret = value.slice(c.start, c.end);
      if (unless?.includes(secret)) continue;
      if (c.where === 'userinfo') report(w, fieldAt(c.start), 'url', 'a password in the user info of a URL (scheme://user:password@host)', [secret]);
      else report(w, fieldAt(c.start), 'url-query', `a credential in the query of a URL (parameter ${JSON.stringify(c.name)})`, [secret]);
    }
  }
  for (const c of authorizationCredentials(value)) {
    const secret = value.slice(c.start, c.end);
    if (unless?.includes(secret)) continue;
    report(w, fieldAt(c.start), 'authorization', `an HTTP Authorization credential ("${c.scheme} ${c.scheme === 'Basic' ? '<user:password in base64>' : '<token>'}")`, [secret]);
  }
}

function isUnder(field: Path | undefined, seg: string): boolean {
  for (let p = field; p; p = p.up) if (p.seg === seg) return true;
  return false;
}

/**
 * A file inside a string (ConfigMap data, a values file, a JSON annotation, a script in an argument): checked
 * with its keys. JSON and YAML are parsed when they parse to a mapping or list; any other text (a shell
 * script, an INI, env or properties file) is read line by line for `key=value`, `key = value`, `key: value`.
 * `outer` is the string that was scanned as text (the top one, for files inside files).
 */
function embedded(w: Walk, value: string, field: Path | undefined, outer: string): void {
  // Only a key that names a credential can make a finding here: text without one is not parsed.
  if (value.length > MAX_EMBEDDED || !MAY_NAME_CREDENTIAL.test(value)) return;
  const t = value.trim();
  const json = (t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']'));
  let docs: unknown[] = [];
  // YAML: a string with a mapping in it (`token: $slack-token`, a file of several lines).
  if (json || /:(\s|$)/m.test(value)) {
    try {
      // js-yaml keeps an alias as a second reference to the same node, so a "billion laughs" file stays
      // small; walkKeys visits each node once.
      docs = json ? [JSON.parse(t)] : yaml.loadAll(value) as unknown[];
    } catch {
      docs = []; // Not a document: read as lines below.
    }
  }
  const trees = docs.filter((d) => d && typeof d === 'object');
  if (trees.length > 0) {
    const seen = new WeakSet<object>();
    for (const doc of trees) walkKeys(w, doc, at(field, EMBEDDED), '', seen, 0, outer);
    return;
  }
  assignments(w, value, field);
}

/**
 * True when the credential in `value` is an Authorization credential that `outer` holds verbatim, so that
 * the scan of `outer` reported it already (`Authorization: Bearer ...` in a header line is one leak, not two).
 */
function foundByShape(value: string, outer: string): boolean {
  const shaped = authorizationCredentials(value);
  return shaped.length > 0 && shaped.every((c) => outer.includes(value.slice(c.start, c.end)));
}

/**
 * `key=value`, `key = value` and `key: value` lines (shell, with `export`/`readonly`/`declare`/`ENV` before
 * the key; INI; env and properties files; YAML that did not parse), with a key that names a credential.
 */
const ASSIGNMENT = /^[ \t]*(?:(?:export|readonly|local|typeset|declare(?:[ \t]+-[A-Za-z]+)*|ENV|ARG|set)[ \t]+)?(["']?)([A-Za-z_][\w.\-/]*)\1([ \t]*)([=:])([ \t]*)(.*)$/gm;

function assignments(w: Walk, text: string, field: Path | undefined): void {
  if (!text.includes('=') && !text.includes(':')) return;
  ASSIGNMENT.lastIndex = 0;
  for (let m = ASSIGNMENT.exec(text); m; m = ASSIGNMENT.exec(text)) {
    if (m[0].length === 0) ASSIGNMENT.lastIndex++;
    const [, , key, before, sep, after, rest] = m;
    // `key:value` is no YAML mapping (`http://...`); a YAML block (`key: |`) did not parse.
    if (rest === '' || (sep === ':' && after === '') || /^[|>]/.test(rest)) continue;
    let value: string;
    const q = rest[0];
    if (q === '"' || q === "'") {
      const close = rest.indexOf(q, 1);
      value = close > 0 ? rest.slice(1, close) : rest.slice(1);
    } else if (sep === '=' && before === '' && after === '') {
      value = /^[^\s;&|)`]*/.exec(rest)![0]; // shell: `A=b; run`, `A=b run`
    } else {
      value = rest.replace(/\s+[#;].*$/, '').trim(); // INI, properties: `key = value ; comment`
    }
    if (value !== '' && literalUnderSecretKey(key, value, 'data') && !foundByShape(value, text)) {
      report(w, at(at(field, EMBEDDED), key), 'literal', `a literal value under a key that names a credential ("${keyName(key)}") in an embedded file`, [value]);
    }
  }
}

/**
 * Key-aware checks of an embedded document's tree. Its strings are in the scanned text already, as part
 * of the string that embeds them, so only keys and literals are checked here.
 */
function walkKeys(w: Walk, value: unknown, field: Path | undefined, key: string, seen: WeakSet<object>, depth: number, outer: string, parent?: Record<string, unknown>): void {
  if (typeof value === 'string') {
    if (literalUnderSecretKey(key, value, 'values', parent) && !foundByShape(value, outer)) {
      report(w, field, 'literal', `a literal value under a key that names a credential ("${keyName(key)}") in an embedded file`, [value]);
    }
    // What parsing spelled out (`\u0026token=`, a folded line) was not in the scanned text.
    credentialsIn(w, value, () => field, outer);
    if (value.length >= 3) embedded(w, value, field, outer);
    return;
  }
  // Aliases make a document a graph: each node is checked once. Past MAX_DEPTH only the text counts.
  if (!value || typeof value !== 'object' || seen.has(value) || depth > MAX_DEPTH) return;
  seen.add(value);
  if (Array.isArray(value)) {
    value.forEach((v, i) => walkKeys(w, v, at(field, i), key, seen, depth + 1, outer));
    pairs(w, value, field);
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const k of Object.keys(obj)) walkKeys(w, obj[k], at(field, k), k, seen, depth + 1, outer, obj);
}

/** `[{ name: DB_PASSWORD, value: hunter2 }]`: environment variables, Helm parameters, extraEnv lists. */
function pairs(w: Walk, list: readonly unknown[], field: Path | undefined): void {
  list.forEach((item, i) => {
    if (!item || typeof item !== 'object' || Array.isArray(item)) return;
    const { name, value } = item as { name?: unknown; value?: unknown };
    if (typeof name !== 'string' || typeof value !== 'string') return;
    const key = name.split('.').pop()!;
    // The name is the key.
    if (literalUnderSecretKey(key, value, 'values')) {
      report(w, at(at(field, i), 'value'), 'literal', `a literal value of "${keyName(key)}", which names a credential`, [value]);
    }
  });
}

function walk(w: Walk, value: unknown, field: Path | undefined, context: Context, key: string, depth: number, parent?: Record<string, unknown>): void {
  if (typeof value === 'string') {
    checkString(w, key, value, field, context, parent);
    return;
  }
  if (!value || typeof value !== 'object') return;
  if (depth > MAX_DEPTH) {
    flatten(w, value, field, context);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walk(w, value[i], at(field, i), context, key, depth + 1);
    if (context === 'values' || key === 'env' || key === 'parameters' || /env$/i.test(key)) pairs(w, value, field);
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const k of Object.keys(obj)) entry(w, k, obj[k], at(field, k), context, key, obj, depth + 1);
}

/**
 * What lies deeper than MAX_DEPTH (no Kubernetes object does; a hostile one might): every key and string
 * of it, scanned as text and reported at the field where the depth ran out. Iterative, so that no depth
 * overflows the stack.
 */
function flatten(w: Walk, value: object, field: Path | undefined, context: Context): void {
  const stack: unknown[] = [value];
  const seen = new WeakSet<object>();
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      w.text.add(w, '', v, field);
      credentialsIn(w, v, () => field);
    } else if (v && typeof v === 'object' && !seen.has(v)) {
      seen.add(v);
      if (Array.isArray(v)) for (const x of v) stack.push(x);
      else {
        for (const [k, x] of Object.entries(v)) {
          stack.push(k, x);
          if (context !== 'other' && typeof x === 'string' && literalUnderSecretKey(k, x, 'values', v as Record<string, unknown>)) {
            report(w, field, 'literal', `a literal value under a key that names a credential ("${keyName(k)}"), nested too deep to name its field`, [x]);
          }
        }
      }
    }
  }
}

/** One key of a mapping and its value; the context of the value follows from the key. */
function entry(w: Walk, k: string, v: unknown, f: Path, context: Context, parentKey: string, obj: Record<string, unknown>, depth: number): void {
  if (typeof v === 'string') {
    // The Helm values file of an Application, as text.
    checkString(w, k, v, f, k === 'values' && parentKey === 'helm' ? 'values' : context, obj);
    return;
  }
  if (!v || typeof v !== 'object') {
    w.text.add(w, k, v === undefined ? undefined : String(v), f);
    return;
  }
  w.text.add(w, k, undefined, f);
  if (k === 'valuesObject') walk(w, v, f, 'values', k, depth, obj);
  else if ((k === 'annotations' || k === 'labels') && !Array.isArray(v)) walk(w, v, f, 'meta', k, depth, obj);
  else walk(w, v, f, context === 'meta' || context === 'data' ? 'other' : context, k, depth, obj);
}

function walkManifest(w: Walk, m: Record<string, unknown>): void {
  if (m.kind === 'Secret' && m.apiVersion === 'v1') {
    for (const field of ['data', 'stringData']) {
      const v = m[field];
      if (v && typeof v === 'object' && Object.keys(v).length > 0) {
        report(w, at(ROOT, field), 'secret-data', `a Secret in git carries its data (${field} keys: ${Object.keys(v).sort().join(', ')}); declare it where its component uses it (SecretsChart.use()) instead`, Object.values(v).filter((x): x is string => typeof x === 'string'));
      }
    }
  }
  for (const k of Object.keys(m)) {
    const v = m[k];
    if (m.kind === 'ConfigMap' && (k === 'data' || k === 'binaryData') && v && typeof v === 'object' && !Array.isArray(v)) {
      const data = v as Record<string, unknown>;
      w.text.add(w, k, undefined, at(ROOT, k));
      for (const dk of Object.keys(data)) entry(w, dk, data[dk], at(at(ROOT, k), dk), 'data', k, data, 1);
    } else entry(w, k, v, at(ROOT, k), 'other', '', m, 1);
  }
}

// ---------------------------------------------------------------------------------------------- messages

/** `a.b["x.y"][0]`, with an embedded file's path after ` > `; keys that are credentials are masked. */
function formatField(field: Path | string | undefined, secrets: ReadonlySet<string>): string {
  if (typeof field === 'string') return field;
  const segs: Path['seg'][] = [];
  for (let p = field; p; p = p.up) segs.unshift(p.seg);
  let out = '';
  for (const s of segs) {
    if (s === EMBEDDED) out += ' > ';
    else if (typeof s === 'number') out += `[${s}]`;
    else {
      const k = secrets.has(s) ? REDACTED : s;
      const sep = out === '' || out.endsWith(' > ') ? '' : '.';
      out += /^[A-Za-z0-9_$-]+$/.test(k) ? `${sep}${k}` : `[${JSON.stringify(k)}]`;
    }
  }
  return out;
}

function describeObject(m: Record<string, any>, file: string): string {
  const ns = m?.metadata?.namespace ? `${m.metadata.namespace}/` : '';
  return `${m?.kind ?? 'object'} ${ns}${m?.metadata?.name ?? '(unnamed)'} (${file})`;
}

/** The values to mask in messages about a set of files (what their leaks hold). */
const secretsOfInput = new WeakMap<object, readonly string[]>();

// ---------------------------------------------------------------------------------------------- the cache

interface LeakCache {
  readonly file?: string;
  readonly version: string;
  readonly clean: Set<string>;
  added: boolean;
}

let cache: LeakCache | undefined;

/** Clean objects by digest, in dist/ next to the other caches (PLATFORM_LEAK_CACHE=off: none). */
function leakCache(): LeakCache {
  const setting = process.env.PLATFORM_LEAK_CACHE;
  const file = setting === 'off' ? undefined : setting || path.join(projectRoot(), 'dist', 'leak-cache.json');
  if (cache && cache.file === file) return cache;
  const version = `${SCAN_FORMAT} ${secretlintVersion()}`;
  let clean: string[] = [];
  try {
    const stored = file ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
    if (stored?.version === version && Array.isArray(stored.clean)) clean = stored.clean;
  } catch {
    // No cache yet, or an unreadable one: scan everything.
  }
  cache = { file, version, clean: new Set(clean), added: false };
  return cache;
}

function saveCache(c: LeakCache): void {
  if (!c.file || !c.added) return;
  // Bounded: an old cache of many configs is dropped rather than grown forever.
  const clean = c.clean.size > 200_000 ? [] : [...c.clean];
  try {
    writeFileAtomic(c.file, JSON.stringify({ version: c.version, clean }));
    c.added = false;
  } catch {
    // dist/ not writable: the next run scans again, which is only slower.
  }
}

function digestOf(c: LeakCache, input: LeakInput): string {
  const h = createHash('sha1').update(c.version).update('\0');
  if ('text' in input) h.update('text\0').update(input.text);
  else h.update('object\0').update(input.manifest && typeof input.manifest === 'object' ? jsonOf(input.manifest as object) : JSON.stringify(input.manifest) ?? '');
  return h.digest('base64url');
}

// ---------------------------------------------------------------------------------------------- the scan

/** Every leak in what is (or would be) written: objects and text files. */
export function findLeaks(files: readonly LeakInput[]): Leak[] {
  const c = leakCache();
  const digests = files.map((f) => {
    try {
      return digestOf(c, f);
    } catch {
      return undefined; // Too deep to serialise: scanned, never cached.
    }
  });
  const todo = files.map((_, i) => i).filter((i) => digests[i] === undefined || !c.clean.has(digests[i]!));
  if (todo.length === 0) return [];
  // secretlint loads in its worker while the objects are walked.
  startSecretlint();

  // Walk every object not known to be clean; one secretlint run over all their strings.
  const text = new ScanText();
  const walks: Walk[] = [];
  for (const i of todo) {
    const f = files[i];
    const w: Walk = { input: i, text, findings: [] };
    if ('text' in f) {
      text.add(w, '', f.text, ROOT);
      // Line by line, so that the line can be named.
      credentialsIn(w, f.text, (start) => `line ${lineOf(f.text, start)}`);
    } else if (f.manifest && typeof f.manifest === 'object' && !Array.isArray(f.manifest)) walkManifest(w, f.manifest as Record<string, unknown>);
    else walk(w, f.manifest, ROOT, 'other', '', 0);
    walks.push(w);
  }
  const joined = text.lines.join('\n');
  for (const hit of secretlint(joined)) {
    const line = text.lineAt(hit.start);
    const w = text.walks[line];
    const secret = joined.slice(hit.start, hit.end);
    const what = `a credential secretlint reports as ${hit.messageId} (rule ${hit.rule})`;
    const file = files[w.input];
    const inValue = hit.start - text.offsets[line] >= text.valueAts[line];
    if ('text' in file) report(w, `line ${lineOf(file.text, hit.start - text.offsets[line] - text.valueAts[line])}`, 'secretlint', what, [secret]);
    else if (!inValue) report(w, text.fields[line], 'key', `a key that is ${what}`, [text.keys[line], secret]);
    else report(w, text.fields[line], 'secretlint', what, [secret]);
  }

  const leaks: Leak[] = [];
  for (const w of walks) {
    if (w.findings.length === 0) {
      const d = digests[w.input];
      // (PLATFORM_LEAK_CACHE=off: no file, and nothing remembered in this process either.)
      if (d !== undefined && c.file) {
        c.clean.add(d);
        c.added = true;
      }
      continue;
    }
    const f = files[w.input];
    const secrets = new Set(w.findings.flatMap((x) => x.secrets).filter((s) => s.length > 0));
    if (!('text' in f) && f.manifest && typeof f.manifest === 'object') secretsOfInput.set(f.manifest, [...secrets]);
    const object = 'text' in f ? `file ${f.path}` : describeObject(f.manifest as Record<string, any>, f.path);
    // One leak per field, naming every kind found there.
    const byField = new Map<string, Finding[]>();
    for (const x of w.findings) {
      const field = formatField(x.field, secrets);
      const same = byField.get(field);
      if (same) same.push(x);
      else byField.set(field, [x]);
    }
    for (const [field, found] of byField) {
      const kinds = [...new Set(found.map((x) => x.what))];
      const reason = found[0].kind === 'secret-data' ? found[0].what : `holds ${kinds.join('; and ')}`;
      const leak = { file: mask(f.path, secrets), object: mask(object, secrets), field, reason: mask(reason, secrets) };
      fixes.set(leak, FIX[found[0].kind]);
      leaks.push(leak);
    }
  }
  lineStarts = undefined;
  saveCache(c);
  return leaks;
}

const fixes = new WeakMap<Leak, string>();

/** Where the lines of the last text asked about start: a text with many findings is indexed once. */
let lineStarts: { readonly text: string; readonly starts: number[] } | undefined;

function lineOf(text: string, at: number): number {
  if (lineStarts?.text !== text) {
    const starts = [0];
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    lineStarts = { text, starts };
  }
  const { starts } = lineStarts;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function mask(text: string, secrets: ReadonlySet<string>): string {
  let out = text;
  for (const s of [...secrets].filter((x) => x.length >= 4).sort((a, b) => b.length - a.length)) out = out.split(s).join(REDACTED);
  return out;
}

/** How to fix a leak. */
export function leakFix(leak: Leak): string {
  return fixes.get(leak) ?? FIX.secretlint;
}

/** Leaks as validation violations (rule no-secret-data), for `npm run validate` and the cdk8s plugin. */
export function leakViolations(files: readonly LeakInput[]): Violation[] {
  return findLeaks(files).map((l) => ({
    rule: 'no-secret-data' as const,
    file: l.file,
    object: l.object.replace(/ \([^)]*\)$/, ''),
    field: l.field,
    message: l.reason,
    fix: leakFix(l),
  }));
}

/**
 * Violations of any rule with every value the leak scan found in `files` masked, and whatever else
 * secretlint or the URL grammar recognises in their texts: other rules quote values (a URL, a schema
 * value), and none of them may print a secret.
 */
export function withoutSecrets(violations: readonly Violation[], files: readonly LeakInput[]): Violation[] {
  if (violations.length === 0) return [];
  findLeaks(files);
  const known = new Set<string>();
  for (const f of files) if (!('text' in f) && f.manifest && typeof f.manifest === 'object') for (const s of secretsOfInput.get(f.manifest) ?? []) known.add(s);
  // One scan of all the messages: join, redact, split.
  const SEP = '\n\u0000\n';
  const texts = violations.flatMap((v) => [v.object, v.field, v.message, v.fix]);
  const masked = redactSecrets(texts.join(SEP), known).split(SEP);
  if (masked.length !== texts.length) return violations.map((v) => ({ ...v, message: mask(v.message, known), fix: mask(v.fix, known) }));
  return violations.map((v, i) => ({ ...v, object: masked[4 * i], field: masked[4 * i + 1], message: masked[4 * i + 2], fix: masked[4 * i + 3] }));
}

export class LeakError extends Error {
  constructor(readonly leaks: readonly Leak[]) {
    super(`refusing to write secret material to gitops/: ${leaks.length} leak${leaks.length === 1 ? '' : 's'} (values not shown)\n${leaks.map((l) => `  - ${l.object}: ${l.field || '(object)'}: ${l.reason}\n    fix: ${leakFix(l)}`).join('\n')}`);
    this.name = 'LeakError';
  }
}

/** Throws a LeakError naming every leak. */
export function assertNoLeaks(files: readonly LeakInput[]): void {
  const leaks = findLeaks(files);
  if (leaks.length > 0) throw new LeakError(leaks);
}
