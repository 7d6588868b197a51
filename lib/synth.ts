// The synth and validation commands' work: config files -> rendered, checked environments -> gitops/,
// written atomically. main.ts parses the command lines; this file does what they ask.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ConfigError, configFiles, loadConfig, PlatformConfig } from './config';
import { inventory } from './inventory';
import { assertNoLeaks, leakViolations } from './leaks';
import { replaceFolder } from './output';
import { treeOnDisk } from './plan';
import { buildPlatform, buildPlatformAsync, Manifest, Platform, renderFiles, toYaml } from './platform';
import { RenderOptions } from './render';
import { projectRoot, writeFileAtomic } from './helm';
import { jsonOf } from './validation/context';
import { FileSchemaCache, validatePlatform, ValidationError } from './validate-platform';
import { ManifestFile, SchemaCache, Violation } from './validation';

const FILE_MARK = '# gitops file: ';
/** Next to the bundle (dist/), which is build output: deleting it only costs one slower synth. */
export const SCHEMA_CACHE = path.basename(__dirname) === 'dist' ? path.join(__dirname, 'schema-cache.json') : undefined;
const VALIDATED_STAMP = 'validated.json';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Files of one environment as written to gitops/<environment>/ (or to a cdk8s manifest), parsed. */
function parseEnvironmentText(files: ReadonlyMap<string, string>): ManifestFile[] {
  const out: ManifestFile[] = [];
  for (const [rel, text] of files) {
    if (!rel.endsWith('.yaml')) continue;
    for (const doc of yaml.loadAll(text)) if (doc) out.push({ path: rel, manifest: doc });
  }
  return out;
}

/** Validates gitops/<environment>/ as it is on disk, for every config (or the given ones). */
export function validateTree(configs: readonly string[], outdir: string): { environment: string; objects: number; violations: Violation[] }[] {
  const files = configs.length === 0 ? configFiles('config') : [...configs];
  return files.map((file) => {
    const config = loadConfig(file);
    const dir = path.join(outdir, config.environment);
    if (!fs.existsSync(dir)) throw new Error(`${dir}/ does not exist; run \`npm run synth\` first`);
    const manifests = parseEnvironmentText(treeOnDisk(dir));
    const platform = buildPlatform(config);
    const violations = [...validatePlatform(platform, manifests), ...leakViolations(manifests as { path: string; manifest: Manifest }[])];
    return { environment: config.environment, objects: manifests.length, violations };
  });
}

/**
 * For the cdk8s validation plugin: validates the manifest files `cdk8s synth` collected. A file whose
 * sha256 matches the stamp written by the synth that produced it was validated in that process, before
 * anything was written; any other file is parsed and validated in full.
 */
export function validateCdk8sManifests(manifestPaths: readonly string[]): { objects: number; revalidated: number; violations: Violation[] } {
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
    const platform = buildPlatform(config);
    const found = [...validatePlatform(platform, manifests), ...leakViolations(manifests as { path: string; manifest: Manifest }[])];
    violations.push(...found.map((v) => ({ ...v, file: `${env}/${v.file}` })));
  }
  return { objects, revalidated, violations };
}

export interface SynthOptions {
  /** Config files to render; all of config/*.yaml when empty. */
  readonly configs: readonly string[];
  readonly outdir: string;
  readonly log: (line: string) => void;
  /**
   * Where to keep digests of objects that passed the schema check, so the next synth skips them.
   * @default - no cache: every object is checked
   */
  readonly schemaCacheFile?: string;
}

/** Renders one environment into its files (path relative to gitops/<environment>/ -> YAML text). */
export async function renderEnvironment(config: PlatformConfig, schemaCache?: SchemaCache, options: RenderOptions = {}): Promise<Map<string, string>> {
  return renderPlatformFiles(await buildPlatformAsync(config, options), schemaCache);
}

/**
 * Renders a built platform, refusing leaks in what is written and anything the validation finds in the
 * whole cluster state (our files and what the charts render). Nothing is written.
 */
export function renderPlatformFiles(platform: Platform, schemaCache?: SchemaCache): Map<string, string> {
  const env = platform.config.environment;
  const rendered = renderFiles(platform);
  assertNoLeaks(rendered.map((f) => ({ ...f, path: `${env}/${f.path}` })));
  const violations = validatePlatform(platform, rendered, schemaCache);
  if (violations.length > 0) throw new ValidationError(env, violations);
  const byPath = new Map<string, Manifest[]>();
  for (const f of rendered) byPath.set(f.path, [...(byPath.get(f.path) ?? []), f.manifest]);
  const files = new Map<string, string>();
  for (const [rel, manifests] of byPath) files.set(rel, manifests.length === 1 ? toYaml(manifests[0]) : multiDocumentYaml(manifests));
  files.set('README.md', inventory(platform, rendered));
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
  writeFileAtomic(file, text);
  return text;
}

/** Folders under `outdir` that synth wrote (bootstrap/ and its inventory) for an environment not in `current`. */
function staleEnvironments(outdir: string, current: ReadonlySet<string>): string[] {
  if (!fs.existsSync(outdir)) return [];
  return fs.readdirSync(outdir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !current.has(e.name))
    .map((e) => e.name)
    .filter((name) => {
      const readme = path.join(outdir, name, 'README.md');
      return fs.existsSync(path.join(outdir, name, 'bootstrap')) && fs.existsSync(readme) &&
        fs.readFileSync(readme, 'utf8').startsWith(`# Environment \`${name}\``);
    })
    .sort();
}

export async function synth(options: SynthOptions): Promise<void> {
  const started = Date.now();
  const all = options.configs.length === 0;
  const files = all ? configFiles('config') : [...options.configs];
  if (files.length === 0) throw new ConfigError('config/', ['no config files found; add config/<environment>.yaml (see README.md)']);

  // Load and render everything before writing anything.
  const rendered = new Map<string, Map<string, string>>();
  const cache = options.schemaCacheFile ? new FileSchemaCache(options.schemaCacheFile) : undefined;
  for (const file of files) {
    const config = loadConfig(file);
    if (rendered.has(config.environment)) throw new ConfigError(file, [`environment "${config.environment}" is given twice`]);
    rendered.set(config.environment, await renderEnvironment(config, cache, { log: options.log }));
    options.log(`rendered ${config.environment} from ${file}: ${rendered.get(config.environment)!.size} files`);
  }

  // Only environment folders are replaced: --outdir may hold other things, which stay.
  for (const [env, envFiles] of rendered) replaceFolder(path.join(options.outdir, env), envFiles);
  if (all) {
    // An environment whose config file is gone: its folder goes too, but only a folder synth wrote.
    for (const stale of staleEnvironments(options.outdir, new Set(rendered.keys()))) {
      fs.rmSync(path.join(options.outdir, stale), { recursive: true, force: true });
      options.log(`removed ${path.join(options.outdir, stale)}: no config/${stale}.yaml any more`);
    }
  }

  // Under `cdk8s synth`, also hand the CLI one manifest file per environment for its validation plugin,
  // with a stamp of what this process has already validated.
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
  cache?.save();
  options.log(`wrote ${[...rendered.keys()].map((e) => path.join(options.outdir, e)).join(', ')} in ${Date.now() - started} ms`);
}

