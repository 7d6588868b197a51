// `npm run plan`: what a change to gitops/ does to the cluster, per Application: objects added, changed
// (with a short field-level diff) and removed, compared with gitops/ at a git ref. Removing objects that
// hold data (CRDs, PersistentVolumeClaims, volume claim templates, Namespaces, Secrets and secret
// declarations) is refused unless acknowledged in config (`allowRemovals`) or with --allow.
import { writtenSources } from './app-of-apps';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { structuredPatch } from 'diff';
import { isSecretLiteral } from './leaks';
import { REDACTED, redactSecrets } from './secret-scan';
import type { ChartRender } from './component';
import type { ChartInput } from './render';
import { compareText } from './text';
import { CHARTS_DIR, LOCK_FILE } from './vendor';

type Obj = Record<string, any>;

export interface PlannedObject {
  readonly env: string;
  /** The Application that syncs the object: its folder's component, `root` for apps/, `bootstrap`. */
  readonly app: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly file: string;
  readonly object: Obj;
}

export interface FieldChange {
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
}

export interface Plan {
  readonly added: PlannedObject[];
  readonly removed: PlannedObject[];
  readonly changed: { before: PlannedObject; after: PlannedObject; fields: FieldChange[] }[];
  /**
   * Objects that another Application syncs now, with any field changes: Argo CD adopts them in place
   * (see "Moving objects between Applications" in README.md); they are not deleted and recreated.
   */
  readonly moved: { before: PlannedObject; after: PlannedObject; fields: FieldChange[]; from: 'gone' | 'stays' | 'by hand' }[];
  /** Removals that destroy data, with why. */
  readonly dangerous: { object: PlannedObject; why: string; key: string }[];
}

/** Kinds whose removal destroys data or breaks what depends on them. */
const DANGEROUS: Record<string, string> = {
  CustomResourceDefinition: 'deleting a CRD deletes every object of that kind',
  PersistentVolumeClaim: 'deleting a claim may delete its volume and data',
  Namespace: 'deleting a namespace deletes everything in it',
  Secret: 'deleting a Secret breaks every workload that mounts it',
  ExternalSecret: 'removing a secret declaration deletes the Secret it owns',
  SealedSecret: 'removing a secret declaration deletes the Secret it owns',
};

/** Whether Argo CD leaves the object in the cluster when it is no longer in git (sync option Prune=false). */
function neverPruned(o: Obj): boolean {
  const options = String(o?.metadata?.annotations?.['argocd.argoproj.io/sync-options'] ?? '');
  return options.split(',').map((x) => x.trim()).includes('Prune=false');
}

/** `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects. */
export const objectKey = (o: { kind: string; namespace?: string; name: string }) =>
  o.namespace ? `${o.kind}/${o.namespace}/${o.name}` : `${o.kind}/${o.name}`;

/** Folders no Application syncs: applied by hand. */
const BY_HAND: Record<string, string> = { bootstrap: 'bootstrap (kubectl apply)' };
/** The owners parseTree gives objects of those folders. */
const BY_HAND_NAMES = new Set(Object.values(BY_HAND));

/**
 * The owner of an env-relative path: `root` for apps/, the by-hand name for bootstrap/, else the
 * Application whose folder source is that folder (`folders`: `<env>/<folder>` -> Application), or the
 * folder's name when no Application syncs it.
 */
function ownerOf(env: string, rel: string, folders: ReadonlyMap<string, string>): string {
  const folder = rel.split('/')[0];
  return folder === 'apps' ? 'root' : BY_HAND[folder] ?? folders.get(`${env}/${folder}`) ?? folder;
}

/** Parses a gitops tree given as env-relative path -> YAML text (`lab/apps/x.yaml`). */
export function parseTree(files: ReadonlyMap<string, string>): Map<string, PlannedObject> {
  const docs: { env: string; rel: string; file: string; doc: Obj }[] = [];
  for (const [file, text] of [...files].sort(([a], [b]) => compareText(a, b))) {
    if (!file.endsWith('.yaml')) continue;
    const [env, ...rest] = file.split('/');
    for (const doc of yaml.loadAll(text) as Obj[]) {
      if (doc && typeof doc === 'object' && doc.kind) docs.push({ env, rel: rest.join('/'), file, doc });
    }
  }
  // Which Application syncs which folder: the last two segments of its folder source's path.
  const folders = new Map<string, string>();
  for (const { rel, doc } of docs) {
    if (doc.kind !== 'Application' || rel.split('/')[0] !== 'apps') continue;
    const path = writtenSources(doc.spec).folder?.path;
    if (typeof path === 'string' && typeof doc.metadata?.name === 'string') folders.set(path.split('/').slice(-2).join('/'), doc.metadata.name);
  }
  const out = new Map<string, PlannedObject>();
  for (const { env, rel, file, doc } of docs) {
    const o: PlannedObject = {
      env, app: ownerOf(env, rel, folders), kind: doc.kind, namespace: doc.metadata?.namespace, name: doc.metadata?.name, file, object: doc,
    };
    out.set(`${env}|${objectKey(o)}`, o);
  }
  return out;
}

/**
 * Field-level differences, as dotted paths. A list whose items stay in place is compared item by item
 * (`hosts[0]: a -> b`); a list whose items moved (one inserted in a sorted list, say) is compared by value,
 * as items removed (`list[]: x -> (none)`) and added (`list[]: (none) -> y`).
 */
export function diffFields(a: unknown, b: unknown, at = ''): FieldChange[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null;
  if (Array.isArray(a) && Array.isArray(b)) {
    const aj = a.map((x) => JSON.stringify(x));
    const bj = b.map((x) => JSON.stringify(x));
    const removed = a.filter((_, i) => !bj.includes(aj[i]));
    const added = b.filter((_, i) => !aj.includes(bj[i]));
    const inPlace = a.length === b.length && aj.filter((x, i) => x !== bj[i]).length <= removed.length;
    if (!inPlace) {
      return [
        ...removed.map((x) => ({ path: `${at}[]`, before: x, after: undefined })),
        ...added.map((x) => ({ path: `${at}[]`, before: undefined, after: x })),
      ];
    }
    return a.flatMap((x, i) => diffFields(x, b[i], `${at}[${i}]`));
  }
  if (isObj(a) && isObj(b) && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => diffFields(a[k], b[k], at ? `${at}.${k}` : k));
  }
  return [{ path: at || '(whole object)', before: a, after: b }];
}

export function plan(before: Map<string, PlannedObject>, after: Map<string, PlannedObject>, allowed: ReadonlySet<string>): Plan & { blocked: Plan['dangerous'] } {
  const added = [...after].filter(([k]) => !before.has(k)).map(([, o]) => o);
  const removed = [...before].filter(([k]) => !after.has(k)).map(([, o]) => o);
  const kept = [...after]
    .filter(([k]) => before.has(k))
    .map(([k, o]) => ({ before: before.get(k)!, after: o, fields: diffFields(before.get(k)!.object, o.object) }));
  // Where a moved object comes from: an Application the change removes, one that stays, or bootstrap/.
  const applications = new Set([...after.values()].filter((o) => o.kind === 'Application' && o.app === 'root').map((o) => `${o.env}|${o.name}`));
  const origin = (o: PlannedObject): 'gone' | 'stays' | 'by hand' =>
    (BY_HAND_NAMES.has(o.app) ? 'by hand' : applications.has(`${o.env}|${o.app}`) ? 'stays' : 'gone');
  const moved = kept.filter((c) => c.before.app !== c.after.app).map((c) => ({ ...c, from: origin(c.before) }));
  const changed = kept.filter((c) => c.before.app === c.after.app && c.fields.length > 0);
  const dangerous: Plan['dangerous'] = [];
  for (const o of removed) {
    // An object Argo CD never prunes or deletes (our Namespaces) stays in the cluster: nothing is destroyed.
    if (DANGEROUS[o.kind] && !neverPruned(o.object)) dangerous.push({ object: o, why: DANGEROUS[o.kind], key: objectKey(o) });
  }
  // A move is safe when the old Application goes in the same change (README, "Moving objects between
  // Applications"). If it stays, with automated prune it deletes the object when it syncs before the new one.
  for (const m of moved) {
    if (m.from !== 'stays' || neverPruned(m.before.object)) continue;
    dangerous.push({
      object: m.after,
      key: `${objectKey(m.after)}/from/${m.before.app}`,
      why: `it moves from Application ${m.before.app}, which stays and prunes it if it syncs first; ` +
        `give the object argocd.argoproj.io/sync-options: Prune=false in ${m.before.app} for one release, then move it`,
    });
  }
  for (const c of changed) {
    if (c.after.kind !== 'StatefulSet') continue;
    const templates = (o: Obj) => new Map<string, string>((o.spec?.volumeClaimTemplates ?? []).map((t: Obj) => [t.metadata?.name, JSON.stringify(t)]));
    const before = templates(c.before.object);
    const after = templates(c.after.object);
    for (const [n, t] of before) {
      const key = `${objectKey(c.after)}/volumeClaimTemplates/${n}`;
      if (!after.has(n)) {
        dangerous.push({ object: c.after, why: `volume claim template ${n} is dropped; its claims and data are orphaned`, key });
      } else if (after.get(n) !== t) {
        dangerous.push({
          object: c.after,
          key,
          why: `volume claim template ${n} changes, which Kubernetes refuses for an existing StatefulSet (the sync fails); ` +
            'delete the StatefulSet with --cascade=orphan, resize its claims, then sync',
        });
      }
    }
  }
  const blocked = dangerous.filter((d) => !allowed.has(d.key) && !allowed.has(`${d.object.env}:${d.key}`));
  return { added, removed, changed, moved, dangerous, blocked };
}

/** gitops/ as committed at `ref` (env-relative paths), read with git without touching the work tree. */
export function treeAtRef(ref: string, gitopsDir: string, cwd = process.cwd()): Map<string, string> {
  const prefix = path.relative(execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd, encoding: 'utf8' }).trim(), path.resolve(cwd, gitopsDir));
  let listing: string;
  try {
    listing = execFileSync('git', ['ls-tree', '-r', '-z', '--name-only', ref, '--', prefix], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`cannot read ${gitopsDir}/ at git ref "${ref}": ${String((e as any).stderr ?? e).trim()}; pass an existing ref with --ref`);
  }
  const names = listing.split('\0').filter((n) => n.endsWith('.yaml'));
  const out = new Map<string, string>();
  if (names.length === 0) return out;
  // One git process for every blob: `cat-file --batch` answers "<sha> blob <size>\n<content>\n" per name.
  const raw = execFileSync('git', ['cat-file', '--batch'], { cwd, input: names.map((n) => `${ref}:${n}`).join('\n') + '\n', maxBuffer: 1 << 30 });
  let at = 0;
  for (const n of names) {
    const nl = raw.indexOf(10, at);
    const size = Number(raw.subarray(at, nl).toString().split(' ')[2]);
    out.set(path.relative(prefix, n), raw.subarray(nl + 1, nl + 1 + size).toString('utf8'));
    at = nl + 1 + size + 1;
  }
  return out;
}

/** gitops/ in the work tree (env-relative paths). */
export function treeOnDisk(gitopsDir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!fs.existsSync(gitopsDir)) return out;
  for (const rel of fs.readdirSync(gitopsDir, { recursive: true }) as string[]) {
    // Dot-folders are a write's staging or previous copies (lib/transaction.ts), never part of the tree.
    if (rel.split(path.sep).some((part) => part.startsWith('.'))) continue;
    if (rel.endsWith('.yaml')) out.set(rel.split(path.sep).join('/'), fs.readFileSync(path.join(gitopsDir, rel), 'utf8'));
  }
  return out;
}

/** A value as the plan prints it: short, and with every credential in it masked (CI logs keep the plan). */
const show = (v: unknown) => {
  if (v === undefined) return '(none)';
  const t = redactSecrets(JSON.stringify(masked(v)));
  return t.length > 80 ? `${t.slice(0, 77)}...` : t;
};

/** The value with what sits under a credential-looking key replaced, at any depth. */
function masked(v: unknown, key = ''): unknown {
  if (key && isSecretLiteral(key, v)) return REDACTED;
  if (Array.isArray(v)) return v.map((x) => masked(x, key));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, masked(x, k)]));
  return v;
}

/** How many lines of a multi-line string's diff are shown, besides the changed ones' context. */
const MAX_TEXT_DIFF_LINES = 40;

/** One changed field: `path: before -> after`, or, for two multi-line strings, their line diff. */
function showChange(f: FieldChange, indent: string): string {
  if (typeof f.before === 'string' && typeof f.after === 'string' && (f.before.includes('\n') || f.after.includes('\n'))) {
    const patch = structuredPatch('before', 'after', f.before, f.after, '', '', { context: 1 });
    const lines = redactSecrets(patch.hunks.flatMap((h) => [`@@ line ${h.newStart} @@`, ...h.lines]).join('\n')).split('\n');
    const shown = lines.slice(0, MAX_TEXT_DIFF_LINES).map((l) => `${indent}  ${l}`);
    if (lines.length > MAX_TEXT_DIFF_LINES) shown.push(`${indent}  ... ${lines.length - MAX_TEXT_DIFF_LINES} more diff lines`);
    return [`${indent}${f.path}: (text, by line)`, ...shown].join('\n');
  }
  const key = f.path.split(/[.[\]]/).filter(Boolean).pop() ?? '';
  if (isSecretLiteral(key, f.before) || isSecretLiteral(key, f.after)) return `${indent}${f.path}: changed (a credential; value not shown)`;
  return `${indent}${f.path}: ${show(f.before)} -> ${show(f.after)}`;
}

/** The plan as text; `color` adds ANSI colours. */
/** Up to this many unchanged objects moving out of a removed Application are listed one by one. */
const QUIET_MOVES_LISTED = 5;

export function formatPlan(p: ReturnType<typeof plan>, color: boolean): string {
  const c = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const green = (s: string) => c('32', s);
  const red = (s: string) => c('31', s);
  const yellow = (s: string) => c('33', s);
  const bold = (s: string) => c('1', s);
  const lines: string[] = [];
  const groups = new Map<string, string[]>();
  const add = (o: PlannedObject, line: string) => {
    const g = `${o.env} / ${o.app}`;
    groups.set(g, [...(groups.get(g) ?? []), line]);
  };
  const name = (o: PlannedObject) => `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
  for (const o of p.added) add(o, green(`  + ${name(o)}`));
  for (const ch of p.changed) {
    // A Secret's values never reach the plan (it is printed in CI logs): only which keys changed.
    const secret = ch.after.kind === 'Secret';
    const shown = ch.fields.slice(0, 12).map((f) => (secret && /^(data|stringData)\b/.test(f.path)
      ? `      ${f.path}: ${f.before === undefined ? 'added' : f.after === undefined ? 'removed' : 'changed'} (value not shown)`
      : showChange(f, '      ')));
    if (ch.fields.length > 12) shown.push(`      ... and ${ch.fields.length - 12} more fields`);
    add(ch.after, `${yellow(`  ~ ${name(ch.after)}`)}\n${shown.join('\n')}`);
  }
  for (const o of p.removed) add(o, red(`  - ${name(o)}`));
  // Many unchanged objects whose Application goes (a renamed Application, say) are one line per old Application.
  const quietKey = (m: Plan['moved'][number]) => (m.from === 'gone' && m.fields.length === 0 ? `${m.after.env}|${m.after.app}|${m.before.app}` : undefined);
  const quiet = new Map<string, Plan['moved']>();
  for (const m of p.moved) {
    const k = quietKey(m);
    if (k) quiet.set(k, [...(quiet.get(k) ?? []), m]);
  }
  const summarized = new Set([...quiet].filter(([, ms]) => ms.length > QUIET_MOVES_LISTED).map(([k]) => k));
  for (const k of summarized) {
    const ms = quiet.get(k)!;
    add(ms[0].after, yellow(`  > ${ms.length} unchanged objects (moved from Application ${ms[0].before.app}, which goes: adopted in place)`));
  }
  for (const m of p.moved) {
    if (summarized.has(quietKey(m) ?? '')) continue;
    const fields = m.fields.slice(0, 12).map((f) => showChange(f, '      '));
    const how = m.from === 'by hand' ? `moved from ${m.before.app}, applied by hand: adopted in place`
      : m.from === 'gone' ? `moved from Application ${m.before.app}, which goes: adopted in place`
        : neverPruned(m.before.object) ? `moved from Application ${m.before.app}, which stays and never prunes it: adopted in place`
          : `moved from Application ${m.before.app}, which stays: see below`;
    add(m.after, [yellow(`  > ${name(m.after)} (${how})`), ...fields].join('\n'));
  }
  for (const [g, ls] of [...groups].sort(([a], [b]) => compareText(a, b))) lines.push(bold(`Application ${g}`), ...ls.sort((a, b) => compareText(a.replace(/\x1b\[[0-9;]*m/g, '').slice(4), b.replace(/\x1b\[[0-9;]*m/g, '').slice(4))), '');
  lines.push(`${p.added.length} to add, ${p.changed.length} to change, ${p.removed.length} to remove` +
    `${p.moved.length > 0 ? `, ${p.moved.length} to move between Applications` : ''}.`);
  const touched = [...p.added, ...p.removed, ...p.changed.map((c) => c.after)];
  for (const env of [...new Set(touched.filter((o) => o.app.startsWith('bootstrap')).map((o) => o.env))].sort()) {
    // kubectl apply never deletes: what bootstrap/ no longer holds stays until deleted by hand, and a new
    // AppProject must exist before the root syncs Applications that name it.
    const gone = p.removed.filter((o) => o.env === env && o.app.startsWith('bootstrap') && !o.file.includes('/bootstrap/argo-cd/'));
    const newProject = p.added.some((o) => o.env === env && o.app.startsWith('bootstrap') && o.kind === 'AppProject');
    lines.push(newProject
      ? `Note: no Application syncs bootstrap/, and it adds an AppProject the new Applications name: run \`kubectl apply -f <gitops>/${env}/bootstrap/\` as the change merges, before the root Application syncs it.`
      : `Note: no Application syncs bootstrap/; after merging, run \`kubectl apply -f <gitops>/${env}/bootstrap/\`.`);
    for (const o of gone) lines.push(`  then delete what it no longer holds: \`kubectl${o.namespace ? ` -n ${o.namespace}` : ''} delete ${o.kind.toLowerCase()} ${o.name}\``);
  }
  if (p.dangerous.length > 0) {
    lines.push('', bold('Changes that can destroy data:'));
    for (const d of p.dangerous) {
      const ok = !p.blocked.includes(d);
      lines.push(`  ${ok ? yellow('acknowledged') : red('BLOCKED')} ${d.key} (${d.object.env}): ${d.why}`);
    }
    if (p.blocked.length > 0) {
      lines.push('', `To go ahead, add each blocked key to allowRemovals in config/<environment>.yaml, or pass --allow <key>.`);
    }
  }
  return lines.join('\n');
}

// ---- what the chart Applications render, on both sides of the plan ----

/** The chart Applications of a parsed tree, as render inputs, per environment. */
export function chartApplications(tree: ReadonlyMap<string, PlannedObject>): Map<string, ChartInput[]> {
  const out = new Map<string, ChartInput[]>();
  for (const o of tree.values()) {
    const spec = o.object.spec;
    const chart = o.kind === 'Application' && o.app === 'root' ? writtenSources(spec).chart : undefined;
    if (!chart) continue;
    const input: ChartInput = {
      application: o.name,
      source: { repoURL: String(chart.repoURL), chart: chart.chart!, version: String(chart.targetRevision) },
      releaseName: chart.helm?.releaseName ?? o.name,
      namespace: spec.destination?.namespace ?? 'default',
      values: chart.helm?.valuesObject ?? {},
    };
    out.set(o.env, [...(out.get(o.env) ?? []), input]);
  }
  return out;
}

/**
 * Adds what each chart Application renders to the tree, as objects of that Application (`file` names the
 * chart). Keys mark them as rendered, so an object both bootstrap/ and the argo-cd chart apply is two
 * entries; they do not carry the Application, so a chart whose Application is renamed shows as moved.
 */
export function addRendered(tree: Map<string, PlannedObject>, env: string, renders: ReadonlyMap<string, ChartRender>, inputs: readonly ChartInput[]): void {
  for (const input of inputs) {
    for (const { manifest, source } of renders.get(input.application)?.objects ?? []) {
      const m = manifest as Obj;
      const o: PlannedObject = {
        env, app: input.application, kind: m.kind, namespace: m.metadata?.namespace, name: m.metadata?.name,
        file: `chart ${input.source.chart} ${input.source.version}: ${source}`, object: m,
      };
      tree.set(`${env}|chart|${objectKey(o)}`, o);
    }
  }
}

/**
 * The vendored charts as committed at `ref`, copied into a temporary folder (vendor/charts.lock.yaml and
 * the archives it names), so that the charts of an older commit render offline. Undefined when `ref` has
 * no lock file. The caller removes the folder.
 */
export function vendorAtRef(ref: string, cwd = process.cwd()): string | undefined {
  const top = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd, encoding: 'utf8' }).trim();
  const show = (p: string): Buffer | undefined => {
    try {
      return execFileSync('git', ['show', `${ref}:${p}`], { cwd: top, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 30 });
    } catch {
      return undefined;
    }
  };
  const lock = show(LOCK_FILE);
  if (!lock) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'platform-plan-'));
  fs.mkdirSync(path.join(dir, CHARTS_DIR), { recursive: true });
  fs.writeFileSync(path.join(dir, LOCK_FILE), lock);
  for (const entry of (yaml.load(lock.toString('utf8')) as { charts?: { file?: string }[] })?.charts ?? []) {
    const archive = entry.file ? show(entry.file) : undefined;
    if (archive) fs.writeFileSync(path.join(dir, entry.file!), archive);
  }
  return dir;
}
