// The namespaces the platform writes into, as objects, so that secrets can land in a namespace before the
// component that lives there creates it. A namespace is never pruned or deleted by Argo CD: removing one
// here must not delete everything in it.
import * as k8s from '../imports/k8s';
import { Construct } from 'constructs';
import { ManifestComponent } from '../lib/component';

export const KEEP_NAMESPACE = 'Prune=false,Delete=false';

export class NamespacesChart extends ManifestComponent {
  constructor(scope: Construct, namespaces: readonly string[], labels: Readonly<Record<string, Record<string, string>>> = {}) {
    super(scope, 'namespaces', { namespace: 'default' });
    for (const ns of [...new Set(namespaces)].sort()) {
      if (ns === 'kube-system' || ns === 'kube-public') continue;
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
