// Workloads and secrets: every secret a pod or a monitor reads is declared, images are pinned, and no
// Secret carries its material in git.
import { Context, isObject, KObject, list, objectKey, Path, str } from './context';

/** Where the pod spec of each workload kind lives. */
const POD_SPEC_PATHS: Record<string, Path> = {
  '/Pod': ['spec'],
  '/ReplicationController': ['spec', 'template', 'spec'],
  'apps/Deployment': ['spec', 'template', 'spec'],
  'apps/StatefulSet': ['spec', 'template', 'spec'],
  'apps/DaemonSet': ['spec', 'template', 'spec'],
  'apps/ReplicaSet': ['spec', 'template', 'spec'],
  'batch/Job': ['spec', 'template', 'spec'],
  'batch/CronJob': ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  'argoproj.io/Rollout': ['spec', 'template', 'spec'],
};
const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

export interface PodSpecAt {
  readonly object: KObject;
  readonly spec: Record<string, unknown>;
  readonly at: Path;
}

/** The pod specs of the workloads of the set, with their field paths. */
export function podSpecs(ctx: Context): PodSpecAt[] {
  const out: PodSpecAt[] = [];
  for (const [k, at] of Object.entries(POD_SPEC_PATHS)) {
    const [group, kind] = k.split('/');
    for (const o of ctx.of(group, kind)) {
      let cur: unknown = o.manifest;
      for (const p of at) cur = isObject(cur) ? cur[p] : undefined;
      if (isObject(cur)) out.push({ object: o, spec: cur, at });
    }
  }
  return out;
}

interface SecretRef {
  readonly name: string;
  readonly at: Path;
  readonly what: string;
}

function podSecretRefs(spec: Record<string, unknown>, at: Path): SecretRef[] {
  const refs: SecretRef[] = [];
  list(spec.imagePullSecrets).forEach((s, i) => {
    if (str(s?.name)) refs.push({ name: s.name, at: [...at, 'imagePullSecrets', i, 'name'], what: 'image pull secret' });
  });
  for (const containers of CONTAINER_LISTS) {
    list(spec[containers]).forEach((c, ci) => {
      const cAt = [...at, containers, ci];
      list(c?.env).forEach((e, ei) => {
        const ref = e?.valueFrom?.secretKeyRef;
        if (isObject(ref) && str(ref.name) && ref.optional !== true) {
          refs.push({ name: ref.name, at: [...cAt, 'env', ei, 'valueFrom', 'secretKeyRef', 'name'], what: `env ${String(e.name)}` });
        }
      });
      list(c?.envFrom).forEach((e, ei) => {
        const ref = e?.secretRef;
        if (isObject(ref) && str(ref.name) && ref.optional !== true) refs.push({ name: ref.name, at: [...cAt, 'envFrom', ei, 'secretRef', 'name'], what: 'envFrom' });
      });
    });
  }
  list(spec.volumes).forEach((v, vi) => {
    const secret = v?.secret;
    if (isObject(secret) && str(secret.secretName) && secret.optional !== true) {
      refs.push({ name: secret.secretName, at: [...at, 'volumes', vi, 'secret', 'secretName'], what: `volume ${String(v.name)}` });
    }
    list(v?.projected?.sources).forEach((s, si) => {
      const ref = s?.secret;
      if (isObject(ref) && str(ref.name) && ref.optional !== true) {
        refs.push({ name: ref.name, at: [...at, 'volumes', vi, 'projected', 'sources', si, 'secret', 'name'], what: `volume ${String(v.name)}` });
      }
    });
  });
  return refs;
}

/** The secrets a PodMonitor's or ServiceMonitor's endpoints authenticate with. */
function monitorSecretRefs(endpoints: unknown, at: Path): SecretRef[] {
  const refs: SecretRef[] = [];
  const add = (sel: unknown, where: Path, what: string) => {
    if (isObject(sel) && str(sel.name) && sel.optional !== true) refs.push({ name: sel.name, at: [...where, 'name'], what });
  };
  list(endpoints).forEach((ep, i) => {
    const epAt = [...at, i];
    add(ep?.basicAuth?.username, [...epAt, 'basicAuth', 'username'], 'basicAuth username');
    add(ep?.basicAuth?.password, [...epAt, 'basicAuth', 'password'], 'basicAuth password');
    add(ep?.authorization?.credentials, [...epAt, 'authorization', 'credentials'], 'authorization credentials');
    add(ep?.bearerTokenSecret, [...epAt, 'bearerTokenSecret'], 'bearer token');
  });
  return refs;
}

/** secret-reference */
export function secretReference(ctx: Context): void {
  const declared = ctx.declaredSecrets();
  const check = (o: KObject, refs: SecretRef[]) => {
    for (const ref of refs) {
      if (declared.has(objectKey(o.namespace, ref.name))) continue;
      const other = ctx.secretElsewhere(o.namespace, ref.name);
      ctx.report('secret-reference', o, ref.at,
        `${ref.what} reads Secret "${ref.name}", which nothing declares in namespace ${o.namespace}` +
        (other.length > 0 ? ` (it is declared in ${other.join(', ')}; a pod only reads secrets of its own namespace)` : ''),
        `declare it in namespace ${o.namespace} as an ExternalSecret or a SealedSecret (or a Certificate for TLS), ` +
        `or, if it is created outside this set, list { namespace: '${o.namespace}', name: '${ref.name}' } in options.declaredSecrets`);
    }
  };
  for (const { object, spec, at } of podSpecs(ctx)) check(object, podSecretRefs(spec, at));
  for (const sa of ctx.of('', 'ServiceAccount')) check(sa, podSecretRefs({ imagePullSecrets: sa.manifest.imagePullSecrets }, []));
  for (const pm of ctx.of('monitoring.coreos.com', 'PodMonitor')) check(pm, monitorSecretRefs(pm.manifest.spec?.podMetricsEndpoints, ['spec', 'podMetricsEndpoints']));
  for (const sm of ctx.of('monitoring.coreos.com', 'ServiceMonitor')) check(sm, monitorSecretRefs(sm.manifest.spec?.endpoints, ['spec', 'endpoints']));
}

/** Tags that name no version: they move. A tag without any digit cannot be a version either. */
const FLOATING_TAGS = new Set(['latest', 'lts', 'stable', 'edge', 'nightly', 'dev', 'develop', 'main', 'master', 'mainline', 'current', 'rolling', 'release']);

/** Why an image reference floats, or undefined if it is pinned. */
export function floatingReason(image: string): string | undefined {
  if (image.includes('@')) return undefined; // a digest
  const last = image.slice(image.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  if (colon < 0) return 'has no tag, so it means :latest';
  const tag = last.slice(colon + 1);
  const word = tag.split(/[-_.]/)[0].toLowerCase();
  if (FLOATING_TAGS.has(tag.toLowerCase())) return `has the tag "${tag}", which moves to whatever is newest`;
  if (FLOATING_TAGS.has(word)) return `has the tag "${tag}", which follows "${word}" and moves`;
  if (!/\d/.test(tag)) return `has the tag "${tag}", which names no version and moves`;
  return undefined;
}

/** image-pinned */
export function imagePinned(ctx: Context): void {
  for (const { object, spec, at } of podSpecs(ctx)) {
    for (const containers of CONTAINER_LISTS) {
      list(spec[containers]).forEach((c, i) => {
        const image = str(c?.image);
        if (!image) return;
        const reason = floatingReason(image);
        if (!reason) return;
        const repo = image.replace(/:[^:/]*$/, ''); // without the tag; a registry port (host:5000/x) stays
        ctx.report('image-pinned', object, [...at, containers, i, 'image'],
          `image "${image}" of container ${String(c.name)} ${reason}: every sync may run different software`,
          `pin an exact version tag (${repo}:<version>) or a digest (${repo}@sha256:<digest>)`);
      });
    }
  }
}

/** no-secret-data */
export function noSecretData(ctx: Context): void {
  for (const s of ctx.of('', 'Secret')) {
    for (const field of ['data', 'stringData'] as const) {
      const value = s.manifest[field];
      if (!isObject(value) || Object.keys(value).length === 0) continue;
      ctx.report('no-secret-data', s, [field],
        `Secret carries secret material in git (${field} keys: ${Object.keys(value).sort().join(', ')})`,
        'replace it with an ExternalSecret (external-secrets.io) or a SealedSecret (bitnami.com), or create it out of band ' +
        'and list it in options.declaredSecrets');
    }
  }
}
