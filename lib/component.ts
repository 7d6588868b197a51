// A component is one product and one Argo CD Application: a Helm chart with typed values, a folder of
// manifests that this app synthesizes, or both (a chart plus its Certificate, monitors and dashboards,
// synced from two sources). Each is a cdk8s Chart, so a component's manifests are its children and
// nothing else; the platform finds components by walking the construct tree.
import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { deepFreeze } from './freeze';
import type { Manifest } from './manifest';
import type { RuntimeObject } from './validation/rules-config';
import { jsonOf } from './validation/context';
import { chartSource } from './versions';

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
   * Namespaces besides its own that the component's objects go into, each with the reason (a chart that
   * must bind a Role in kube-system, say). They become destinations of the AppProject; an object in any
   * other namespace fails validation.
   * @default - none
   */
  readonly extraNamespaces?: Readonly<Record<string, string>>;
  /**
   * Labels and annotations Argo CD puts on the namespace it creates.
   * @default - none
   */
  readonly namespaceLabels?: Record<string, string>;
  /**
   * Secrets and ConfigMaps the component's controllers create at run time (a webhook's certificate, say),
   * which workloads read although no manifest declares them. `createdBy` says what creates each.
   * @default - none
   */
  readonly runtimeObjects?: readonly RuntimeObject[];
  /**
   * Extra Argo CD sync options, e.g. RespectIgnoreDifferences=true. (ServerSideApply=true is derived from
   * the render: see `Component.syncOptions`.)
   * @default - none
   */
  readonly syncOptions?: string[];
}

/**
 * A field of one object that a controller in the cluster owns after Argo CD applied it, so that the
 * Application must neither report it as a difference nor overwrite it: declared as a child by the construct
 * that hands the field over (a canary's VirtualService weights, which Argo Rollouts sets), and collected
 * into its component's Application as `ignoreDifferences`, with the sync option RespectIgnoreDifferences=true.
 * Name exactly the fields the controller writes: everything ignored is also never synced from git again.
 */
export class IgnoredDifference extends Construct {
  constructor(scope: Construct, id: string, readonly entry: IgnoredDifferenceEntry) {
    super(scope, id);
    if (entry.jqPathExpressions.length === 0) throw new Error(`${scope.node.path}: an ignored difference of ${entry.kind} ${entry.name} names no field`);
  }
}

export interface IgnoredDifferenceEntry {
  /** The API group ('' for the core group). */
  readonly group: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  /** jq paths of the fields, each evaluating alike on the live and the desired object. */
  readonly jqPathExpressions: readonly string[];
  /** Which controller owns the fields, for readers of the code and the inventory. */
  readonly owner: string;
}

/** The sync option without which Argo CD applies ignored fields from git anyway on the next sync. */
export const RESPECT_IGNORE_DIFFERENCES = 'RespectIgnoreDifferences=true';

/** Argo CD sync options that every custom resource carries: its CRD may not exist at dry-run time. */
export const SKIP_DRY_RUN = 'SkipDryRunOnMissingResource=true';

/** The size of all annotations of an object, which client-side apply's last-applied copy must fit in. */
const CLIENT_SIDE_APPLY_LIMIT = 262144;

/** The API group of an apiVersion: `cert-manager.io/v1` -> `cert-manager.io`, `v1` -> ``. */
export function apiGroup(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}

/** An object's `group/Kind`, e.g. `cert-manager.io/Certificate` or `/Service`. */
export function kindOf(o: { readonly apiVersion: string; readonly kind: string }): string {
  return `${apiGroup(o.apiVersion)}/${o.kind}`;
}

/** An object a chart renders: its manifest, and the chart template it came from. */
export interface RenderedObject {
  /** The template path Helm reports (`# Source:`), e.g. cert-manager/templates/rbac.yaml. */
  readonly source: string;
  readonly manifest: Manifest;
}

/** What a chart renders for this platform: set on its HelmComponent once the render is done. */
export interface ChartRender {
  readonly objects: readonly RenderedObject[];
  /** `Kind namespace/name` of objects whose content changes from one render to the next. */
  readonly unstable: readonly string[];
}

// Note: cdk8s's Chart defines Symbol.hasInstance so that `x instanceof AnyChartSubclass` is true for
// every chart. Components are therefore told apart by `kind`, never by instanceof.
export abstract class Component extends Chart {
  /** Whether the Application renders a Helm chart (and syncs the component's folder, if it has objects), or only syncs its folder. */
  public abstract readonly kind: 'helm' | 'manifests';
  /** The component's name: its Argo CD Application, its gitops folder and its chart file share it. */
  public readonly name: string;
  /** The Application's destination namespace. (Not `namespace`: cdk8s would stamp a chart's namespace on cluster-scoped objects.) */
  public readonly targetNamespace: string;
  /** Namespaces besides its own that its objects go into, with the reason for each. */
  public readonly extraNamespaces: Readonly<Record<string, string>>;
  public readonly namespaceLabels: Readonly<Record<string, string>>;
  /** Secrets and ConfigMaps its controllers create at run time. */
  public readonly runtimeObjects: readonly RuntimeObject[];
  private readonly ownSyncOptions: readonly string[];
  private readonly explicitDependencies: Component[];

  constructor(scope: Construct, name: string, props: ComponentProps) {
    // No chart-level namespace: cdk8s would stamp it onto cluster-scoped objects too.
    super(scope, name, { disableResourceNameHashes: true });
    this.name = name;
    this.targetNamespace = props.namespace;
    this.extraNamespaces = props.extraNamespaces ?? {};
    this.namespaceLabels = props.namespaceLabels ?? {};
    this.runtimeObjects = (props.runtimeObjects ?? []).map((o) => ({ ...o, createdBy: `${name}: ${o.createdBy}` }));
    this.ownSyncOptions = props.syncOptions ?? [];
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

  /** The API objects this component writes into its own folder. */
  public get apiObjects(): ApiObject[] {
    return this.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject);
  }

  /** Whether the component writes a folder of its own (gitops/<environment>/<name>/). */
  public get hasFolder(): boolean {
    return this.apiObjects.length > 0;
  }

  /**
   * Every object Argo CD applies for this component, as plain manifests: the ones it writes and, for a
   * chart, the ones the chart renders.
   */
  public get appliedManifests(): readonly RenderedObject['manifest'][] {
    return this.sealed ?? this.computeAppliedManifests();
  }

  /** The objects the component writes into its own folder, as plain manifests (its apiObjects' toJson). */
  public get ownManifests(): readonly RenderedObject['manifest'][] {
    if (this.sealedOwn && this.sealedOwn.length !== this.apiObjects.length) {
      throw new Error(`component ${this.name}: an object was added after its platform was built (buildPlatform), so no file or check would see it; add it to the composition before the build`);
    }
    return this.sealedOwn ?? this.apiObjects.map((o) => o.toJson());
  }

  /** What appliedManifests returns, from ownManifests (each object's toJson until the component is sealed). */
  protected computeAppliedManifests(): readonly RenderedObject['manifest'][] {
    return this.ownManifests;
  }

  private sealed?: readonly RenderedObject['manifest'][];
  private sealedOwn?: readonly RenderedObject['manifest'][];

  /**
   * Fixes ownManifests and appliedManifests once the platform is complete (its render attached, nothing more
   * to add): deriving the waves, Applications, checks and files reads them many times, each a toJson of
   * every object.
   */
  public seal(): void {
    // Frozen: the files, the checks and every caller share these objects, and none may change them.
    this.sealedOwn = deepFreeze(this.apiObjects.map((o) => o.toJson()));
    this.sealed = deepFreeze(this.computeAppliedManifests());
  }

  /**
   * The namespaces the component's objects may go into: its own, its extraNamespaces (for what its chart
   * renders), and those its own objects name (a monitor next to Prometheus, say).
   */
  public get namespaces(): string[] {
    const own = this.apiObjects.map((o) => o.metadata.namespace).filter((ns): ns is string => ns !== undefined);
    return [...new Set([this.targetNamespace, ...Object.keys(this.extraNamespaces), ...own])];
  }

  /**
   * The Application's sync options: the component's own, plus ServerSideApply=true when an object is too
   * large for client-side apply (big CRDs), found from what it applies rather than listed by hand.
   */
  public get syncOptions(): readonly string[] {
    const tooLarge = this.appliedManifests.some((m) => Buffer.byteLength(jsonOf(m)) > CLIENT_SIDE_APPLY_LIMIT);
    const options = [...this.ownSyncOptions];
    if (tooLarge && !options.includes('ServerSideApply=true')) options.push('ServerSideApply=true');
    if (this.ignoredDifferences.length > 0 && !options.includes(RESPECT_IGNORE_DIFFERENCES)) options.push(RESPECT_IGNORE_DIFFERENCES);
    return options;
  }

  /** The fields of its objects that controllers own, declared by its children (`IgnoredDifference`), in tree order. */
  public get ignoredDifferences(): readonly IgnoredDifferenceEntry[] {
    return this.node.findAll().filter((c): c is IgnoredDifference => c instanceof IgnoredDifference).map((c) => c.entry);
  }
}

/**
 * A chart named by its key in versions.yaml, which gives its repository and name: at the environment's
 * `chartVersion` (config) when set, else at the default version there.
 */
export interface VersionedChart {
  readonly chartKey: string;
  readonly chartVersion?: string;
}

export interface HelmComponentProps<V> extends ComponentProps {
  /** The chart: from versions.yaml (`{ chartKey, chartVersion }`), or spelled out. */
  readonly source: VersionedChart | HelmChartSource;
  /** The chart's values, typed by the chart's generated interface in lib/helm-values. */
  readonly values: V;
  /**
   * The Helm release name.
   * @default - the component's name
   */
  readonly releaseName?: string;
}

/**
 * A Helm chart that Argo CD renders and syncs, plus whatever objects the component adds as its children
 * (a Certificate, monitors, dashboards): those go into its folder, and its Application then has two
 * sources, the chart and the folder. Synth renders the chart from its vendored archive (lib/render.ts) and
 * attaches the result, so that what the chart applies is checked with everything else.
 */
export class HelmComponent<V extends object> extends Component {
  public readonly kind = 'helm';
  public readonly source: HelmChartSource;
  public readonly releaseName: string;
  private _values: V;
  private _render?: ChartRender;

  constructor(scope: Construct, name: string, props: HelmComponentProps<V>) {
    super(scope, name, props);
    this.source = 'chartKey' in props.source ? chartSource(props.source.chartKey, props.source.chartVersion) : props.source;
    this._values = props.values;
    this.releaseName = props.releaseName ?? name;
  }

  /** What the chart renders with these values. Throws before the platform's charts were rendered. */
  public get render(): ChartRender {
    if (!this._render) throw new Error(`chart ${this.name} has not been rendered yet (lib/platform.ts renders every chart before it builds the Applications)`);
    return this._render;
  }

  /** Attaches the chart's render; done once, by lib/platform.ts. */
  public attachRender(render: ChartRender): void {
    if (this._render) throw new Error(`chart ${this.name} was rendered twice`);
    this._render = render;
  }

  protected override computeAppliedManifests(): readonly RenderedObject['manifest'][] {
    return [...this.render.objects.map((o) => o.manifest), ...super.computeAppliedManifests()];
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

function isComponent(c: Construct): c is Component {
  const kind = (c as Partial<Component>).kind;
  return c instanceof Chart && (kind === 'helm' || kind === 'manifests');
}

/** The components directly under `scope` (the App), in the order they were built. */
export function componentsOf(scope: Construct): Component[] {
  return scope.node.children.filter(isComponent);
}

/** The component a construct belongs to, if any. */
export function componentOf(construct: Construct): Component | undefined {
  const chart = Chart.of(construct) as Partial<Component>;
  return chart.kind === 'helm' || chart.kind === 'manifests' ? (chart as Component) : undefined;
}
