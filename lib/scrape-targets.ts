// What Prometheus scrapes beyond the chart's own targets: one entry per PodMonitor of the guide
// (reference R-D/prometheus/podmonitor/*.yaml). The monitoring component turns each entry into a PodMonitor;
// adding a target is adding an entry here. Namespaces come from config, so a cluster that runs Argo CD or
// Jenkins elsewhere is still scraped.
import { PlatformConfig } from './config';

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

/** A label selector, as Kubernetes writes it. */
export interface PodSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: SelectorOperator; readonly values?: readonly string[] }[];
}

/** Basic auth whose username and password are keys of a secret declared in lib/secrets.ts. */
export interface ScrapeBasicAuth {
  readonly secret: string;
  readonly usernameKey: string;
  readonly passwordKey: string;
}

export interface ScrapeTarget {
  /** The PodMonitor's name. */
  readonly name: string;
  /** What is scraped, for readers of this list. */
  readonly description: string;
  /** The namespace the pods run in. */
  readonly namespace: string;
  readonly selector: PodSelector;
  /** A container port: its name, or its number when the pod does not name it. */
  readonly port: string | number;
  readonly path: string;
  readonly interval: string;
  /** The pod label whose value becomes the `job` label. @default - the PodMonitor's name */
  readonly jobLabel?: string;
  /** @default - http (Prometheus's default, not written) */
  readonly scheme?: 'http' | 'https';
  readonly basicAuth?: ScrapeBasicAuth;
}

const METRICS = '/metrics';
const ENVOY_STATS = '/stats/prometheus';
const EVERY_30S = '30s';
/** The workloads (pod label `app`) whose Envoy sidecars the guide scrapes. */
const ENVOY_METERED_WORKLOADS = ['nginx', 'login-js'];

/** Every scrape target of the platform, in one list. */
export function scrapeTargets(config: PlatformConfig): ScrapeTarget[] {
  const argocd = config.argocd.namespace;
  const istio = config.istio.namespace;
  // The guide meters these two of the deploy repo's workloads; one this environment does not run is left out.
  const meshed = ENVOY_METERED_WORKLOADS.filter((w) => w in config.apps.workloads);
  const argocdComponent = (name: string, port: number, what: string): ScrapeTarget => ({
    name,
    description: `Argo CD ${what}`,
    namespace: argocd,
    jobLabel: 'app.kubernetes.io/name',
    selector: { matchLabels: { 'app.kubernetes.io/name': name } },
    port,
    path: METRICS,
    interval: EVERY_30S,
  });
  return [
    ...(meshed.length === 0 ? [] : [{
      name: 'istio-envoy',
      description: 'the Envoy sidecars of the workloads the guide meters (nginx, login-js)',
      namespace: config.apps.namespace,
      selector: { matchExpressions: [{ key: 'app', operator: 'In' as const, values: meshed }] },
      port: 'http-envoy-prom',
      path: ENVOY_STATS,
      interval: EVERY_30S,
    }]),
    {
      name: 'istiod',
      description: 'the Istio control plane (monitoring port 15014, which istiod does not name)',
      namespace: istio,
      jobLabel: 'app',
      selector: { matchLabels: { app: 'istiod' } },
      port: 15014,
      path: METRICS,
      interval: EVERY_30S,
    },
    {
      name: 'istio-gateways',
      description: 'the Envoy of the Istio ingress and egress gateways',
      namespace: istio,
      jobLabel: 'istio',
      selector: { matchExpressions: [{ key: 'istio', operator: 'In', values: ['ingressgateway', 'egressgateway'] }] },
      port: 'http-envoy-prom',
      path: ENVOY_STATS,
      interval: EVERY_30S,
    },
    {
      name: 'jenkins',
      description: 'the Jenkins controller (Prometheus metrics plugin), with a Jenkins user and API token',
      namespace: config.jenkins.namespace,
      // The Jenkins pods carry only `app` (charts/jenkins.ts); a jobLabel they lack names the job after the monitor.
      jobLabel: 'app',
      selector: { matchLabels: { app: 'jenkins-server' } },
      port: 'httpport',
      path: '/prometheus',
      interval: EVERY_30S,
      scheme: 'http',
      basicAuth: { secret: 'jenkins-metrics-basic-auth', usernameKey: 'username', passwordKey: 'password' },
    },
    argocdComponent('argocd-repo-server', 8084, 'repo server'),
    argocdComponent('argocd-server', 8083, 'API server'),
    argocdComponent('argocd-application-controller', 8082, 'application controller'),
    // The guide notes the port may be 8085 in other installs; 8080 is the controller's metrics port in Argo CD 2.x/3.x.
    argocdComponent('argocd-applicationset-controller', 8080, 'ApplicationSet controller'),
    {
      name: 'cert-manager',
      description: 'the cert-manager controller',
      namespace: config.certManager.namespace,
      jobLabel: 'app.kubernetes.io/name',
      selector: { matchLabels: { 'app.kubernetes.io/name': 'cert-manager' } },
      port: 9402,
      path: METRICS,
      interval: EVERY_30S,
    },
  ];
}
