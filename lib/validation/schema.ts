// Validation of each object against its schema: the API definitions of the cluster's Kubernetes minor
// (schemas/k8s-<minor>.json, 1.28 to 1.36), or the openAPIV3Schema of its CRD (schemas/crds.json), from
// the bundle that scripts/gen-schemas.js writes into schemas/. A SchemaRegistry serves one minor and one
// set of CRD files: crds.json holds the CRDs of every chart version versions.yaml lists, one file per
// version, and an environment is checked against the files of the versions it runs (Istio 1.30.3's
// istio-1.30.crds.yaml instead of 1.24.2's istio.crds.yaml).
//
// Strict about unknown fields, as `kubectl apply --validate=strict` is: an object schema (type object,
// or with properties) rejects fields it does not declare, unless it declares additionalProperties or
// x-kubernetes-preserve-unknown-fields. Value-validation branches (anyOf/oneOf/allOf/not) are not made
// strict: structural schemas repeat their properties outside them. Also:
// - x-kubernetes-int-or-string (and format int-or-string): an integer or a string;
// - x-kubernetes-embedded-resource: apiVersion, kind and metadata (an ObjectMeta) are allowed;
// - nullable: null is allowed;
// - a CRD object's metadata is validated as the Kubernetes ObjectMeta, as the API server does.
// CEL rules (x-kubernetes-validations) are evaluated by ./cel.ts, not here. Not checked: list-map key uniqueness.
//
// Each schema is compiled once, on first use, and cached for the process; the bundle is read once.
import { distance } from 'fastest-levenshtein';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

type Schema = Record<string, unknown>;

interface K8sBundle {
  readonly kinds: Record<string, string>;
  readonly definitions: Record<string, Schema>;
}

interface CrdEntry {
  readonly crd: string;
  readonly scope: 'Namespaced' | 'Cluster';
  readonly schema?: Schema;
  /** The bundle key (`<file> <apiVersion>/<kind>`) of the entry holding the same schema. */
  readonly sameAs?: string;
}

interface CrdBundle {
  /** `<file> <apiVersion>/<kind>` -> the CRD version's schema. */
  readonly kinds: Record<string, CrdEntry>;
  /** Each file -> the chart and version it holds the CRDs of: `istio-base 1.30.3`. */
  readonly versions: Record<string, string>;
  /** The files of each chart's default version. */
  readonly defaults: readonly string[];
}

/** One schema error, ready to be turned into a Violation. */
export interface SchemaProblem {
  readonly field: string;
  readonly message: string;
  readonly fix: string;
}

const K8S_ID = 'k8s';
const OBJECT_META = `${K8S_ID}#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`;
/** The bundle of one Kubernetes minor: `k8s-1.31.json`. */
const k8sFile = (kubernetesVersion: string) => `k8s-${kubernetesVersion}.json`;
const K8S_FILE_PATTERN = /^k8s-(\d+\.\d+)\.json$/;
const CRD_FILE = 'crds.json';
/** At most this many schema problems are reported per object; the rest are summarized. */
const MAX_PROBLEMS = 25;

/**
 * The built-in kinds that are cluster-scoped, as `group/Kind` (the core group is ''), in every minor from
 * 1.28 to 1.36; every other built-in kind is namespaced. The definitions do not say; this follows each
 * API's registration (`+genclient:nonNamespaced`). A kind keeps its scope from one version to the next, so
 * one list serves every minor (a kind a minor does not serve has no schema there anyway);
 * test/validation/schema.spec.ts checks that every kind of every bundled minor is classified.
 */
const CLUSTER_SCOPED_K8S = new Set([
  '/ComponentStatus', '/Namespace', '/Node', '/PersistentVolume',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration', 'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  // ValidatingAdmissionPolicy: beta in 1.28, GA (v1) in 1.30; MutatingAdmissionPolicy: alpha in 1.32, GA in 1.36.
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy', 'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
  'admissionregistration.k8s.io/MutatingAdmissionPolicy', 'admissionregistration.k8s.io/MutatingAdmissionPolicyBinding',
  'apiextensions.k8s.io/CustomResourceDefinition',
  'apiregistration.k8s.io/APIService',
  'authentication.k8s.io/SelfSubjectReview', 'authentication.k8s.io/TokenReview',
  'authorization.k8s.io/SelfSubjectAccessReview', 'authorization.k8s.io/SelfSubjectRulesReview', 'authorization.k8s.io/SubjectAccessReview',
  // ClusterTrustBundle: alpha in 1.27, beta in 1.33.
  'certificates.k8s.io/CertificateSigningRequest', 'certificates.k8s.io/ClusterTrustBundle',
  'flowcontrol.apiserver.k8s.io/FlowSchema', 'flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration',
  'internal.apiserver.k8s.io/StorageVersion',
  // ClusterCIDR: alpha up to 1.28; IPAddress: alpha from 1.27, GA in 1.33; ServiceCIDR: alpha from 1.29, GA in 1.33.
  'networking.k8s.io/ClusterCIDR', 'networking.k8s.io/IngressClass', 'networking.k8s.io/IPAddress', 'networking.k8s.io/ServiceCIDR',
  'node.k8s.io/RuntimeClass',
  'rbac.authorization.k8s.io/ClusterRole', 'rbac.authorization.k8s.io/ClusterRoleBinding',
  // Dynamic resource allocation: ResourceClass (v1alpha2, up to 1.30), ResourceSlice (from 1.30), DeviceClass
  // (from 1.31, GA in 1.34), DeviceTaintRule (from 1.33), ResourcePoolStatusRequest (from 1.36).
  'resource.k8s.io/DeviceClass', 'resource.k8s.io/DeviceTaintRule', 'resource.k8s.io/ResourceClass',
  'resource.k8s.io/ResourcePoolStatusRequest', 'resource.k8s.io/ResourceSlice',
  'scheduling.k8s.io/PriorityClass',
  // VolumeAttributesClass: alpha in 1.29, beta in 1.31, GA in 1.34.
  'storage.k8s.io/CSIDriver', 'storage.k8s.io/CSINode', 'storage.k8s.io/StorageClass', 'storage.k8s.io/VolumeAttachment',
  'storage.k8s.io/VolumeAttributesClass',
  // StorageVersionMigration: alpha in 1.30, beta in 1.35.
  'storagemigration.k8s.io/StorageVersionMigration',
]);

/** The group of an apiVersion: `apps/v1` -> `apps`, `v1` -> ''. */
function groupOfApiVersion(apiVersion: string): string {
  const i = apiVersion.lastIndexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/** Finds schemas/ from this file, whether run from lib/validation/ (ts-jest, tsc) or bundled into dist/. */
export function defaultSchemaDir(): string {
  const starts = [__dirname, process.cwd()];
  for (const start of starts) {
    for (let dir = start, i = 0; i < 5; i++, dir = path.dirname(dir)) {
      const candidate = path.join(dir, 'schemas');
      if (fs.existsSync(path.join(candidate, CRD_FILE))) return candidate;
    }
  }
  throw new Error(`schema bundle not found: no schemas/${CRD_FILE} above ${starts.join(' or ')}; run node scripts/gen-schemas.js`);
}

/** The Kubernetes minors the bundle in `dir` has schemas for, oldest first: ['1.28', ..., '1.36']. */
export function supportedKubernetesVersions(dir: string = defaultSchemaDir()): string[] {
  const minors = fs.readdirSync(dir).flatMap((f) => K8S_FILE_PATTERN.exec(f)?.[1] ?? []);
  const parts = (v: string) => v.split('.').map(Number);
  return minors.sort((a, b) => parts(a)[0] - parts(b)[0] || parts(a)[1] - parts(b)[1]);
}

/** The path of a minor's bundle; throws, naming the minors there are, when `dir` has none for it. */
function k8sBundlePath(kubernetesVersion: string, dir: string): string {
  if (!/^\d+\.\d+$/.test(kubernetesVersion)) {
    throw new Error(`Kubernetes version ${JSON.stringify(kubernetesVersion)} is not a minor version such as "1.31"`);
  }
  const file = path.join(dir, k8sFile(kubernetesVersion));
  if (fs.existsSync(file)) return file;
  const have = supportedKubernetesVersions(dir);
  throw new Error(`no schema bundle for Kubernetes ${kubernetesVersion} in ${dir} (it has ${have.length > 0 ? have.join(', ') : 'none'}): ` +
    'for another minor, add its definitions to the input of scripts/gen-schemas.js and rerun it');
}

const servedCache = new Map<string, readonly string[]>();

/**
 * Beta APIs a cluster serves without being told to. Since Kubernetes 1.24 a new beta API is off by default
 * (KEP-3136); these few predate that rule or were exempted (SelfSubjectReview, API priority and fairness).
 */
const DEFAULT_ON_BETAS = new Set(['authentication.k8s.io/v1beta1', 'flowcontrol.apiserver.k8s.io/v1beta2', 'flowcontrol.apiserver.k8s.io/v1beta3']);

/**
 * Whether a cluster serves a built-in group/version as installed (AKS, kubeadm): GA versions and the
 * default-on betas; alpha versions and newer betas need a feature gate and a runtime-config flag first.
 */
export function servedByDefault(groupVersion: string): boolean {
  const version = groupVersion.slice(groupVersion.lastIndexOf('/') + 1);
  if (/^v\d+alpha\d+$/.test(version)) return false;
  if (/^v\d+beta\d+$/.test(version)) return DEFAULT_ON_BETAS.has(groupVersion);
  return true;
}

/**
 * What a Kubernetes minor serves by default, for Helm's `--api-versions` (which takes both forms), sorted:
 * every built-in `group/version` (the core group's as `v1`) and every `group/version/Kind` (`v1/Service`,
 * `apps/v1/Deployment`), from the kinds of schemas/k8s-<minor>.json. List kinds (`v1/PodList`) are left
 * out: they are not resources, and a cluster's discovery does not list them. CRDs are not included. The
 * definitions hold every API of the release; alpha APIs and new betas, which a cluster serves only when
 * they are enabled, are left out (`servedByDefault`), as Argo CD passes only what discovery reports.
 */
export function servedApiVersions(kubernetesVersion: string, dir: string = defaultSchemaDir()): string[] {
  const file = k8sBundlePath(kubernetesVersion, dir);
  let served = servedCache.get(file);
  if (!served) {
    const kinds = Object.keys((JSON.parse(fs.readFileSync(file, 'utf8')) as K8sBundle).kinds);
    const all = new Set(kinds);
    const out = new Set<string>();
    for (const key of kinds) {
      if (key.endsWith('List') && all.has(key.slice(0, -'List'.length))) continue;
      if (!servedByDefault(key.slice(0, key.lastIndexOf('/')))) continue;
      out.add(key);
      out.add(key.slice(0, key.lastIndexOf('/')));
    }
    servedCache.set(file, (served = [...out].sort()));
  }
  return [...served];
}

/**
 * How strictify treats subtrees, for the lean validators: `ref` replaces a $ref node; `split` may
 * replace the schema of a property (returning undefined keeps it inline).
 */
interface Hooks {
  readonly ref: (ref: string) => unknown;
  readonly split: (sub: unknown, inBranch: boolean, at: string) => unknown;
}

/** Makes an object schema reject undeclared fields, recursively; see the header comment. */
/**
 * A Go RE2 pattern as JavaScript can compile it. RE2's `(?i)` has no JavaScript inline form: every letter
 * outside a character class is folded into a class of both cases instead.
 */
export function jsPattern(pattern: string): string {
  if (!pattern.includes('(?i)')) return pattern;
  let out = '';
  let inClass = false;
  const src = pattern.split('(?i)').join('');
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') { out += c + (src[i + 1] ?? ''); i++; continue; }
    if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    out += !inClass && /[a-z]/i.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c;
  }
  return out;
}

export function strictify(node: unknown, inBranch: boolean, hooks?: Hooks, at = ''): unknown {
  if (Array.isArray(node)) return node.map((n, i) => strictify(n, inBranch, hooks, `${at}/${i}`));
  if (node === null || typeof node !== 'object') return node;
  const src = node as Schema;
  if (hooks && typeof src.$ref === 'string') return hooks.ref(src.$ref);
  const out: Schema = {};
  for (const [key, value] of Object.entries(src)) {
    switch (key) {
      case 'properties': {
        const props: Schema = {};
        for (const [name, sub] of Object.entries(value as Schema)) {
          const where = `${at}/${name}`;
          props[name] = hooks?.split(sub, inBranch, where) ?? strictify(sub, inBranch, hooks, where);
        }
        out.properties = props;
        break;
      }
      case 'items': case 'additionalProperties':
        out[key] = typeof value === 'object' ? strictify(value, inBranch, hooks, `${at}/${key}`) : value;
        break;
      case 'anyOf': case 'oneOf': case 'allOf': case 'not':
        out[key] = strictify(value, true, hooks, `${at}/${key}`);
        break;
      case 'definitions': {
        // Shared subtrees of a CRD schema (see scripts/gen-schemas.js): all from structural positions.
        // (The lean validators take them as units of their own instead.)
        if (hooks) break;
        const defs: Schema = {};
        for (const [name, sub] of Object.entries(value as Schema)) defs[name] = strictify(sub, false);
        out.definitions = defs;
        break;
      }
      case 'nullable':
      // Kept in CRD schemas for ./cel.ts; nothing for ajv.
      case 'x-kubernetes-validations': case 'default': case 'x-kubernetes-list-type': case 'x-kubernetes-list-map-keys': case 'x-kubernetes-map-type':
        break;
      case 'pattern':
        out.pattern = typeof value === 'string' ? jsPattern(value) : value;
        break;
      default:
        out[key] = value;
    }
  }
  if ((src['x-kubernetes-int-or-string'] === true || src.format === 'int-or-string') && !out.anyOf && !out.oneOf) {
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
    delete out.type;
    delete out.format;
  }
  if (src['x-kubernetes-embedded-resource'] === true) {
    // As at a CRD's root, the API server validates an embedded object's metadata as an ObjectMeta.
    const meta = { $ref: OBJECT_META };
    out.properties = {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      ...(out.properties as Schema | undefined),
      metadata: hooks ? hooks.ref(meta.$ref) : meta,
    };
  }
  if (src.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
    if (Array.isArray(out.anyOf)) out.anyOf = [...out.anyOf, { type: 'null' }];
  }
  const isObject = out.type === 'object' || (out.type === undefined && out.properties !== undefined);
  if (!inBranch && isObject && out.additionalProperties === undefined && src['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

/** Whether a schema has more than `limit` nodes; stops counting there. */
function hasMoreNodes(node: unknown, limit: number): boolean {
  let count = 0;
  const walk = (n: unknown): boolean => {
    if (Array.isArray(n)) return n.some(walk);
    if (n === null || typeof n !== 'object') return false;
    if (++count > limit) return true;
    const s = n as Schema;
    if (s.properties && Object.values(s.properties as Schema).some(walk)) return true;
    return ['items', 'additionalProperties', 'anyOf', 'oneOf', 'allOf', 'not'].some((k) => typeof s[k] === 'object' && walk(s[k]));
  };
  return walk(node);
}

/** The key of a kind in the bundle: `apps/v1/Deployment`, `v1/Service`. */
export function kindKey(apiVersion: string, kind: string): string {
  return `${apiVersion}/${kind}`;
}

/**
 * The keyword of a lazy compile unit in the lean validators: `{ "x-lazy-unit": id }` validates the data
 * against unit `id`, compiling it on first use. The lean schemas have no $ref: each $ref, and each
 * property schema with more than UNIT_MIN_NODES nodes, becomes a unit; so only the parts of a schema
 * that objects actually use are made strict and compiled (a ClusterSecretStore compiles the one
 * provider it configures, not all thirty; a Deployment, the pod fields it sets).
 */
const LAZY = 'x-lazy-unit';
const UNIT_MIN_NODES = 3;

/** A unit: a schema in the bundle's form, made strict and compiled on first use. */
interface Unit {
  readonly raw: unknown;
  readonly inBranch: boolean;
  /** Where its `#/definitions/x` refs point: K8S_ID, or the key of a CRD version. */
  readonly scope: string;
}

/** A kind's validators: a lean one for the common case, a detailed one compiled only for objects that fail. */
interface Compiled {
  /** The kind's schema in the bundle's form (with $refs), for the detailed validator. */
  readonly raw: Schema;
  readonly fast: ValidateFunction;
  detailed?: ValidateFunction;
}

function newAjv(detailed: boolean): Ajv {
  const ajv = new Ajv({
    strict: false,
    // The lean validator stops at the first error; the detailed one collects them all, with the
    // failing schema and data, for the messages.
    allErrors: detailed,
    verbose: detailed,
    messages: false,
    logger: false,
    validateSchema: false,
    addUsedSchema: false,
    // The optimizer makes compiling big schemas several times slower and validation barely faster.
    code: { optimize: false },
    // Shared subtrees are compiled once each, not inlined at every use.
    inlineRefs: false,
  });
  addFormats(ajv, ['date-time', 'int32', 'int64', 'float', 'double', 'byte', 'binary']);
  return ajv;
}

export class SchemaRegistry {
  private readonly k8s: K8sBundle;
  private readonly crds: CrdBundle;
  /** apiVersion/kind -> its bundle key, for the kinds of the CRD files this registry serves. */
  private readonly crdKeys = new Map<string, string>();
  /** The CRD files of crds.json this registry checks custom resources against. */
  public readonly crdFiles: readonly string[];
  private readonly fastAjv = newAjv(false);
  private detailedAjv?: Ajv;
  private readonly cache = new Map<string, Compiled | undefined>();
  private readonly adHoc = new WeakMap<object, Compiled>();
  private readonly units = new Map<string, Unit>();
  private readonly unitFns = new Map<string, ValidateFunction>();
  private adHocCount = 0;
  /**
   * A digest of the Kubernetes minor and of the bundle's content: a schema cache is valid only for the
   * version and bundle it was made with.
   */
  public readonly fingerprint: string;

  /**
   * @param kubernetesVersion the Kubernetes minor to validate against, e.g. '1.31': schemas/k8s-1.31.json
   *   (see supportedKubernetesVersions)
   * @param dir where scripts/gen-schemas.js wrote the bundle
   * @param crdFiles the CRD files of crds.json to check custom resources against: those of the chart
   *   versions the environment runs (lib/validate-platform.ts `crdFilesOf`)
   *   @default the files of every chart's default version
   */
  constructor(public readonly kubernetesVersion: string, dir: string = defaultSchemaDir(), crdFiles?: readonly string[]) {
    const k8sText = fs.readFileSync(k8sBundlePath(kubernetesVersion, dir), 'utf8');
    const crdText = fs.readFileSync(path.join(dir, CRD_FILE), 'utf8');
    this.k8s = JSON.parse(k8sText) as K8sBundle;
    this.crds = JSON.parse(crdText) as CrdBundle;
    this.crdFiles = [...(crdFiles ?? this.crds.defaults)].sort();
    const unknown = this.crdFiles.filter((f) => !(f in this.crds.versions));
    if (unknown.length > 0) {
      throw new Error(`schemas/${CRD_FILE} holds no CRD file ${unknown.join(', ')} (it holds ${Object.keys(this.crds.versions).join(', ')}); ` +
        'list the chart version with its crds in versions.yaml and run npm run gen:schemas');
    }
    const selected = new Set(this.crdFiles);
    for (const key of Object.keys(this.crds.kinds)) {
      const space = key.indexOf(' ');
      if (selected.has(key.slice(0, space))) this.crdKeys.set(key.slice(space + 1), key);
    }
    this.fingerprint = createHash('sha1').update(`kubernetes ${kubernetesVersion}\0${this.crdFiles.join(',')}\0`).update(k8sText).update('\0').update(crdText).digest('base64url');
    this.fastAjv.addKeyword({
      keyword: LAZY,
      schemaType: 'string',
      errors: false,
      compile: (id: string) => {
        let fn: ValidateFunction | undefined;
        return (data: unknown) => (fn ??= this.unit(id))(data) as boolean;
      },
    });
  }

  /**
   * The bundled CRD of an apiVersion/kind: its name and the version's schema (openAPIV3Schema in the
   * bundle's form, its CEL rules included); undefined for a Kubernetes kind or an unknown one.
   */
  public crdSchema(apiVersion: string, kind: string): { readonly crd: string; readonly schema: Schema } | undefined {
    const key = this.crdKeys.get(kindKey(apiVersion, kind));
    let entry = key === undefined ? undefined : this.crds.kinds[key];
    const crd = entry?.crd;
    if (entry?.sameAs) entry = this.crds.kinds[entry.sameAs];
    return entry?.schema && crd ? { crd, schema: entry.schema } : undefined;
  }

  /** Whether a schema for this apiVersion/kind is bundled. */
  public has(apiVersion: string, kind: string): boolean {
    const key = kindKey(apiVersion, kind);
    return key in this.k8s.kinds || this.crdKeys.has(key);
  }

  /** Whether the kind is cluster-scoped (CRD scope, or the list of Kubernetes cluster-scoped kinds). */
  public isClusterScoped(apiVersion: string, kind: string): boolean {
    const crd = this.crdEntry(kindKey(apiVersion, kind));
    if (crd) return crd.scope === 'Cluster';
    return CLUSTER_SCOPED_K8S.has(`${groupOfApiVersion(apiVersion)}/${kind}`);
  }

  /** Whether apiVersion/kind is a Kubernetes kind of this minor (at any version, served or not). */
  public isKubernetesKind(apiVersion: string, kind: string): boolean {
    return kindKey(apiVersion, kind) in this.k8s.kinds;
  }

  /** The bundled apiVersions of a kind, e.g. for `Gateway`: networking.istio.io/v1, ... */
  public apiVersionsOf(kind: string): string[] {
    const out: string[] = [];
    for (const key of [...Object.keys(this.k8s.kinds), ...this.crdKeys.keys()]) {
      const i = key.lastIndexOf('/');
      if (key.slice(i + 1) === kind) out.push(key.slice(0, i));
    }
    return out.sort();
  }

  /**
   * Validates an object against the bundled schema of its apiVersion/kind: [] when it is valid,
   * undefined when no schema is bundled.
   */
  public check(apiVersion: string, kind: string, manifest: unknown): SchemaProblem[] | undefined {
    const key = kindKey(apiVersion, kind);
    if (!this.cache.has(key)) this.cache.set(key, this.compileKind(key));
    const compiled = this.cache.get(key);
    return compiled ? this.run(compiled, manifest) : undefined;
  }

  /** Validates an object against a CRD version's openAPIV3Schema (e.g. of a CRD in the object set). */
  public checkAgainst(openAPIV3Schema: Schema, manifest: unknown): SchemaProblem[] {
    let compiled = this.adHoc.get(openAPIV3Schema);
    if (!compiled) this.adHoc.set(openAPIV3Schema, (compiled = this.compileCrd(openAPIV3Schema, `adhoc${++this.adHocCount}`)));
    return this.run(compiled, manifest);
  }

  private run(compiled: Compiled, manifest: unknown): SchemaProblem[] {
    if (compiled.fast(manifest)) return [];
    compiled.detailed ??= this.detailed().compile(strictify(compiled.raw, false) as Schema);
    const problems = compiled.detailed(manifest) ? [] : problemsOf(compiled.detailed.errors ?? [], manifest);
    // The two validators come from one schema; should they ever disagree, the object still fails.
    return problems.length > 0 ? problems : [{ field: '', message: 'fails its schema', fix: 'compare the object with its schema' }];
  }

  private compileKind(key: string): Compiled | undefined {
    const def = this.k8s.kinds[key];
    if (def) return { raw: { $ref: `${K8S_ID}#/definitions/${def}` }, fast: this.unit(`${K8S_ID}:${def}`) };
    let bundleKey = this.crdKeys.get(key);
    if (bundleKey && this.crds.kinds[bundleKey].sameAs) bundleKey = this.crds.kinds[bundleKey].sameAs!;
    const schema = bundleKey ? this.crds.kinds[bundleKey]?.schema : undefined;
    // Units are named after the entry that holds the schema: kinds of two files with one schema share them.
    return schema ? this.compileCrd(schema, bundleKey!) : undefined;
  }

  /** The bundle entry of a CRD kind among this registry's files. */
  private crdEntry(key: string): CrdEntry | undefined {
    const bundleKey = this.crdKeys.get(key);
    return bundleKey ? this.crds.kinds[bundleKey] : undefined;
  }

  /** A CRD version's validators; its units are named after `prefix`. */
  private compileCrd(openAPIV3Schema: Schema, prefix: string): Compiled {
    const raw = crdRoot(openAPIV3Schema);
    const { definitions, ...rest } = raw;
    for (const [name, def] of Object.entries((definitions ?? {}) as Schema)) {
      this.units.set(`${prefix}#${name}`, { raw: def, inBranch: false, scope: prefix });
    }
    this.units.set(prefix, { raw: rest, inBranch: false, scope: prefix });
    return { raw, fast: this.unit(prefix) };
  }

  /** The lean validator of a unit, compiled on first use. */
  private unit(id: string): ValidateFunction {
    let fn = this.unitFns.get(id);
    if (fn) return fn;
    let unit = this.units.get(id);
    if (!unit && id.startsWith(`${K8S_ID}:`)) {
      const raw = this.k8s.definitions[id.slice(K8S_ID.length + 1)];
      if (raw) this.units.set(id, (unit = { raw, inBranch: false, scope: K8S_ID }));
    }
    if (!unit) throw new Error(`schema bundle: no schema unit ${id}`);
    const { scope } = unit;
    const hooks: Hooks = {
      ref: (ref) => {
        const k8sRef = `${K8S_ID}#/definitions/`;
        const localRef = '#/definitions/';
        if (ref.startsWith(k8sRef)) return { [LAZY]: `${K8S_ID}:${ref.slice(k8sRef.length)}` };
        if (ref.startsWith(localRef)) return { [LAZY]: `${scope}${scope === K8S_ID ? ':' : '#'}${ref.slice(localRef.length)}` };
        throw new Error(`schema bundle: unsupported $ref ${ref}`);
      },
      split: (sub, inBranch, at) => {
        if (!hasMoreNodes(sub, UNIT_MIN_NODES)) return undefined;
        const subId = `${id}${at}`;
        this.units.set(subId, { raw: sub, inBranch, scope });
        return { [LAZY]: subId };
      },
    };
    fn = this.fastAjv.compile(strictify(unit.raw, unit.inBranch, hooks) as Schema);
    this.unitFns.set(id, fn);
    return fn;
  }

  private detailed(): Ajv {
    if (!this.detailedAjv) {
      // Every schema may refer to the Kubernetes definitions (a CRD's metadata is an ObjectMeta).
      this.detailedAjv = newAjv(true);
      const definitions: Schema = {};
      for (const [name, def] of Object.entries(this.k8s.definitions)) definitions[name] = strictify(def, false);
      this.detailedAjv.addSchema({ $id: K8S_ID, definitions });
    }
    return this.detailedAjv;
  }
}

/** The schema of a CRD object in the bundle's form: with the API server's apiVersion, kind and metadata. */
function crdRoot(openAPIV3Schema: Schema): Schema {
  return {
    ...openAPIV3Schema,
    type: 'object',
    properties: {
      ...(openAPIV3Schema.properties as Schema | undefined),
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { $ref: OBJECT_META },
      // The bundle drops the status schema: the controller writes status, and the API server ignores it
      // on apply; so it is not checked.
      status: {},
    },
  };
}

// ---- From ajv errors to readable problems ----

/** `/spec/rules/0/http` -> `spec.rules[0].http`; keys that are not identifiers are quoted: `data["a.yaml"]`. */
export function fieldPath(parts: readonly (string | number)[]): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

function pointerParts(pointer: string, data: unknown): (string | number)[] {
  if (pointer === '') return [];
  const parts: (string | number)[] = [];
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur) && /^\d+$/.test(key)) {
      parts.push(Number(key));
      cur = cur[Number(key)];
    } else {
      parts.push(key);
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[key] : undefined;
    }
  }
  return parts;
}

/** The declared name closest to `name`, if close enough to be a likely misspelling. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const exactCase = candidates.find((c) => c.toLowerCase() === lower);
  if (exactCase) return exactCase;
  // One contains the other: `agents` for `http-agents`.
  const containing = candidates
    .filter((c) => Math.min(c.length, name.length) >= 3 && (c.toLowerCase().includes(lower) || lower.includes(c.toLowerCase())))
    .sort((a, b) => Math.abs(a.length - name.length) - Math.abs(b.length - name.length));
  if (containing.length > 0) return containing[0];
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const c of candidates) {
    const d = distance(lower, c.toLowerCase());
    if (d < bestDistance) { best = c; bestDistance = d; }
  }
  return best;
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping', array: 'a list', string: 'a string', integer: 'an integer', number: 'a number', boolean: 'a boolean', null: 'null',
};

function describeType(schema: Schema | undefined): string {
  if (!schema) return 'a valid value';
  if (schema.type === undefined && Array.isArray(schema.enum)) return `one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  const types = (Array.isArray(schema.type) ? schema.type : [schema.type]).filter((t): t is string => typeof t === 'string');
  return types.length > 0 ? types.map((t) => TYPE_NAMES[t] ?? t).join(' or ') : 'a valid value';
}

function showValue(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** The message of a length, size or range keyword (ajv's own messages are turned off: they cost compile time). */
function limitMessage(e: ErrorObject): string {
  const n = e.params.limit as number | undefined;
  switch (e.keyword) {
    case 'minLength': return `is shorter than ${n} characters`;
    case 'maxLength': return `is longer than ${n} characters`;
    case 'minItems': return `has fewer than ${n} items`;
    case 'maxItems': return `has more than ${n} items`;
    case 'minProperties': return `has fewer than ${n} fields`;
    case 'maxProperties': return `has more than ${n} fields`;
    case 'minimum': case 'exclusiveMinimum': case 'maximum': case 'exclusiveMaximum':
      return `must be ${String(e.params.comparison)} ${n}`;
    case 'multipleOf': return `must be a multiple of ${String(e.params.multipleOf)}`;
    case 'uniqueItems': return `has duplicate items (${String(e.params.j)} and ${String(e.params.i)})`;
    case 'not': return 'has a form that is not allowed here';
    default: return `fails the schema's "${e.keyword}" rule`;
  }
}

/** The branches of a failed anyOf/oneOf, described for a person. */
function describeBranches(branches: Schema[]): string {
  const parts = branches.map((b) => {
    if (Array.isArray(b.required) && b.required.length > 0) return `with ${(b.required as string[]).join(' + ')}`;
    if (b.not && typeof b.not === 'object') return 'without the fields of the other forms';
    return describeType(b);
  });
  return [...new Set(parts)].join(' or ');
}

/**
 * Turns ajv's errors into problems. The errors a failed anyOf/oneOf collects from its branches are
 * folded into one problem for the anyOf/oneOf.
 */
export function problemsOf(errors: readonly ErrorObject[], data: unknown): SchemaProblem[] {
  // Branch errors come right before their anyOf/oneOf error, at or under its instancePath, and their
  // schemaPath extends its schemaPath.
  const kept: ErrorObject[] = [];
  for (const e of errors) {
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf') {
      const prefix = `${e.schemaPath}/`;
      while (kept.length > 0) {
        const last = kept[kept.length - 1];
        const under = last.instancePath === e.instancePath || last.instancePath.startsWith(`${e.instancePath}/`);
        if (under && last.schemaPath.startsWith(prefix)) kept.pop();
        else break;
      }
    }
    kept.push(e);
  }

  const seen = new Set<string>();
  const problems: SchemaProblem[] = [];
  for (const e of kept) {
    const parts = pointerParts(e.instancePath, data);
    const at = fieldPath(parts);
    let p: SchemaProblem;
    switch (e.keyword) {
      case 'additionalProperties': {
        const name = String(e.params.additionalProperty);
        const parent = e.parentSchema as Schema | undefined;
        const allowed = Object.keys((parent?.properties as Schema | undefined) ?? {});
        const guess = closest(name, allowed);
        const list = allowed.length === 0 ? 'this field takes no sub-fields' :
          `the fields allowed here are: ${allowed.slice(0, 20).join(', ')}${allowed.length > 20 ? ', ...' : ''}`;
        p = {
          field: fieldPath([...parts, name]),
          message: `unknown field "${name}"${at ? ` in ${at}` : ''}; the API server would drop it or reject the object`,
          fix: guess ? `rename it to "${guess}" if that is what you meant, or remove it (${list})` : `remove it or move it to where it belongs (${list})`,
        };
        break;
      }
      case 'required': {
        const name = String(e.params.missingProperty);
        p = { field: fieldPath([...parts, name]), message: `required field "${name}" is missing`, fix: `set ${fieldPath([...parts, name])}` };
        break;
      }
      case 'type':
        p = {
          field: at,
          message: `must be ${describeType(e.parentSchema as Schema)}, not ${showValue(e.data)}`,
          fix: `change the value to ${describeType(e.parentSchema as Schema)}`,
        };
        break;
      case 'enum': {
        const allowed = (e.params.allowedValues as unknown[]).map(showValue).join(', ');
        p = { field: at, message: `${showValue(e.data)} is not an allowed value`, fix: `use one of: ${allowed}` };
        break;
      }
      case 'const':
        p = { field: at, message: `${showValue(e.data)} is not the allowed value`, fix: `use ${showValue(e.params.allowedValue)}` };
        break;
      case 'pattern':
        p = { field: at, message: `${showValue(e.data)} does not match the pattern ${String(e.params.pattern)}`, fix: 'change the value so that it matches the pattern' };
        break;
      case 'format':
        p = { field: at, message: `${showValue(e.data)} is not a valid ${String(e.params.format)}`, fix: `give a valid ${String(e.params.format)} value` };
        break;
      case 'anyOf': case 'oneOf': {
        const branches = (e.schema as Schema[]) ?? [];
        const what = describeBranches(branches);
        p = e.keyword === 'oneOf' && branches.some((b) => b.not || b.required)
          ? { field: at, message: `sets fields that exclude each other, or none of the required ones (must be exactly one form: ${what})`, fix: 'keep exactly one of the alternative fields' }
          : { field: at, message: `${showValue(e.data)} must be ${what}`, fix: `change the value to ${what}` };
        break;
      }
      default:
        p = { field: at, message: `${showValue(e.data)} ${limitMessage(e)}`, fix: 'change the value to satisfy the schema' };
    }
    const key = `${p.field}\n${p.message}`;
    if (!seen.has(key)) { seen.add(key); problems.push(p); }
  }
  if (problems.length > MAX_PROBLEMS) {
    const rest = problems.length - MAX_PROBLEMS;
    problems.length = MAX_PROBLEMS;
    problems.push({ field: '', message: `and ${rest} more schema problems`, fix: 'fix the ones above and validate again' });
  }
  return problems;
}
