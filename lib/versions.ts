// The chart versions of the platform, from versions.yaml at the top of the project: the one place a
// chart's repository, name, supported versions and default version are written. Charts take their Helm
// source from `chartSource`; config checks an environment's `chartVersion` override against
// `supportedVersions`. Read from disk (no network), once per process and file.
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { z } from 'zod';
import type { HelmChartSource } from './component';
import { projectRoot } from './helm';

export const VERSIONS_FILE = 'versions.yaml';

/** The commands that make a version usable, in order (see "Versions" in README.md). */
export const REGENERATE = 'npm run vendor -- --mirror ../shared/helm-charts, npm run gen:helm-values, npm run import, npm run gen:schemas';

const version = z.string().regex(/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, { error: 'must be an exact chart version such as 1.19.1 or v1.21.1' });
const crdsOf = z.strictObject({
  file: z.string().regex(/^[A-Za-z0-9._-]+\.ya?ml$/, { error: 'must be a file name of ../shared/crds such as cert-manager.crds.yaml' }),
  imports: z.array(z.string().regex(/^[a-z0-9.-]+$/)).default([]),
  upstream: z.array(z.string().url()).default([]),
});
const chartEntry = z.strictObject({
  repoURL: z.string().regex(/^(https?|oci):\/\/\S+$/, { error: 'must be a chart repository URL' }),
  chart: z.string().min(1),
  config: z.string().regex(/^[a-zA-Z]+$/).optional(),
  subchartOf: z.string().optional(),
  vendored: z.literal(false).optional(),
  default: version,
  versions: z.record(version, z.strictObject({
    values: z.string().regex(/^[A-Za-z0-9._-]+$/).optional(),
    crds: crdsOf.optional(),
  }).nullable().transform((v) => v ?? {})),
}).refine((c) => Object.prototype.hasOwnProperty.call(c.versions, c.default), {
  error: 'default must be one of versions', path: ['default'],
});
export const versionsSchema = z.strictObject({
  charts: z.record(z.string().regex(/^[a-z0-9-]+$/), chartEntry),
  /**
   * CRDs installed without a chart (the Gateway API's standard channel): the version, the file of
   * ../shared/crds, and the imports/ modules made from it. The platform applies a vendored copy
   * (vendor/crds/<file>).
   */
  crds: z.record(z.string().regex(/^[a-z0-9-]+$/), z.strictObject({ version, file: crdsOf.shape.file, imports: crdsOf.shape.imports })).default({}),
});
export type Versions = z.infer<typeof versionsSchema>;
export type ChartVersions = Versions['charts'][string];

const memo = new Map<string, { stamp: string; versions: Versions }>();

/** Parses versions.yaml text; throws naming the file and field. */
export function parseVersions(text: string, file = VERSIONS_FILE): Versions {
  let raw: unknown;
  try {
    raw = yaml.load(text);
  } catch (e) {
    throw new Error(`${file}: not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  const parsed = versionsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(top level)'}: ${i.message}`);
    throw new Error(`${file}: invalid\n  - ${problems.join('\n  - ')}`);
  }
  return parsed.data;
}

/** versions.yaml of the project (or of `root`), read once per process unless the file changes. */
export function loadVersions(root: string = projectRoot()): Versions {
  const file = path.join(root, VERSIONS_FILE);
  let stamp: string;
  try {
    const st = fs.statSync(file);
    stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    throw new Error(`${file} is missing: it lists every chart version the platform may use; restore it from git`);
  }
  const hit = memo.get(file);
  if (hit && hit.stamp === stamp) return hit.versions;
  const versions = parseVersions(fs.readFileSync(file, 'utf8'), VERSIONS_FILE);
  memo.set(file, { stamp, versions });
  return versions;
}

function entry(key: string, versions: Versions): ChartVersions {
  const c = versions.charts[key];
  if (!c) throw new Error(`${VERSIONS_FILE} has no chart "${key}" (it has ${Object.keys(versions.charts).join(', ')}); add it there`);
  return c;
}

/** The versions of a chart the project supports, as versions.yaml lists them. */
export function supportedVersions(key: string, versions: Versions = loadVersions()): string[] {
  return Object.keys(entry(key, versions).versions);
}

/**
 * The Helm source of a chart: its repository, name and version: the environment's override when given
 * (config `<section>.chartVersion`, which must be listed), else the default of versions.yaml.
 */
export function chartSource(key: string, override?: string, versions: Versions = loadVersions()): HelmChartSource {
  const c = entry(key, versions);
  const v = override ?? c.default;
  if (!Object.prototype.hasOwnProperty.call(c.versions, v)) {
    throw new Error(`chart ${key} ${v} is not in ${VERSIONS_FILE} (charts.${key}.versions: ${Object.keys(c.versions).join(', ')}); ` +
      `add it there, then run ${REGENERATE}`);
  }
  return { repoURL: c.repoURL, chart: c.chart, version: v };
}

/**
 * The charts whose version a config section's `chartVersion` overrides (`istio`: istio-base, istiod,
 * istio-gateway). For `secrets`, only the chart of the chosen backend.
 */
export function chartsOfConfig(section: string, backend?: string, versions: Versions = loadVersions()): string[] {
  return Object.keys(versions.charts).filter((k) => versions.charts[k].config === section && (section !== 'secrets' || k === backend));
}

/**
 * What is wrong with an environment's `chartVersion` override of a config section, or undefined: the
 * message names the allowed versions and the fix.
 */
export function overrideProblem(section: string, value: string, backend?: string, versions: Versions = loadVersions()): string | undefined {
  const keys = chartsOfConfig(section, backend, versions);
  const missing = keys.filter((k) => !Object.prototype.hasOwnProperty.call(versions.charts[k].versions, value));
  if (missing.length === 0) return undefined;
  const allowed = keys.map((k) => Object.keys(versions.charts[k].versions))
    .reduce((a, b) => a.filter((v) => b.includes(v)));
  return `${value} is not a version ${VERSIONS_FILE} lists for ${missing.map((k) => `charts.${k}`).join(', ')} ` +
    `(allowed: ${allowed.join(', ') || 'none in common'}); pick one of those, or add ${value} under versions there and run ${REGENERATE}`;
}

/**
 * Every chart version `npm run vendor` keeps in vendor/: each listed version of each chart, but subcharts
 * (packaged in their parent's archive) and charts marked `vendored: false`.
 */
export function vendoredSources(versions: Versions = loadVersions()): HelmChartSource[] {
  return Object.values(versions.charts)
    .filter((c) => !c.subchartOf && c.vendored !== false)
    .flatMap((c) => Object.keys(c.versions).map((version) => ({ repoURL: c.repoURL, chart: c.chart, version })));
}

/**
 * The CRD files of schemas/crds.json an environment's custom resources are checked against: of each chart,
 * the `crds` of the version the environment runs (its Application's source among `running`, else the
 * default), and the CRD-only sources of `crds:`. An environment on Istio 1.30.3 gets istio-1.30.crds.yaml.
 */
export function crdFilesOf(running: readonly HelmChartSource[], versions: Versions = loadVersions()): string[] {
  const files = Object.values(versions.charts).flatMap((c) => {
    const src = running.find((r) => r.chart === c.chart && r.repoURL.replace(/\/+$/, '') === c.repoURL.replace(/\/+$/, ''));
    const version = src && Object.prototype.hasOwnProperty.call(c.versions, src.version) ? src.version : c.default;
    const file = c.versions[version].crds?.file;
    return file ? [file] : [];
  });
  return [...new Set([...files, ...Object.values(versions.crds).map((c) => c.file)])].sort();
}

/**
 * The versions a chart component's values are written for, checked at compile time to be exactly the
 * versions of a generated `<Chart>ValuesByVersion` (lib/helm-values): `everyVersionOf<keyof
 * IstiodValuesByVersion>()(['1.24.2', '1.30.3'])` stops compiling when versions.yaml lists another
 * version (after `npm run gen:helm-values`) until the component checks its values against it too, and
 * when a listed version goes.
 */
export function everyVersionOf<V extends string>() {
  return <const L extends readonly V[]>(versions: L & ([Exclude<V, L[number]>] extends [never] ? unknown : { readonly unchecked: Exclude<V, L[number]> })): L => versions;
}
