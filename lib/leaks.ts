// Synth refuses to write secret material. Two ways a value can leak into gitops/: a Secret that carries
// data, and a Helm value that holds a credential instead of naming where one is. This check runs on every
// rendered object before anything is written; the test suite also scans gitops/ with secretlint.
import { Manifest } from './platform';
import { Violation } from './validation';

export interface Leak {
  /** The file the object is in. */
  readonly file: string;
  /** `Kind namespace/name (file)`. */
  readonly object: string;
  /** Dotted path of the field, e.g. spec.source.helm.valuesObject.core.secret. */
  readonly field: string;
  readonly reason: string;
}

/** Keys that hold a credential when set to a literal. */
const SECRET_KEY = /(password|passwd|token|api_?key|secret|credential|private_?key|webhook|client_?secret|access_?key)/i;
/** Keys that name where a credential is, rather than holding it. */
const REFERENCE_KEY = /^existing|(name|ref|file|path|namespace|selector|create|enabled|mount|items|keys?Ref)$/i;
/** Values that are a credential whatever the key (Slack, GitHub, AWS, private keys). */
const SECRET_VALUE: readonly [RegExp, string][] = [
  [/hooks\.slack\.com\/services\/[A-Za-z0-9]+\//, 'a Slack webhook URL'],
  [/\bxox[abprs]-[0-9A-Za-z-]{10,}/, 'a Slack token'],
  [/\bgh[pousr]_[0-9A-Za-z]{30,}/, 'a GitHub token'],
  [/\bAKIA[0-9A-Z]{16}\b/, 'an AWS access key id'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key'],
];
/** Literals that only point at a credential: env expansion, file paths, empty. */
const REFERENCE_VALUE = /^(\$\{[A-Za-z0-9_]+\}|\/[\w./-]*|)$/;

function describeObject(m: Manifest, file: string): string {
  const ns = m.metadata.namespace ? `${m.metadata.namespace}/` : '';
  return `${m.kind} ${ns}${m.metadata.name} (${file})`;
}

/** A key ending in Key/User names a key of a sibling `existingSecret`: `{ existingSecret, passwordKey }`. */
function namesKeyOfSibling(parent: Record<string, unknown>, key: string): boolean {
  return /(Key|User)$/.test(key) && Object.keys(parent).some((k) => /^existing/i.test(k) || /secretName$/i.test(k));
}

function walkValues(value: unknown, path: string, parent: Record<string, unknown> | undefined, key: string, out: (field: string, reason: string) => void): void {
  if (typeof value === 'string') {
    for (const [re, what] of SECRET_VALUE) if (re.test(value)) out(path, `holds ${what}`);
    if (parent && SECRET_KEY.test(key) && !REFERENCE_KEY.test(key) && !REFERENCE_VALUE.test(value) && !namesKeyOfSibling(parent, key)) {
      out(path, `"${key}" holds a literal; reference a declared secret instead (existingSecret, secretKeyRef, a mounted file)`);
    }
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => walkValues(v, `${path}[${i}]`, undefined, key, out));
    return;
  }
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const [k, v] of Object.entries(obj)) walkValues(v, path ? `${path}.${k}` : k, obj, k, out);
  }
}

/** Every leak in a set of rendered objects. */
export function findLeaks(files: readonly { path: string; manifest: Manifest }[]): Leak[] {
  const leaks: Leak[] = [];
  for (const { path, manifest: m } of files) {
    const object = describeObject(m, path);
    const file = path;
    if (m.kind === 'Secret' && m.apiVersion === 'v1') {
      for (const field of ['data', 'stringData']) {
        const v = (m as any)[field];
        if (v && Object.keys(v).length > 0) leaks.push({ file, object, field, reason: 'a Secret in git carries its data; declare it in lib/secrets.ts instead' });
      }
    }
    if (m.kind === 'Application') {
      const helm = (m as any).spec?.source?.helm;
      if (helm?.valuesObject) {
        walkValues(helm.valuesObject, 'spec.source.helm.valuesObject', undefined, '', (field, reason) => leaks.push({ file, object, field, reason }));
      }
      for (const [i, p] of (helm?.parameters ?? []).entries()) {
        if (SECRET_KEY.test(p.name) && !REFERENCE_KEY.test(p.name.split('.').pop())) leaks.push({ file, object, field: `spec.source.helm.parameters[${i}]`, reason: `parameter ${p.name} holds a literal` });
      }
      continue;
    }
    // Any other object: value-based detectors only (a ConfigMap is no place for a token either).
    walkValues({ ...m, metadata: undefined }, '', undefined, '', (field, reason) => {
      if (!reason.startsWith('"')) leaks.push({ file, object, field, reason });
    });
  }
  return leaks;
}

/** Leaks as validation violations (rule no-secret-data), for `npm run validate` and the cdk8s plugin. */
export function leakViolations(files: readonly { path: string; manifest: Manifest }[]): Violation[] {
  return findLeaks(files).map((l) => ({
    rule: 'no-secret-data' as const,
    file: l.file,
    object: l.object.replace(/ \([^)]*\)$/, ''),
    field: l.field,
    message: l.reason,
    fix: 'declare the secret in lib/secrets.ts and refer to it (existingSecret, secretKeyRef, a mounted file); never put the value in gitops/',
  }));
}

export class LeakError extends Error {
  constructor(readonly leaks: readonly Leak[]) {
    super(`refusing to write secret material to gitops/:\n${leaks.map((l) => `  - ${l.object}: ${l.field}: ${l.reason}`).join('\n')}`);
    this.name = 'LeakError';
  }
}

/** Throws a LeakError naming every leak. */
export function assertNoLeaks(files: readonly { path: string; manifest: Manifest }[]): void {
  const leaks = findLeaks(files);
  if (leaks.length > 0) throw new LeakError(leaks);
}
