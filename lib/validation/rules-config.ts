// Configuration: every Secret and ConfigMap a workload of the union reads exists in the pod's namespace,
// with every key it reads. A pod whose non-optional Secret, ConfigMap or key is missing does not start
// (CreateContainerConfigError, or a volume that never mounts).
//
// What exists: Secrets and ConfigMaps of the union (ours and the charts'), the Secrets that
// ExternalSecrets, SealedSecrets and cert-manager Certificates fill, what
// controllers create at run time (options.runtimeObjects), and what Kubernetes itself puts in every
// namespace (the kube-root-ca.crt ConfigMap).
import { closest } from './schema';
import { Context, isObject, Json, KObject, list, Path, str } from './context';
import { isHelmTest, podModels } from './rules-monitoring';
import { podSpecs } from './rules-workloads';

/**
 * A Secret or ConfigMap that a controller creates at run time, so the union does not hold it, e.g.
 * cert-manager's webhook CA, or Istio's istio-ca-root-cert ConfigMap in every namespace. A Secret that
 * a chart renders empty and a controller fills can be listed too: its keys are added to the object's.
 */
export interface RuntimeObject {
  readonly kind: 'Secret' | 'ConfigMap';
  /** Undefined: it exists in every namespace. */
  readonly namespace?: string;
  readonly name: string;
  /**
   * The keys it holds.
   * @default - any key is accepted
   */
  readonly keys?: readonly string[];
  /** What creates it, for messages, e.g. "cert-manager (cainjector)" or "istiod". */
  readonly createdBy: string;
}

type ConfigKind = 'Secret' | 'ConfigMap';

/** What exists of one Secret or ConfigMap: its keys (undefined: any) and what declares it. */
interface Available {
  keys: Set<string> | undefined;
  sources: string[];
}

/** Facts of Kubernetes itself: objects it keeps in every namespace. */
const KUBERNETES_OBJECTS: readonly RuntimeObject[] = [
  { kind: 'ConfigMap', name: 'kube-root-ca.crt', keys: ['ca.crt'], createdBy: 'Kubernetes (root CA publisher, every namespace)' },
];

/** Keys of the Secret a cert-manager Certificate fills. */
function certificateKeys(spec: Json): string[] {
  const keys = ['tls.crt', 'tls.key', 'ca.crt'];
  if (spec?.keystores?.jks?.create === true) keys.push('keystore.jks', 'truststore.jks');
  if (spec?.keystores?.pkcs12?.create === true) keys.push('keystore.p12', 'truststore.p12');
  for (const f of list(spec?.additionalOutputFormats)) {
    if (f?.type === 'CombinedPEM') keys.push('tls-combined.pem');
    if (f?.type === 'DER') keys.push('key.der');
  }
  return keys;
}

/**
 * Keys of the Secret an ExternalSecret fills: spec.data[].secretKey; spec.dataFrom brings any key. A
 * target.template with data (or templateFrom) replaces them with its own keys, unless mergePolicy is Merge.
 */
function externalSecretKeys(spec: Json): Set<string> | undefined {
  const dataKeys = list(spec?.data).map((d) => str(d?.secretKey)).filter((k): k is string => k !== undefined);
  const anyData = list(spec?.dataFrom).length > 0;
  const template = spec?.target?.template;
  const templateKeys = Object.keys(isObject(template?.data) ? template.data : {});
  const templateAny = list(template?.templateFrom).length > 0;
  const templated = templateKeys.length > 0 || templateAny;
  if (!templated) return anyData ? undefined : new Set(dataKeys);
  if (templateAny) return undefined;
  if (template.mergePolicy === 'Merge') return anyData ? undefined : new Set([...templateKeys, ...dataKeys]);
  return new Set(templateKeys);
}

const keyOf = (kind: ConfigKind, ns: string | undefined, name: string) => `${kind} ${ns ?? ''}/${name}`;

class Inventory {
  private readonly byKey = new Map<string, Available>();
  private readonly everywhere = new Map<string, Available>();

  constructor(ctx: Context) {
    const keysOf = (...maps: Json[]) => new Set(maps.flatMap((m) => Object.keys(isObject(m) ? m : {})));
    for (const s of ctx.of('', 'Secret')) {
      const keys = keysOf(s.manifest.data, s.manifest.stringData);
      // The token controller fills a service account token Secret.
      if (s.manifest.type === 'kubernetes.io/service-account-token') for (const k of ['token', 'ca.crt', 'namespace']) keys.add(k);
      this.add('Secret', s.namespace, s.name, keys, s.file);
    }
    for (const c of ctx.of('', 'ConfigMap')) this.add('ConfigMap', c.namespace, c.name, keysOf(c.manifest.data, c.manifest.binaryData), c.file);
    for (const e of ctx.of('external-secrets.io', 'ExternalSecret')) {
      if (e.manifest.spec?.target?.creationPolicy === 'None') continue;
      this.add('Secret', e.namespace, str(e.manifest.spec?.target?.name) ?? e.name, externalSecretKeys(e.manifest.spec), `${e.label} (${e.file})`);
    }
    for (const s of ctx.of('bitnami.com', 'SealedSecret')) {
      const keys = keysOf(s.manifest.spec?.encryptedData, s.manifest.spec?.template?.data);
      this.add('Secret', s.namespace, str(s.manifest.spec?.template?.metadata?.name) ?? s.name, keys, `${s.label} (${s.file})`);
    }
    for (const c of ctx.of('cert-manager.io', 'Certificate')) {
      const secret = str(c.manifest.spec?.secretName);
      if (secret) this.add('Secret', c.namespace, secret, new Set(certificateKeys(c.manifest.spec)), `${c.label} (${c.file})`);
    }
    for (const r of [...KUBERNETES_OBJECTS, ...runtimeObjectsOption(ctx)]) {
      const keys = r.keys ? new Set(r.keys) : undefined;
      const source = KUBERNETES_OBJECTS.includes(r) ? r.createdBy : `options.runtimeObjects (created by ${r.createdBy})`;
      if (r.namespace === undefined) this.merge(this.everywhere, `${r.kind} ${r.name}`, keys, source);
      else this.add(r.kind, r.namespace, r.name, keys, source);
    }
  }

  private add(kind: ConfigKind, ns: string | undefined, name: string, keys: Set<string> | undefined, source: string): void {
    this.merge(this.byKey, keyOf(kind, ns, name), keys, source);
  }

  private merge(map: Map<string, Available>, k: string, keys: Set<string> | undefined, source: string): void {
    const cur = map.get(k);
    if (!cur) { map.set(k, { keys: keys ? new Set(keys) : undefined, sources: [source] }); return; }
    cur.sources.push(source);
    if (!keys || !cur.keys) cur.keys = undefined;
    else for (const x of keys) cur.keys.add(x);
  }

  public get(kind: ConfigKind, ns: string | undefined, name: string): Available | undefined {
    const own = this.byKey.get(keyOf(kind, ns, name));
    const all = this.everywhere.get(`${kind} ${name}`);
    if (!own || !all) return own ?? all;
    return { keys: own.keys && all.keys ? new Set([...own.keys, ...all.keys]) : undefined, sources: [...own.sources, ...all.sources] };
  }

  /** The namespaces where an object of this kind and name exists, for messages. */
  public namespacesOf(kind: ConfigKind, name: string): string[] {
    const out: string[] = [];
    for (const k of this.byKey.keys()) {
      const m = /^(\w+) ([^/]*)\/(.*)$/.exec(k);
      if (m && m[1] === kind && m[3] === name) out.push(m[2]);
    }
    return out.sort();
  }
}

function runtimeObjectsOption(ctx: Context): readonly RuntimeObject[] {
  const v = ctx.options.runtimeObjects;
  return Array.isArray(v) ? (v as RuntimeObject[]) : [];
}

/** One read of a Secret or ConfigMap. */
interface ConfigRef {
  readonly kind: ConfigKind;
  readonly name: string;
  /** The path of the name field. */
  readonly at: Path;
  /** The keys read, each with the path of its field; [] for the whole object (envFrom, a volume without items). */
  readonly keys: readonly { readonly key: string; readonly at: Path }[];
  /** What reads it, for messages: `env DB_PASSWORD of container app`. */
  readonly what: string;
  /** An image pull secret: it must hold a docker config. */
  readonly pull?: boolean;
}

/**
 * What the proxy Istio injects into a pod (see istioSidecar in rules-monitoring.ts) reads: the mesh's root
 * certificate, from the ConfigMap istiod keeps in every namespace. `at`: the pod template's metadata.
 */
const ISTIO_SIDECAR_REFS = (at: Path): ConfigRef[] => [
  { kind: 'ConfigMap', name: 'istio-ca-root-cert', at, keys: [{ key: 'root-cert.pem', at }], what: 'the injected istio-proxy (volume istiod-ca-cert)' },
];

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/** Every non-optional Secret and ConfigMap a pod spec reads. */
function podRefs(spec: Record<string, Json>, at: Path): ConfigRef[] {
  const refs: ConfigRef[] = [];
  list(spec.imagePullSecrets).forEach((s, i) => {
    if (str(s?.name)) refs.push({ kind: 'Secret', name: s.name, at: [...at, 'imagePullSecrets', i, 'name'], keys: [], what: 'image pull secret', pull: true });
  });
  for (const field of CONTAINER_LISTS) {
    list(spec[field]).forEach((c, ci) => {
      const cAt: Path = [...at, field, ci];
      const container = `container ${String(c?.name)}`;
      list(c?.env).forEach((e, ei) => {
        for (const [refField, kind] of [['secretKeyRef', 'Secret'], ['configMapKeyRef', 'ConfigMap']] as const) {
          const ref = e?.valueFrom?.[refField];
          if (!isObject(ref) || !str(ref.name) || ref.optional === true) continue;
          const refAt: Path = [...cAt, 'env', ei, 'valueFrom', refField];
          refs.push({ kind, name: ref.name, at: [...refAt, 'name'], keys: str(ref.key) ? [{ key: ref.key, at: [...refAt, 'key'] }] : [], what: `env ${String(e.name)} of ${container}` });
        }
      });
      list(c?.envFrom).forEach((e, ei) => {
        for (const [refField, kind] of [['secretRef', 'Secret'], ['configMapRef', 'ConfigMap']] as const) {
          const ref = e?.[refField];
          if (!isObject(ref) || !str(ref.name) || ref.optional === true) continue;
          refs.push({ kind, name: ref.name, at: [...cAt, 'envFrom', ei, refField, 'name'], keys: [], what: `envFrom of ${container}` });
        }
      });
    });
  }
  const items = (src: Json, srcAt: Path) => list(src?.items).map((it, i) => ({ key: String(it?.key), at: [...srcAt, 'items', i, 'key'] as Path })).filter((k) => k.key !== 'undefined');
  list(spec.volumes).forEach((v, vi) => {
    const vAt: Path = [...at, 'volumes', vi];
    const what = `volume ${String(v?.name)}`;
    if (isObject(v?.secret) && str(v.secret.secretName) && v.secret.optional !== true) {
      refs.push({ kind: 'Secret', name: v.secret.secretName, at: [...vAt, 'secret', 'secretName'], keys: items(v.secret, [...vAt, 'secret']), what });
    }
    if (isObject(v?.configMap) && str(v.configMap.name) && v.configMap.optional !== true) {
      refs.push({ kind: 'ConfigMap', name: v.configMap.name, at: [...vAt, 'configMap', 'name'], keys: items(v.configMap, [...vAt, 'configMap']), what });
    }
    list(v?.projected?.sources).forEach((s, si) => {
      for (const [srcField, kind] of [['secret', 'Secret'], ['configMap', 'ConfigMap']] as const) {
        const src = s?.[srcField];
        if (!isObject(src) || !str(src.name) || src.optional === true) continue;
        const sAt: Path = [...vAt, 'projected', 'sources', si, srcField];
        refs.push({ kind, name: src.name, at: [...sAt, 'name'], keys: items(src, sAt), what });
      }
    });
  });
  return refs;
}

/** The Secrets and ConfigMaps a PodMonitor's or ServiceMonitor's endpoints authenticate with (read by Prometheus from the monitor's namespace). */
function monitorRefs(endpoints: Json, at: Path): ConfigRef[] {
  const refs: ConfigRef[] = [];
  const sel = (x: Json, where: Path, what: string, kind: ConfigKind = 'Secret') => {
    if (!isObject(x) || !str(x.name) || x.optional === true) return;
    refs.push({ kind, name: x.name, at: [...where, 'name'], keys: str(x.key) ? [{ key: x.key, at: [...where, 'key'] }] : [], what });
  };
  const secretOrConfigMap = (x: Json, where: Path, what: string) => {
    sel(x?.secret, [...where, 'secret'], what);
    sel(x?.configMap, [...where, 'configMap'], what, 'ConfigMap');
  };
  list(endpoints).forEach((ep, i) => {
    const e: Path = [...at, i];
    sel(ep?.basicAuth?.username, [...e, 'basicAuth', 'username'], 'basicAuth username');
    sel(ep?.basicAuth?.password, [...e, 'basicAuth', 'password'], 'basicAuth password');
    sel(ep?.authorization?.credentials, [...e, 'authorization', 'credentials'], 'authorization credentials');
    sel(ep?.bearerTokenSecret, [...e, 'bearerTokenSecret'], 'bearer token');
    sel(ep?.oauth2?.clientSecret, [...e, 'oauth2', 'clientSecret'], 'OAuth2 client secret');
    secretOrConfigMap(ep?.oauth2?.clientId, [...e, 'oauth2', 'clientId'], 'OAuth2 client id');
    secretOrConfigMap(ep?.tlsConfig?.ca, [...e, 'tlsConfig', 'ca'], 'TLS CA');
    secretOrConfigMap(ep?.tlsConfig?.cert, [...e, 'tlsConfig', 'cert'], 'TLS client certificate');
    sel(ep?.tlsConfig?.keySecret, [...e, 'tlsConfig', 'keySecret'], 'TLS client key');
  });
  return refs;
}

/** What the pods prometheus-operator runs for a Prometheus or an Alertmanager mount: spec.secrets, spec.configMaps, spec.configSecret, imagePullSecrets. */
function operatorRefs(o: KObject): ConfigRef[] {
  const spec = isObject(o.manifest.spec) ? o.manifest.spec : {};
  const refs: ConfigRef[] = [];
  list(spec.secrets).forEach((s, i) => { if (str(s)) refs.push({ kind: 'Secret', name: s, at: ['spec', 'secrets', i], keys: [], what: `secret mounted into the ${o.kind} pods` }); });
  list(spec.configMaps).forEach((s, i) => { if (str(s)) refs.push({ kind: 'ConfigMap', name: s, at: ['spec', 'configMaps', i], keys: [], what: `ConfigMap mounted into the ${o.kind} pods` }); });
  if (o.kind === 'Alertmanager' && str(spec.configSecret)) refs.push({ kind: 'Secret', name: spec.configSecret, at: ['spec', 'configSecret'], keys: [], what: 'Alertmanager configuration' });
  list(spec.imagePullSecrets).forEach((s, i) => {
    if (str(s?.name)) refs.push({ kind: 'Secret', name: s.name, at: ['spec', 'imagePullSecrets', i, 'name'], keys: [], what: 'image pull secret', pull: true });
  });
  return refs;
}

function describeKeys(keys: Set<string> | undefined): string {
  if (!keys) return 'any';
  return keys.size > 0 ? [...keys].sort().join(', ') : 'none';
}

/** config-reference */
export function configReference(ctx: Context): void {
  const inventory = new Inventory(ctx);
  const chartNote = (o: KObject) => (o.rendered ? ` (${o.label} is rendered by the chart of Application ${o.application ?? '?'}: change that chart's values)` : '');
  const check = (o: KObject, refs: readonly ConfigRef[]) => {
    const ns = o.namespace ?? 'default';
    for (const ref of refs) {
      const found = inventory.get(ref.kind, ns, ref.name);
      if (!found) {
        const elsewhere = inventory.namespacesOf(ref.kind, ref.name).filter((n) => n !== ns);
        const declare = ref.kind === 'Secret'
          ? `declare Secret "${ref.name}" in ${ns} (an ExternalSecret, a SealedSecret, or a Certificate for TLS)`
          : `declare ConfigMap "${ref.name}" in ${ns}`;
        ctx.report('config-reference', o, ref.at,
          `${ref.what} reads ${ref.kind} "${ref.name}", which does not exist in namespace ${ns}` +
          (elsewhere.length > 0 ? ` (one exists in ${elsewhere.join(', ')}; a pod only reads its own namespace's)` : ''),
          `${declare}, point the reference at an existing ${ref.kind}${chartNote(o)}, or, if a controller creates it at run time, ` +
          `list { kind: '${ref.kind}', namespace: '${ns}', name: '${ref.name}', keys: [...], createdBy: '<controller>' } in options.runtimeObjects`);
        continue;
      }
      const keys = found.keys;
      if (!keys) continue;
      const from = found.sources.join(', ');
      for (const k of ref.keys) {
        if (keys.has(k.key)) continue;
        const guess = closest(k.key, [...keys]);
        ctx.report('config-reference', o, k.at,
          `${ref.what} reads key "${k.key}" of ${ref.kind} ${ns}/${ref.name}, which has no such key (its keys: ${describeKeys(keys)}; from ${from})`,
          `${guess ? `use key "${guess}", or ` : ''}add key "${k.key}" to what declares it (${from})${chartNote(o)}`);
      }
      if (ref.pull && !keys.has('.dockerconfigjson') && !keys.has('.dockercfg')) {
        ctx.report('config-reference', o, ref.at,
          `${ref.what} "${ref.name}" holds no docker config (its keys: ${describeKeys(keys)}; from ${from}), so images cannot be pulled with it`,
          `fill key ".dockerconfigjson" (type kubernetes.io/dockerconfigjson) in what declares it (${from})`);
      }
    }
  };
  const injected = new Set(podModels(ctx).filter((p) => p.sidecar).map((p) => p.object));
  for (const { object, spec, at } of podSpecs(ctx)) {
    if (isHelmTest(object)) continue;
    const refs = podRefs(spec as Record<string, Json>, at);
    if (injected.has(object)) refs.push(...ISTIO_SIDECAR_REFS([...at.slice(0, -1), 'metadata']));
    check(object, refs);
  }
  for (const sa of ctx.of('', 'ServiceAccount')) {
    check(sa, podRefs({ imagePullSecrets: sa.manifest.imagePullSecrets }, []));
  }
  for (const kind of ['Prometheus', 'Alertmanager']) for (const o of ctx.of('monitoring.coreos.com', kind)) check(o, operatorRefs(o));
  for (const pm of ctx.of('monitoring.coreos.com', 'PodMonitor')) check(pm, monitorRefs(pm.manifest.spec?.podMetricsEndpoints, ['spec', 'podMetricsEndpoints']));
  for (const sm of ctx.of('monitoring.coreos.com', 'ServiceMonitor')) check(sm, monitorRefs(sm.manifest.spec?.endpoints, ['spec', 'endpoints']));
}
