// The app of apps, derived from the components. bootstrap/ holds Argo CD's own installation
// (argo-cd/install.yaml, written by lib/platform.ts from the argo-cd chart's render), the AppProject and the
// root Application, applied once by hand; the root Application syncs apps/, which holds one child
// Application per component, in sync waves derived from the components' dependencies. A component with a
// chart and a folder of its own gets an Application with two sources.
import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { PlatformConfig } from './config';
import { Component, isHelmComponent } from './component';
import {
  AppProject,
  Application,
  ApplicationSpecIgnoreDifferences,
  ApplicationSpecSource,
  ApplicationSpecSources,
  ApplicationSpecSyncPolicy,
} from '../imports/argoproj.io';

export const IN_CLUSTER = 'https://kubernetes.default.svc';
export const APPS_FOLDER = 'apps';
export const BOOTSTRAP_FOLDER = 'bootstrap';
export const SYNC_WAVE = 'argocd.argoproj.io/sync-wave';

/** The root Application of an environment, applied once from bootstrap/; it syncs apps/. */
export function rootApplicationName(config: PlatformConfig): string {
  return `platform-${config.environment}`;
}

/** The path of an environment's folder (or a subfolder of it) inside the deploy repo. */
export function repoPath(config: PlatformConfig, folder: string): string {
  return `${config.deployRepo.path}/${config.environment}/${folder}`;
}

function syncPolicy(options: readonly string[], namespaceLabels?: Readonly<Record<string, string>>): ApplicationSpecSyncPolicy {
  const labels = namespaceLabels && Object.keys(namespaceLabels).length > 0 ? { ...namespaceLabels } : undefined;
  return {
    automated: { prune: true, selfHeal: true },
    syncOptions: ['CreateNamespace=true', ...options],
    // On a new cluster a wave can start while the previous one's controllers and webhooks are still coming
    // up; automated sync does not retry a failed sync of the same revision unless told to.
    retry: { limit: 10, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } },
    ...(labels ? { managedNamespaceMetadata: { labels } } : {}),
  };
}

/** The child Applications: gitops/<environment>/apps/, one per component. */
export class ChildApplications extends Chart {
  constructor(scope: Construct, config: PlatformConfig, components: readonly Component[], waves: ReadonlyMap<Component, number>) {
    super(scope, APPS_FOLDER, { disableResourceNameHashes: true });
    for (const c of components) {
      new Application(this, c.name, {
        metadata: {
          name: c.name,
          namespace: config.argocd.namespace,
          annotations: { [SYNC_WAVE]: String(waves.get(c)) },
        },
        spec: {
          project: config.argocd.project,
          ...sourcesOf(config, c),
          destination: { server: IN_CLUSTER, namespace: c.targetNamespace },
          syncPolicy: syncPolicy(c.syncOptions, c.namespaceLabels),
          ...ignoreDifferencesOf(c),
        },
      });
    }
  }
}

/** The fields controllers own (declared by the component's children), as Argo CD's ignoreDifferences. */
function ignoreDifferencesOf(c: Component): { ignoreDifferences?: ApplicationSpecIgnoreDifferences[] } {
  const entries = c.ignoredDifferences;
  if (entries.length === 0) return {};
  return {
    ignoreDifferences: entries.map((e) => ({
      group: e.group, kind: e.kind, name: e.name, namespace: e.namespace, jqPathExpressions: [...e.jqPathExpressions],
    })),
  };
}

/** `source` for a chart or a folder; `sources` (chart first, then folder) for a component with both. */
function sourcesOf(config: PlatformConfig, c: Component): { source: ApplicationSpecSource } | { sources: ApplicationSpecSources[] } {
  const folder: ApplicationSpecSource = { repoUrl: config.deployRepo.url, targetRevision: config.deployRepo.revision, path: repoPath(config, c.name) };
  if (!isHelmComponent(c)) return { source: folder };
  const chart: ApplicationSpecSource = {
    repoUrl: c.source.repoURL,
    chart: c.source.chart,
    targetRevision: c.source.version,
    helm: { releaseName: c.releaseName, valuesObject: c.values },
  };
  return c.hasFolder ? { sources: [chart, folder] } : { source: chart };
}

/** The AppProject and the root Application: gitops/<environment>/bootstrap/, applied once with kubectl. */
export class BootstrapChart extends Chart {
  constructor(scope: Construct, config: PlatformConfig, components: readonly Component[]) {
    super(scope, BOOTSTRAP_FOLDER, { disableResourceNameHashes: true });
    const helmRepos = components.filter(isHelmComponent).map((c) => c.source.repoURL);
    // Where the components' objects go (their own objects' namespaces included) and where their charts may write.
    const allNamespaces = [config.argocd.namespace, ...components.flatMap((c) => c.namespaces)];

    new AppProject(this, 'project', {
      metadata: { name: config.argocd.project, namespace: config.argocd.namespace },
      spec: {
        description: `The platform of environment ${config.environment}, synthesized by cdk8s`,
        sourceRepos: [...new Set([config.deployRepo.url, ...helmRepos])].sort(),
        destinations: [...new Set(allNamespaces)].sort().map((namespace) => ({ server: IN_CLUSTER, namespace })),
        // The charts install CRDs, ClusterRoles and webhooks, and the issuers are cluster-scoped; the
        // project's limit is where things go (destinations) and where they come from (sourceRepos).
        clusterResourceWhitelist: [{ group: '*', kind: '*' }],
      },
    });

    new Application(this, 'root', {
      metadata: { name: rootApplicationName(config), namespace: config.argocd.namespace },
      spec: {
        project: config.argocd.project,
        source: { repoUrl: config.deployRepo.url, targetRevision: config.deployRepo.revision, path: repoPath(config, APPS_FOLDER) },
        destination: { server: IN_CLUSTER, namespace: config.argocd.namespace },
        syncPolicy: syncPolicy([]),
      },
    });
  }
}

/** A source of an Application as it is written in gitops/ (plain JSON, not the typed binding). */
export interface WrittenSource {
  readonly repoURL?: string;
  readonly chart?: string;
  readonly path?: string;
  readonly targetRevision?: string;
  readonly helm?: { readonly releaseName?: string; readonly valuesObject?: Record<string, unknown> };
}

/** The chart source and the folder source of an Application's spec (`source` or `sources[]`), either may be absent. */
export function writtenSources(spec: { source?: unknown; sources?: unknown } | undefined): { chart?: WrittenSource; folder?: WrittenSource } {
  const all = [spec?.source, ...(Array.isArray(spec?.sources) ? spec!.sources as unknown[] : [])]
    .filter((s): s is WrittenSource => typeof s === 'object' && s !== null);
  return { chart: all.find((s) => typeof s.chart === 'string'), folder: all.find((s) => typeof s.path === 'string') };
}
