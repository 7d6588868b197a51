// The vocabulary of the validator: what it is given, what it reports, and the options of its rules.

/** The names of the checks. `schema` is per object; the others look across the whole object set. */
export const RULES = [
  'schema',
  'ingress-tls-certificate',
  'issuer-exists',
  'ingress-backend',
  'gateway-credential',
  'virtualservice-destination',
  'secret-reference',
  'datasource-uid',
  'podmonitor-selector',
  'application-path',
  'image-pinned',
  'no-secret-data',
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

/** One file and the object it holds; a RenderedFile of lib/platform.ts fits. */
export interface ManifestFile {
  readonly path: string;
  readonly manifest: unknown;
}

/** A Service that exists without being in the object set, e.g. one a Helm chart creates. */
export interface ExternalService {
  readonly namespace: string;
  readonly name: string;
  /**
   * Its ports. A backend that names a port must match one of them.
   * @default - any port is accepted
   */
  readonly ports?: readonly { readonly name?: string; readonly port: number }[];
}

/** A Secret that exists without a manifest in the set: created by a chart, a controller or by hand. */
export interface DeclaredSecret {
  readonly namespace: string;
  readonly name: string;
}

/** An issuer that exists without a manifest in the set. */
export interface KnownIssuer {
  readonly kind: 'ClusterIssuer' | 'Issuer';
  readonly name: string;
  /** Required for kind Issuer. */
  readonly namespace?: string;
}

/** The source of an Argo CD Application, as given to `ValidationOptions.resolveApplicationPath`. */
export interface ApplicationSourceRef {
  readonly repoURL?: string;
  readonly path: string;
  readonly targetRevision?: string;
}

export interface ValidationOptions {
  /**
   * Rules not to run.
   * @default - every rule runs
   */
  readonly disable?: readonly RuleName[];
  /**
   * The namespace of an object that names none (Argo CD puts it in the Application's destination
   * namespace): a fixed namespace, or a function of the object's file path.
   * @default 'default'
   */
  readonly defaultNamespace?: string | ((file: string) => string | undefined);

  // ---- ingress-tls-certificate, gateway-credential, secret-reference ----
  /** Secrets that exist without a manifest in the set (chart-created, controller-created, made by hand). */
  readonly declaredSecrets?: readonly DeclaredSecret[];

  // ---- issuer-exists ----
  /** Issuers that exist without a manifest in the set. */
  readonly knownIssuers?: readonly KnownIssuer[];

  // ---- ingress-backend, virtualservice-destination ----
  /** Services that exist without a manifest in the set, e.g. those a Helm chart creates. */
  readonly externalServices?: readonly ExternalService[];

  // ---- gateway-credential ----
  /**
   * The namespace where Istio's ingress gateway workload runs. Istio reads a Gateway's
   * tls.credentialName from the namespace of the gateway *workload*, not of the Gateway object, and
   * in this platform that workload runs in istio-system; so credentialName secrets are looked up there.
   * @default 'istio-system'
   */
  readonly gatewayCredentialNamespace?: string;

  // ---- datasource-uid ----
  /** Datasource uids that exist without a datasource ConfigMap, e.g. the chart's built-in `prometheus`. */
  readonly knownDatasourceUids?: readonly string[];

  // ---- podmonitor-selector ----
  /**
   * The labels Prometheus selects PodMonitors and ServiceMonitors by, e.g. { release: 'kube-prometheus-stack' }.
   * @default - the rule does nothing
   */
  readonly prometheusSelector?: Readonly<Record<string, string>>;

  // ---- application-path ----
  /**
   * The repo path of the folder the files are relative to, e.g. 'gitops/lab/': an Application with
   * spec.source.path 'gitops/lab/harbor-certificate' must then have files under harbor-certificate/.
   * @default - paths are not checked (unless resolveApplicationPath is given)
   */
  readonly repoPathPrefix?: string;
  /**
   * The repo URL the files belong to. Applications of other repos are not path-checked.
   * @default - every Application's path is checked against repoPathPrefix
   */
  readonly repoURL?: string;
  /**
   * Maps an Application source to the folder of the file set it must hold manifests in (relative, like
   * the file paths), or `undefined` to skip it (e.g. another repo). Takes precedence over repoPathPrefix.
   */
  readonly resolveApplicationPath?: (source: ApplicationSourceRef) => string | undefined;

  // ---- schema ----
  /**
   * Objects already found valid against this schema bundle, by `schemaCacheKey`: they are not checked
   * against their schema again. Only valid objects are ever added.
   * @default - every object is checked
   */
  readonly schemaCache?: SchemaCache;
  /**
   * Where scripts/gen-schemas.js wrote the schema bundle.
   * @default - the schemas/ folder of this repo
   */
  readonly schemaDir?: string;
}

/** A set of keys of objects that passed the schema check; see `ValidationOptions.schemaCache`. */
export interface SchemaCache {
  has(key: string): boolean;
  add(key: string): void;
}
