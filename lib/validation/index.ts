// Validates what we synthesize, before it is written: each object against its Kubernetes or CRD schema
// (strict about unknown fields), and the references between objects (TLS secrets, issuers, Services,
// secrets, datasource uids, monitor labels, Application paths) across the whole set. Pure: it reads
// nothing but the committed schema bundle (schemas/) and writes nothing.
import { Context, groupOf, isObject, Json, jsonOf, KObject, list, str } from './context';
import { applicationPath } from './rules-argocd';
import { datasourceUid } from './rules-observability';
import { destinationSubset, ingressBackend, virtualServiceDestination } from './rules-routing';
import { gatewayCredential, ingressTlsCertificate, issuerExists } from './rules-tls';
import { imagePinned, portRange } from './rules-workloads';
import { serviceReference } from './rules-wiring';
import { duplicateHost } from './rules-hosts';
import { gatewayListenerCertificate, routeBackend, routeParent } from './rules-gateway-api';
import { defaultCredentials, unreadValueRule } from './rules-values';
import { monitorTarget } from './rules-monitoring';
import { configReference } from './rules-config';
import { applySize, crdOrder, disruptionBudget, managedControlPlane, projectDestination, renderStable, singleOwner } from './rules-cluster';
import { defaultSchemaDir, fieldPath, kindKey, SchemaRegistry, servedByDefault } from './schema';
import { CelCounts, ManifestFile, RULES, RuleName, SchemaCache, ValidationOptions, ValidationReport, Violation } from './types';
import { CEL_EVALUATOR_VERSION, evaluateCelRules, reasonText } from './cel';
import { createHash } from 'crypto';
import { defaultSchemaCache } from './default-cache';

export * from './types';
export { setDefaultSchemaCache } from './default-cache';
export { SchemaRegistry, servedApiVersions, supportedKubernetesVersions } from './schema';

const registries = new Map<string, SchemaRegistry>();

/**
 * The schema registry of a bundle folder, Kubernetes minor and set of CRD files, loaded once per process
 * and combination: compiled schemas are reused across calls. The minor is '1.28' when none is given (see
 * ValidationOptions.kubernetesVersion); the CRD files those of the default chart versions (crdFiles).
 */
export function schemaRegistry(dir: string = defaultSchemaDir(), kubernetesVersion = '1.28', crdFiles?: readonly string[]): SchemaRegistry {
  const key = `${dir}\0${kubernetesVersion}\0${crdFiles ? [...crdFiles].sort().join(',') : ''}`;
  let r = registries.get(key);
  if (!r) registries.set(key, (r = new SchemaRegistry(kubernetesVersion, dir, crdFiles)));
  return r;
}

const CROSS_RULES: [RuleName, (ctx: Context, files: readonly string[]) => void][] = [
  ['ingress-tls-certificate', ingressTlsCertificate],
  ['issuer-exists', issuerExists],
  ['ingress-backend', ingressBackend],
  ['gateway-credential', gatewayCredential],
  ['virtualservice-destination', virtualServiceDestination],
  ['destination-subset', destinationSubset],
  ['datasource-uid', datasourceUid],
  ['application-path', applicationPath],
  ['image-pinned', imagePinned],
  ['project-destination', projectDestination],
  ['apply-size', applySize],
  ['single-owner', singleOwner],
  ['crd-order', crdOrder],
  ['disruption-budget', disruptionBudget],
  ['managed-control-plane', managedControlPlane],
  ['service-reference', serviceReference],
  ['monitor-target', monitorTarget],
  ['config-reference', configReference],
  ['default-credential', defaultCredentials],
  ['render-stable', renderStable],
  ['duplicate-host', duplicateHost],
  ['gateway-listener-certificate', gatewayListenerCertificate],
  ['route-parent', routeParent],
  ['route-backend', routeBackend],
  ['unread-value', (ctx) => { if (ctx.options.chartArchive) unreadValueRule(ctx.options.chartArchive)(ctx); }],
];

/**
 * The cache a validation uses: its own, the default one, or both (a key either knows passed; what passes is
 * added to both, and a key only the default knows is added to the validation's own, which saves it).
 */
function withDefaultCache(own: SchemaCache | undefined): SchemaCache | undefined {
  const fallback = defaultSchemaCache();
  if (!own || !fallback || own === fallback) return own ?? fallback;
  return {
    has: (key) => own.has(key) || (fallback.has(key) && (own.add(key), true)),
    add: (key) => {
      own.add(key);
      fallback.add(key);
    },
    objectsMayChange: own.objectsMayChange || fallback.objectsMayChange,
  };
}

/** Validates a set of manifests (e.g. lib/platform.ts's renderFiles output); returns every violation, [] if none. */
export function validateManifests(files: readonly ManifestFile[], options: ValidationOptions = {}): Violation[] {
  return validate(files, options).violations;
}

/**
 * Validates a set of manifests: every violation ([] if none), the warnings (what could not be checked,
 * e.g. a CEL rule this evaluator cannot run), and how many CEL rules were met.
 */
export function validate(files: readonly ManifestFile[], options: ValidationOptions = {}): ValidationReport {
  const registry = schemaRegistry(undefined, options.kubernetesVersion, options.crdFiles);
  const defaultNamespace = (file: string) =>
    (typeof options.defaultNamespace === 'function' ? options.defaultNamespace(file) : options.defaultNamespace) ?? 'default';

  // Kinds that a CRD in the set declares cluster-scoped.
  const setClusterKinds = new Set<string>();
  for (const f of files) {
    const m = f.manifest as Json;
    if (isObject(m) && m.kind === 'CustomResourceDefinition' && m.spec?.scope === 'Cluster') setClusterKinds.add(`${m.spec.group}/${m.spec.names?.kind}`);
  }
  const clusterScoped = (apiVersion: string, kind: string) =>
    setClusterKinds.has(`${groupOf(apiVersion)}/${kind}`) || registry.isClusterScoped(apiVersion, kind);

  const ctxViolations: Violation[] = [];
  const objects: KObject[] = [];
  for (const f of files) {
    const m = f.manifest as Json;
    if (!isObject(m) || !str(m.apiVersion) || !str(m.kind)) {
      ctxViolations.push({
        rule: 'schema', file: f.path, object: '(not a Kubernetes object)', field: '',
        message: 'has no apiVersion and kind, so it is not a Kubernetes object',
        fix: 'give it apiVersion, kind and metadata.name, or remove it from the output',
      });
      continue;
    }
    const name = str(m.metadata?.name) ?? '';
    const namespace = clusterScoped(m.apiVersion, m.kind) ? undefined : str(m.metadata?.namespace) ?? defaultNamespace(f.path);
    objects.push({
      file: f.path, manifest: m, apiVersion: m.apiVersion, kind: m.kind, group: groupOf(m.apiVersion), name, namespace,
      label: `${m.kind} ${namespace === undefined ? '' : `${namespace}/`}${name || '(no name)'}`,
      application: f.application, rendered: f.rendered,
    });
  }
  const ctx = new Context(objects, options);
  ctx.violations.push(...ctxViolations);

  const cel: CelCounts = { evaluated: 0, transitionRules: 0, notEvaluated: 0, reused: 0 };
  validateSchemas(ctx, registry, cel, withDefaultCache(options.schemaCache));
  portRange(ctx);
  const names = files.map((f) => f.path);
  for (const [, run] of CROSS_RULES) run(ctx, names);

  // A stable order: by file as given, then by rule.
  const fileOrder = new Map(files.map((f, i) => [f.path, i]));
  const ruleOrder = new Map(RULES.map((r, i) => [r, i]));
  const ordered = (vs: readonly Violation[]) => vs
    .map((v, i) => ({ v, i }))
    .sort((a, b) => (fileOrder.get(a.v.file)! - fileOrder.get(b.v.file)!) || (ruleOrder.get(a.v.rule)! - ruleOrder.get(b.v.rule)!) || a.i - b.i)
    .map(({ v }) => v);
  return { violations: ordered(ctx.violations), warnings: ordered(ctx.warnings), cel };
}

/**
 * The key of an object in a SchemaCache: a digest of the bundle's content, of the CEL evaluator's version
 * (the cache also vouches that the object's CEL rules hold) and of the object (as it is now when objects
 * may be edited in place after a validation, as tests do).
 */
export function schemaCacheKey(registry: SchemaRegistry, manifest: unknown, crdSchema = '', objectsMayChange = false): string {
  return createHash('sha1').update(registry.fingerprint).update(CEL_EVALUATOR_VERSION).update(crdSchema)
    .update(objectDigest(manifest as object, objectsMayChange)).digest('base64url');
}

const objectDigests = new WeakMap<object, string>();

/**
 * The digest of an object's JSON, computed once per object unless it may change: a frozen object (a chart's
 * render, shared by every platform built from it; lib/freeze.ts freezes all the way down) never does, whatever
 * the caller says.
 */
function objectDigest(o: object, mayChange: boolean): string {
  const remembered = !mayChange || Object.isFrozen(o);
  let digest = remembered ? objectDigests.get(o) : undefined;
  if (digest === undefined) {
    digest = createHash('sha1').update(mayChange ? JSON.stringify(o) : jsonOf(o)).digest('base64url');
    if (remembered) objectDigests.set(o, digest);
  }
  return digest;
}

/** The longest rule text quoted in a message; the Gateway API's longest rules run to thousands of characters. */
const RULE_QUOTE_CHARS = 160;
const quoteRule = (rule: string) => {
  const one = rule.replace(/\s+/g, ' ').trim();
  return one.length > RULE_QUOTE_CHARS ? `${one.slice(0, RULE_QUOTE_CHARS - 3)}...` : one;
};

/**
 * The CEL rules of an object's CRD schema (see ./cel.ts): a false rule is a violation; a rule that cannot be
 * evaluated is a warning naming the CRD, the rule and why. Returns whether the object is clean of both.
 */
function checkCelRules(ctx: Context, o: KObject, crd: string, schema: Record<string, unknown>, manifest: unknown, counts: CelCounts): boolean {
  const outcome = evaluateCelRules(schema, manifest);
  counts.evaluated += outcome.evaluated;
  counts.transitionRules += outcome.transitionRules;
  counts.notEvaluated += outcome.notEvaluated.length;
  for (const v of outcome.violations) {
    const field = fieldPath([...v.path]);
    ctx.report('cel', o, field, `${v.message} (${reasonText(v.reason)}: the API server refuses the object by a rule of CRD ${crd}: ${quoteRule(v.rule)})`,
      `change ${field || 'the object'} so that the rule holds`);
  }
  for (const n of outcome.notEvaluated) {
    ctx.warn('cel', o, [...n.path], `a rule of CRD ${crd} was not evaluated, so the object is not known to pass it: ${n.why}; the rule: ${quoteRule(n.rule)}`,
      'check the field against the rule by hand (the API server refuses the object if the rule fails or its evaluation errs); if the evaluator lacks a Kubernetes CEL function, add it to lib/validation/cel-library.ts');
  }
  return outcome.violations.length === 0 && outcome.notEvaluated.length === 0;
}

function validateSchemas(ctx: Context, registry: SchemaRegistry, cel: CelCounts, cache?: SchemaCache): void {
  // CRDs in the set itself define (or redefine) their kinds: the cluster will use those.
  const setCrds = new Map<string, Record<string, unknown>>();
  const setCrdNames = new Map<string, string>();
  // A digest of each CRD schema of the set, so that objects checked against it can be cached too.
  // (A chart's CRD is frozen: its digest is computed once per process, as an object's is.)
  const crdDigests = new Map<Record<string, unknown>, string>();
  const crdDigest = (schema: Record<string, unknown>) => {
    let d = crdDigests.get(schema);
    if (d === undefined) crdDigests.set(schema, (d = objectDigest(schema, cache?.objectsMayChange ?? false)));
    return d;
  };
  for (const crd of ctx.of('apiextensions.k8s.io', 'CustomResourceDefinition')) {
    const spec = crd.manifest.spec;
    const group = str(spec?.group);
    const kind = str(spec?.names?.kind);
    if (!group || !kind) continue;
    for (const v of list(spec.versions)) {
      const schema = v?.schema?.openAPIV3Schema;
      if (v?.served !== false && str(v?.name) && isObject(schema)) {
        setCrds.set(kindKey(`${group}/${v.name}`, kind), schema);
        setCrdNames.set(kindKey(`${group}/${v.name}`, kind), crd.name);
      }
    }
  }
  for (const o of ctx.objects) {
    const own = setCrds.get(kindKey(o.apiVersion, o.kind));
    if (!own && !servedByDefault(o.apiVersion) && registry.isKubernetesKind(o.apiVersion, o.kind)) {
      // A built-in kind at an alpha (or new beta) version: the definitions know it, an installed cluster does not serve it.
      const versions = registry.apiVersionsOf(o.kind).filter((v) => servedByDefault(v) && registry.isKubernetesKind(v, o.kind));
      ctx.report('schema', o, 'apiVersion',
        `"${o.apiVersion}" is not served by a Kubernetes ${registry.kubernetesVersion} cluster as installed (alpha APIs and betas since 1.24 are off until enabled by feature gate and runtime config)`,
        versions.length > 0 ? `use a served apiVersion of ${o.kind}: ${versions.join(', ')}` : `drop the object, or raise cluster.kubernetesVersion to a minor where ${o.kind} is GA`);
      continue;
    }
    const key = cache ? schemaCacheKey(registry, o.manifest, own ? crdDigest(own) : '', cache.objectsMayChange) : undefined;
    if (key && cache!.has(key)) {
      cel.reused++;
      continue;
    }
    let problems;
    const manifest = withoutNulls(o.manifest);
    try {
      problems = own ? registry.checkAgainst(own, manifest) : registry.check(o.apiVersion, o.kind, manifest);
    } catch (e) {
      // e.g. a CRD in the set whose pattern JavaScript cannot compile (RE2's (?i)).
      ctx.report('schema', o, '', `cannot be validated: its schema does not compile (${(e as Error).message.split('\n')[0]})`,
        own ? 'fix the CustomResourceDefinition\'s openAPIV3Schema' : 'regenerate schemas/ with scripts/gen-schemas.js');
      continue;
    }
    if (!problems) {
      const versions = registry.apiVersionsOf(o.kind);
      ctx.report('schema', o, 'apiVersion',
        `no schema for apiVersion/kind "${o.apiVersion}" ${o.kind}: it is neither a Kubernetes ${registry.kubernetesVersion} kind nor a kind of a bundled CRD`,
        versions.length > 0
          ? `use a served apiVersion of ${o.kind}: ${versions.join(', ')}`
          : 'fix the apiVersion or kind; for a new CRD, add its YAML to the input of scripts/gen-schemas.js and rerun it (or ship the CustomResourceDefinition in the same set)');
      continue;
    }
    if (!o.name) ctx.report('schema', o, 'metadata.name', 'has no metadata.name', 'give the object a name');
    for (const p of problems) ctx.report('schema', o, p.field, p.message, p.fix);
    // CEL rules are evaluated on objects that meet their schema, as the API server's typed values need.
    const crd = own ? { crd: setCrdNames.get(kindKey(o.apiVersion, o.kind))!, schema: own } : registry.crdSchema(o.apiVersion, o.kind);
    const celClean = problems.length === 0 && crd ? checkCelRules(ctx, o, crd.crd, crd.schema, manifest, cel) : true;
    // An object with a CEL warning is not cached: its warning shows on every run, not only the first.
    if (key && o.name && problems.length === 0 && celClean) cache!.add(key);
  }
}

/**
 * The object as the API server reads it: a field set to null is a field left out (charts render empty
 * `annotations:` or `env:` often). The object itself is returned when it holds no null.
 */
function withoutNulls(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const hasNull = (v: unknown): boolean => v === null || (typeof v === 'object' && Object.values(v as object).some(hasNull));
  if (!hasNull(value)) return value;
  if (Array.isArray(value)) return value.map(withoutNulls);
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]));
}

/** One violation on one line: `file: Kind ns/name: field: message [rule] fix: ...`. */
export function formatViolation(v: Violation): string {
  return `${v.file}: ${v.object}: ${v.field || '(object)'}: ${v.message} [${v.rule}]. Fix: ${v.fix}`;
}

/** A report of the violations, grouped by file; '' when there are none. */
export function formatViolations(violations: readonly Violation[]): string {
  if (violations.length === 0) return '';
  const byFile = new Map<string, Violation[]>();
  for (const v of violations) byFile.set(v.file, [...(byFile.get(v.file) ?? []), v]);
  const lines = [`${violations.length} violation${violations.length === 1 ? '' : 's'} in ${byFile.size} file${byFile.size === 1 ? '' : 's'}:`];
  for (const [file, vs] of byFile) {
    lines.push('', file);
    for (const v of vs) {
      lines.push(`  ${v.object}  ${v.field || '(object)'}  [${v.rule}]`);
      lines.push(`    ${v.message}`);
      lines.push(`    fix: ${v.fix}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The warnings (what could not be checked), grouped by file; '' when there are none. */
export function formatWarnings(warnings: readonly Violation[]): string {
  if (warnings.length === 0) return '';
  const byFile = new Map<string, Violation[]>();
  for (const w of warnings) byFile.set(w.file, [...(byFile.get(w.file) ?? []), w]);
  const lines = [`${warnings.length} warning${warnings.length === 1 ? '' : 's'} (not checked, so not passed) in ${byFile.size} file${byFile.size === 1 ? '' : 's'}:`];
  for (const [file, ws] of byFile) {
    lines.push('', file);
    for (const w of ws) {
      lines.push(`  ${w.object}  ${w.field || '(object)'}  [${w.rule}]`);
      lines.push(`    ${w.message}`);
      lines.push(`    to do: ${w.fix}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** One line on the CEL rules met: how many were evaluated, not applicable, not evaluated. */
export function formatCelCounts(cel: CelCounts): string {
  return `CEL rules of CRDs, in the objects checked: ${cel.evaluated} evaluated, ${cel.transitionRules} transition rules (oldSelf) not applicable to creation, ` +
    `${cel.notEvaluated} not evaluated${cel.notEvaluated > 0 ? ' (see the warnings)' : ''}` +
    (cel.reused > 0 ? `; ${cel.reused} object${cel.reused === 1 ? '' : 's'} unchanged since ${cel.reused === 1 ? 'it' : 'they'} last passed ${cel.reused === 1 ? 'was' : 'were'} not checked again (dist/schema-cache.json)` : '');
}
