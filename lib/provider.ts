// What the platform must know about who runs the cluster: facts that no manifest of ours states and that
// change what the charts may scrape, select or annotate. One entry per `cluster.provider` of config; every
// cloud-specific setting of a component goes through here (or a typed choice of its config section), so an
// environment on another provider carries none of it.
import type { ClusterPod } from './validation/rules-monitoring';

export interface Provider {
  /**
   * Whether the provider runs the control plane out of the cluster's reach: then the scheduler,
   * controller manager and etcd cannot be scraped, and the charts must not monitor or alert on them.
   */
  readonly managedControlPlane: boolean;
  /** Pods the provider runs in every cluster, outside every Application, that monitors may select. */
  readonly clusterPods: readonly ClusterPod[];
  /**
   * Annotations of a LoadBalancer Service whose pods answer the load balancer's health probe on `path`
   * (the provider's load balancer may probe another path by default).
   */
  loadBalancerAnnotations(healthProbePath: string): Readonly<Record<string, string>>;
}

export const PROVIDERS: Readonly<Record<'aks' | 'self-managed', Provider>> = {
  aks: {
    managedControlPlane: true,
    // The Azure load balancer probes / by default; a controller that answers it with 404 has every node
    // marked down.
    loadBalancerAnnotations: (path) => ({ 'service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path': path }),
    clusterPods: [{
      // AKS's CoreDNS (kube-system/coredns), which kube-prometheus-stack's CoreDNS Service selects.
      namespace: 'kube-system', name: 'coredns', labels: { 'k8s-app': 'kube-dns' },
      ports: [{ name: 'metrics', containerPort: 9153 }], providedBy: 'AKS',
    }],
  },
  // A cluster installed by kubeadm (or kind, minikube): its control plane runs as static pods and its
  // CoreDNS and kube-proxy as kubeadm's add-ons, none of them managed by the platform. (kubeadm binds the
  // scheduler's, controller manager's and etcd's metrics to localhost unless told otherwise: expose them
  // with --bind-address / --listen-metrics-urls for these targets to be up.)
  'self-managed': {
    managedControlPlane: false,
    // Whatever answers LoadBalancer Services there (MetalLB, cloud-provider-kind, minikube tunnel) takes none.
    loadBalancerAnnotations: () => ({}),
    clusterPods: [
      { namespace: 'kube-system', name: 'coredns', labels: { 'k8s-app': 'kube-dns' }, ports: [{ name: 'metrics', containerPort: 9153 }], providedBy: 'kubeadm' },
      { namespace: 'kube-system', name: 'kube-scheduler', labels: { component: 'kube-scheduler', tier: 'control-plane' }, ports: [{ containerPort: 10259 }], providedBy: 'kubeadm' },
      { namespace: 'kube-system', name: 'kube-controller-manager', labels: { component: 'kube-controller-manager', tier: 'control-plane' }, ports: [{ containerPort: 10257 }], providedBy: 'kubeadm' },
      { namespace: 'kube-system', name: 'etcd', labels: { component: 'etcd', tier: 'control-plane' }, ports: [{ containerPort: 2381 }], providedBy: 'kubeadm' },
      { namespace: 'kube-system', name: 'kube-proxy', labels: { 'k8s-app': 'kube-proxy' }, ports: [{ containerPort: 10249 }], providedBy: 'kubeadm' },
    ],
  },
};
