// The validation of one environment: lib/validation's checks over the whole cluster state as Argo CD will
// apply it (the files of gitops/<environment>/ plus every object the chart Applications render), told what
// only the platform knows: which Application applies which file, the namespaces each component may write
// into, the Kubernetes version and provider, where the environment's folders sit in the deploy repo.
import * as path from 'path';
import { ChartRender, isHelmComponent } from './component';
import type { ChartInput } from './render';
import { PROVIDERS } from './provider';
import { vendoredChart } from './vendor';
import { storeUnreadValuesIn } from './chart-values';
import { projectRoot } from './helm';
import { crdFilesOf } from './versions';
import { writeFileAtomic } from './atomic-write';
import { readSchemaCacheKeys } from './validation/cache-file';
import { chartFiles, Platform } from './platform';
import { applicationName, APPS_FOLDER, BOOTSTRAP_FOLDER, rootApplicationName } from './app-of-apps';
import { writtenSources } from './app-of-apps';
import { formatViolations, ManifestFile, SchemaCache, validate, ValidationOptions, ValidationReport, Violation } from './validation';

/** Where the values analysis of each chart is kept between synths (build output). */
storeUnreadValuesIn(path.join(projectRoot(), 'dist', 'values-cache'));

export function validationOptions(platform: Platform): ValidationOptions {
  const { config } = platform;
  const folderNamespace = new Map(platform.components.map((c) => [c.name, c.targetNamespace]));
  return {
    defaultNamespace: (file) => folderNamespace.get(file.split('/')[0]) ?? config.argocd.namespace,
    applicationNamespaces: new Map(platform.components.filter(isHelmComponent).map((c) => [applicationName(config, c), c.namespaces])),
    isBuiltIn: (apiVersion, kind) => platform.builtInKinds.has(`${apiVersion.includes('/') ? apiVersion.split('/')[0] : ''}/${kind}`),
    managedControlPlane: PROVIDERS[config.cluster.provider].managedControlPlane,
    runtimeObjects: platform.components.flatMap((c) => c.runtimeObjects),
    clusterPods: PROVIDERS[config.cluster.provider].clusterPods,
    chartArchive: (source) => vendoredChart(source).file,
    unstableObjects: new Map(platform.components.filter(isHelmComponent).map((c) => [applicationName(config, c), c.render.unstable])),
    repoPathPrefix: `${config.deployRepo.path}/${config.environment}/`,
    repoURL: config.deployRepo.url,
    kubernetesVersion: config.cluster.kubernetesVersion,
    // The CRDs of the chart versions this environment runs (Istio 1.30.3's, not the default 1.24.2's).
    crdFiles: crdFilesOf(platform.components.filter(isHelmComponent).map((c) => c.source)),
    // Deployed by a hub: the hub's Argo CD holds the Applications and the AppProject.
    ...(platform.argoCd ? {} : { preinstalledKinds: ['argoproj.io/Application', 'argoproj.io/AppProject'] }),
  };
}

/**
 * The Application that applies a file of gitops/<environment>/: the component of its folder, the root
 * Application for apps/, none for bootstrap/ (applied by hand).
 */
function applicationOf(platform: Platform, file: string): string | undefined {
  const folder = file.split('/')[0];
  if (folder === BOOTSTRAP_FOLDER) return undefined;
  if (folder === APPS_FOLDER) return rootApplicationName(platform.config);
  const component = platform.components.find((c) => c.name === folder);
  return component ? applicationName(platform.config, component) : folder;
}

/**
 * Every violation in the files of one environment (paths relative to gitops/<environment>/), checked
 * together with what the platform's charts render.
 */
export function validatePlatform(platform: Platform, files: readonly ManifestFile[], schemaCache?: SchemaCache,
  renders?: ReadonlyMap<string, ChartRender>): Violation[] {
  return validatePlatformReport(platform, files, schemaCache, renders).violations;
}

/** As validatePlatform, with the warnings (what could not be checked) and the counts of CEL rules met. */
export function validatePlatformReport(platform: Platform, files: readonly ManifestFile[], schemaCache?: SchemaCache,
  renders?: ReadonlyMap<string, ChartRender>): ValidationReport {
  const own = files.map((f) => ({ ...f, application: f.application ?? applicationOf(platform, f.path) }));
  const charts = renders ? filesOfRenders(renders) : chartFiles(platform);
  const options = validationOptions(platform);
  return validate([...own, ...charts], {
    ...options, schemaCache,
    ...(renders ? { unstableObjects: new Map([...renders].map(([app, r]) => [app, r.unstable])) } : {}),
  });
}

/** The chart Applications among `files` (apps/), as render inputs: what Argo CD renders from gitops/ as it is. */
export function chartInputsOf(files: readonly ManifestFile[]): ChartInput[] {
  const out: ChartInput[] = [];
  for (const f of files) {
    const m = f.manifest as { kind?: string; metadata?: { name?: string }; spec?: any };
    const source = writtenSources(m?.spec).chart;
    if (!f.path.startsWith(`${APPS_FOLDER}/`) || m?.kind !== 'Application' || !source) continue;
    out.push({
      application: String(m.metadata?.name),
      source: { repoURL: String(source.repoURL), chart: source.chart!, version: String(source.targetRevision) },
      releaseName: source.helm?.releaseName ?? String(m.metadata?.name),
      namespace: m.spec?.destination?.namespace ?? 'default',
      values: source.helm?.valuesObject ?? {},
    });
  }
  return out;
}

function filesOfRenders(renders: ReadonlyMap<string, ChartRender>): ManifestFile[] {
  return [...renders].flatMap(([app, r]) => r.objects.map((o) => ({ path: `${app}/(chart) ${o.source}`, manifest: o.manifest, application: app, rendered: true })));
}

/**
 * A schema cache kept in a file between synths (dist/schema-cache.json): an unchanged object is not
 * checked against its schema again, which is most of the validation's cost on a warm run. It holds only
 * digests of objects that passed; the cross-reference checks always run. A synth keeps the digests it used
 * (in the order it used them), then those the file held before that it did not use, up to
 * MAX_SCHEMA_CACHE_KEYS: a synth of one environment, or of a changed one, does not cost the next synth of
 * all of them a check of every object.
 */
export class FileSchemaCache implements SchemaCache {
  private readonly known: Set<string>;
  private readonly seen = new Set<string>();

  constructor(private readonly file: string, private readonly maxKeys = MAX_SCHEMA_CACHE_KEYS) {
    this.known = new Set(readSchemaCacheKeys(file));
  }

  has(key: string): boolean {
    if (!this.known.has(key)) return false;
    this.seen.add(key);
    return true;
  }

  add(key: string): void {
    this.seen.add(key);
  }

  /**
   * Keeps what this run validated or reused, then the rest of what the file held (in its order), up to the
   * limit; written aside and renamed, so readers never see half a file.
   */
  save(): void {
    const keys = [...this.seen];
    for (const k of this.known) {
      if (keys.length >= this.maxKeys) break;
      if (!this.seen.has(k)) keys.push(k);
    }
    writeFileAtomic(this.file, JSON.stringify(keys.slice(0, this.maxKeys)));
  }
}

/**
 * Digests kept in dist/schema-cache.json: about thirty synths' worth of objects (an environment has ~650 with
 * its charts' renders), about 0.6 MB.
 */
export const MAX_SCHEMA_CACHE_KEYS = 20_000;

export class ValidationError extends Error {
  /** `folder`: where the environment's files are, or would be written. */
  constructor(readonly environment: string, readonly violations: readonly Violation[], folder = `gitops/${environment}/`) {
    super(`${folder} would be invalid: ${violations.length} problem${violations.length === 1 ? '' : 's'}\n${formatViolations(violations)}`);
    this.name = 'ValidationError';
  }
}
