// Jenkins, the CI server at jenkins.<domain>: a StatefulSet with its home on a volume, the Service, the
// Certificate and Ingress, and the least RBAC the Kubernetes plugin needs to run build agents as pods in
// Jenkins's own namespace. Image builds run in those agent pods (rootless BuildKit: see "Image builds" in
// README.md) and push to Harbor with the declared docker-config-secret; nothing builder-specific is rendered
// beyond that secret.
import * as k8s from '../imports/k8s';
import { Construct } from 'constructs';
import { Section } from '../lib/config';
import { ManifestComponent } from '../lib/component';
import { MonitoringStack, PodScrape } from '../lib/monitoring';
import { Exposure } from '../lib/exposure';
import { ClusterIssuerRef, TlsEndpoint } from '../lib/tls-endpoint';
import { UsedSecret, SecretsChart } from './secrets';
import { REGISTRY_CREDENTIALS, SecretDeclaration } from '../lib/secrets';

export const METRICS_BASIC_AUTH: SecretDeclaration = {
  name: 'jenkins-metrics-basic-auth',
  type: 'Opaque',
  keys: { username: 'jenkins-metrics-username', password: 'jenkins-metrics-api-token' },
  purpose: 'Prometheus scraping Jenkins /prometheus with a Jenkins API token',
};

/** The pods' label; the Service, and the Prometheus PodMonitor of the guide, select it. */
export const JENKINS_SELECTOR = { app: 'jenkins-server' } as const;
export const JENKINS_SERVICE = 'jenkins-service';
export const JENKINS_HTTP_PORT = 8080;
/** Inbound TCP agents; WebSocket agents use the HTTP port instead. */
export const JENKINS_AGENT_PORT = 50000;
/** The service account agent pods run as: it pulls images from Harbor, and has no API rights. */
export const JENKINS_AGENT_SERVICE_ACCOUNT = 'jenkins-agent';

export interface JenkinsProps {
  readonly config: Section<'jenkins'>;
  /** Jenkins's host is jenkins.<domain>. */
  readonly domain: string;
  /** How the environment serves its endpoints (an Ingress, or a route on the shared Gateway). */
  readonly exposure: Exposure;
  /** Issues jenkins.<domain>'s certificate; must answer HTTP-01 through the exposure's class or Gateway. */
  readonly issuer: ClusterIssuerRef;
  readonly secrets: SecretsChart;
  /** The Prometheus that scrapes Jenkins's /prometheus (its metrics plugin). */
  readonly monitoring: MonitoringStack;
}

export class JenkinsChart extends ManifestComponent {
  public readonly endpoint: TlsEndpoint;
  /** The registry credentials the image builder pushes with and agent pods pull with. */
  public readonly registryCredentials: UsedSecret;
  public readonly image: string;

  constructor(scope: Construct, props: JenkinsProps) {
    const { config, secrets } = props;
    const ns = config.namespace;
    super(scope, 'jenkins', { namespace: ns });
    this.image = `${config.image.repository}:${config.image.tag}`;
    this.registryCredentials = secrets.use(this, REGISTRY_CREDENTIALS, ns);

    // The guide's jenkins-admin ClusterRole grants every verb on every core resource in every namespace
    // (secrets of the whole cluster included), bound cluster-wide. The Kubernetes plugin only starts,
    // watches, execs into and deletes agent pods in this namespace, and reads their logs and events.
    // It needs no secrets: the kubelet mounts an agent's secret volumes, not Jenkins. No PVC rights
    // either: the guide's agents use emptyDir workspaces.
    // The guide's names are kept (jenkins-admin); only the grant shrinks, from a ClusterRole to a Role.
    const controllerAccount = new k8s.KubeServiceAccount(this, 'controller-sa', {
      metadata: { name: 'jenkins-admin', namespace: ns },
    });
    const role = new k8s.KubeRole(this, 'agents-role', {
      metadata: { name: 'jenkins-admin', namespace: ns },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
        // Exec is how `container('buildkit') { sh ... }` runs steps inside the agent pod's other containers.
        { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'] },
        { apiGroups: [''], resources: ['pods/log'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['events'], verbs: ['get', 'list', 'watch'] },
      ],
    });
    new k8s.KubeRoleBinding(this, 'agents-binding', {
      metadata: { name: 'jenkins-admin', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
      subjects: [{ kind: 'ServiceAccount', name: controllerAccount.name, namespace: ns }],
    });
    // Agent pods name this account (serviceAccountName in the pod template) so that images from Harbor
    // pull without every pipeline repeating imagePullSecrets; its token is not mounted: a build step
    // has no business calling the Kubernetes API.
    new k8s.KubeServiceAccount(this, 'agent-sa', {
      metadata: { name: JENKINS_AGENT_SERVICE_ACCOUNT, namespace: ns },
      imagePullSecrets: [{ name: this.registryCredentials.name }],
      automountServiceAccountToken: false,
    });

    const service = new k8s.KubeService(this, 'service', {
      metadata: { name: JENKINS_SERVICE, namespace: ns },
      spec: {
        selector: { ...JENKINS_SELECTOR },
        type: 'ClusterIP',
        ports: [
          { name: 'http', protocol: 'TCP', port: JENKINS_HTTP_PORT, targetPort: k8s.IntOrString.fromNumber(JENKINS_HTTP_PORT) },
          { name: 'http-agents', protocol: 'TCP', port: JENKINS_AGENT_PORT, targetPort: k8s.IntOrString.fromNumber(JENKINS_AGENT_PORT) },
        ],
      },
    });

    const probe = (initialDelaySeconds: number, failureThreshold: number): k8s.Probe => ({
      httpGet: { path: '/login', port: k8s.IntOrString.fromNumber(JENKINS_HTTP_PORT) },
      initialDelaySeconds,
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold,
    });
    new k8s.KubeStatefulSet(this, 'statefulset', {
      metadata: { name: 'jenkins', namespace: ns, annotations: { 'prometheus.io/scrape': 'false' } },
      spec: {
        // The guide names a Service "jenkins" that does not exist; the StatefulSet's governing Service is
        // the one it is reached through.
        serviceName: service.name,
        replicas: 1,
        selector: { matchLabels: { ...JENKINS_SELECTOR } },
        template: {
          metadata: { labels: { ...JENKINS_SELECTOR } },
          spec: {
            // The image runs as uid 1000; fsGroup makes the fresh volume writable for it.
            securityContext: { fsGroup: 1000, runAsUser: 1000 },
            serviceAccountName: controllerAccount.name,
            containers: [{
              name: 'jenkins',
              image: this.image,
              resources: {
                limits: { memory: k8s.Quantity.fromString('2Gi'), cpu: k8s.Quantity.fromString('1000m') },
                requests: { memory: k8s.Quantity.fromString('500Mi'), cpu: k8s.Quantity.fromString('500m') },
              },
              ports: [
                { name: 'httpport', containerPort: JENKINS_HTTP_PORT },
                { name: 'jnlpport', containerPort: JENKINS_AGENT_PORT },
              ],
              livenessProbe: probe(90, 5),
              readinessProbe: probe(60, 3),
              volumeMounts: [{ name: 'jenkins-data', mountPath: '/var/jenkins_home' }],
            }],
          },
        },
        volumeClaimTemplates: [{
          metadata: { name: 'jenkins-data' },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: k8s.Quantity.fromString(config.storage) } },
          },
        }],
      },
    });

    // One route only. The guide also sends /agents to service jenkins-svc port "agents", neither of
    // which exists. The guide's cloud uses WebSocket agents, which connect through this same HTTPS host
    // (under /wsagents/); inbound TCP agents use port 50000 of the Service inside the cluster, which an
    // HTTP Ingress cannot carry anyway.
    this.endpoint = new TlsEndpoint(this, 'endpoint', {
      host: `jenkins.${props.domain}`,
      namespace: ns,
      secretName: 'jenkins-secret',
      issuer: props.issuer,
      route: { exposure: props.exposure, name: 'jenkins', backend: { service: service.name, port: JENKINS_HTTP_PORT } },
    });

    // The metrics plugin's endpoint, with a Jenkins user and API token from a secret next to Prometheus.
    const metricsAuth = secrets.use(this, METRICS_BASIC_AUTH, props.monitoring.monitorNamespace);
    new PodScrape(this, 'scrape', {
      stack: props.monitoring,
      name: 'jenkins',
      podNamespace: ns,
      matchLabels: JENKINS_SELECTOR,
      jobLabel: 'app',
      port: 'httpport',
      path: '/prometheus',
      scheme: 'http',
      basicAuth: { secret: metricsAuth, usernameKey: 'username', passwordKey: 'password' },
    });
  }
}
