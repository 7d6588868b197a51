// The machinery from a composition (charts/platform.ts builds one per environment) to the files of
// gitops/<environment>/: render every chart, attach the renders, derive the waves, the Applications and
// the AppProject from the construct tree, and turn it all into files, in memory.
import { ApiObject, App, Chart } from 'cdk8s';
import * as yaml from 'js-yaml';
import { PlatformConfig } from './config';
import { applicationName, APPS_FOLDER, BOOTSTRAP_FOLDER, BootstrapChart, ChildApplications } from './app-of-apps';
import { ChartRender, Component, componentsOf, HelmComponent, isHelmComponent, kindOf, SKIP_DRY_RUN } from './component';
import { dependencies, syncWaves } from './ordering';
import { ChartInput, renderCluster, renderClusterSync, RenderOptions } from './render';
import { servedApiVersions } from './validation/schema';
import { ManifestFile } from './validation/types';
import { compareText } from './text';
import { LRUCache } from 'lru-cache';

/** The components of one environment, before their charts are rendered: what charts/platform.ts builds. */
export interface Composition {
  readonly config: PlatformConfig;
  /** Every component is a direct child of this App. */
  readonly app: App;
  /**
   * The Argo CD that bootstrap/ installs and its own Application then manages.
   * @default - none: the environment is deployed by the Argo CD of another cluster (a hub), which runs it
   */
  readonly argoCd?: HelmComponent<object>;
}

/** Builds the components of one environment from its config (charts/platform.ts `composePlatform`). */
export type Compose = (config: PlatformConfig) => Composition;

/** One environment, rendered: its components with their charts' objects, the waves and the Argo CD objects. */
export interface Platform extends Composition {
  /** Every component, in the order it was built: the App's children. */
  readonly components: readonly Component[];
  readonly waves: ReadonlyMap<Component, number>;
  /** What each component is synced after: declared dependencies and the installers of the CRDs it uses. */
  readonly dependencies: ReadonlyMap<Component, readonly Component[]>;
  readonly applications: ChildApplications;
  readonly bootstrap: BootstrapChart;
  /** `group/Kind` of every kind Kubernetes itself serves at the environment's version. */
  readonly builtInKinds: ReadonlySet<string>;
}

/** The chart components of a composition. */
export function chartComponents(c: Composition): HelmComponent<object>[] {
  return componentsOf(c.app).filter(isHelmComponent);
}

/** What Helm is asked to render for each chart component, as Argo CD's repo server would, by Application. */
export function chartInputs(c: Composition): ChartInput[] {
  return chartComponents(c).map((h) => ({
    application: applicationName(c.config, h), source: h.source, releaseName: h.releaseName, namespace: h.targetNamespace, values: h.values,
  }));
}

/** Attaches the renders, derives the waves and builds the Argo CD objects: the platform is complete. */
export function completePlatform(c: Composition, renders: ReadonlyMap<string, ChartRender>): Platform {
  const components = componentsOf(c.app);
  checkUniqueNames(components);
  for (const h of chartComponents(c)) {
    const r = renders.get(applicationName(c.config, h));
    if (!r) throw new Error(`no render of chart ${h.name}`);
    h.attachRender(r);
  }
  // servedApiVersions lists `group/version/Kind` (core: `v1/Kind`) besides the group/versions.
  const builtInKinds = new Set(servedApiVersions(c.config.cluster.kubernetesVersion)
    .map((v) => v.split('/'))
    .filter((parts) => /^[A-Z]/.test(parts[parts.length - 1]))
    .map((parts) => (parts.length === 2 ? `/${parts[1]}` : `${parts[0]}/${parts[2]}`)));
  for (const comp of components) {
    for (const o of comp.apiObjects) {
      // The CRD may come from a chart synced in an earlier wave of the same sync: skip the dry run.
      if (!builtInKinds.has(kindOf(o))) o.metadata.addAnnotation('argocd.argoproj.io/sync-options', SKIP_DRY_RUN);
    }
  }
  // Nothing is added to the components from here on.
  for (const comp of components) comp.seal();
  // Argo CD's own CRDs exist before anything syncs: bootstrap/ installs Argo CD.
  const preinstalled = new Set((c.argoCd?.render.objects ?? []).map((o) => o.manifest).filter((m) => m.kind === 'CustomResourceDefinition')
    .map((m) => `${(m as any).spec.group}/${(m as any).spec.names.kind}`));
  const ordering = { isBuiltIn: (k: string) => builtInKinds.has(k), preinstalled };
  const waves = syncWaves(components, ordering);
  const applications = new ChildApplications(c.app, c.config, components, waves);
  const bootstrap = new BootstrapChart(c.app, c.config, components);
  return { ...c, components, waves, dependencies: dependencies(components, ordering), applications, bootstrap, builtInKinds };
}

/** Builds and renders one environment: cached renders, Helm for the rest, one chart at a time. */
export function buildPlatform(c: Composition, options: RenderOptions = {}): Platform {
  return completePlatform(c, renderClusterSync(chartInputs(c), c.config.cluster.kubernetesVersion, options));
}

/** The same, rendering the charts in parallel: the synth path. */
export async function buildPlatformAsync(c: Composition, options: RenderOptions = {}): Promise<Platform> {
  return completePlatform(c, await renderCluster(chartInputs(c), c.config.cluster.kubernetesVersion, options));
}

function checkUniqueNames(components: readonly Component[]): void {
  const reserved = new Set([APPS_FOLDER, BOOTSTRAP_FOLDER]);
  const seen = new Set<string>();
  for (const c of components) {
    if (reserved.has(c.name)) throw new Error(`component name "${c.name}" is reserved for a gitops folder`);
    if (seen.has(c.name)) throw new Error(`two components are named "${c.name}"`);
    seen.add(c.name);
  }
}

import type { Manifest } from './manifest';
export type { Manifest } from './manifest';

/** One rendered file: its path under gitops/<environment>/ and the object it holds. */
export interface RenderedFile {
  readonly path: string;
  readonly manifest: Manifest;
}

/** One file per object, named `<kind>-<name>.yaml` (namespace added on a clash), under `folder`. */
function filesOf(manifests: readonly Manifest[], folder: string): RenderedFile[] {
  const base = (m: Manifest) => `${m.kind.toLowerCase()}-${m.metadata.name}`;
  const counts = new Map<string, number>();
  manifests.forEach((m) => counts.set(base(m), (counts.get(base(m)) ?? 0) + 1));
  const files = manifests.map((m) => {
    const name = counts.get(base(m))! > 1 ? `${m.kind.toLowerCase()}-${m.metadata.namespace ?? 'cluster'}-${m.metadata.name}` : base(m);
    return { path: `${folder}/${name}.yaml`, manifest: m };
  });
  const paths = new Set<string>();
  for (const f of files) {
    if (paths.has(f.path)) throw new Error(`two objects would be written to ${f.path}: ${f.manifest.kind} ${f.manifest.metadata.name} is declared twice`);
    paths.add(f.path);
  }
  return files.sort((a, b) => compareText(a.path, b.path));
}

/** A chart's objects (the Argo CD objects of apps/ and bootstrap/; a component's are its ownManifests). */
function renderChart(chart: Chart, folder: string): RenderedFile[] {
  const objects = chart.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject);
  return filesOf(objects.map((o) => o.toJson() as Manifest), folder);
}

/** Where bootstrap/ keeps Argo CD's own installation, in the order kubectl must apply it. */
export const ARGOCD_INSTALL_FILE = `${BOOTSTRAP_FOLDER}/argo-cd/install.yaml`;

/**
 * Argo CD as the argo-cd Application renders it, for `kubectl apply --server-side` before anything else:
 * its Namespace, then CRDs, cluster-scoped objects and the rest. Namespaced objects carry their namespace,
 * since kubectl would put the ones without into the current context's namespace.
 */
function argoCdInstall(platform: Platform): RenderedFile[] {
  if (!platform.argoCd) return [];
  const ns = platform.argoCd.targetNamespace;
  const installed = platform.argoCd.render.objects.map((o) => o.manifest);
  const crdScope = new Map(installed.filter((m) => m.kind === 'CustomResourceDefinition')
    .map((m) => [`${(m as any).spec.group}/${(m as any).spec.names.kind}`, (m as any).spec.scope]));
  const clusterScoped = (m: Manifest) => crdScope.has(kindOf(m)) ? crdScope.get(kindOf(m)) === 'Cluster' : CLUSTER_SCOPED.has(kindOf(m));
  const rank = (m: Manifest) => (m.kind === 'Namespace' ? 0 : m.kind === 'CustomResourceDefinition' ? 1 : clusterScoped(m) ? 2 : 3);
  const namespace: Manifest = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } };
  const objects = [namespace, ...installed.map((m) => (clusterScoped(m) || m.metadata.namespace
    ? m : { ...m, metadata: { ...m.metadata, namespace: ns } }) as Manifest)];
  return objects
    .map((m) => ({ m, key: `${rank(m)} ${m.kind} ${m.metadata.namespace ?? ''} ${m.metadata.name}` }))
    .sort((a, b) => compareText(a.key, b.key))
    .map(({ m }) => ({ path: ARGOCD_INSTALL_FILE, manifest: m }));
}

/** Built-in cluster-scoped kinds an Argo CD chart renders. */
const CLUSTER_SCOPED = new Set(['/Namespace', 'apiextensions.k8s.io/CustomResourceDefinition', 'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding', 'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration', 'scheduling.k8s.io/PriorityClass', 'networking.k8s.io/IngressClass']);

/**
 * Every file of gitops/<environment>/, in a stable order. Files under bootstrap/argo-cd/ hold several
 * objects (one RenderedFile each, same path, in apply order).
 */
export function renderFiles(platform: Platform): RenderedFile[] {
  const files: RenderedFile[] = [
    ...renderChart(platform.bootstrap, BOOTSTRAP_FOLDER),
    ...argoCdInstall(platform),
    ...renderChart(platform.applications, APPS_FOLDER),
  ];
  for (const c of platform.components) {
    if (c.kind === 'manifests' && !c.hasFolder) throw new Error(`component ${c.name} has no manifests; Argo CD would sync an empty folder`);
    if (c.hasFolder) files.push(...filesOf(c.ownManifests, c.name));
  }
  return files;
}

/** The objects every chart Application renders, as files of the validation (`<application>/(chart) <template>`). */
export function chartFiles(platform: Platform): ManifestFile[] {
  return chartComponents(platform).flatMap((h) => h.render.objects.map((o) => ({
    path: `${h.name}/(chart) ${o.source}`, manifest: o.manifest, application: applicationName(platform.config, h), rendered: true,
  })));
}

const HEADER = '# Generated by cdk8s from this repo\'s TypeScript and config/; do not edit. Run `npm run synth`.\n';

/**
 * YAML texts this process has dumped, by the manifest's JSON (the same JSON dumps to the same YAML), up to 32 Mi
 * characters: dumping is about ten times the work of JSON.stringify, and a test run synthesizes the same
 * objects many times.
 */
const dumped = new LRUCache<string, string>({ maxSize: 32 * 1024 * 1024, sizeCalculation: (text, json) => text.length + json.length });

/** The YAML text of a manifest, byte-for-byte stable for the same input. */
export function toYaml(manifest: Manifest): string {
  const json = JSON.stringify(manifest);
  let text = dumped.get(json);
  if (text === undefined) dumped.set(json, (text = HEADER + yaml.dump(manifest, { lineWidth: -1, noRefs: true })));
  return text;
}
