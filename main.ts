// The app: the command-line tools over the platform that charts/platform.ts composes. `npm run synth`
// (also the `app` of cdk8s.yaml), `npm run validate`, `npm run plan`, `npm run set-image`, `npm run promote`
// and `npm run vendor` each parse their arguments here and call lib/ with `composePlatform`.
import { runCommand, runCommandAsync } from './lib/cli';
import { failureLine, recover } from './lib/transaction';
import { acquireLock } from './lib/lock';
import { helmBinary, projectRoot } from './lib/helm';
import { configFiles, loadConfig } from './lib/config';
import * as fs from 'fs';
import { addRendered, chartApplications, formatPlan, parseTree, plan, PlannedObject, treeAtRef, treeOnDisk, vendorAtRef } from './lib/plan';
import { RENDER_CACHE, renderCluster } from './lib/render';
import { SCHEMA_CACHE, synth, validateTree } from './lib/synth';
import { ValidationError } from './lib/validate-platform';
import { formatCelCounts, formatWarnings } from './lib/validation';
import { composePlatform } from './charts/platform';
import { setImageMain as setImageCommand } from './lib/set-image';
import { promoteMain as promoteCommand } from './lib/promote';
import { vendorMain as vendorCommand } from './lib/vendor';
import { validateCdk8sManifests as validateManifestsOf } from './lib/synth';

export { composePlatform } from './charts/platform';
export { renderPlatformFiles } from './lib/synth';
export const setImageMain = (argv: string[]) => setImageCommand(argv, composePlatform);
export const promoteMain = (argv: string[]) => promoteCommand(argv, composePlatform);
export const vendorMain = (argv: string[]) => vendorCommand(argv, composePlatform);
/** The cdk8s validation plugin's entry (lib/validation/cdk8s-plugin.js). */
export const validateCdk8sManifests = (paths: readonly string[]) => validateManifestsOf(composePlatform, paths);

const HELP = `Usage: npm run synth -- [options]      (or: npx cdk8s synth)

Synthesizes the platform of every environment in config/ into gitops/<environment>/.
Nothing is written unless every environment renders: a failed synth leaves gitops/ as it was.

Options:
  -c, --config <file>   synthesize only this environment's config file (repeatable);
                        its gitops/<environment>/ folder is replaced, the others are kept
  -o, --outdir <dir>    where the environment folders go (default: gitops); only the folders of
                        environments are replaced, anything else in <dir> is left alone
  -q, --quiet           print nothing but errors
  -h, --help            show this help
`;

export function main(argv: string[]): Promise<number> {
  return runCommandAsync(argv, {
    help: HELP,
    options: {
      config: { type: 'string', short: 'c', multiple: true },
      outdir: { type: 'string', short: 'o', default: 'gitops' },
      quiet: { type: 'boolean', short: 'q', default: false },
    },
    failure: (v, e) => failureLine('synth', `${v.outdir}/ was left as it was.`, e),
    run: async (v) => {
      const log = (line: string) => { if (!v.quiet) process.stdout.write(`${line}\n`); };
      const lock = acquireLock(projectRoot(), 'npm run synth', (line) => process.stderr.write(`${line}\n`));
      try {
        // Warnings (what validation could not check) are printed even with --quiet, on stderr.
        const notes = (text: string, kind: 'counts' | 'warnings') => (kind === 'warnings' ? process.stderr.write(text.endsWith('\n') ? text : `${text}\n`) : log(text));
        await synth({ compose: composePlatform, configs: v.config ?? [], outdir: v.outdir!, log, schemaCacheFile: SCHEMA_CACHE, notes });
      } finally {
        lock.release();
      }
      return 0;
    },
  });
}

const VALIDATE_HELP = `Usage: npm run validate -- [options]

Validates gitops/<environment>/ as it is on disk (no synth), together with what its chart Applications
render (from vendor/): every object against the schema of the environment's Kubernetes version
(cluster.kubernetesVersion) or its CRD's schema, strictly; the AppProject, apply sizes, single owners
and wave order; and every reference between objects (TLS secrets, issuers, Services and ports, URLs,
Secrets and ConfigMaps with their keys, monitors and their pods, datasource uids, Application paths,
pinned images, default credentials, values the charts never read).

Options:
  -c, --config <file>   validate only this environment (repeatable; default: every config/*.yaml)
  -o, --outdir <dir>    the gitops folder (default: gitops)
  -h, --help            show this help
`;

export function validateMain(argv: string[]): number {
  return runCommand(argv, {
    help: VALIDATE_HELP,
    options: {
      config: { type: 'string', short: 'c', multiple: true },
      outdir: { type: 'string', short: 'o', default: 'gitops' },
    },
    failure: 'validate failed.',
    run: (v) => {
      let failed = false;
      const lock = acquireLock(projectRoot(), 'npm run validate', (line) => process.stderr.write(`${line}\n`));
      let results: ReturnType<typeof validateTree>;
      try {
        for (const line of recover([v.outdir!, 'config'])) process.stderr.write(`${line}\n`);
        results = validateTree(composePlatform, v.config ?? [], v.outdir!);
      } finally {
        lock.release();
      }
      for (const r of results) {
        process.stdout.write(`${v.outdir}/${r.environment}: ${formatCelCounts(r.cel)}\n`);
        // Warnings fail nothing, but what they name was not checked.
        if (r.warnings.length > 0) process.stdout.write(`${v.outdir}/${r.environment}: ${formatWarnings(r.warnings)}\n`);
        if (r.violations.length === 0) {
          process.stdout.write(`${v.outdir}/${r.environment}: ${r.objects} objects valid\n`);
        } else {
          failed = true;
          process.stdout.write(`${new ValidationError(r.environment, r.violations, `${v.outdir}/${r.environment}/`).message.replace(' would be invalid', ' is invalid')}\n`);
        }
      }
      return failed ? 1 : 0;
    },
  });
}

const PLAN_HELP = `Usage: npm run plan -- [options]

Synthesizes gitops/, then prints what it changes compared with gitops/ at a git ref, per Application:
objects added (+), changed (~, with the fields) and removed (-). Exits 3 when a change removes a
CustomResourceDefinition, PersistentVolumeClaim, Namespace, Secret or secret declaration, or removes or
changes a StatefulSet volume claim template, and that is not acknowledged.

Options:
  -r, --ref <ref>       compare with gitops/ at this git ref (default: HEAD, the last commit)
  -a, --allow <key>     acknowledge one removal, e.g. Namespace/loki or PersistentVolumeClaim/ns/name
                        (repeatable; or list it under allowRemovals in config/<environment>.yaml)
      --no-synth        compare gitops/ as it is on disk, without synthesizing first
  -o, --outdir <dir>    the gitops folder (default: gitops)
      --color / --no-color   force colours on or off (default: on for a terminal, off in CI)
  -h, --help            show this help
`;

export function planMain(argv: string[]): Promise<number> {
  return runCommandAsync(argv, {
    help: PLAN_HELP,
    options: {
      ref: { type: 'string', short: 'r', default: 'HEAD' },
      allow: { type: 'string', short: 'a', multiple: true },
      'no-synth': { type: 'boolean', default: false },
      outdir: { type: 'string', short: 'o', default: 'gitops' },
      color: { type: 'boolean' },
      'no-color': { type: 'boolean' },
    },
    failure: (v, e) => failureLine('plan', `${v.outdir}/ was left as it was.`, e),
    run: async (v) => {
      const lock = acquireLock(projectRoot(), 'npm run plan', (line) => process.stderr.write(`${line}\n`));
      try {
        return await planRun(v);
      } finally {
        lock.release();
      }
    },
  });
}

/** The plan itself, under the lock: recovery, synth, both trees with their charts' renders, the gate. */
async function planRun(v: { ref?: string; allow?: string[]; 'no-synth'?: boolean; outdir?: string; color?: boolean; 'no-color'?: boolean }): Promise<number> {
  for (const line of recover([v.outdir!, 'config'])) process.stderr.write(`${line}\n`);
  if (!v['no-synth']) await synth({ compose: composePlatform, configs: [], outdir: v.outdir!, log: () => undefined, schemaCacheFile: SCHEMA_CACHE });
  const allowed = new Set<string>(v.allow ?? []);
  const kubeVersions = new Map<string, string>();
  for (const file of configFiles('config')) {
    const config = loadConfig(file);
    for (const key of config.allowRemovals) allowed.add(`${config.environment}:${key}`);
    kubeVersions.set(config.environment, config.cluster.kubernetesVersion);
  }
  const before = parseTree(treeAtRef(v.ref!, v.outdir!));
  const after = parseTree(treeOnDisk(v.outdir!));
  const notes = await addChartRendersToPlan(before, after, v.ref!, kubeVersions);
  const result = plan(before, after, allowed);
  const color = v['no-color'] ? false : v.color ?? (process.stdout.isTTY === true && !process.env.CI && !process.env.NO_COLOR);
  process.stdout.write(`Plan: ${v.outdir}/ compared with ${v.ref}\n${notes.map((n) => `${n}\n`).join('')}\n${formatPlan(result, color)}\n`);
  return result.blocked.length > 0 ? 3 : 0;
}

/**
 * Renders the chart Applications of both trees, so that a chart bump or a values change shows as the
 * objects it adds, changes and removes: the current side from vendor/, the other from the vendored charts
 * committed at `ref`. Returns notes on what could not be compared.
 */
async function addChartRendersToPlan(before: Map<string, PlannedObject>, after: Map<string, PlannedObject>, ref: string,
  kubeVersions: ReadonlyMap<string, string>): Promise<string[]> {
  const notes: string[] = [];
  const oldVendor = vendorAtRef(ref);
  try {
    const oldInputs = chartApplications(before);
    for (const [env, inputs] of chartApplications(after)) {
      const kubeVersion = kubeVersions.get(env);
      if (!kubeVersion) continue;
      if (!oldVendor && oldInputs.has(env)) {
        notes.push(`${env}: ${ref} has no vendored charts (vendor/charts.lock.yaml), so what the charts render is not compared.`);
        continue;
      }
      addRendered(after, env, await renderCluster(inputs, kubeVersion), inputs);
      const old = oldInputs.get(env) ?? [];
      // The Kubernetes version of the environment now: a version change itself shows in config, not here.
      if (old.length > 0) addRendered(before, env, await renderCluster(old, kubeVersion, { root: oldVendor, cacheDir: RENDER_CACHE, helm: helmBinary() }), old);
    }
  } finally {
    if (oldVendor) fs.rmSync(oldVendor, { recursive: true, force: true });
  }
  return notes;
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
