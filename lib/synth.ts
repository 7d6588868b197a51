// The synth and validation commands' work: config files -> rendered, checked environments -> gitops/,
// written atomically. main.ts parses the command lines; this file does what they ask.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { LRUCache } from 'lru-cache';
import { deepFreeze } from './freeze';
import { ConfigError, configFiles, loadConfig, parseConfig, PlatformConfig } from './config';
import { ENVIRONMENTS_FILE, environmentsOverview, inventory } from './inventory';
import { assertNoLeaks, LeakInput, leakViolations, withoutSecrets } from './leaks';
import { recover, Transaction, WriteError } from './transaction';
import { treeOnDisk } from './plan';
import { buildPlatform, buildPlatformAsync, Compose, Manifest, Platform, renderFiles, toYaml } from './platform';
import { renderClusterSync, RenderOptions } from './render';
import { writeFileAtomic } from './atomic-write';
import { projectRoot } from './helm';
import { jsonOf } from './validation/context';
import { chartInputsOf, FileSchemaCache, validatePlatformReport, ValidationError } from './validate-platform';
import { CelCounts, formatCelCounts, formatWarnings, ManifestFile, SchemaCache, ValidationReport, Violation, Warning } from './validation';

const FILE_MARK = '# gitops file: ';
/**
 * In dist/, which is build output: deleting it only costs one slower synth. It holds digests of objects
 * that passed their schema, so it is right for any caller (the bundle, the tests' in-process commands).
 */
export const SCHEMA_CACHE = path.join(projectRoot(), 'dist', 'schema-cache.json');
const VALIDATED_STAMP = 'validated.json';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Documents parsed in this process, by the file's text (the 4,096 most recently used): a process that validates
 * the same files again (the tests, `cdk8s synth`'s plugin after the synth) parses each once. Frozen, so that
 * they can be shared, and the validation's digest of each is computed once too.
 */
const parsedFiles = new LRUCache<string, readonly unknown[]>({ max: 4096 });

/** Files of one environment as written to gitops/<environment>/ (or to a cdk8s manifest), parsed. */
function parseEnvironmentText(files: ReadonlyMap<string, string>, folder = ''): ManifestFile[] {
  const out: ManifestFile[] = [];
  for (const [rel, text] of files) {
    if (!rel.endsWith('.yaml')) continue;
    let docs = parsedFiles.get(text);
    if (!docs) {
      try {
        docs = deepFreeze(yaml.loadAll(text));
      } catch (e) {
        const err = e as { reason?: string; mark?: { line: number; column: number }; message: string };
        const where = err.mark ? ` at line ${err.mark.line + 1}, column ${err.mark.column + 1}` : '';
        throw new Error(`${folder}${rel}: not valid YAML${where}: ${err.reason ?? err.message.split('\n')[0]}; fix the file, or run \`npm run synth\` to write it anew`);
      }
      parsedFiles.set(text, docs);
    }
    for (const doc of docs) if (doc) out.push({ path: rel, manifest: doc as ManifestFile['manifest'] });
  }
  return out;
}

/**
 * The violations of an environment's files as they are (on disk, or as `cdk8s synth` collected them), with
 * its charts rendered from the Applications in those files, as Argo CD would: a hand edit of a
 * valuesObject is checked for what it renders. The platform built from config supplies only what no file
 * states (the components' namespaces, the objects controllers create, the provider).
 */
function validateAsApplied(compose: Compose, config: PlatformConfig, manifests: readonly ManifestFile[]): ValidationReport {
  const platform = buildPlatform(compose(config));
  const renders = renderClusterSync(chartInputsOf(manifests), config.cluster.kubernetesVersion);
  return validatePlatformReport(platform, manifests, undefined, renders);
}

/** The files of an environment folder that are not manifests (its README), relative path -> text. */
function textFilesOnDisk(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const rel of fs.readdirSync(dir, { recursive: true }) as string[]) {
    if (rel.split(path.sep).some((p) => p.startsWith('.')) || rel.endsWith('.yaml')) continue;
    const file = path.join(dir, rel);
    if (fs.statSync(file).isFile()) out.set(rel.split(path.sep).join('/'), fs.readFileSync(file, 'utf8'));
  }
  return out;
}

/** Validates gitops/<environment>/ as it is on disk, for every config (or the given ones). */
export function validateTree(compose: Compose, configs: readonly string[], outdir: string):
  { environment: string; objects: number; violations: Violation[]; warnings: Warning[]; cel: CelCounts }[] {
  const files = configs.length === 0 ? configFiles('config') : [...configs];
  if (files.length === 0) throw new ConfigError('config/', ['no config files found, so there is nothing to validate; run it in the project (config/<environment>.yaml) or pass --config']);
  return files.map((file) => {
    const config = loadConfig(file);
    const dir = path.join(outdir, config.environment);
    if (!fs.existsSync(dir)) throw new Error(`${dir}/ does not exist; run \`npm run synth\` first`);
    const tree = treeOnDisk(dir);
    const manifests = parseEnvironmentText(tree, `${dir}/`);
    // Every file written, text included (the inventory README): one leak scan over all of it.
    const inputs: LeakInput[] = [...manifests, ...[...textFilesOnDisk(dir)].map(([p, text]) => ({ path: p, text }))];
    const report = validateAsApplied(compose, config, manifests);
    const violations = withoutSecrets([...report.violations, ...leakViolations(inputs)], inputs);
    return { environment: config.environment, objects: manifests.length, violations, warnings: withoutSecrets(report.warnings, inputs), cel: report.cel };
  });
}

/**
 * For the cdk8s validation plugin: validates the manifest files `cdk8s synth` collected. A file whose
 * sha256 matches the stamp written by the synth that produced it was validated in that process, before
 * anything was written; any other file is parsed and validated in full.
 */
export function validateCdk8sManifests(compose: Compose, manifestPaths: readonly string[]): { objects: number; revalidated: number; violations: Violation[] } {
  let objects = 0;
  let revalidated = 0;
  const violations: Violation[] = [];
  for (const p of manifestPaths) {
    const text = fs.readFileSync(p, 'utf8');
    const stampFile = path.join(path.dirname(p), VALIDATED_STAMP);
    const stamp = fs.existsSync(stampFile) ? JSON.parse(fs.readFileSync(stampFile, 'utf8')) : {};
    const env = path.basename(p).replace(/\.k8s\.yaml$/, '');
    const docs = new Map<string, string>();
    // Only where a file mark follows: a file may hold several documents itself (bootstrap/argo-cd/install.yaml).
    for (const part of text.split(/^---\n(?=# gitops file: )/m)) {
      const rel = part.startsWith(FILE_MARK) ? part.slice(FILE_MARK.length, part.indexOf('\n')) : `${path.basename(p)}#${docs.size}`;
      docs.set(rel, part);
    }
    const manifests = parseEnvironmentText(docs);
    objects += manifests.length;
    if (stamp[path.basename(p)] === sha256(text)) continue;
    revalidated += manifests.length;
    const config = loadConfig(path.join('config', `${env}.yaml`));
    // The plugin reports violations only: warnings are printed by synth and `npm run validate`.
    const found = withoutSecrets([...validateAsApplied(compose, config, manifests).violations, ...leakViolations(manifests)], manifests);
    violations.push(...found.map((v) => ({ ...v, file: `${env}/${v.file}` })));
  }
  return { objects, revalidated, violations };
}

export interface SynthOptions {
  /** Builds an environment's components from its config (charts/platform.ts). */
  readonly compose: Compose;
  /** Config files to render; all of config/*.yaml when empty. */
  readonly configs: readonly string[];
  readonly outdir: string;
  readonly log: (line: string) => void;
  /**
   * Where to keep digests of objects that passed the schema check, so the next synth skips them.
   * @default - no cache: every object is checked
   */
  readonly schemaCacheFile?: string;
  /**
   * Config files to render from these bytes instead of their content on disk, and to write with the
   * environment folders in the same transaction (set-image's bump).
   * @default - none
   */
  readonly configTexts?: ReadonlyMap<string, Buffer>;
  /**
   * Where the validation's notes go: `counts`, one line per environment on the CEL rules met; `warnings`,
   * what it could not check (e.g. a CEL rule it cannot evaluate), which fails nothing.
   * @default log, for both
   */
  readonly notes?: ValidationNotes;
}

/** Receives the validation's notes (see SynthOptions.notes). */
export type ValidationNotes = (text: string, kind: 'counts' | 'warnings') => void;

/** Renders one environment into its files (path relative to gitops/<environment>/ -> YAML text). */
export async function renderEnvironment(compose: Compose, config: PlatformConfig, schemaCache?: SchemaCache, options: RenderOptions = {},
  notes?: ValidationNotes): Promise<Map<string, string>> {
  return renderPlatformFiles(await buildPlatformAsync(compose(config), options), schemaCache, notes);
}

/**
 * How synth() renders each environment: renderEnvironment, called through this object so that a test that
 * runs synth over the same configs many times (test/cli/faults.spec.ts, which injects faults into the writes)
 * can reuse the files it rendered for a config. Nothing else replaces it.
 */
export const environmentRenderer = { render: renderEnvironment };

/**
 * Renders a built platform, refusing leaks in what is written and anything the validation finds in the
 * whole cluster state (our files and what the charts render). Nothing is written.
 */
export function renderPlatformFiles(platform: Platform, schemaCache?: SchemaCache, notes?: ValidationNotes): Map<string, string> {
  const env = platform.config.environment;
  const rendered = renderFiles(platform);
  const readme = inventory(platform, rendered);
  assertNoLeaks([...rendered.map((f) => ({ ...f, path: `${env}/${f.path}` })), { path: `${env}/README.md`, text: readme }]);
  const { violations, warnings, cel } = validatePlatformReport(platform, rendered, schemaCache);
  if (notes) {
    notes(`${env}: ${formatCelCounts(cel)}`, 'counts');
    if (warnings.length > 0) notes(`${env}: ${formatWarnings(withoutSecrets(warnings, rendered))}`, 'warnings');
  }
  // A violation may quote a value; none that the leak scan would call a secret reaches the message.
  if (violations.length > 0) throw new ValidationError(env, withoutSecrets(violations, rendered));
  const byPath = new Map<string, Manifest[]>();
  for (const f of rendered) byPath.set(f.path, [...(byPath.get(f.path) ?? []), f.manifest]);
  const files = new Map<string, string>();
  for (const [rel, manifests] of byPath) files.set(rel, manifests.length === 1 ? toYaml(manifests[0]) : multiDocumentYaml(manifests));
  files.set('README.md', readme);
  return files;
}

/** Where the YAML of large multi-object files is kept between synths, by the digest of the objects. */
const YAML_CACHE = path.join(projectRoot(), 'dist', 'yaml-cache');
/** Bump when toYaml's output changes (header, dump options); a js-yaml upgrade changes it by itself. */
const YAML_FORMAT = `toYaml/1 js-yaml ${(require('js-yaml/package.json') as { version: string }).version}`;

/**
 * A file of several objects (bootstrap/argo-cd/install.yaml: Argo CD's own installation), documents in the
 * order given. Dumping its ~2 MB takes longer than the rest of a synth, so the text is kept in dist/ by the
 * digest of the objects: an unchanged Argo CD is not dumped again.
 */
function multiDocumentYaml(manifests: readonly Manifest[]): string {
  const digest = createHash('sha256').update(YAML_FORMAT);
  for (const m of manifests) digest.update(jsonOf(m)).update('\0');
  const file = path.join(YAML_CACHE, `${digest.digest('hex')}.yaml`);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    // Not dumped yet.
  }
  const text = manifests.map((m, i) => (i === 0 ? toYaml(m) : toYaml(m).replace(/^#[^\n]*\n/, ''))).join('---\n');
  try {
    writeFileAtomic(file, text);
  } catch {
    // Only a cache: the next synth dumps it again.
  }
  return text;
}

function isLink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The folders a config file's writes go through: its own, and its link target's (set-image writes there). */
export function configFolders(file: string): string[] {
  const dirs = [path.dirname(path.resolve(file))];
  try {
    dirs.push(path.dirname(fs.realpathSync(file)));
  } catch {
    // A file that does not resolve (yet): its own folder is enough.
  }
  return dirs;
}

/** Folders under `outdir` that synth wrote (bootstrap/ and its inventory): environments. */
function environmentFolders(outdir: string): string[] {
  if (!fs.existsSync(outdir)) return [];
  return fs.readdirSync(outdir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .filter((name) => {
      const readme = path.join(outdir, name, 'README.md');
      return fs.existsSync(path.join(outdir, name, 'bootstrap')) && fs.existsSync(readme) &&
        fs.readFileSync(readme, 'utf8').startsWith(`# Environment \`${name}\``);
    })
    .sort();
}

/** Environment folders under `outdir` for an environment not in `current`. */
function staleEnvironments(outdir: string, current: ReadonlySet<string>): string[] {
  return environmentFolders(outdir).filter((name) => !current.has(name));
}

/** The Application files (apps/*.yaml) of an environment folder on disk, by relative path. */
function appFilesOnDisk(dir: string): Map<string, string> {
  const apps = path.join(dir, 'apps');
  if (!fs.existsSync(apps)) return new Map();
  return new Map(fs.readdirSync(apps).filter((f) => f.endsWith('.yaml')).sort().map((f) => [`apps/${f}`, fs.readFileSync(path.join(apps, f), 'utf8')]));
}

/** What a synth did: the targets it replaced (folders and files), in the order it replaced them. */
export interface SynthResult {
  readonly changed: readonly string[];
}

/**
 * Renders every environment (or the given ones) and writes their folders, and the config files that
 * `configTexts` replaces, in one transaction (lib/transaction.ts): either all of it lands or none does, and
 * a crash is finished by the next command. Throws a WriteError that says what changed when the write fails.
 */
export async function synth(options: SynthOptions): Promise<SynthResult> {
  const started = Date.now();
  // The work folder's config/, where the default gitops/ is too (the project root when run in the project).
  const configDir = 'config';
  const all = options.configs.length === 0;
  // Finish what a crashed command left before reading anything: a config file may be mid-swap.
  for (const line of recover([options.outdir, configDir, ...options.configs.flatMap(configFolders)])) options.log(line);
  const files = all ? configFiles(configDir) : [...options.configs];
  if (fs.existsSync(options.outdir) && !fs.statSync(options.outdir).isDirectory()) {
    throw new WriteError(`${options.outdir} is not a folder; pass --outdir a folder (gitops by default); nothing was changed`, []);
  }
  if (files.length === 0) throw new ConfigError(`${configDir}/`, ['no config files found; add config/<environment>.yaml (see README.md)']);

  // Load and render everything before writing anything.
  const rendered = new Map<string, Map<string, string>>();
  const cache = options.schemaCacheFile ? new FileSchemaCache(options.schemaCacheFile) : undefined;
  for (const file of files) {
    const text = options.configTexts?.get(file);
    const config = text === undefined ? loadConfig(file) : parseConfig(text.toString('utf8'), file);
    if (rendered.has(config.environment)) throw new ConfigError(file, [`environment "${config.environment}" is given twice`]);
    rendered.set(config.environment, await environmentRenderer.render(options.compose, config, cache, { log: options.log }, options.notes ?? options.log));
    options.log(`rendered ${config.environment} from ${file}: ${rendered.get(config.environment)!.size} files`);
  }

  // Under `cdk8s synth`, also hand the CLI one manifest file per environment for its validation plugin,
  // with a stamp of what this process has already validated (build output, written before gitops/).
  const cdk8sOut = process.env.CDK8S_OUTDIR;
  if (cdk8sOut) {
    fs.mkdirSync(cdk8sOut, { recursive: true });
    const stamp: Record<string, string> = {};
    for (const [env, envFiles] of rendered) {
      const text = [...envFiles].filter(([rel]) => rel.endsWith('.yaml')).map(([rel, t]) => `${FILE_MARK}${rel}\n${t}`).join('---\n');
      fs.writeFileSync(path.join(cdk8sOut, `${env}.k8s.yaml`), text);
      stamp[`${env}.k8s.yaml`] = sha256(text);
    }
    fs.writeFileSync(path.join(cdk8sOut, VALIDATED_STAMP), JSON.stringify(stamp, null, 2));
  }

  // Stage every folder and file, then swap them in together. Only environment folders are replaced:
  // --outdir may hold other things, which stay.
  const tx = new Transaction(options.outdir);
  const stale = all ? staleEnvironments(options.outdir, new Set(rendered.keys()))
    .filter((env) => !['yaml', 'yml'].some((ext) => fs.existsSync(path.join(configDir, `${env}.${ext}`)) || isLink(path.join(configDir, `${env}.${ext}`)))) : [];
  try {
    for (const [env, envFiles] of rendered) tx.stageFolder(path.join(options.outdir, env), envFiles);
    // An environment whose config file is gone: its folder goes too, but only a folder synth wrote.
    for (const env of stale) tx.remove(path.join(options.outdir, env));
    for (const [file, text] of options.configTexts ?? []) tx.stageFile(file, text);
    // The environments side by side: those written now, and those already in the folder that stay.
    const overview = environmentsOverview(new Map([
      ...environmentFolders(options.outdir).filter((env) => !rendered.has(env) && !stale.includes(env))
        .map((env) => [env, appFilesOnDisk(path.join(options.outdir, env))] as const),
      ...rendered,
    ]));
    const overviewFile = path.join(options.outdir, ENVIRONMENTS_FILE);
    if (!fs.existsSync(overviewFile) || fs.readFileSync(overviewFile, 'utf8') !== overview) tx.stageFile(overviewFile, overview);
  } catch (e) {
    tx.abort();
    const err = e as NodeJS.ErrnoException;
    throw new WriteError(`cannot write ${err.path ?? options.outdir} (${err.code ?? err.message}); nothing was changed`, []);
  }
  const changed = tx.commit();
  for (const env of stale) options.log(`removed ${path.join(options.outdir, env)}: no config/${env}.yaml any more`);

  // Caches only speed up the next run: failing to keep them changes nothing that was written.
  try {
    cache?.save();
  } catch (e) {
    options.log(`note: could not keep the schema cache (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); the next synth checks every object again`);
  }
  options.log(changed.length === 0
    ? `${[...rendered.keys()].map((e) => path.join(options.outdir, e)).join(', ')} already up to date (${Date.now() - started} ms)`
    : `wrote ${changed.map((t) => path.relative(process.cwd(), t) || t).join(', ')} in ${Date.now() - started} ms`);
  return { changed };
}
