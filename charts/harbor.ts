// Harbor, the private registry at harbor.<domain>: the chart (which creates Harbor's Ingress) and the
// Certificate that fills its TLS secret, in one Application. The chart's values are read from the
// endpoint, so the host and secret name the Ingress uses are the ones the Certificate issues.
import { Construct } from 'constructs';
import { Section } from '../lib/config';
import { HelmComponent } from '../lib/component';
import { ClusterSize, requests } from '../lib/sizing';
import { HarborValues } from '../lib/helm-values';
import { Exposure } from '../lib/exposure';
import { ClusterIssuerRef, TlsEndpoint } from '../lib/tls-endpoint';
import { SecretsChart } from './secrets';
import { SecretDeclaration } from '../lib/secrets';

export const HARBOR_SECRETS: SecretDeclaration = {
  name: 'harbor-secrets',
  type: 'Opaque',
  keys: {
    HARBOR_ADMIN_PASSWORD: 'harbor-admin-password',
    secretKey: 'harbor-secret-key',
    secret: 'harbor-core-secret',
    CSRF_KEY: 'harbor-csrf-key',
    JOBSERVICE_SECRET: 'harbor-jobservice-secret',
    REGISTRY_HTTP_SECRET: 'harbor-registry-http-secret',
    REGISTRY_PASSWD: 'harbor-registry-password',
    REGISTRY_HTPASSWD: 'harbor-registry-htpasswd',
    password: 'harbor-database-password',
  },
  purpose: 'Harbor admin password, its internal database\'s password, and the internal secrets the chart would otherwise generate on every render',
};

export const HARBOR_CORE_TOKEN: SecretDeclaration = {
  name: 'harbor-core-token',
  type: 'kubernetes.io/tls',
  keys: { 'tls.crt': 'harbor-core-token-crt', 'tls.key': 'harbor-core-token-key' },
  purpose: 'key pair Harbor core signs registry tokens with (otherwise regenerated on every render)',
};

/** The chart's front Service (its nginx) with expose.type clusterIP, and its HTTP port. */
const HARBOR_SERVICE = 'harbor';
const HARBOR_HTTP_PORT = 80;

export interface HarborProps {
  readonly config: Section<'harbor'>;
  /** Harbor's host is harbor.<domain>. */
  readonly domain: string;
  /** How the environment serves its endpoints: the chart's Ingress, or a route on the shared Gateway. */
  readonly exposure: Exposure;
  /** Issues harbor.<domain>'s certificate; must answer HTTP-01 through the exposure's class or Gateway. */
  readonly issuer: ClusterIssuerRef;
  readonly secrets: SecretsChart;
  /** How large the component runs (config `cluster.size`). @default 'standard' */
  readonly size?: ClusterSize;
}

type Resources = ReturnType<typeof requests>;
/**
 * The chart's values plus each component's resources, which the chart's templates read but its values.yaml
 * has only in comments, so the generated type lacks them.
 */
export type HarborChartValues = HarborValues & {
  readonly core?: { readonly resources?: Resources };
  readonly jobservice?: { readonly resources?: Resources };
  readonly portal?: { readonly resources?: Resources };
  readonly registry?: { readonly registry?: { readonly resources?: Resources }; readonly controller?: { readonly resources?: Resources } };
  readonly database?: { readonly internal?: { readonly resources?: Resources; readonly initContainer?: { readonly permissions?: { readonly resources?: Resources } } } };
  readonly redis?: { readonly internal?: { readonly resources?: Resources } };
  readonly nginx?: { readonly resources?: Resources };
};

export class HarborChart extends HelmComponent<HarborChartValues> {
  public readonly endpoint: TlsEndpoint;

  constructor(scope: Construct, props: HarborProps) {
    const { config, secrets } = props;
    const ns = config.namespace;
    const host = `harbor.${props.domain}`;
    const secretName = 'harbor-secret';
    const exposure = props.exposure;
    super(scope, 'harbor', {
      namespace: ns,
      source: { chartKey: 'harbor', chartVersion: config.chartVersion },
      values: {
        expose: exposure.kind === 'ingress' ? {
          type: 'ingress',
          // The guide's sed edits: certSource secret with harbor-secret, class nginx, host harbor.<domain>.
          // It also adds cert-manager.io/cluster-issuer to the Ingress, which would make cert-manager issue
          // harbor-secret a second time next to the Certificate; the Certificate is the one mechanism kept.
          tls: { enabled: true, certSource: 'secret', secret: { secretName } },
          ingress: { hosts: { core: host }, className: exposure.className },
        } : {
          // The Gateway terminates TLS and routes to Harbor's nginx over plain HTTP inside the mesh.
          type: 'clusterIP',
          tls: { enabled: false },
          clusterIP: { name: HARBOR_SERVICE, ports: { httpPort: HARBOR_HTTP_PORT } },
        },
        externalURL: `https://${host}`,
      },
    });
    // With an Ingress exposure the chart renders the Ingress from the same host and secret.
    this.endpoint = new TlsEndpoint(this, 'harbor', {
      host, namespace: ns, secretName, issuer: props.issuer,
      route: { exposure, name: 'harbor', backend: { service: HARBOR_SERVICE, port: HARBOR_HTTP_PORT }, ingressBy: 'chart' },
    });
    // Every secret Harbor would otherwise take from values or generate anew on each render (so that
    // Argo CD would see a diff forever) comes from the declared secrets instead.
    const s = secrets.use(this, HARBOR_SECRETS, ns);
    const token = secrets.use(this, HARBOR_CORE_TOKEN, ns);
    this.addValues({
      existingSecretAdminPassword: s.name,
      existingSecretAdminPasswordKey: s.key('HARBOR_ADMIN_PASSWORD'),
      existingSecretSecretKey: s.name,
      core: { existingSecret: s.name, existingXsrfSecret: s.name, existingXsrfSecretKey: s.key('CSRF_KEY'), secretName: token.name },
      jobservice: { existingSecret: s.name, existingSecretKey: s.key('JOBSERVICE_SECRET') },
      registry: {
        existingSecret: s.name,
        existingSecretKey: s.key('REGISTRY_HTTP_SECRET'),
        credentials: { existingSecret: s.name },
      },
      // The internal database's password: the chart has no Secret option for it and would render its
      // well-known default ("changeit") into three Secrets. Instead, core, its pre-upgrade job and the
      // exporter read it from the declared secret (`database.external.existingSecret` is honoured whatever
      // the database type, key `password`), and the database container gets the same value as an env
      // variable, which takes precedence over the chart's Secret (envFrom) that is left empty.
      database: {
        external: { existingSecret: s.name },
        internal: {
          password: '',
          extraEnvVars: [{ name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: s.name, key: s.key('password') } } }],
        },
      },
    });
    // The keys the chart reads by fixed name must exist too.
    ['secretKey', 'secret', 'REGISTRY_PASSWD', 'REGISTRY_HTPASSWD'].forEach((k) => s.key(k));
    if (props.size === 'small') {
      this.addValues({
        // The vulnerability scanner alone requests 512Mi; a laptop's registry goes without.
        trivy: { enabled: false },
        core: { resources: requests('10m', '128Mi') },
        jobservice: { resources: requests('10m', '64Mi') },
        portal: { resources: requests('10m', '16Mi') },
        registry: { registry: { resources: requests('10m', '64Mi') }, controller: { resources: requests('10m', '32Mi') } },
        database: { internal: { resources: requests('25m', '128Mi'), initContainer: { permissions: { resources: requests('10m', '16Mi') } } } },
        redis: { internal: { resources: requests('10m', '32Mi') } },
        // The front of the gateway-api exposure (expose.type clusterIP); an Ingress exposure runs none.
        nginx: { resources: requests('10m', '16Mi') },
      });
    }
  }
}
