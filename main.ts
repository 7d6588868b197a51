// Entry point: config/*.yaml -> gitops/<environment>/. Run through `npm run synth` or `npx cdk8s synth`.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import * as yaml from 'js-yaml';
import { ConfigError, configFiles, loadConfig, PlatformConfig } from './lib/config';
import { inventory } from './lib/inventory';
import { assertNoLeaks } from './lib/leaks';
import { replaceFolder } from './lib/output';
import { validatePlatform, ValidationError } from './lib/validate-platform';
import { ManifestFile, Violation } from './lib/validation';
import { formatPlan, parseTree, plan, treeAtRef, treeOnDisk } from './lib/plan';
import { buildPlatform, Platform, renderFiles, toYaml } from './lib/platform';

const HELP = `Usage: npm run synth -- [options]      (or: npx cdk8s synth)

Synthesizes the platform of every environment in config/ into gitops/<environment>/.
Nothing is written unless every environment renders: a failed synth leaves gitops/ as it was.

Options:
  -c, --config <file>   synthesize only this environment's config file (repeatable);
                        its gitops/<environment>/ folder is replaced, the others are kept
  -o, --outdir <dir>    where the environment folders go (default: gitops)
  -q, --quiet           print nothing but errors
  -h, --help            show this help
`;

export interface SynthOptions {
  /** Config files to render; all of config/*.yaml when empty. */
  readonly configs: readonly string[];
  readonly outdir: string;
  readonly log: (line: string) => void;
}

/** Renders one environment into its files (path relative to gitops/<environment>/ -> YAML text). */
export function renderEnvironment(config: PlatformConfig): Map<string, string> {
  return renderPlatformFiles(buildPlatform(config));
}

/** Renders a built platform, refusing leaks and anything the validation finds. Nothing is written. */
export function renderPlatformFiles(platform: Platform): Map<string, string> {
  const env = platform.config.environment;
  const rendered = renderFiles(platform);
  assertNoLeaks(rendered.map((f) => ({ ...f, path: `${env}/${f.path}` })));
  const violations = validatePlatform(platform, rendered);
  if (violations.length > 0) throw new ValidationError(env, violations);
  const files = new Map<string, string>();
  for (const f of rendered) files.set(f.path, toYaml(f.manifest));
  files.set('README.md', inventory(platform, rendered));
  return files;
}

export function synth(options: SynthOptions): void {
  const started = Date.now();
  const all = options.configs.length === 0;
  const files = all ? configFiles('config') : [...options.configs];
  if (files.length === 0) throw new ConfigError('config/', ['no config files found; add config/<environment>.yaml (see README.md)']);

  // Load and render everything before writing anything.
  const rendered = new Map<string, Map<string, string>>();
  for (const file of files) {
    const config = loadConfig(file);
    if (rendered.has(config.environment)) throw new ConfigError(file, [`environment "${config.environment}" is given twice`]);
    rendered.set(config.environment, renderEnvironment(config));
    options.log(`rendered ${config.environment} from ${file}: ${rendered.get(config.environment)!.size} files`);
  }

  if (all) {
    const tree = new Map<string, string>();
    for (const [env, envFiles] of rendered) for (const [rel, text] of envFiles) tree.set(`${env}/${rel}`, text);
    replaceFolder(options.outdir, tree);
  } else {
    for (const [env, envFiles] of rendered) replaceFolder(path.join(options.outdir, env), envFiles);
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
  options.log(`wrote ${[...rendered.keys()].map((e) => path.join(options.outdir, e)).join(', ')} in ${Date.now() - started} ms`);
}

const FILE_MARK = '# gitops file: ';
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
    return { environment: config.environment, objects: manifests.length, violations: validatePlatform(buildPlatform(config), manifests) };
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
    for (const part of text.split(/^---\n/m)) {
      const rel = part.startsWith(FILE_MARK) ? part.slice(FILE_MARK.length, part.indexOf('\n')) : `${path.basename(p)}#${docs.size}`;
      docs.set(rel, part);
    }
    const manifests = parseEnvironmentText(docs);
    objects += manifests.length;
    if (stamp[path.basename(p)] === sha256(text)) continue;
    revalidated += manifests.length;
    const config = loadConfig(path.join('config', `${env}.yaml`));
    violations.push(...validatePlatform(buildPlatform(config), manifests).map((v) => ({ ...v, file: `${env}/${v.file}` })));
  }
  return { objects, revalidated, violations };
}

const VALIDATE_HELP = `Usage: npm run validate -- [options]

Validates gitops/<environment>/ as it is on disk (no synth): every object against the Kubernetes 1.28
schema or its CRD's schema, strictly, and every reference between objects (TLS secrets, issuers,
Services and ports, secrets, datasource uids, monitor labels, Application paths, pinned images).

Options:
  -c, --config <file>   validate only this environment (repeatable; default: every config/*.yaml)
  -o, --outdir <dir>    the gitops folder (default: gitops)
  -h, --help            show this help
`;

export function validateMain(argv: string[]): number {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c', multiple: true },
        outdir: { type: 'string', short: 'o', default: 'gitops' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n\n${VALIDATE_HELP}`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(VALIDATE_HELP);
    return 0;
  }
  try {
    let failed = false;
    for (const r of validateTree(args.values.config ?? [], args.values.outdir)) {
      if (r.violations.length === 0) {
        process.stdout.write(`${args.values.outdir}/${r.environment}: ${r.objects} objects valid\n`);
      } else {
        failed = true;
        process.stdout.write(`${new ValidationError(r.environment, r.violations).message}\n`);
      }
    }
    return failed ? 1 : 0;
  } catch (e) {
    const err = e as Error;
    process.stderr.write(`validate failed: ${process.env.PLATFORM_DEBUG ? err.stack : err.message}\n`);
    return 1;
  }
}

export function main(argv: string[]): number {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c', multiple: true },
        outdir: { type: 'string', short: 'o', default: 'gitops' },
        quiet: { type: 'boolean', short: 'q', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const quiet = args.values.quiet;
  try {
    synth({
      configs: args.values.config ?? [],
      outdir: args.values.outdir,
      log: (line) => { if (!quiet) process.stdout.write(`${line}\n`); },
    });
    return 0;
  } catch (e) {
    const err = e as Error;
    // Every error here is about the input (config, code, a check); the stack helps only when debugging.
    const detail = process.env.PLATFORM_DEBUG ? err.stack ?? err.message : err.message;
    process.stderr.write(`synth failed; gitops/ was left as it was.\n${detail}\n`);
    return 1;
  }
}

const PLAN_HELP = `Usage: npm run plan -- [options]

Synthesizes gitops/, then prints what it changes compared with gitops/ at a git ref, per Application:
objects added (+), changed (~, with the fields) and removed (-). Exits 3 when a change removes a
CustomResourceDefinition, PersistentVolumeClaim, StatefulSet volume claim template, Namespace, Secret
or secret declaration that is not acknowledged.

Options:
  -r, --ref <ref>       compare with gitops/ at this git ref (default: HEAD, the last commit)
  -a, --allow <key>     acknowledge one removal, e.g. Namespace/loki or PersistentVolumeClaim/ns/name
                        (repeatable; or list it under allowRemovals in config/<environment>.yaml)
      --no-synth        compare gitops/ as it is on disk, without synthesizing first
  -o, --outdir <dir>    the gitops folder (default: gitops)
      --color / --no-color   force colours on or off (default: on for a terminal, off in CI)
  -h, --help            show this help
`;

export function planMain(argv: string[]): number {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        ref: { type: 'string', short: 'r', default: 'HEAD' },
        allow: { type: 'string', short: 'a', multiple: true },
        'no-synth': { type: 'boolean', default: false },
        outdir: { type: 'string', short: 'o', default: 'gitops' },
        color: { type: 'boolean' },
        'no-color': { type: 'boolean' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n\n${PLAN_HELP}`);
    return 2;
  }
  const v = args.values;
  if (v.help) {
    process.stdout.write(PLAN_HELP);
    return 0;
  }
  try {
    if (!v['no-synth']) synth({ configs: [], outdir: v.outdir, log: () => undefined });
    const allowed = new Set<string>(v.allow ?? []);
    for (const file of configFiles('config')) {
      const config = loadConfig(file);
      for (const key of config.allowRemovals) allowed.add(`${config.environment}:${key}`);
    }
    const result = plan(parseTree(treeAtRef(v.ref, v.outdir)), parseTree(treeOnDisk(v.outdir)), allowed);
    const color = v['no-color'] ? false : v.color ?? (process.stdout.isTTY === true && !process.env.CI && !process.env.NO_COLOR);
    process.stdout.write(`Plan: ${v.outdir}/ compared with ${v.ref}\n\n${formatPlan(result, color)}\n`);
    return result.blocked.length > 0 ? 3 : 0;
  } catch (e) {
    const err = e as Error;
    process.stderr.write(`plan failed: ${process.env.PLATFORM_DEBUG ? err.stack : err.message}\n`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
