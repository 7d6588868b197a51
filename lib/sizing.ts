// How large an environment's components run (config `cluster.size`). `small` fits one 6 GB node (a
// laptop's kind or minikube): every component reads it and, when small, runs one replica with its optional
// caches and scanners off and sets an explicit request on every container, so that the sum of the
// requests is what the node must hold (test/local-environment.spec.ts adds them up against SMALL_BUDGET).
import type { PlatformConfig } from './config';

export type ClusterSize = PlatformConfig['cluster']['size'];

/**
 * What a small environment may request in all, leaving the rest of a 6 GB, 4-CPU node to the kubelet,
 * the container runtime, kubeadm's control plane (API server, etcd, scheduler, controller manager,
 * CoreDNS, kube-proxy: about 1 GiB) and to the pods' use above their requests.
 */
export const SMALL_BUDGET = { cpu: 3, memory: 4.5 * 2 ** 30 } as const;

/** A container's `resources` with requests only: a laptop has no neighbours to protect with limits. */
export function requests(cpu: string, memory: string): { readonly requests: { readonly cpu: string; readonly memory: string } } {
  return { requests: { cpu, memory } };
}
