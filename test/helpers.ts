// Shared test helpers: the lab config (optionally changed), and the rendered platform looked up by kind
// and name rather than by position.
import { composePlatform } from '../charts/platform';
import { UsedSecretDeclaration, usedSecrets } from '../lib/secrets';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { parseConfig, PlatformConfig } from '../lib/config';
import { buildPlatform, Manifest, Platform, renderFiles, RenderedFile } from '../lib/platform';
import { validatePlatform } from '../lib/validate-platform';
import { RuleName, Violation } from '../lib/validation';

export const LAB_FILE = path.join(__dirname, '..', 'config', 'lab.yaml');

let labText: string | undefined;
let labJson: string | undefined;

/** The lab config as a plain object (a fresh copy each call, of this file's realm), for tests that change a field. */
export function labRaw(): any {
  return JSON.parse(labJson ??= JSON.stringify(yaml.load(labText ??= fs.readFileSync(LAB_FILE, 'utf8'))));
}

/** The lab config as it is, parsed once per test file (a config is frozen: nothing can change it). */
let labAsIs: PlatformConfig | undefined;

/** The lab config, with `change` applied to its raw form first; `file` names the environment. */
export function labConfig(change?: (raw: any) => void, file = 'config/lab.yaml'): PlatformConfig {
  if (!change && file === 'config/lab.yaml') return (labAsIs ??= parseConfig(labText ??= fs.readFileSync(LAB_FILE, 'utf8'), file));
  const raw = labRaw();
  change?.(raw);
  return parseConfig(yaml.dump(raw), file);
}

/** The message with which config refuses the lab config after `change`; throws if config accepts it. */
export function configProblem(change: (raw: any) => void): string {
  try {
    labConfig(change);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('config was accepted');
}

export class Rendered {
  /** `platform`: the platform the files were rendered from, when the test has it (for `dependencies`). */
  constructor(readonly files: RenderedFile[], readonly platform?: Platform) {}

  /** The secret the platform's components use, with the namespaces they use it in; throws if none does. */
  secret(name: string): UsedSecretDeclaration {
    const d = usedSecrets(this.platform!.app).find((x) => x.name === name);
    if (!d) throw new Error(`no component uses secret ${name}`);
    return d;
  }

  /** Files under one folder of gitops/<environment>/. */
  in(folder: string): RenderedFile[] {
    return this.files.filter((f) => f.path.startsWith(`${folder}/`));
  }

  /** The one object of this kind and name (and namespace, when given); throws if missing or ambiguous. */
  get(kind: string, name: string, namespace?: string): any {
    const hits = this.files.filter((f) => f.manifest.kind === kind && f.manifest.metadata.name === name &&
      (namespace === undefined || f.manifest.metadata.namespace === namespace));
    if (hits.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${hits.length}: ${this.files.map((f) => f.path).join(', ')}`);
    return hits[0].manifest;
  }

  all(kind: string): Manifest[] {
    return this.files.filter((f) => f.manifest.kind === kind).map((f) => f.manifest);
  }

  /** The child Application of a component. */
  /** The Application of a component, by the component's name (its Application is `<name>-<environment>`). */
  app(name: string): any {
    const root = this.in('bootstrap').map((f) => f.manifest).find((m) => m.kind === 'Application');
    const env = this.platform?.config.environment ?? String(root?.metadata.name ?? '').replace(/^platform-/, '');
    const apps = this.in('apps').map((f) => f.manifest);
    // (An Application's own name is accepted too.)
    return apps.find((m) => m.metadata.name === `${name}-${env}`) ?? apps.find((m) => m.metadata.name === name) ??
      (() => { throw new Error(`no Application ${name}-${env}`); })();
  }

  /** The chart source of a component's Application (its `source`, or the chart among its `sources`). */
  chart(name: string): any {
    const spec = this.app(name).spec;
    const found = [spec.source, ...(spec.sources ?? [])].find((s: any) => s?.chart);
    if (!found) throw new Error(`Application ${name} has no chart source`);
    return found;
  }

  /** The Helm values of a component's Application. */
  values(name: string): any {
    return this.chart(name).helm.valuesObject;
  }

  wave(name: string): number {
    return Number(this.app(name).metadata.annotations['argocd.argoproj.io/sync-wave']);
  }

  /** The names of the components a component is synced after (platform.dependencies), sorted. */
  dependencies(name: string): string[] {
    if (!this.platform) throw new Error('these files were rendered without their platform');
    const c = this.platform.components.find((x) => x.name === name) ?? (() => { throw new Error(`no component ${name}`); })();
    return this.platform.dependencies.get(c)!.map((d) => d.name).sort();
  }
}

/**
 * The lab platform, built once per test file (jest gives each file its own module registry): building
 * reads every chart's cached render. Tests must not add to it; build a fresh one with buildPlatform to do so.
 */
let labBuilt: Platform | undefined;
export function labPlatform(): Platform {
  return (labBuilt ??= buildPlatform(composePlatform(labConfig())));
}

/** The files of an environment: the lab's (its platform built once per file) unless a config is given. */
export function render(config?: PlatformConfig): Rendered {
  const platform = config ? buildPlatform(composePlatform(config)) : labPlatform();
  return new Rendered(renderFiles(platform), platform);
}

/**
 * The violations of these rules (all rules when none are given) over the whole union a platform applies,
 * as synth validates it: its files and every object its charts render. The lab's unless a platform is given.
 */
export function unionViolations(rules?: readonly RuleName[], platform?: Platform): Violation[] {
  const all = platform ? validatePlatform(platform, renderFiles(platform)) : (labViolations ??= validatePlatform(labPlatform(), renderFiles(labPlatform())));
  return all.filter((v) => !rules || rules.includes(v.rule));
}
let labViolations: Violation[] | undefined;

/** A fresh temporary folder, removed after the current test file (for a spec: after the last spec of its runner). */
const temps: string[] = [];
export function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'platform-test-'));
  temps.push(d);
  return d;
}
afterAll(() => temps.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Every file under `dir` with its content, for before/after comparisons. */
export function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p, 'utf8');
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/**
 * gitops/ as `npm run synth` writes it from config/ (every environment), synthesized once per test run by
 * test/global-setup.ts: a fresh copy in `dir` (a new temporary folder by default). Returns `dir`.
 */
export function synthesizedGitops(dir: string = tempDir()): string {
  const shared = process.env.PLATFORM_TEST_GITOPS;
  if (!shared || !fs.existsSync(shared)) throw new Error('no synthesized gitops/: test/global-setup.ts synthesizes it (PLATFORM_TEST_GITOPS)');
  fs.cpSync(shared, dir, { recursive: true });
  return dir;
}
