// cert-manager: the chart that issues every TLS certificate of the platform. It installs its own CRDs,
// so the components that write Certificates and ClusterIssuers are synced after it.
import { Construct } from 'constructs';
import { PlatformConfig } from '../lib/config';
import { HelmComponent } from '../lib/component';
import { CertManagerValues } from '../lib/helm-values';

export class CertManagerChart extends HelmComponent<CertManagerValues> {
  constructor(scope: Construct, config: PlatformConfig) {
    super(scope, 'cert-manager', {
      namespace: config.certManager.namespace,
      source: { chartKey: 'cert-manager', chartVersion: config.certManager.chartVersion },
      values: {
        // The guide's `--set installCRDs=true`, under its current name: the chart deprecated installCRDs
        // for crds.enabled and refuses to render when both are on (its cert-manager.crd-check).
        // keep=true: removing the Application must not delete the CRDs and with them every certificate.
        crds: { enabled: true, keep: true },
        nodeSelector: { ...config.nodeSelector },
        // The chart's default lease namespace is kube-system, which is outside the platform's project (and,
        // on AKS, a namespace the provider manages): Argo CD would refuse the whole sync. The controller and
        // cainjector hold their leases in their own namespace instead.
        global: { leaderElection: { namespace: config.certManager.namespace } },
      },
    });
  }
}
