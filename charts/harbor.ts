// Harbor, the private registry at harbor.<domain>: the chart (which creates Harbor's Ingress) and the
// Certificate that fills its TLS secret. The chart's values are read from the endpoint, so the host and
// secret name the Ingress uses are the ones the Certificate issues.
import { Construct } from 'constructs';
import { PlatformConfig } from '../lib/config';
import { HelmComponent, ManifestComponent } from '../lib/component';
import { HarborValues } from '../lib/helm-values';
import { ClusterIssuerRef, TlsEndpoint } from '../lib/tls-endpoint';

/** The Certificate for harbor.<domain>, in its own folder because Argo CD renders the chart. */
export class HarborCertificateChart extends ManifestComponent {
  public readonly endpoint: TlsEndpoint;

  constructor(scope: Construct, config: PlatformConfig, issuer: ClusterIssuerRef) {
    super(scope, 'harbor-certificate', { namespace: config.harbor.namespace });
    this.endpoint = new TlsEndpoint(this, 'harbor', {
      host: `harbor.${config.domain}`,
      namespace: config.harbor.namespace,
      secretName: 'harbor-secret',
      issuer,
    });
  }
}

export class HarborChart extends HelmComponent<HarborValues> {
  constructor(scope: Construct, config: PlatformConfig, tls: HarborCertificateChart) {
    const { host, secretName } = tls.endpoint;
    super(scope, 'harbor', {
      namespace: config.harbor.namespace,
      dependsOn: [tls],
      source: { repoURL: 'https://helm.goharbor.io', chart: 'harbor', version: config.harbor.chartVersion },
      values: {
        expose: {
          type: 'ingress',
          // The guide's sed edits: certSource secret with harbor-secret, class nginx, host harbor.<domain>.
          // It also adds cert-manager.io/cluster-issuer to the Ingress, which would make cert-manager issue
          // harbor-secret a second time next to the Certificate; the Certificate is the one mechanism kept.
          tls: { enabled: true, certSource: 'secret', secret: { secretName } },
          ingress: { hosts: { core: host }, className: config.ingressClass },
        },
        externalURL: `https://${host}`,
      },
    });
  }
}
