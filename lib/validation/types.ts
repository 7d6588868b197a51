import type { RuntimeObject } from './rules-config';
import type { ClusterPod } from './rules-monitoring';
// The vocabulary of the validator: what it is given, what it reports, and the options of its rules.

/** The names of the checks. `schema` is per object; the others look across the whole object set. */
export const RULES = [
  'schema',
  // The CEL rules (x-kubernetes-validations) of an object's CRD schema, per object (lib/validation/cel.ts).
  'cel',
  'ingress-tls-certificate',
  'issuer-exists',
  'ingress-backend',
  'gateway-credential',
  'virtualservice-destination',
  'destination-subset',
  'datasource-uid',
  'application-path',
  'image-pinned',
  // Reported by the one leak scan (lib/leaks.ts leakViolations), which synth, validate and the cdk8s plugin run.
  'no-secret-data',
  // Checks of the whole cluster state: our manifests plus every chart Application's rendered objects.
  'project-destination',
  'apply-size',
  'single-owner',
  'crd-order',
  'service-reference',
  'monitor-target',
  'config-reference',
  'default-credential',
  'render-stable',
  'disruption-budget',
  'managed-control-plane',
  'unread-value',
  'duplicate-host',
  // Gateway API (lib/validation/rules-gateway-api.ts).
  'gateway-listener-certificate',
  'route-parent',
  'route-backend',
] as const;
export type RuleName = (typeof RULES)[number];

/** One defect of one object. */
export interface Violation {
  readonly rule: RuleName;
  /** The file that holds the object, as given to validateManifests (e.g. harbor-certificate/certificate-harbor-secret.yaml). */
  readonly file: string;
  /** `Kind namespace/name`, or `Kind name` for a cluster-scoped object. */
  readonly object: string;
  /** The path of the offending field, e.g. spec.rules[0].http.paths[1].backend.service.port.name ('' for the whole object). */
  readonly field: string;
  /** What is wrong. */
  readonly message: string;
  /** How to fix it. */
  readonly fix: string;
}

/**
 * Something the validator could not check, shown beside the violations: it neither fails synth nor counts
 * as passed. Today: a CEL rule that could not be evaluated (rule `cel`), with the CRD, the rule and why.
 */
export type Warning = Violation;

/** Counts of the CEL rules met while validating a set (for the summary line of synth and validate). */
export interface CelCounts {
  /** Rules evaluated on an object (true or false). */
  evaluated: number;
  /** Transition rules (reading oldSelf): they compare an update with the stored object, so not applicable to creation. */
  transitionRules: number;
  /** Rules that could not be evaluated: each is also a Warning. */
  notEvaluated: number;
  /**
   * Objects not checked against their schema and rules again: unchanged since they passed (the schema
   * cache), so their rules are in none of the counts above.
   */
  reused: number;
}

/** Everything one validation found. */
export interface ValidationReport {
  readonly violations: Violation[];
  readonly warnings: Warning[];
  readonly cel: CelCounts;
}

/** One file and the object it holds; a RenderedFile of lib/platform.ts fits. */
export interface ManifestFile {
  readonly path: string;
  readonly manifest: unknown;
  /**
   * The Argo CD Application that applies the object (a component's name), when known. Rendered chart
   * objects always carry it.
   */
  readonly application?: string;
  /** True for an object a Helm chart renders (not one this app writes). */
  readonly rendered?: boolean;
}

export interface ValidationOptions {
  /**
   * The namespace of an object that names none (Argo CD puts it in the Application's destination
   * namespace): a fixed namespace, or a function of the object's file path.
   * @default 'default'
   */
  readonly defaultNamespace?: string | ((file: string) => string | undefined);

  // ---- application-path ----
  /**
   * The repo path of the folder the files are relative to, e.g. 'gitops/lab/': an Application with
   * spec.source.path 'gitops/lab/harbor-certificate' must then have files under harbor-certificate/.
   * @default - paths are not checked
   */
  readonly repoPathPrefix?: string;
  /**
   * The repo URL the files belong to. Applications of other repos are not path-checked.
   * @default - every Application's path is checked against repoPathPrefix
   */
  readonly repoURL?: string;
  // ---- schema ----
  /**
   * Objects already found valid against this schema bundle, by `schemaCacheKey`: they are not checked
   * against their schema again. Only valid objects are ever added.
   * @default - every object is checked
   */
  readonly schemaCache?: SchemaCache;
  /**
   * The Kubernetes minor the objects are for, e.g. '1.31' (an environment's `cluster.kubernetesVersion`):
   * objects are checked against schemas/k8s-<minor>.json, so a kind or field that minor does not serve
   * is a violation. It must be one the bundle holds (supportedKubernetesVersions).
   * @default '1.28' - only when nothing passes a version; every environment names its own
   */
  readonly kubernetesVersion?: string;
  /**
   * The CRD files of schemas/crds.json that custom resources whose CRD is not in the set are checked
   * against: those of the chart versions the environment runs (lib/validate-platform.ts `crdFilesOf`).
   * @default the files of each chart's default version (crds.json `defaults`)
   */
  readonly crdFiles?: readonly string[];
  // ---- project-destination, crd-order, managed-control-plane ----
  /**
   * The namespaces each Application (by name) may write into: its destination and the namespaces its
   * component declares. A rendered object elsewhere is a violation even when the project allows it.
   * @default - only the AppProject's destinations are checked
   */
  readonly applicationNamespaces?: ReadonlyMap<string, readonly string[]>;
  /**
   * Whether an apiVersion/kind is served by Kubernetes itself (not a custom resource).
   * @default - every kind is taken for a custom resource by crd-order
   */
  readonly isBuiltIn?: (apiVersion: string, kind: string) => boolean;
  /**
   * Whether the provider runs the control plane out of the cluster's reach (AKS): its scheduler,
   * controller manager and etcd cannot be scraped.
   * @default false
   */
  readonly managedControlPlane?: boolean;

  // ---- config-reference, monitor-target ----
  /**
   * Secrets and ConfigMaps that a controller creates at run time (a webhook's certificate, Istio's root
   * certificate in every namespace), which workloads may read although no manifest declares them.
   * @default - none
   */
  readonly runtimeObjects?: readonly RuntimeObject[];
  /**
   * Pods the cluster runs outside every Application (the provider's CoreDNS), which monitors may select.
   * @default - none
   */
  readonly clusterPods?: readonly ClusterPod[];

  // ---- unread-value, render-stable ----
  /**
   * The chart archive (.tgz) of an Application's Helm source, e.g. the vendored copy; undefined skips it.
   * @default - values are not checked against their chart
   */
  readonly chartArchive?: (source: { readonly repoURL: string; readonly chart: string; readonly version: string }) => string | undefined;
  /**
   * Per Application, the objects (`Kind namespace/name`) its chart renders differently on every render.
   * @default - none known
   */
  readonly unstableObjects?: ReadonlyMap<string, readonly string[]>;
  /**
   * `group/Kind`s whose CRDs exist before anything is applied, installed by no file checked here (the
   * Argo CD of a hub that deploys the environment: Application, AppProject).
   * @default - none
   */
  readonly preinstalledKinds?: readonly string[];
}


/** A set of keys of objects that passed the schema check; see `ValidationOptions.schemaCache`. */
export interface SchemaCache {
  has(key: string): boolean;
  add(key: string): void;
  /**
   * Whether the objects validated may be changed in place between validations (the tests' cache does:
   * tests edit an object and validate it again). Keys are then digests of each object as it is now, not
   * of the JSON text remembered from its first check (jsonOf), which is faster but would not see the edit.
   */
  readonly objectsMayChange?: boolean;
}
