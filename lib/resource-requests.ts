// What the platform asks the scheduler for: the CPU and memory requests of every pod its objects make,
// ours and every chart's render, counted as the cluster will run them. Used to check that an environment
// sized `small` (config `cluster.size`) fits a laptop's single node.
import type { Manifest } from './manifest';

/** CPU in cores, memory in bytes. */
export interface Requests {
  readonly cpu: number;
  readonly memory: number;
}

/** One pod template's share: what it requests per pod, and how many pods run. */
export interface PodRequests extends Requests {
  /** `Kind namespace/name` of the object that makes the pods. */
  readonly owner: string;
  readonly pods: number;
}

const BINARY = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 } as const;
const DECIMAL = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 } as const;

/** A Kubernetes quantity (`100m`, `0.5`, `128Mi`, `1G`, `1e9`) as a number: cores or bytes. */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([0-9.]+(?:e[0-9]+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q.trim());
  if (!m) throw new Error(`not a Kubernetes quantity: "${q}"`);
  const n = Number(m[1]);
  const unit = m[2];
  if (unit === undefined) return n;
  if (unit === 'm') return n / 1000;
  return n * ((BINARY as Record<string, number>)[unit] ?? (DECIMAL as Record<string, number>)[unit]);
}

interface Container { readonly resources?: { readonly requests?: Record<string, string | number> } }
interface PodSpec { readonly containers?: readonly Container[]; readonly initContainers?: readonly Container[] }

function containerRequests(c: Container): Requests {
  const r = c.resources?.requests ?? {};
  return { cpu: r.cpu === undefined ? 0 : parseQuantity(r.cpu), memory: r.memory === undefined ? 0 : parseQuantity(r.memory) };
}

/**
 * A pod's effective request, as the scheduler computes it: the sum of its containers, or the largest init
 * container when that is more (init containers run one at a time, before the others).
 */
export function podRequests(spec: PodSpec): Requests {
  const sum = (spec.containers ?? []).map(containerRequests).reduce((a, b) => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory }), { cpu: 0, memory: 0 });
  const init = (spec.initContainers ?? []).map(containerRequests);
  return {
    cpu: Math.max(sum.cpu, ...init.map((i) => i.cpu)),
    memory: Math.max(sum.memory, ...init.map((i) => i.memory)),
  };
}

export interface CountOptions {
  /** Nodes a DaemonSet runs a pod on. @default 1 */
  readonly nodes?: number;
  /**
   * What a sidecar adds to each pod of a namespace (Istio injects its proxy into the pods of the
   * namespaces labelled for injection, after the objects are applied). @default - none
   */
  readonly sidecars?: ReadonlyMap<string, Requests>;
}

/**
 * The pods the objects run, each with its requests: Deployments, StatefulSets, ReplicaSets and Argo Rollouts
 * by their replicas (1 when unset), DaemonSets once per node, and the prometheus-operator's Prometheus and
 * Alertmanager resources by the StatefulSets the operator makes of them (their `resources` plus the config
 * reloader the operator adds, as its Deployment's --config-reloader-*-request flags say). Jobs and hooks are left out: they run once and end.
 */
export function podsOf(manifests: readonly Manifest[], options: CountOptions = {}): PodRequests[] {
  const nodes = options.nodes ?? 1;
  const reloader = configReloaderRequests(manifests);
  const out: PodRequests[] = [];
  for (const m of manifests) {
    const spec = (m as any).spec;
    const ns = m.metadata.namespace ?? '';
    const owner = `${m.kind} ${ns ? `${ns}/` : ''}${m.metadata.name}`;
    const sidecar = options.sidecars?.get(ns) ?? { cpu: 0, memory: 0 };
    const add = (pod: Requests, pods: number, extra: Requests = { cpu: 0, memory: 0 }) =>
      out.push({ owner, pods, cpu: pod.cpu + extra.cpu, memory: pod.memory + extra.memory });
    const injected = (template: any): Requests => {
      const inject = template?.metadata?.labels?.['sidecar.istio.io/inject'] ?? template?.metadata?.annotations?.['sidecar.istio.io/inject'];
      return inject === 'false' ? { cpu: 0, memory: 0 } : sidecar;
    };
    switch (m.kind) {
      case 'Deployment':
      case 'StatefulSet':
      case 'ReplicaSet':
      case 'Rollout':
        if (spec?.template?.spec) add(podRequests(spec.template.spec), spec.replicas ?? 1, injected(spec.template));
        break;
      case 'DaemonSet':
        if (spec?.template?.spec) add(podRequests(spec.template.spec), nodes, injected(spec.template));
        break;
      case 'Prometheus':
      case 'Alertmanager':
        if (m.apiVersion.startsWith('monitoring.coreos.com/')) {
          add(podRequests({ containers: [{ resources: spec?.resources }] }), (spec?.replicas ?? 1) * (spec?.shards ?? 1), reloader);
        }
        break;
      default:
    }
  }
  return out;
}

/**
 * What the prometheus-operator gives the config-reloader sidecar of each Prometheus and Alertmanager pod:
 * its flags --config-reloader-cpu-request and --config-reloader-memory-request (none: nothing).
 */
function configReloaderRequests(manifests: readonly Manifest[]): Requests {
  const args = manifests.filter((m) => m.kind === 'Deployment')
    .flatMap((m) => ((m as any).spec?.template?.spec?.containers ?? []).flatMap((c: { args?: string[] }) => c.args ?? []));
  const flag = (name: string) => {
    const arg = args.find((a: string) => a.startsWith(`--config-reloader-${name}-request=`));
    return arg === undefined ? 0 : parseQuantity(arg.split('=')[1]);
  };
  return { cpu: flag('cpu'), memory: flag('memory') };
}

/** The requests of all the pods, added up. */
export function totalRequests(pods: readonly PodRequests[]): Requests {
  return pods.reduce((a, p) => ({ cpu: a.cpu + p.cpu * p.pods, memory: a.memory + p.memory * p.pods }), { cpu: 0, memory: 0 });
}
