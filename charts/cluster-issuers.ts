// The ClusterIssuers every Certificate refers to: Let's Encrypt through HTTP-01, one per ingress class
// that answers challenges (nginx for Ingresses, istio for the mesh gateway), as config declares them.
import { Construct } from 'constructs';
import { ACME_SERVERS, IssuerConfig, PlatformConfig } from '../lib/config';
import { ManifestComponent } from '../lib/component';
import { ClusterIssuerRef } from '../lib/tls-endpoint';
import { ClusterIssuer } from '../imports/cert-manager.io';

export class ClusterIssuersChart extends ManifestComponent {
  private readonly issuers = new Map<string, ClusterIssuerRef>();

  constructor(scope: Construct, config: PlatformConfig) {
    super(scope, 'cluster-issuers', { namespace: config.certManager.namespace });
    for (const issuer of config.certManager.issuers) this.addIssuer(issuer, config);
  }

  /** The issuer named `name`; throws, listing the declared ones, if there is none. */
  public issuer(name: string): ClusterIssuerRef {
    const ref = this.issuers.get(name);
    if (!ref) throw new Error(`no ClusterIssuer "${name}"; declared: ${[...this.issuers.keys()].join(', ')}`);
    return ref;
  }

  private addIssuer(issuer: IssuerConfig, config: PlatformConfig): void {
    new ClusterIssuer(this, issuer.name, {
      metadata: { name: issuer.name },
      spec: {
        acme: {
          server: ACME_SERVERS[issuer.acme],
          email: config.certManager.acmeEmail,
          privateKeySecretRef: { name: issuer.name },
          solvers: [{
            http01: {
              ingress: {
                class: issuer.http01IngressClass,
                podTemplate: { spec: { nodeSelector: { ...config.nodeSelector } } },
              },
            },
          }],
        },
      },
    });
    this.issuers.set(issuer.name, { name: issuer.name, http01IngressClass: issuer.http01IngressClass, declaredBy: this });
  }
}
