// Monitoring: every PodMonitor and ServiceMonitor of the union (ours or a chart's) scrapes something. It
// selects pods, the port each endpoint names exists on them, its jobLabel is a label they carry, and a
// Prometheus selects the monitor itself.
//
// The pods are those the union's workloads run, as the cluster admits them: Istio's sidecar injector adds
// its proxy (istioSidecar), and prometheus-operator runs the pods of each Prometheus and Alertmanager
// (operatorPods). Pods the cluster itself runs (AKS's CoreDNS, say) are not in the union: they can be
// declared in options.clusterPods. This module also models Namespaces and Services for the other rules.
import { closest } from './schema';
import { Context, isObject, Json, KObject, list, Path, str } from './context';
import { podSpecs } from './rules-workloads';

export type Labels = Readonly<Record<string, string>>;

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
}

export interface PodContainer {
  readonly name: string;
  readonly ports: readonly ContainerPort[];
}

/** The pods of one workload of the union (one pod template), as admitted. */
export interface PodModel {
  /** The object that makes the pods: a workload, a Prometheus, an Alertmanager, or the Application of a cluster pod. */
  readonly object: KObject | undefined;
  /** For messages: `Deployment argocd/argocd-server`. */
  readonly workload: string;
  readonly namespace: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly containers: readonly PodContainer[];
  /** Whether the Istio sidecar injector adds its proxy to these pods. */
  readonly sidecar: boolean;
}

/** A pod the cluster runs without an object in the union (e.g. AKS's CoreDNS); see `ValidationOptions.clusterPods`. */
export interface ClusterPod {
  readonly namespace: string;
  /** For messages, e.g. "coredns". */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ports?: readonly ContainerPort[];
  /** Who runs it, e.g. "AKS". */
  readonly providedBy: string;
}

/** A Service as the rules see it, with what its ports forward to. */
export interface ServiceModel {
  readonly object: KObject | undefined;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  /** Undefined: its endpoints are not pods of a selector (no spec.selector: the API server, kubelets, manual Endpoints). */
  readonly selector: Labels | undefined;
  readonly headless: boolean;
  readonly externalName?: string;
  readonly ports: readonly { readonly name?: string; readonly port: number; readonly targetPort: number | string }[];
  /** What declares it, for messages. */
  readonly source: string;
}

/** Namespaces every Kubernetes cluster has. */
const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
/** The label Kubernetes puts on every Namespace. */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/**
 * The API server's Service, which Kubernetes itself keeps in `default` (kubernetes.default.svc); its
 * endpoints are the API servers, not pods.
 */
export const KUBERNETES_SERVICE: ServiceModel = {
  object: undefined, namespace: 'default', name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' },
  selector: undefined, headless: false, ports: [{ name: 'https', port: 443, targetPort: 443 }], source: 'Kubernetes (built in)',
};

function labelsOf(x: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(x)) for (const [k, v] of Object.entries(x)) if (v !== null && v !== undefined) out[k] = String(v);
  return out;
}

/** Whether a LabelSelector (matchLabels, matchExpressions) matches; `{}` matches everything, a non-object nothing. */
export function selectorMatches(selector: Json, labels: Labels): boolean {
  if (!isObject(selector)) return false;
  for (const [k, v] of Object.entries(labelsOf(selector.matchLabels))) if (labels[k] !== v) return false;
  for (const e of list(selector.matchExpressions)) {
    const key = str(e?.key);
    if (!key) return false;
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    const values = list(e.values).map(String);
    switch (e.operator) {
      case 'In': if (!has || !values.includes(labels[key])) return false; break;
      case 'NotIn': if (has && values.includes(labels[key])) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

/** A LabelSelector as text: `app=web, tier in (a,b), !canary`. */
export function describeSelector(selector: Json): string {
  if (!isObject(selector)) return 'nothing (no selector)';
  const parts = Object.entries(labelsOf(selector.matchLabels)).map(([k, v]) => `${k}=${v}`);
  for (const e of list(selector.matchExpressions)) {
    const values = list(e?.values).map(String).join(',');
    switch (e?.operator) {
      case 'In': parts.push(`${e.key} in (${values})`); break;
      case 'NotIn': parts.push(`${e.key} notin (${values})`); break;
      case 'Exists': parts.push(String(e.key)); break;
      case 'DoesNotExist': parts.push(`!${e.key}`); break;
      default: parts.push(`${e?.key} ${e?.operator} (${values})`);
    }
  }
  return parts.length > 0 ? parts.join(', ') : 'everything ({})';
}

function cached<T>(cache: WeakMap<Context, T>, ctx: Context, make: () => T): T {
  let v = cache.get(ctx);
  if (v === undefined) cache.set(ctx, (v = make()));
  return v;
}

const nsCache = new WeakMap<Context, Map<string, Labels>>();

/**
 * The namespaces of the platform with their labels: Namespace objects of the union, the destinations of
 * its Argo CD Applications (created with CreateNamespace, or by hand), the namespaces its objects live in,
 * and Kubernetes' own. A namespace without an object has only `kubernetes.io/metadata.name`.
 */
export function namespaceLabels(ctx: Context): Map<string, Labels> {
  return cached(nsCache, ctx, () => {
    const out = new Map<string, Labels>();
    const add = (ns: string | undefined) => { if (ns && !out.has(ns)) out.set(ns, { [NAMESPACE_NAME_LABEL]: ns }); };
    for (const n of ctx.of('', 'Namespace')) if (n.name) out.set(n.name, { ...labelsOf(n.manifest.metadata?.labels), [NAMESPACE_NAME_LABEL]: n.name });
    for (const a of ctx.of('argoproj.io', 'Application')) add(str(a.manifest.spec?.destination?.namespace));
    for (const o of ctx.objects) add(o.namespace);
    for (const ns of BUILTIN_NAMESPACES) add(ns);
    return out;
  });
}

function nsLabels(ctx: Context, ns: string): Labels {
  return namespaceLabels(ctx).get(ns) ?? { [NAMESPACE_NAME_LABEL]: ns };
}

/** Istio's default injector selectors, for a union without istiod's MutatingWebhookConfiguration. */
const DEFAULT_INJECTORS = [
  { namespaceSelector: { matchLabels: { 'istio-injection': 'enabled' } }, objectSelector: { matchExpressions: [{ key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] }] } },
  {
    namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'DoesNotExist' }, { key: 'istio.io/rev', operator: 'DoesNotExist' }] },
    objectSelector: { matchLabels: { 'sidecar.istio.io/inject': 'true' } },
  },
];

/**
 * Istio's sidecar injection, as it happens at admission: a pod is injected when one of the sidecar
 * injector webhooks of the union (istiod's MutatingWebhookConfiguration, webhooks named
 * `*sidecar-injector.istio.io`; without one, Istio's defaults: a namespace labelled
 * `istio-injection=enabled`, or a pod labelled `sidecar.istio.io/inject: "true"`) selects its namespace
 * and its labels, unless the pod opts out (label or annotation `sidecar.istio.io/inject: "false"`) or
 * runs in the host network. The injected pod has a container `istio-proxy` with port `http-envoy-prom`
 * (15090) and the labels `security.istio.io/tlsMode: istio`, `service.istio.io/canonical-name` (the
 * `app.kubernetes.io/name` or `app` label, else the workload's name) and
 * `service.istio.io/canonical-revision` (the `app.kubernetes.io/version` or `version` label, else `latest`).
 */
export function istioSidecar(
  pod: { labels: Labels; annotations: Labels; hostNetwork?: boolean; workloadName: string },
  namespace: Labels,
  injectors: readonly { namespaceSelector?: Json; objectSelector?: Json }[] = DEFAULT_INJECTORS,
): { labels: Labels; container: PodContainer } | undefined {
  if (pod.hostNetwork || pod.annotations['sidecar.istio.io/inject'] === 'false' || pod.labels['sidecar.istio.io/inject'] === 'false') return undefined;
  const matches = (s: Json, labels: Labels) => s === undefined || s === null || selectorMatches(s, labels);
  if (!injectors.some((w) => matches(w.namespaceSelector, namespace) && matches(w.objectSelector, pod.labels))) return undefined;
  const l = pod.labels;
  return {
    labels: {
      'security.istio.io/tlsMode': 'istio',
      'service.istio.io/canonical-name': l['service.istio.io/canonical-name'] ?? l['app.kubernetes.io/name'] ?? l.app ?? pod.workloadName,
      'service.istio.io/canonical-revision': l['service.istio.io/canonical-revision'] ?? l['app.kubernetes.io/version'] ?? l.version ?? 'latest',
    },
    container: { name: 'istio-proxy', ports: [{ name: 'http-envoy-prom', containerPort: 15090 }] },
  };
}

/** The sidecar injector webhooks of the union, or undefined for Istio's defaults. */
function injectorWebhooks(ctx: Context): { namespaceSelector?: Json; objectSelector?: Json }[] | undefined {
  const out: { namespaceSelector?: Json; objectSelector?: Json }[] = [];
  for (const c of ctx.of('admissionregistration.k8s.io', 'MutatingWebhookConfiguration')) {
    for (const w of list(c.manifest.webhooks)) {
      if (String(w?.name ?? '').endsWith('sidecar-injector.istio.io')) out.push({ namespaceSelector: w.namespaceSelector, objectSelector: w.objectSelector });
    }
  }
  return out.length > 0 ? out : undefined;
}

function containersOf(spec: Record<string, Json>): PodContainer[] {
  const out: PodContainer[] = [];
  for (const field of ['initContainers', 'containers']) {
    for (const c of list(spec[field])) {
      if (!isObject(c)) continue;
      const ports = list(c.ports).filter(isObject).map((p) => ({ name: str(p.name), containerPort: Number(p.containerPort) }));
      out.push({ name: String(c.name ?? ''), ports });
    }
  }
  return out;
}

/**
 * The pods prometheus-operator runs for each Prometheus and Alertmanager of the union (its StatefulSets
 * prometheus-<name> and alertmanager-<name>), with the labels and container ports the operator gives them.
 */
function operatorPods(ctx: Context): Omit<PodModel, 'sidecar'>[] {
  const out: Omit<PodModel, 'sidecar'>[] = [];
  const make = (o: KObject, app: 'prometheus' | 'alertmanager', own: Labels, containers: PodContainer[]) => {
    if (o.manifest.spec?.replicas === 0) return;
    out.push({
      object: o, workload: `${o.kind} ${o.namespace}/${o.name} (StatefulSet ${app}-${o.name} of prometheus-operator)`, namespace: o.namespace ?? 'default',
      labels: {
        ...labelsOf(o.manifest.spec?.podMetadata?.labels), 'app.kubernetes.io/name': app, 'app.kubernetes.io/instance': o.name,
        'app.kubernetes.io/managed-by': 'prometheus-operator', ...own,
      },
      annotations: labelsOf(o.manifest.spec?.podMetadata?.annotations), containers,
    });
  };
  const reloader: PodContainer = { name: 'config-reloader', ports: [{ name: 'reloader-web', containerPort: 8080 }] };
  for (const p of ctx.of('monitoring.coreos.com', 'Prometheus')) {
    make(p, 'prometheus', { 'operator.prometheus.io/name': p.name, 'operator.prometheus.io/shard': '0', prometheus: p.name },
      [{ name: 'prometheus', ports: [{ name: str(p.manifest.spec?.portName) ?? 'web', containerPort: 9090 }] }, reloader]);
  }
  for (const a of ctx.of('monitoring.coreos.com', 'Alertmanager')) {
    make(a, 'alertmanager', { alertmanager: a.name },
      [{ name: 'alertmanager', ports: [{ name: str(a.manifest.spec?.portName) ?? 'web', containerPort: 9093 }, { name: 'mesh-tcp', containerPort: 9094 }] }, reloader]);
  }
  return out;
}

/**
 * Whether an object is a Helm test hook (`helm.sh/hook: test`, `test-success`, `test-failure`): Argo CD
 * does not run Helm tests, so such a pod never exists.
 */
export function isHelmTest(o: KObject): boolean {
  const hook = o.manifest.metadata?.annotations?.['helm.sh/hook'];
  return typeof hook === 'string' && hook.split(',').some((h) => h.trim().startsWith('test'));
}

const podCache = new WeakMap<Context, PodModel[]>();

/** The pods of the union, as admitted (see the top of this file), and options.clusterPods. */
export function podModels(ctx: Context): PodModel[] {
  return cached(podCache, ctx, () => {
    const injectors = injectorWebhooks(ctx);
    const out: PodModel[] = [];
    const admit = (p: Omit<PodModel, 'sidecar'>, hostNetwork: boolean, workloadName: string) => {
      const sidecar = istioSidecar({ labels: p.labels, annotations: p.annotations, hostNetwork, workloadName }, nsLabels(ctx, p.namespace), injectors);
      const hasProxy = p.containers.some((c) => c.name === 'istio-proxy');
      out.push(sidecar
        ? {
          ...p, sidecar: true, labels: { ...sidecar.labels, ...p.labels },
          // The gateway template keeps a declared istio-proxy container; the injector merges its ports in.
          containers: hasProxy
            ? p.containers.map((c) => (c.name === 'istio-proxy' ? { ...c, ports: [...c.ports, ...sidecar.container.ports.filter((q) => !c.ports.some((x) => x.name === q.name))] } : c))
            : [...p.containers, sidecar.container],
        }
        : { ...p, sidecar: false });
    };
    for (const { object, spec, at } of podSpecs(ctx)) {
      if (isHelmTest(object)) continue;
      let meta: Json = object.manifest;
      for (const k of [...at.slice(0, -1), 'metadata']) meta = isObject(meta) ? meta[k] : undefined;
      admit({
        object, workload: object.label, namespace: object.namespace ?? 'default',
        labels: labelsOf(meta?.labels), annotations: labelsOf(meta?.annotations), containers: containersOf(spec as Record<string, Json>),
      }, spec.hostNetwork === true, object.name);
    }
    for (const p of operatorPods(ctx)) admit(p, false, p.object?.name ?? '');
    for (const c of clusterPodsOption(ctx)) {
      out.push({
        object: undefined, workload: `${c.name} (run by ${c.providedBy}, options.clusterPods)`, namespace: c.namespace,
        labels: { ...c.labels }, annotations: {}, containers: [{ name: c.name, ports: [...(c.ports ?? [])] }], sidecar: false,
      });
    }
    return out;
  });
}

function clusterPodsOption(ctx: Context): readonly ClusterPod[] {
  const v = ctx.options.clusterPods;
  return Array.isArray(v) ? (v as ClusterPod[]) : [];
}

const svcCache = new WeakMap<Context, ServiceModel[]>();

/**
 * The Services of the union, Kubernetes' own `default/kubernetes`, and the kubelet Service
 * prometheus-operator keeps (its `--kubelet-service=<namespace>/<name>` argument; its endpoints are the nodes).
 */
export function serviceModels(ctx: Context): ServiceModel[] {
  return cached(svcCache, ctx, () => {
    const out: ServiceModel[] = [];
    for (const s of ctx.of('', 'Service')) {
      const spec = isObject(s.manifest.spec) ? s.manifest.spec : {};
      const selector = labelsOf(spec.selector);
      out.push({
        object: s, namespace: s.namespace ?? 'default', name: s.name, labels: labelsOf(s.manifest.metadata?.labels),
        selector: Object.keys(selector).length > 0 ? selector : undefined, headless: spec.clusterIP === 'None',
        externalName: spec.type === 'ExternalName' ? str(spec.externalName) : undefined,
        ports: list(spec.ports).filter(isObject).map((p) => ({ name: str(p.name), port: Number(p.port), targetPort: p.targetPort ?? Number(p.port) })),
        source: s.file,
      });
    }
    if (!out.some((s) => s.namespace === 'default' && s.name === 'kubernetes')) out.push(KUBERNETES_SERVICE);
    for (const { object, spec } of podSpecs(ctx)) {
      for (const c of list(spec.containers)) {
        for (const arg of list(c?.args)) {
          const m = /^--kubelet-service=([^/]+)\/(.+)$/.exec(String(arg));
          if (!m || out.some((s) => s.namespace === m[1] && s.name === m[2])) continue;
          out.push({
            object, namespace: m[1], name: m[2], labels: { 'app.kubernetes.io/name': 'kubelet', 'k8s-app': 'kubelet', 'app.kubernetes.io/managed-by': 'prometheus-operator' },
            selector: undefined, headless: true,
            ports: [{ name: 'https-metrics', port: 10250, targetPort: 10250 }, { name: 'http-metrics', port: 10255, targetPort: 10255 }, { name: 'cadvisor', port: 4194, targetPort: 4194 }],
            source: `${object.label} (--kubelet-service)`,
          });
        }
      }
    }
    return out;
  });
}

/** The pods a Service sends traffic to; undefined when its endpoints are not pods of a selector. */
export function servicePods(ctx: Context, svc: ServiceModel): PodModel[] | undefined {
  if (!svc.selector) return undefined;
  const sel = svc.selector;
  return podModels(ctx).filter((p) => p.namespace === svc.namespace && Object.entries(sel).every(([k, v]) => p.labels[k] === v));
}

/** Whether a pod declares a container port: by name (a string) or number. */
export function podHasPort(p: PodModel, port: number | string): boolean {
  return p.containers.some((c) => c.ports.some((q) => (typeof port === 'number' ? q.containerPort === port : q.name === port)));
}

function podPortsText(pods: readonly PodModel[]): string {
  const seen = new Set<string>();
  for (const p of pods) for (const c of p.containers) for (const q of c.ports) seen.add(q.name ? `${q.name}=${q.containerPort}` : String(q.containerPort));
  return seen.size > 0 ? [...seen].sort().join(', ') : 'none declared';
}

function workloadsText(pods: readonly PodModel[], max = 6): string {
  const names = [...new Set(pods.map((p) => p.workload))];
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** The values the objects of a namespace set give the selector's keys, for a fix. */
function labelHints(selector: Json, labelSets: readonly Labels[], max = 8): string {
  const keys = [...Object.keys(labelsOf(selector?.matchLabels)), ...list(selector?.matchExpressions).map((e) => String(e?.key))];
  const hints = new Set<string>();
  for (const k of keys) for (const l of labelSets) if (l[k] !== undefined) hints.add(`${k}=${l[k]}`);
  const all = [...hints].sort();
  return all.length <= max ? all.join(', ') : `${all.slice(0, max).join(', ')}, ...`;
}

/** The namespaces a monitor's namespaceSelector selects: every one (any: true), matchNames, or its own. */
function monitorNamespaces(m: KObject): { any: true } | { names: string[] } {
  const sel = m.manifest.spec?.namespaceSelector;
  if (isObject(sel) && sel.any === true) return { any: true };
  const names = list(sel?.matchNames).filter((n): n is string => typeof n === 'string');
  return { names: names.length > 0 ? names : [m.namespace ?? 'default'] };
}

function inNamespaces(sel: ReturnType<typeof monitorNamespaces>, ns: string): boolean {
  return 'any' in sel || sel.names.includes(ns);
}

function nsText(sel: ReturnType<typeof monitorNamespaces>): string {
  return 'any' in sel ? 'any namespace' : `namespace${sel.names.length > 1 ? 's' : ''} ${sel.names.join(', ')}`;
}

interface Endpoint {
  readonly at: Path;
  readonly field: 'port' | 'portNumber' | 'targetPort';
  readonly value: number | string;
}

function endpointsOf(m: KObject): { endpoints: Endpoint[]; count: number } {
  const field = m.kind === 'PodMonitor' ? 'podMetricsEndpoints' : 'endpoints';
  const out: Endpoint[] = [];
  const eps = list(m.manifest.spec?.[field]);
  eps.forEach((ep, i) => {
    const at: Path = ['spec', field, i];
    if (str(ep?.port)) out.push({ at: [...at, 'port'], field: 'port', value: ep.port });
    else if (m.kind === 'PodMonitor' && typeof ep?.portNumber === 'number') out.push({ at: [...at, 'portNumber'], field: 'portNumber', value: ep.portNumber });
    else if (typeof ep?.targetPort === 'number' || str(ep?.targetPort)) out.push({ at: [...at, 'targetPort'], field: 'targetPort', value: ep.targetPort });
  });
  return { endpoints: out, count: eps.length };
}

function portText(e: Endpoint): string {
  return typeof e.value === 'number' ? `port ${e.value}` : `port "${e.value}"`;
}

/** monitor-target */
export function monitorTarget(ctx: Context): void {
  const pods = podModels(ctx);
  const services = serviceModels(ctx);
  for (const m of ctx.of('monitoring.coreos.com', 'PodMonitor')) {
    checkPodMonitor(ctx, m, pods);
    checkSelectedByPrometheus(ctx, m);
  }
  for (const m of ctx.of('monitoring.coreos.com', 'ServiceMonitor')) {
    checkServiceMonitor(ctx, m, services);
    checkSelectedByPrometheus(ctx, m);
  }
}

function missingPodsHint(m: KObject, pods: readonly PodModel[], nsSel: ReturnType<typeof monitorNamespaces>): string {
  const selector = m.manifest.spec?.selector ?? {};
  const elsewhere = [...new Set(pods.filter((p) => selectorMatches(selector, p.labels)).map((p) => p.namespace))].sort();
  if (elsewhere.length > 0) {
    return `pods with these labels run in ${elsewhere.join(', ')}: set spec.namespaceSelector.matchNames to ${elsewhere.length === 1 ? 'it' : 'them'}`;
  }
  const inNs = pods.filter((p) => inNamespaces(nsSel, p.namespace));
  if (inNs.length === 0) {
    return `no workload of the union runs in ${nsText(nsSel)}: point spec.namespaceSelector at the namespace of the pods to scrape, ` +
      'or, if the cluster itself runs them (outside every Application), declare them for the environment\'s cluster.provider (its clusterPods in lib/provider.ts) — or, if nothing runs them (a managed control plane), disable this monitor';
  }
  const hints = labelHints(selector, inNs.map((p) => p.labels));
  return `set spec.selector to labels the pods to scrape carry${hints ? ` (there: ${hints})` : ''}; workloads in ${nsText(nsSel)}: ${workloadsText(inNs)}`;
}

function checkPodMonitor(ctx: Context, m: KObject, pods: readonly PodModel[]): void {
  const spec = isObject(m.manifest.spec) ? m.manifest.spec : {};
  const nsSel = monitorNamespaces(m);
  const selector = isObject(spec.selector) ? spec.selector : {};
  const selected = pods.filter((p) => inNamespaces(nsSel, p.namespace) && selectorMatches(selector, p.labels));
  if (selected.length === 0) {
    ctx.report('monitor-target', m, ['spec', 'selector'],
      `selects no pod: no pod of the union in ${nsText(nsSel)} carries ${describeSelector(selector)}, so nothing is scraped`,
      missingPodsHint(m, pods, nsSel));
    return;
  }
  const { endpoints } = endpointsOf(m);
  let scraped = selected;
  for (const e of endpoints) {
    const has = selected.filter((p) => podHasPort(p, e.value));
    const lacking = selected.filter((p) => !podHasPort(p, e.value));
    if (has.length === 0) {
      const names = [...new Set(selected.flatMap((p) => p.containers.flatMap((c) => c.ports.map((q) => q.name ?? ''))))].filter((n) => n !== '');
      const guess = typeof e.value === 'string' ? closest(e.value, names) : undefined;
      const noSidecar = e.value === 'http-envoy-prom' ? ' (the Istio proxy\'s port: are these pods injected? their namespace needs the label istio-injection=enabled)' : '';
      ctx.report('monitor-target', m, e.at,
        `no selected pod has container ${portText(e)}${noSidecar}; selected: ${workloadsText(selected)} (their ports: ${podPortsText(selected)})`,
        guess ? `use ${e.field === 'port' ? 'port' : e.field} "${guess}"` : `use one of the selected pods' container ports (${podPortsText(selected)}), or name a container port "${e.value}" in their template`);
      continue;
    }
    if (lacking.length > 0) {
      ctx.report('monitor-target', m, e.at,
        `the pods of ${workloadsText(lacking)} are selected but have no container ${portText(e)}, so they are not scraped (the pods of ${workloadsText(has)} have it)`,
        `narrow spec.selector to the pods that serve ${portText(e)}, or declare the port in the other workloads' pod templates`);
    }
    scraped = scraped.filter((p) => podHasPort(p, e.value));
  }
  const jobLabel = str(spec.jobLabel);
  if (jobLabel) {
    const lacking = scraped.filter((p) => p.labels[jobLabel] === undefined);
    if (lacking.length > 0) {
      const candidates = ['app.kubernetes.io/name', 'app', 'k8s-app', 'app.kubernetes.io/component'].filter((k) => lacking.every((p) => p.labels[k] !== undefined));
      ctx.report('monitor-target', m, ['spec', 'jobLabel'],
        `jobLabel "${jobLabel}" is not a label of the pods of ${workloadsText(lacking)}, so their job label falls back to "${m.namespace}/${m.name}"`,
        candidates.length > 0 ? `set jobLabel to a label they carry (${candidates.join(' or ')}), or remove it` : `label the pods "${jobLabel}", or remove jobLabel`);
    }
  }
}

function checkServiceMonitor(ctx: Context, m: KObject, services: readonly ServiceModel[]): void {
  const spec = isObject(m.manifest.spec) ? m.manifest.spec : {};
  const nsSel = monitorNamespaces(m);
  const selector = isObject(spec.selector) ? spec.selector : {};
  const selected = services.filter((s) => inNamespaces(nsSel, s.namespace) && selectorMatches(selector, s.labels));
  if (selected.length === 0) {
    const inNs = services.filter((s) => inNamespaces(nsSel, s.namespace));
    const elsewhere = [...new Set(services.filter((s) => selectorMatches(selector, s.labels)).map((s) => s.namespace))].sort();
    const hints = labelHints(selector, inNs.map((s) => s.labels));
    ctx.report('monitor-target', m, ['spec', 'selector'],
      `selects no Service: no Service of the union in ${nsText(nsSel)} carries the labels ${describeSelector(selector)}, so nothing is scraped`,
      elsewhere.length > 0
        ? `Services with these labels are in ${elsewhere.join(', ')}: set spec.namespaceSelector.matchNames to ${elsewhere.length === 1 ? 'it' : 'them'}`
        : `set spec.selector to the labels of the Service to scrape${hints ? ` (there: ${hints})` : ''}${inNs.length > 0 ? `; Services in ${nsText(nsSel)}: ${inNs.slice(0, 8).map((s) => s.name).join(', ')}` : ''}`);
    return;
  }
  // The pods behind each selected Service (undefined: endpoints that are not pods).
  const backing = new Map(selected.map((s) => [s, servicePods(ctx, s)]));
  const live = selected.filter((s) => backing.get(s) === undefined || backing.get(s)!.length > 0);
  if (live.length === 0) {
    const s = selected[0];
    const outside = !isPlatformTarget(ctx, s.namespace);
    ctx.report('monitor-target', m, ['spec', 'selector'],
      `selects Service ${selected.map((x) => `${x.namespace}/${x.name}`).join(', ')}, which select${selected.length === 1 ? 's' : ''} no pod of the union ` +
      `(spec.selector ${Object.entries(s.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(', ')})${outside ? `; no Application deploys workloads to ${s.namespace}` : ''}, so nothing is scraped`,
      outside
        ? 'if the cluster itself runs these pods, declare them for the environment\'s cluster.provider (its clusterPods in lib/provider.ts); if nothing runs them (e.g. a managed control plane), disable this monitor and its Service in the chart\'s values'
        : `make the Service's spec.selector match the pods' labels (pods in ${s.namespace}: ${workloadsText(podModels(ctx).filter((p) => p.namespace === s.namespace)) || 'none'})`);
    return;
  }
  const { endpoints } = endpointsOf(m);
  let scraped = live;
  for (const e of endpoints) {
    if (e.field === 'port') {
      const withPort = live.filter((s) => s.ports.some((p) => p.name === e.value));
      if (withPort.length === 0) {
        const names = [...new Set(live.flatMap((s) => s.ports.map((p) => p.name ?? '')))].filter((n) => n !== '');
        const guess = closest(String(e.value), names);
        ctx.report('monitor-target', m, e.at,
          `no selected Service has a port named "${e.value}" (${live.map((s) => `${s.namespace}/${s.name}: ${s.ports.map((p) => p.name ?? p.port).join(', ') || 'no ports'}`).join('; ')})`,
          guess ? `use port "${guess}"` : `use a port name of the Service (${names.join(', ') || 'it names none: name its ports'})`);
        continue;
      }
      for (const s of withPort) {
        const pods = backing.get(s);
        if (!pods) continue;
        const target = s.ports.find((p) => p.name === e.value)!.targetPort;
        if (typeof target === 'string' && !pods.some((p) => podHasPort(p, target))) {
          ctx.report('monitor-target', m, e.at,
            `port "${e.value}" of Service ${s.namespace}/${s.name} forwards to container port "${target}", which no pod behind it declares ` +
            `(${workloadsText(pods)}; their ports: ${podPortsText(pods)}), so the endpoint has no address to scrape`,
            `set that Service port's targetPort to a container port of its pods, or name a container port "${target}"`);
        }
      }
      scraped = scraped.filter((s) => withPort.includes(s));
    } else {
      const pods = live.flatMap((s) => backing.get(s) ?? []);
      if (pods.length > 0 && !pods.some((p) => podHasPort(p, e.value))) {
        ctx.report('monitor-target', m, e.at,
          `no pod behind the selected Services has container ${portText(e)} (${workloadsText(pods)}; their ports: ${podPortsText(pods)})`,
          `use one of their container ports (${podPortsText(pods)})`);
      }
    }
  }
  const jobLabel = str(spec.jobLabel);
  if (jobLabel) {
    const lacking = scraped.filter((s) => s.labels[jobLabel] === undefined);
    if (lacking.length > 0) {
      ctx.report('monitor-target', m, ['spec', 'jobLabel'],
        `jobLabel "${jobLabel}" is not a label of Service ${lacking.map((s) => `${s.namespace}/${s.name}`).join(', ')} ` +
        `(its labels: ${Object.keys(lacking[0].labels).join(', ') || 'none'}), so its job label falls back to the Service's name`,
        `set jobLabel to a label the Service carries, label the Service "${jobLabel}", or remove jobLabel`);
    }
  }
}

/** Whether an Application of the union deploys to the namespace, or the union has a workload there. */
function isPlatformTarget(ctx: Context, ns: string): boolean {
  return ctx.of('argoproj.io', 'Application').some((a) => a.manifest.spec?.destination?.namespace === ns) ||
    podModels(ctx).some((p) => p.namespace === ns && p.object !== undefined);
}

function checkSelectedByPrometheus(ctx: Context, m: KObject): void {
  const kind = m.kind === 'PodMonitor' ? 'podMonitor' : 'serviceMonitor';
  const labels = labelsOf(m.manifest.metadata?.labels);
  const ns = m.namespace ?? 'default';
  const proms = ctx.of('monitoring.coreos.com', 'Prometheus');
  if (proms.length === 0) {
    ctx.report('monitor-target', m, ['metadata', 'labels'], `no Prometheus (monitoring.coreos.com/v1) is in the union, so no one scrapes this ${m.kind}`,
      'deploy a Prometheus (e.g. the kube-prometheus-stack chart), or remove the monitor');
    return;
  }
  const reasons: string[] = [];
  const fixes: string[] = [];
  for (const p of proms) {
    const sel = p.manifest.spec?.[`${kind}Selector`];
    const nsSel = p.manifest.spec?.[`${kind}NamespaceSelector`];
    const who = `Prometheus ${p.namespace}/${p.name}`;
    if (!isObject(sel)) {
      reasons.push(`${who} selects no ${m.kind} (spec.${kind}Selector is unset)`);
      fixes.push(`set spec.${kind}Selector of ${who} (in its chart's values)`);
      continue;
    }
    const labelsOk = selectorMatches(sel, labels);
    const nsOk = isObject(nsSel) ? selectorMatches(nsSel, nsLabels(ctx, ns)) : ns === p.namespace;
    if (labelsOk && nsOk) return;
    if (!labelsOk) {
      reasons.push(`${who} selects ${m.kind}s labelled ${describeSelector(sel)}`);
      const want = labelsOf(sel.matchLabels);
      fixes.push(Object.keys(want).length > 0 && list(sel.matchExpressions).length === 0
        ? `set metadata.labels to include ${Object.entries(want).map(([k, v]) => `${k}: ${v}`).join(', ')}`
        : `label the ${m.kind} to match ${describeSelector(sel)}`);
    }
    if (!nsOk) {
      reasons.push(isObject(nsSel)
        ? `${who} only looks in namespaces labelled ${describeSelector(nsSel)}, and namespace ${ns} is not (its labels: ${Object.entries(nsLabels(ctx, ns)).map(([k, v]) => `${k}=${v}`).join(', ')})`
        : `${who} only looks in its own namespace ${p.namespace} (spec.${kind}NamespaceSelector is unset)`);
      fixes.push(isObject(nsSel) ? `label namespace ${ns} to match ${describeSelector(nsSel)}, or move the ${m.kind} to a namespace that does` : `move the ${m.kind} to namespace ${p.namespace}, or set spec.${kind}NamespaceSelector: {} on the Prometheus`);
    }
  }
  ctx.report('monitor-target', m, ['metadata', 'labels'], `no Prometheus selects this ${m.kind}: ${reasons.join('; ')}`, [...new Set(fixes)].join('; '));
}
