// The app of apps, derived from the components. bootstrap/ holds Argo CD's own installation
// (argo-cd/install.yaml, written by lib/platform.ts from the argo-cd chart's render), the AppProject and the
// root Application, applied once by hand; the root Application syncs apps/, which holds one child
// Application per component, in sync waves derived from the components' dependencies. A component with a
// chart and a folder of its own gets an Application with two sources.
import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { ConfigError, IN_CLUSTER, PlatformConfig } from './config';
import { Component, isHelmComponent } from './component';
import {
  AppProject,
  Application,
  ApplicationSpecIgnoreDifferences,
  ApplicationSpecSource,
  ApplicationSpecSources,
  ApplicationSpecSyncPolicy,
} from '../imports/argoproj.io';

export const APPS_FOLDER = 'apps';
export const BOOTSTRAP_FOLDER = 'bootstrap';
export const SYNC_WAVE = 'argocd.argoproj.io/sync-wave';

/**
 * The root Application of an environment, applied once from bootstrap/; it syncs apps/. It is also the name
 * of the environment's AppProject.
 */
export function rootApplicationName(config: PlatformConfig): string {
  return `platform-${config.environment}`;
}

/**
 * The Application of a component: `<component>-<environment>`. Every Argo CD object of an environment
 * carries the environment's name, so that several environments' Applications can live in one Argo CD.
 */
export function applicationName(config: PlatformConfig, component: { readonly name: string }): string {
  return `${component.name}-${config.environment}`;
}

/** Longest name of an Application: Argo CD labels resources with it (app.kubernetes.io/instance), a label value. */
export const MAX_APPLICATION_NAME = 63;

/** The cluster an environment's components go to: the configured one, or the cluster Argo CD runs in. */
export function destinationCluster(config: PlatformConfig): { server: string } | { name: string } {
  const d = config.cluster.destination;
  if (!d) return { server: IN_CLUSTER };
  return 'server' in d ? { server: d.server } : { name: d.name };
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
      const name = applicationName(config, c);
      if (name.length > MAX_APPLICATION_NAME) {
        throw new ConfigError(config.file, [`the Application of component ${c.name} would be named ${name}, longer than ${MAX_APPLICATION_NAME} characters; give the environment (the config file) a shorter name`]);
      }
      new Application(this, c.name, {
        metadata: {
          name,
          namespace: config.argocd.namespace,
          annotations: { [SYNC_WAVE]: String(waves.get(c)) },
        },
        spec: {
          project: rootApplicationName(config),
          ...sourcesOf(config, c),
          destination: { ...destinationCluster(config), namespace: c.targetNamespace },
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

    const cluster = destinationCluster(config);
    new AppProject(this, 'project', {
      metadata: { name: rootApplicationName(config), namespace: config.argocd.namespace },
      spec: {
        description: `The platform of environment ${config.environment}, synthesized by cdk8s`,
        sourceRepos: [...new Set([config.deployRepo.url, ...helmRepos])].sort(),
        // The root Application writes the child Applications into Argo CD's own cluster and namespace; the
        // components go to the environment's cluster.
        destinations: [
          ...('server' in cluster && cluster.server === IN_CLUSTER ? [] : [{ server: IN_CLUSTER, namespace: config.argocd.namespace }]),
          ...[...new Set(allNamespaces)].sort().map((namespace) => ({ ...cluster, namespace })),
        ],
        // The charts install CRDs, ClusterRoles and webhooks, and the issuers are cluster-scoped; the
        // project's limit is where things go (destinations) and where they come from (sourceRepos).
        clusterResourceWhitelist: [{ group: '*', kind: '*' }],
      },
    });

    new Application(this, 'root', {
      metadata: { name: rootApplicationName(config), namespace: config.argocd.namespace },
      spec: {
        project: rootApplicationName(config),
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
