// Checks of the whole cluster state, as Argo CD will apply it: our own manifests plus every object the chart
// Applications render. They read the Argo CD objects of the set (AppProject, Applications with their waves
// and sync options) and the objects themselves, so they run the same on a fresh synth and on gitops/ on disk.
//
//   project-destination    Argo CD refuses a whole sync when one object's namespace is not a destination of
//                          the project, or its cluster-scoped kind is not whitelisted.
//   apply-size             client-side apply keeps the whole object in an annotation limited to 256 KiB; larger
//                          objects (big CRDs) need ServerSideApply=true.
//   single-owner           two Applications that apply the same object fight over it forever.
//   crd-order              a custom resource is applied after the Application that installs its CRD.
//   disruption-budget      a PodDisruptionBudget that can never allow an eviction blocks node drains and
//                          cluster upgrades.
//   render-stable          an object a chart renders differently each time (a random password, a generated
//                          certificate) is a diff Argo CD shows forever and rewrites on every sync.
//   managed-control-plane  on a managed control plane (AKS) the scheduler, controller manager and etcd cannot be
//                          scraped: monitors and alerts for them would fire forever.
import { Context, isObject, Json, jsonOf, KObject, list, str } from './context';

const ARGO = 'argoproj.io';
const SYNC_WAVE = 'argocd.argoproj.io/sync-wave';
const SYNC_OPTIONS = 'argocd.argoproj.io/sync-options';
/** The size limit of all annotations of an object, which client-side apply's last-applied copy must fit in. */
export const CLIENT_SIDE_APPLY_LIMIT = 262144;

/** The group of a kind key: `cert-manager.io/Certificate` -> `cert-manager.io`. */
const kindKey = (group: string, kind: string) => `${group}/${kind}`;

interface AppInfo {
  readonly object: KObject;
  readonly wave: number;
  readonly syncOptions: readonly string[];
  readonly destination?: string;
}

/** The Argo CD Applications of the set, by name. */
export function applications(ctx: Context): Map<string, AppInfo> {
  const out = new Map<string, AppInfo>();
  for (const a of ctx.of(ARGO, 'Application')) {
    const wave = Number(a.manifest.metadata?.annotations?.[SYNC_WAVE] ?? 0);
    out.set(a.name, {
      object: a,
      wave: Number.isFinite(wave) ? wave : 0,
      syncOptions: list(a.manifest.spec?.syncPolicy?.syncOptions).filter((s): s is string => typeof s === 'string'),
      destination: str(a.manifest.spec?.destination?.namespace),
    });
  }
  return out;
}

function objectSyncOptions(o: KObject): string[] {
  const v = str(o.manifest.metadata?.annotations?.[SYNC_OPTIONS]);
  return v ? v.split(',').map((s) => s.trim()) : [];
}

const matches = (pattern: unknown, value: string) => pattern === '*' || pattern === value;

/** project-destination */
export function projectDestination(ctx: Context): void {
  const apps = applications(ctx);
  const projects = new Map(ctx.of(ARGO, 'AppProject').map((p) => [p.name, p]));
  const allowed = ctx.options.applicationNamespaces;
  for (const o of ctx.objects) {
    if (!o.application) continue;
    const app = apps.get(o.application);
    const projectName = str(app?.object.manifest.spec?.project);
    const project = projectName ? projects.get(projectName) : undefined;
    if (!app || !project) continue;
    const spec = project.manifest.spec ?? {};
    if (o.namespace === undefined) {
      const whitelisted = list(spec.clusterResourceWhitelist).some((w) => isObject(w) && matches(w.group, o.group) && matches(w.kind, o.kind));
      const blacklisted = list(spec.clusterResourceBlacklist).some((w) => isObject(w) && matches(w.group, o.group) && matches(w.kind, o.kind));
      if (!whitelisted || blacklisted) {
        ctx.report('project-destination', o, 'kind',
          `Application ${o.application} applies cluster-scoped ${o.kind}${o.group ? ` (${o.group})` : ''}, which AppProject ${project.name} does not allow; Argo CD refuses the whole sync`,
          `allow group "${o.group}" kind "${o.kind}" in the project's clusterResourceWhitelist, or turn the object off in the chart's values`);
      }
      continue;
    }
    const destinations = list(spec.destinations).filter(isObject);
    const inProject = destinations.some((d) => matches(d.namespace, o.namespace!) || (typeof d.namespace === 'string' && d.namespace.endsWith('*') && o.namespace!.startsWith(d.namespace.slice(0, -1))));
    const own = allowed?.get(o.application);
    const inComponent = !own || own.includes(o.namespace);
    if (!inProject) {
      ctx.report('project-destination', o, 'metadata.namespace',
        `Application ${o.application} applies it in namespace ${o.namespace}, which is not a destination of AppProject ${project.name}; Argo CD refuses the whole sync of ${o.application}`,
        o.rendered
          ? `set the chart's values so that it writes into ${app.destination ?? 'its own namespace'} (e.g. a leader-election namespace), or declare ${o.namespace} as a namespace the component writes to (ComponentProps.extraNamespaces), with the reason`
          : `move it into a namespace of the project (${destinations.map((d) => d.namespace).join(', ')})`);
    } else if (!inComponent) {
      ctx.report('project-destination', o, 'metadata.namespace',
        `Application ${o.application} applies it in namespace ${o.namespace}, which its component does not declare (it may write to ${own!.join(', ')})`,
        `set the chart's values so that it writes into ${app.destination ?? 'its own namespace'}, or declare ${o.namespace} in the component's extraNamespaces, with the reason`);
    }
  }
}

/** apply-size */
export function applySize(ctx: Context): void {
  const apps = applications(ctx);
  for (const o of ctx.objects) {
    if (!o.application) continue;
    const app = apps.get(o.application);
    if (!app) continue;
    const size = Buffer.byteLength(jsonOf(o.manifest));
    if (size <= CLIENT_SIDE_APPLY_LIMIT) continue;
    if (app.syncOptions.includes('ServerSideApply=true') || objectSyncOptions(o).includes('ServerSideApply=true')) continue;
    ctx.report('apply-size', o, '',
      `is ${Math.round(size / 1024)} KiB, over the ${CLIENT_SIDE_APPLY_LIMIT / 1024} KiB that client-side apply can store in its last-applied annotation; Application ${o.application} syncs without ServerSideApply=true, so the sync fails with "metadata.annotations: Too long"`,
      `add ServerSideApply=true to the syncOptions of Application ${o.application} (synth derives it from the render: regenerate instead of editing by hand)`);
  }
}

/** single-owner */
export function singleOwner(ctx: Context): void {
  const owners = new Map<string, KObject[]>();
  for (const o of ctx.objects) {
    if (!o.application) continue;
    const k = `${o.group}/${o.kind}/${o.namespace ?? ''}/${o.name}`;
    owners.set(k, [...(owners.get(k) ?? []), o]);
  }
  for (const objs of owners.values()) {
    const apps = [...new Set(objs.map((o) => o.application!))].sort();
    if (apps.length < 2) continue;
    for (const o of objs.slice(1)) {
      ctx.report('single-owner', o, 'metadata.name',
        `is applied by ${apps.length} Applications (${apps.join(', ')}); Argo CD would report it as a shared resource and the Applications would overwrite each other`,
        `keep it in one of them: turn it off in the other chart's values or drop it from the other component`);
    }
  }
}

/** crd-order */
export function crdOrder(ctx: Context): void {
  const apps = applications(ctx);
  const providers = new Map<string, Set<string>>();
  // CRDs of no Application are applied by hand from bootstrap/ (Argo CD's own), before anything syncs; so
  // are those of a hub's Argo CD that deploys the environment (ValidationOptions.preinstalledKinds).
  const preinstalled = new Set<string>(ctx.options.preinstalledKinds ?? []);
  for (const crd of ctx.of('apiextensions.k8s.io', 'CustomResourceDefinition')) {
    const group = str(crd.manifest.spec?.group);
    const kind = str(crd.manifest.spec?.names?.kind);
    if (!group || !kind) continue;
    const k = kindKey(group, kind);
    if (!crd.application) preinstalled.add(k);
    else providers.set(k, new Set([...(providers.get(k) ?? []), crd.application]));
  }
  // Without the platform's list: the core group, groups without a dot and Kubernetes' own *.k8s.io groups
  // (but not gateway.networking.k8s.io, whose CRDs a platform installs).
  const builtIn = ctx.options.isBuiltIn ?? ((apiVersion: string) => {
    const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
    return !group.includes('.') || (group.endsWith('.k8s.io') && !group.startsWith('gateway.'));
  });
  for (const o of ctx.objects) {
    if (builtIn(o.apiVersion, o.kind) || preinstalled.has(kindKey(o.group, o.kind))) continue;
    if (!o.application) {
      if (!o.file.startsWith('bootstrap/')) continue;
      // Applied by hand from bootstrap/ to a fresh cluster: only its own CRDs exist yet.
      ctx.report('crd-order', o, 'apiVersion',
        `is a ${o.kind} (${o.group}) in bootstrap/, applied by hand to a fresh cluster, where no CRD for it exists yet (bootstrap/ installs only Argo CD's); the apply fails with "no matches for kind"`,
        `turn it off in the values of the chart bootstrap/ installs (charts/argo-cd.ts), or let an Application apply it in a later wave`);
      continue;
    }
    const app = apps.get(o.application);
    if (!app) continue; // bootstrap objects: applied by hand before Argo CD syncs anything
    const from = [...(providers.get(kindKey(o.group, o.kind)) ?? [])];
    if (from.length === 0) {
      ctx.report('crd-order', o, 'apiVersion',
        `is a ${o.kind} (${o.group}), but no Application of the platform installs its CustomResourceDefinition; the sync of ${o.application} fails with "no matches for kind"`,
        `enable the component whose chart installs the ${o.group} CRDs, or drop the object`);
      continue;
    }
    if (from.includes(o.application)) continue;
    const earlier = from.filter((p) => (apps.get(p)?.wave ?? Infinity) < app.wave);
    if (earlier.length > 0) continue;
    ctx.report('crd-order', o, 'apiVersion',
      `is a ${o.kind} (${o.group}), whose CRD Application ${from.join(', ')} installs in wave ${from.map((p) => apps.get(p)?.wave ?? '?').join(', ')}, not before wave ${app.wave} of ${o.application}`,
      `make ${o.application} depend on ${from[0]} (synth derives this from the rendered CRDs: regenerate instead of editing waves by hand)`);
  }
}

/** The pods a workload object runs, with their template labels and replica count. */
interface Workload {
  readonly object: KObject;
  readonly labels: Record<string, string>;
  readonly replicas: number;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);

function minReplicas(ctx: Context, w: KObject): number {
  let replicas = typeof w.manifest.spec?.replicas === 'number' ? w.manifest.spec.replicas : 1;
  const targets = (ref: Json) => isObject(ref) && ref.kind === w.kind && ref.name === w.name;
  for (const h of ctx.of('autoscaling', 'HorizontalPodAutoscaler')) {
    if (h.namespace === w.namespace && targets(h.manifest.spec?.scaleTargetRef)) replicas = Number(h.manifest.spec?.minReplicas ?? 1);
  }
  for (const s of ctx.of('keda.sh', 'ScaledObject')) {
    if (s.namespace === w.namespace && targets({ kind: 'Deployment', ...s.manifest.spec?.scaleTargetRef })) replicas = Number(s.manifest.spec?.minReplicaCount ?? 0);
  }
  return replicas;
}

function selects(selector: Json, labels: Record<string, string>): boolean {
  if (!isObject(selector)) return false;
  const ml = isObject(selector.matchLabels) ? selector.matchLabels : {};
  if (!Object.entries(ml).every(([k, v]) => labels[k] === v)) return false;
  return list(selector.matchExpressions).every((e) => {
    if (!isObject(e)) return true;
    const v = labels[e.key];
    switch (e.operator) {
      case 'In': return v !== undefined && list(e.values).includes(v);
      case 'NotIn': return v === undefined || !list(e.values).includes(v);
      case 'Exists': return v !== undefined;
      case 'DoesNotExist': return v === undefined;
      default: return true;
    }
  });
}

/** disruption-budget */
export function disruptionBudget(ctx: Context): void {
  const workloads: Workload[] = [];
  for (const o of ctx.objects) {
    if (o.group !== 'apps' || !WORKLOAD_KINDS.has(o.kind)) continue;
    const labels = o.manifest.spec?.template?.metadata?.labels;
    workloads.push({ object: o, labels: isObject(labels) ? labels : {}, replicas: minReplicas(ctx, o) });
  }
  for (const pdb of ctx.of('policy', 'PodDisruptionBudget')) {
    const spec = pdb.manifest.spec ?? {};
    const selected = workloads.filter((w) => w.object.namespace === pdb.namespace && selects(spec.selector, w.labels));
    if (selected.length === 0) continue;
    const pods = selected.reduce((n, w) => n + w.replicas, 0);
    const allowed = allowedDisruptions(spec, pods);
    if (allowed > 0) continue;
    const field = spec.maxUnavailable !== undefined ? 'spec.maxUnavailable' : 'spec.minAvailable';
    ctx.report('disruption-budget', pdb, field,
      `allows no eviction: it selects ${selected.map((w) => `${w.object.kind} ${w.object.name}`).join(', ')} with at least ${pods} replica${pods === 1 ? '' : 's'}, and ${field.slice(5)} is ${JSON.stringify(spec.maxUnavailable ?? spec.minAvailable)}; node drains and cluster upgrades (AKS surge upgrades) block on it`,
      pods <= 1
        ? 'run at least two replicas (a higher minimum in the chart\'s autoscaling or replica values), or turn the chart\'s PodDisruptionBudget off for a single replica'
        : `lower ${field.slice(5)} so that at least one of the ${pods} pods may be evicted`);
  }
}

function allowedDisruptions(spec: Json, pods: number): number {
  const amount = (v: Json) => (typeof v === 'string' && v.endsWith('%') ? Math.ceil((pods * Number(v.slice(0, -1))) / 100) : Number(v));
  if (spec.maxUnavailable !== undefined) {
    const v = spec.maxUnavailable;
    const n = typeof v === 'string' && v.endsWith('%') ? Math.floor((pods * Number(v.slice(0, -1))) / 100) : Number(v);
    return Number.isFinite(n) ? n : 1;
  }
  if (spec.minAvailable !== undefined) {
    const n = amount(spec.minAvailable);
    return Number.isFinite(n) ? pods - n : 1;
  }
  return 1;
}

/**
 * What a managed control plane does not let anyone scrape: the control-plane components, the Prometheus job
 * names of their metrics, and the kube-prometheus-stack value that turns them off. AKS runs the scheduler,
 * controller manager and etcd out of the customer's reach (it exposes them only through Azure Monitor's
 * managed Prometheus), and its kube-proxy binds its metrics to localhost.
 */
export const MANAGED_CONTROL_PLANE: readonly { readonly component: string; readonly jobs: readonly string[]; readonly values: string }[] = [
  { component: 'kube-scheduler', jobs: ['kube-scheduler'], values: 'kubeScheduler.enabled: false' },
  { component: 'kube-controller-manager', jobs: ['kube-controller-manager'], values: 'kubeControllerManager.enabled: false' },
  { component: 'etcd', jobs: ['kube-etcd', 'etcd'], values: 'kubeEtcd.enabled: false' },
  { component: 'kube-proxy', jobs: ['kube-proxy'], values: 'kubeProxy.enabled: false' },
];

/** managed-control-plane */
export function managedControlPlane(ctx: Context): void {
  if (!ctx.options.managedControlPlane) return;
  const unreachable = MANAGED_CONTROL_PLANE;
  const mentions = (text: string, job: string) => new RegExp(`job\\s*=~?\\s*"[^"]*\\b${job.replace(/[-]/g, '\\-')}\\b`).test(text);
  for (const o of ctx.objects) {
    if (o.group === 'monitoring.coreos.com' && (o.kind === 'ServiceMonitor' || o.kind === 'PodMonitor')) {
      const text = JSON.stringify(o.manifest.spec ?? {});
      const hit = unreachable.find((u) => text.includes(`"${u.component}"`) || u.jobs.some((j) => o.name.endsWith(j)));
      if (hit) {
        ctx.report('managed-control-plane', o, 'spec.selector',
          `scrapes ${hit.component}, which a managed control plane (AKS) does not expose; its target is down forever`,
          `turn it off in the chart's values (${hit.values})`);
      }
    }
    if (o.group === 'monitoring.coreos.com' && o.kind === 'PrometheusRule') {
      list(o.manifest.spec?.groups).forEach((g, gi) => list(g?.rules).forEach((r, ri) => {
        const expr = typeof r?.expr === 'string' ? r.expr : '';
        if (!str(r?.alert)) return;
        const hit = unreachable.find((u) => u.jobs.some((j) => mentions(expr, j)));
        if (!hit) return;
        ctx.report('managed-control-plane', o, `spec.groups[${gi}].rules[${ri}].expr`,
          `alert ${r.alert} watches ${hit.component}, which a managed control plane (AKS) does not let Prometheus scrape; it fires forever and pages`,
          `turn the component off in the chart's values (${hit.values}), which also drops its rules`);
      }));
    }
  }
}

/** render-stable */
export function renderStable(ctx: Context): void {
  const unstable = ctx.options.unstableObjects;
  if (!unstable) return;
  for (const o of ctx.objects) {
    if (!o.application || !o.rendered) continue;
    const id = `${o.kind} ${o.manifest.metadata?.namespace ? `${o.manifest.metadata.namespace}/` : ''}${o.name}`;
    if (!unstable.get(o.application)?.includes(id)) continue;
    ctx.report('render-stable', o, '',
      `changes every time chart ${o.application} is rendered (random or generated data): Argo CD shows it out of sync forever and rewrites it on every sync, ${o.kind === 'Secret' ? 'changing the secret under the pods that use it' : 'restarting what depends on it'}`,
      'give the chart the value instead of letting it generate one: an existingSecret (a declared secret) or a fixed setting in its values');
  }
}
