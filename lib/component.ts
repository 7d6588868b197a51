// A component is one Argo CD Application: either a Helm chart with typed values, or a folder of
// manifests that this app synthesizes. Each is a cdk8s Chart, so a component's manifests are its
// children and nothing else.
import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';

/** Where a Helm chart comes from, with an exact version. */
export interface HelmChartSource {
  /** The chart repository URL, e.g. https://charts.jetstack.io. */
  readonly repoURL: string;
  /** The chart's name in that repository. */
  readonly chart: string;
  /** The exact chart version (config checks that it is not a range). */
  readonly version: string;
}

export interface ComponentProps {
  /** Namespace the component's objects live in (Argo CD creates it). */
  readonly namespace: string;
  /**
   * Components that must be synced and healthy first, beyond those found from CRD usage.
   * @default - none
   */
  readonly dependsOn?: Component[];
  /**
   * API groups whose CRDs this component installs; a component that uses one of them is synced after it.
   * @default - none
   */
  readonly providesApiGroups?: string[];
  /**
   * Labels and annotations Argo CD puts on the namespace it creates.
   * @default - none
   */
  readonly namespaceLabels?: Record<string, string>;
  /**
   * Extra Argo CD sync options, e.g. ServerSideApply=true for charts whose CRDs are too large for
   * client-side apply.
   * @default - none
   */
  readonly syncOptions?: string[];
}

/** Argo CD sync options that every custom resource carries: its CRD may not exist at dry-run time. */
export const SKIP_DRY_RUN = 'SkipDryRunOnMissingResource=true';

/** API groups served by Kubernetes itself; everything else is a custom resource. */
const BUILT_IN_GROUPS = new Set([
  '', 'apps', 'batch', 'policy', 'autoscaling', 'apiextensions.k8s.io', 'admissionregistration.k8s.io',
  'networking.k8s.io', 'rbac.authorization.k8s.io', 'storage.k8s.io', 'scheduling.k8s.io',
  'coordination.k8s.io', 'discovery.k8s.io', 'node.k8s.io', 'certificates.k8s.io', 'events.k8s.io',
]);

/** The API group of an apiVersion: `cert-manager.io/v1` -> `cert-manager.io`, `v1` -> ``. */
export function apiGroup(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}

export function isCustomResource(apiVersion: string): boolean {
  return !BUILT_IN_GROUPS.has(apiGroup(apiVersion));
}

// Note: cdk8s's Chart defines Symbol.hasInstance so that `x instanceof AnyChartSubclass` is true for
// every chart. Components are therefore told apart by `kind`, never by instanceof.
export abstract class Component extends Chart {
  /** Whether Argo CD renders a Helm chart or syncs a folder this app writes. */
  public abstract readonly kind: 'helm' | 'manifests';
  /** The component's name: its Argo CD Application, its gitops folder and its chart file share it. */
  public readonly name: string;
  /** The Application's destination namespace. (Not `namespace`: cdk8s would stamp a chart's namespace on cluster-scoped objects.) */
  public readonly targetNamespace: string;
  public readonly providesApiGroups: readonly string[];
  public readonly namespaceLabels: Readonly<Record<string, string>>;
  public readonly syncOptions: readonly string[];
  private readonly explicitDependencies: Component[];

  constructor(scope: Construct, name: string, props: ComponentProps) {
    // No chart-level namespace: cdk8s would stamp it onto cluster-scoped objects too.
    super(scope, name, { disableResourceNameHashes: true });
    this.name = name;
    this.targetNamespace = props.namespace;
    this.providesApiGroups = props.providesApiGroups ?? [];
    this.namespaceLabels = props.namespaceLabels ?? {};
    this.syncOptions = props.syncOptions ?? [];
    this.explicitDependencies = [...(props.dependsOn ?? [])];
  }

  /** Declares that `other` must be synced and healthy before this component. */
  public dependOn(other: Component): void {
    if (other === this) throw new Error(`${this.name} cannot depend on itself`);
    if (!this.explicitDependencies.includes(other)) this.explicitDependencies.push(other);
  }

  public get declaredDependencies(): readonly Component[] {
    return this.explicitDependencies;
  }

  /** The API groups of the custom resources this component writes (none for a Helm chart). */
  public get usedApiGroups(): string[] {
    return [...new Set(this.apiObjects.map((o) => apiGroup(o.apiVersion)).filter((g) => !BUILT_IN_GROUPS.has(g)))].sort();
  }

  /** The API objects this component writes into its own folder. */
  public get apiObjects(): ApiObject[] {
    return this.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject);
  }
}

/** A Service a chart creates, declared so Ingresses and VirtualServices that point at it can be checked. */
export interface ChartService {
  readonly name: string;
  /** Defaults to the component's namespace. */
  readonly namespace?: string;
  readonly ports: readonly { readonly name?: string; readonly port: number }[];
}

export interface HelmComponentProps<V> extends ComponentProps {
  readonly source: HelmChartSource;
  /**
   * The Services the chart creates that other objects of the platform point at.
   * @default - none
   */
  readonly services?: readonly ChartService[];
  /**
   * Uids of the Grafana datasources the chart provisions itself, which our datasources may link to.
   * @default - none
   */
  readonly datasourceUids?: readonly string[];
  /**
   * The labels the chart's Prometheus requires on PodMonitors and ServiceMonitors.
   * @default - the chart runs no Prometheus
   */
  readonly monitorSelector?: Readonly<Record<string, string>>;
  /** The chart's values, typed by the chart's generated interface in lib/helm-values. */
  readonly values: V;
  /**
   * The Helm release name.
   * @default - the component's name
   */
  readonly releaseName?: string;
}

/** A Helm chart that Argo CD renders and syncs. It writes no manifests of its own. */
export class HelmComponent<V extends object> extends Component {
  public readonly kind = 'helm';
  public readonly source: HelmChartSource;
  public readonly releaseName: string;
  public readonly services: readonly ChartService[];
  public readonly datasourceUids: readonly string[];
  public readonly monitorSelector?: Readonly<Record<string, string>>;
  private _values: V;

  constructor(scope: Construct, name: string, props: HelmComponentProps<V>) {
    super(scope, name, props);
    this.source = props.source;
    this.services = (props.services ?? []).map((s) => ({ ...s, namespace: s.namespace ?? props.namespace }));
    this.datasourceUids = props.datasourceUids ?? [];
    this.monitorSelector = props.monitorSelector;
    this._values = props.values;
    this.releaseName = props.releaseName ?? name;
  }

  /** The chart's values, as Argo CD passes them (`helm.valuesObject`). */
  public get values(): V {
    return this._values;
  }

  /**
   * Merges more values in, for values that need `this` (a secret used by this component, say).
   * Objects merge key by key; anything else replaces.
   */
  protected addValues(more: V): void {
    this._values = deepMerge(this._values, more);
  }
}

function deepMerge<T>(a: T, b: T): T {
  if (!isPlainObject(a) || !isPlainObject(b)) return b;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? deepMerge(out[k], v) : v;
  return out as T;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A folder of manifests synthesized by this app: gitops/<environment>/<name>/. */
export class ManifestComponent extends Component {
  public readonly kind = 'manifests';
}

export function isHelmComponent(c: Component): c is HelmComponent<object> {
  return c.kind === 'helm';
}

/** The component a construct belongs to, if any. */
export function componentOf(construct: Construct): Component | undefined {
  const chart = Chart.of(construct) as Partial<Component>;
  return chart.kind === 'helm' || chart.kind === 'manifests' ? (chart as Component) : undefined;
}
