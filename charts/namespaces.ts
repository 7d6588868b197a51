// The namespaces the platform writes into, as objects, so that secrets can land in a namespace before the
// component that lives there creates it. Found from the components already in the tree: their own
// namespaces, where their objects go, where the secrets go (the secrets' objects are written before), and the namespaces that get sidecars. A
// namespace is never pruned or deleted by Argo CD: removing one here must not delete everything in it.
import * as k8s from '../imports/k8s';
import { Construct } from 'constructs';
import { componentsOf, ManifestComponent } from '../lib/component';

export const KEEP_NAMESPACE = 'Prune=false,Delete=false';
/** Namespaces of the cluster's own system, which the platform must not own. */
const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

export interface NamespacesProps {
  /** The scope whose components' namespaces are created (the App). */
  readonly components: Construct;
  /** Labels per namespace (e.g. istio-injection); each of these namespaces is created too. */
  readonly labels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export class NamespacesChart extends ManifestComponent {
  constructor(scope: Construct, props: NamespacesProps) {
    super(scope, 'namespaces', { namespace: 'default' });
    const labels = props.labels ?? {};
    const wanted = [
      ...componentsOf(props.components).filter((c) => c !== this).flatMap((c) => c.namespaces),
      ...Object.keys(labels),
    ];
    // A component whose own objects go into another component's namespace syncs after the namespaces exist.
    for (const c of componentsOf(props.components)) {
      if (c !== this && c.apiObjects.some((o) => o.metadata.namespace !== undefined && o.metadata.namespace !== c.targetNamespace)) c.dependOn(this);
    }
    for (const ns of [...new Set(wanted)].sort()) {
      if (SYSTEM_NAMESPACES.has(ns)) continue;
      new k8s.KubeNamespace(this, ns, {
        metadata: {
          name: ns,
          annotations: { 'argocd.argoproj.io/sync-options': KEEP_NAMESPACE },
          ...(labels[ns] ? { labels: { ...labels[ns] } } : {}),
        },
      });
    }
  }
}
