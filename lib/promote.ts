// `npm run promote`: what one environment runs, copied to another as one config line. A workload's image
// tag (`apps.workloads.<w>.image.tag`, exactly what `npm run set-image` changes), or a chart's version
// (`<section>.chartVersion`, written when the source runs a version other than versions.yaml's default, and
// removed when it runs the default). The target is edited like set-image edits (lib/config-edit.ts: one
// span of bytes, anchors refused, the whole config checked again) and synthesized again with its gitops/
// folder in one transaction. Whatever the target cannot take is refused before anything is written.
import * as path from 'path';
import { runCommandAsync } from './cli';
import { ConfigEdit, ConfigEditError, editConfigField, writeConfigPreservingFile } from './config-edit';
import { configFiles, loadConfig, parseConfig, PlatformConfig, readConfigBytes, usesCanary } from './config';
import { acquireLock } from './lock';
import { projectRoot } from './helm';
import { bumpImage, SetImageError } from './set-image';
import { configFolders, synth } from './synth';
import { failureLine, recover } from './transaction';
import { chartsOfConfig, loadVersions, overrideProblem, Versions, VERSIONS_FILE } from './versions';
import type { Compose } from './platform';

export const PROMOTE_HELP = `Usage: npm run promote -- <workload> --from <env> --to <env> [options]
       npm run promote -- --chart <chart> --from <env> --to <env> [options]

Copies what one environment runs to another as one line of config/<to>.yaml, then synthesizes <to> again
(the config line and gitops/<to>/ change together, or nothing does):
  <workload>        apps.workloads.<workload>.image.tag becomes <from>'s tag (what set-image changes; an
                    extra version's tag, traffic.versions, is not promoted). Only the tag: each
                    environment keeps its own image repository (registry).
  --chart <chart>   <section>.chartVersion becomes <from>'s chart version (a chart of versions.yaml, e.g.
                    cert-manager or istiod; the three Istio charts share istio.chartVersion): the line is
                    written, or removed when <from> runs versions.yaml's default.

Refused, naming the file, the field and the fix, with nothing changed: an unknown environment, workload or
chart; a workload or component <to> does not run; a floating tag; a version versions.yaml does not list;
any edit after which <to>'s config would be invalid. Already the same: "nothing to do", exit 0.

Options:
  -f, --from <env>        the environment to copy from (config/<env>.yaml)
  -t, --to <env>          the environment to change
      --chart <chart>     promote a chart version instead of a workload's image tag
  -n, --dry-run           print the change (file:line, old -> new) and write nothing
      --no-synth          change the config line only; gitops/<to>/ is left for the next synth
      --config-dir <dir>  where the environments' config files are (default: config)
  -o, --outdir <dir>      where the environment folders go (default: gitops)
  -q, --quiet             print nothing but errors
  -h, --help              show this help
`;

/** A promotion that cannot be carried out; the message names the file, the field and the fix. */
export class PromoteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromoteError';
  }
}

/** What promoting means between two parsed configs, decided before any edit. */
export interface PromotionPlan {
  /** The field of the target to set (or remove: value undefined); none when the target already runs it. */
  readonly change?: { readonly keys: readonly string[]; readonly value: string | undefined };
  /** The dotted field, for messages. */
  readonly field: string;
  /** What the target runs now and will run, as people read it (a tag, a chart version). */
  readonly from: string;
  readonly to: string;
  /** What the reader should know besides the one line (another registry, a canary, ...). */
  readonly notes: readonly string[];
}

/** The image tag of `workload` in `source`, for `target`: what set-image would write there. */
export function imagePromotion(source: PlatformConfig, target: PlatformConfig, workload: string): PromotionPlan {
  const field = `apps.workloads.${workload}.image.tag`;
  const has = (c: PlatformConfig) => Object.prototype.hasOwnProperty.call(c.apps.workloads, workload);
  const listed = (c: PlatformConfig) => Object.keys(c.apps.workloads).sort().join(', ') || 'none';
  if (!has(source)) {
    throw new PromoteError(`${source.file}: apps.workloads: no workload "${workload}" in ${source.environment} (configured: ${listed(source)}); name one of those`);
  }
  if (!has(target)) {
    throw new PromoteError(`${target.file}: apps.workloads: no workload "${workload}": it does not run in ${target.environment} (configured: ${listed(target)}); ` +
      `add it there first (a promotion changes one line, not a whole workload)`);
  }
  const s = source.apps.workloads[workload];
  const t = target.apps.workloads[workload];
  const notes: string[] = [];
  if (s.image.repository !== t.image.repository) {
    // Registries per environment are legitimate (a registry per cluster, a mirror): the tag is what moves.
    notes.push(`${target.environment} pulls ${t.image.repository}, ${source.environment} ${s.image.repository}: only the tag is promoted; ` +
      `${t.image.repository}:${s.image.tag} must exist before Argo CD syncs (promote copies config, not images)`);
  }
  const extra = Object.keys(s.traffic?.versions ?? {});
  if (extra.length > 0) {
    notes.push(`${source.environment} also runs ${workload} ${extra.join(', ')} (traffic.versions) at tags of their own: not promoted; those are edited by hand`);
  }
  if (t.canary && s.image.tag !== t.image.tag) {
    notes.push(`${target.environment} delivers ${workload} as a canary: its Rollout moves to ${s.image.tag} step by step (canary.steps)`);
  }
  return {
    change: s.image.tag === t.image.tag ? undefined : { keys: ['apps', 'workloads', workload, 'image', 'tag'], value: s.image.tag },
    field, from: t.image.tag, to: s.image.tag, notes,
  };
}

/** Whether a component's section makes it run: it is present, and Argo Rollouts runs only for a canary. */
function runs(config: PlatformConfig, section: string): boolean {
  const value = (config as unknown as Record<string, unknown>)[section];
  if (value === undefined || value === null) return false;
  // argoRollouts has a default section in every parsed config; the chart runs only when a workload is a canary.
  return section !== 'argoRollouts' || usesCanary(config);
}

/** The config section whose chartVersion a `--chart` names (a chart of versions.yaml, or the section itself). */
function sectionOf(chart: string, versions: Versions): { section: string; chart?: string } {
  const entry = Object.prototype.hasOwnProperty.call(versions.charts, chart) ? versions.charts[chart] : undefined;
  if (entry?.subchartOf) {
    throw new PromoteError(`${VERSIONS_FILE}: charts.${chart}: is packaged inside ${entry.subchartOf}'s archive and has no version of its own in an environment; promote --chart ${entry.subchartOf}`);
  }
  if (entry && !entry.config) {
    throw new PromoteError(`${VERSIONS_FILE}: charts.${chart}: names no config section whose chartVersion overrides it, so every environment runs ${entry.default}; nothing to promote`);
  }
  if (entry) return { section: entry.config!, chart };
  if (Object.values(versions.charts).some((c) => c.config === chart)) return { section: chart };
  const promotable = Object.keys(versions.charts).filter((k) => versions.charts[k].config).sort();
  throw new PromoteError(`${VERSIONS_FILE}: charts: no chart "${chart}"; promotable: ${promotable.join(', ')}`);
}

/**
 * The chart version of `chart` in `source`, for `target`: the override written when the source runs
 * another version than versions.yaml's default, removed when it runs the default.
 */
export function chartPromotion(source: PlatformConfig, target: PlatformConfig, chart: string, versions: Versions = loadVersions()): PromotionPlan {
  const { section, chart: named } = sectionOf(chart, versions);
  const field = `${section}.chartVersion`;
  const side = (c: PlatformConfig) => {
    if (!runs(c, section)) {
      const why = section === 'argoRollouts' ? 'no workload there is a canary' : `${c.file} has no ${section} section`;
      throw new PromoteError(`${c.file}: ${section}: the component does not run in ${c.environment} (${why}); ` +
        `${c === target ? 'turn it on there first (a promotion changes one line, not a whole component)' : 'promote from an environment that runs it'}`);
    }
    const value = (c as unknown as Record<string, { chartVersion?: string; backend?: string }>)[section];
    const backend = section === 'secrets' ? value.backend : undefined;
    const charts = chartsOfConfig(section, backend, versions);
    if (named && !charts.includes(named)) {
      throw new PromoteError(`${c.file}: secrets.backend: ${c.environment} runs ${charts.join(', ') || 'another chart'}, not ${named}; promote --chart ${charts[0] ?? section}`);
    }
    const running = new Map(charts.map((k) => [k, value.chartVersion ?? versions.charts[k].default]));
    return { override: value.chartVersion, backend, charts, running };
  };
  const s = side(source);
  const t = side(target);
  if (s.charts.join() !== t.charts.join()) {
    throw new PromoteError(`${target.file}: secrets.backend: ${target.environment} runs ${t.charts.join(', ')}, ${source.environment} runs ${s.charts.join(', ')}: ` +
      'there is no version to copy between two different charts; change the backend by hand first');
  }
  const show = (running: ReadonlyMap<string, string>) => {
    const distinct = [...new Set(running.values())];
    return distinct.length === 1 ? distinct[0] : [...running].map(([k, v]) => `${k} ${v}`).join(', ');
  };
  const from = show(t.running);
  const to = show(s.running);
  const same = [...s.running].every(([k, v]) => t.running.get(k) === v);
  if (same) return { field, from, to, notes: [] };

  const runsDefaults = [...s.running].every(([k, v]) => v === versions.charts[k].default);
  const value = runsDefaults ? undefined : s.override;
  if (value !== undefined) {
    const problem = overrideProblem(section, value, t.backend, versions);
    if (problem) throw new PromoteError(`${target.file}: ${field}: cannot take ${value}: ${problem}`);
  }
  const notes = s.charts.length > 1 ? [`${field} sets ${s.charts.join(', ')} together`] : [];
  return { change: { keys: [section, 'chartVersion'], value }, field, from, to, notes };
}

export interface PromoteOptions {
  /** Builds an environment's components from its config (charts/platform.ts). */
  readonly compose: Compose;
  /** A workload's image tag, or a chart's version. */
  readonly what: { readonly workload: string } | { readonly chart: string };
  readonly from: string;
  readonly to: string;
  readonly configDir: string;
  readonly outdir: string;
  /** Print the change and write nothing. */
  readonly dryRun: boolean;
  /** Write the config line only, without synthesizing the target. */
  readonly synth: boolean;
  readonly log: (line: string) => void;
}

export interface PromoteResult {
  /** The target's config file. */
  readonly file: string;
  readonly plan: PromotionPlan;
  /** The target's edit; none when there was nothing to do. */
  readonly edit?: ConfigEdit;
  /** Whether the target's files were written (not on a dry run, nor when there was nothing to do). */
  readonly written: boolean;
}

/** The config file of an environment in `dir`: `<env>.yaml` (or .yml). */
export function environmentFile(dir: string, env: string, flag: string): string {
  const files = configFiles(dir);
  const file = files.find((f) => path.basename(f).replace(/\.ya?ml$/, '') === env);
  if (!file) {
    const known = files.map((f) => path.basename(f).replace(/\.ya?ml$/, ''));
    throw new PromoteError(`${path.join(dir, `${env}.yaml`)}: ${flag} ${env}: no such environment (environments in ${dir}/: ${known.join(', ') || 'none'}); name one of those`);
  }
  return file;
}

/** The lines that say what changed: file:line, the field old -> new, the line itself, and the notes. */
export function describePromotion(result: PromoteResult, source: string): string[] {
  const { file, plan, edit } = result;
  if (!edit) return [`nothing to do: ${plan.field} is ${plan.to} in ${file} already, as in ${source}`];
  const how = edit.kind === 'added' ? '; line added' : edit.kind === 'removed' ? `; line removed: versions.yaml's default` : '';
  const out = [`${file}:${edit.line}: ${plan.field}: ${plan.from} -> ${plan.to} (as in ${source}${how})`];
  if (edit.oldLine !== undefined) out.push(`  -${edit.oldLine}`);
  if (edit.newLine !== undefined) out.push(`  +${edit.newLine}`);
  for (const note of plan.notes) out.push(`note: ${note}`);
  if (edit.commentAbove) out.push(`note: the comment above the removed line stays (${edit.commentAbove}); remove it if it was about the override`);
  return out;
}

/**
 * Promotes from one environment to another: reads both configs, decides the one field, edits the target
 * (checked whole), and writes it with the target's gitops/ folder in one transaction (or the config file
 * alone, whole or not at all, without synth). Nothing is written on a dry run or when there is nothing to do.
 */
export async function promote(options: PromoteOptions): Promise<PromoteResult> {
  if (options.from === options.to) throw new PromoteError(`--from and --to are both ${options.from}; name two environments`);
  const sourceFile = environmentFile(options.configDir, options.from, '--from');
  const targetFile = environmentFile(options.configDir, options.to, '--to');
  // Finish what a crashed command left before reading the files: one may be mid-swap.
  for (const line of recover([options.outdir, ...configFolders(sourceFile), ...configFolders(targetFile)])) options.log(line);
  const source = loadConfig(sourceFile);
  const bytes = readConfigBytes(targetFile);
  const target = parseConfig(bytes.toString('utf8'), targetFile);

  let plan: PromotionPlan;
  let edit: ConfigEdit | undefined;
  try {
    plan = 'workload' in options.what ? imagePromotion(source, target, options.what.workload) : chartPromotion(source, target, options.what.chart);
    if (plan.change && 'workload' in options.what) {
      // Exactly set-image's edit on the target: its tag checks, its one span of bytes.
      edit = bumpImage(bytes, targetFile, options.what.workload, plan.change.value!, 'promote').edit;
    } else if (plan.change) {
      edit = editConfigField(bytes, target, plan.change, { file: targetFile, field: plan.field, command: 'promote' });
    }
  } catch (e) {
    throw e instanceof ConfigEditError || e instanceof SetImageError ? new PromoteError(e.message) : e;
  }
  const result = (written: boolean): PromoteResult => ({ file: targetFile, plan, edit, written });
  if (!edit) return result(false);
  if (options.dryRun) return result(false);
  if (options.synth) {
    // The bytes, not the decoded text: a comment that is not UTF-8 stays as it was.
    await synth({ compose: options.compose, configs: [targetFile], outdir: options.outdir, log: options.log, configTexts: new Map([[targetFile, edit.bytes]]) });
  } else {
    writeConfigPreservingFile(targetFile, edit.bytes);
  }
  return result(true);
}

export function promoteMain(argv: string[], compose: Compose): Promise<number> {
  return runCommandAsync(argv, {
    help: PROMOTE_HELP,
    options: {
      from: { type: 'string', short: 'f' },
      to: { type: 'string', short: 't' },
      chart: { type: 'string' },
      'dry-run': { type: 'boolean', short: 'n', default: false },
      'no-synth': { type: 'boolean', default: false },
      'config-dir': { type: 'string', default: 'config' },
      outdir: { type: 'string', short: 'o', default: 'gitops' },
      quiet: { type: 'boolean', short: 'q', default: false },
    },
    positionals: ['workload?'],
    failure: (_, e) => failureLine('promote', 'nothing was changed.', e),
    run: async (v, [workload]) => {
      const usage = (problem: string) => {
        process.stderr.write(`error: ${problem}\n\n${PROMOTE_HELP}`);
        return 2;
      };
      if (workload === undefined && v.chart === undefined) return usage('name a workload, or a chart with --chart <chart>');
      if (workload !== undefined && v.chart !== undefined) return usage(`name a workload or --chart ${v.chart}, not both`);
      if (v.from === undefined || v.to === undefined) return usage('--from <env> and --to <env> are both required');
      const log = (line: string) => { if (!v.quiet) process.stdout.write(`${line}\n`); };
      // Read, edit and write under the lock: a set-image or a synth must not start from the same file meanwhile.
      const lock = acquireLock(projectRoot(), 'npm run promote', (line) => process.stderr.write(`${line}\n`));
      try {
        const result = await promote({
          compose,
          what: workload !== undefined ? { workload } : { chart: v.chart! },
          from: v.from,
          to: v.to,
          configDir: v['config-dir']!,
          outdir: v.outdir!,
          dryRun: v['dry-run']!,
          synth: !v['no-synth'],
          log,
        });
        for (const line of describePromotion(result, v.from)) log(line);
        if (v['dry-run'] && result.edit) log('dry run: nothing was written');
        else if (result.written && v['no-synth']) log(`${path.join(v.outdir!, v.to)}/ was not synthesized (--no-synth): run npm run synth -- --config ${result.file}`);
      } finally {
        lock.release();
      }
      return 0;
    },
  });
}
