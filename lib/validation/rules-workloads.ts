// Workloads and secrets: every secret a pod or a monitor reads is declared, images are pinned, and no
// Secret carries its material in git.
import { floatingTagReason } from '../config';
import { Context, isObject, KObject, list, Path, str } from './context';

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


/** Why an image reference floats, or undefined if it is pinned (the tag rule is lib/config.ts's). */
export function floatingReason(image: string): string | undefined {
  if (image.includes('@')) return undefined; // a digest
  const last = image.slice(image.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  if (colon < 0) return 'has no tag, so it means :latest';
  const tag = last.slice(colon + 1);
  const reason = floatingTagReason(tag);
  return reason && `has the tag "${tag}", which ${reason}`;
}

/** image-pinned */
export function imagePinned(ctx: Context): void {
  for (const { object, spec, at } of podSpecs(ctx)) {
    for (const containers of CONTAINER_LISTS) {
      list(spec[containers]).forEach((c, i) => {
        const image = str(c?.image);
        if (!image || (image === 'auto' && istioInjected(object))) return;
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

/**
 * Istio's injector replaces the image `auto` with the proxy image istiod pins (its gateway chart renders
 * the gateway this way): a pod that asks for injection has no floating image there.
 */
function istioInjected(o: KObject): boolean {
  const meta = o.manifest.spec?.template?.metadata;
  return meta?.labels?.['sidecar.istio.io/inject'] === 'true' || meta?.annotations?.['sidecar.istio.io/inject'] === 'true';
}

/**
 * Ports the API server refuses although the OpenAPI schema (int32) allows them: it checks port numbers in
 * Go, 1-65535 (nodePort 0 means "allocate one"). Part of the schema rule: the object would be rejected.
 */
export function portRange(ctx: Context): void {
  const check = (o: KObject, value: unknown, at: Path, allowZero = false) => {
    if (typeof value !== 'number') return;
    if (Number.isInteger(value) && value <= 65535 && (value >= 1 || (allowZero && value === 0))) return;
    ctx.report('schema', o, at, `port ${value} is out of range: the API server accepts 1-65535`, 'use a port number from 1 to 65535');
  };
  for (const { object, spec, at } of podSpecs(ctx)) {
    for (const containers of CONTAINER_LISTS) {
      list(spec[containers]).forEach((c, i) => list(c?.ports).forEach((p, j) => {
        check(object, p?.containerPort, [...at, containers, i, 'ports', j, 'containerPort']);
        if (p?.hostPort !== undefined) check(object, p.hostPort, [...at, containers, i, 'ports', j, 'hostPort']);
      }));
    }
  }
  for (const s of ctx.of('', 'Service')) {
    list(s.manifest.spec?.ports).forEach((p, j) => {
      check(s, p?.port, ['spec', 'ports', j, 'port']);
      check(s, p?.targetPort, ['spec', 'ports', j, 'targetPort']);
      if (p?.nodePort !== undefined) check(s, p.nodePort, ['spec', 'ports', j, 'nodePort'], true);
    });
  }
}
