// The deploy repo's workloads (nginx, login-js, register-js): per workload a Deployment and its Service,
// and, for a workload with a public host, the Istio Gateway and VirtualService that serve it through the
// ingress gateway with the Certificate the Gateway's credentialName reads. The sidecars of the workloads
// that speak HTTP (and so report istio_requests_total, which KEDA scales on) are scraped by one PodMonitor
// built from the workloads themselves. Images, tags, ports and hosts come from config (`apps.workloads`);
// CI changes a tag with `npm run set-image`, never with sed. Each pod is hardened by default
// (charts/workload-pod.ts) and each workload reachable only by its declared callers (charts/mesh-security.ts).
import * as k8s from '../imports/k8s';
import { Construct } from 'constructs';
import { HTTP_PORT_NAME, PlatformConfig, Section } from '../lib/config';
import { ManifestComponent } from '../lib/component';
import { ENVOY_METRICS, MonitoringStack, PodScrape } from '../lib/monitoring';
import { ClusterIssuerRef, TlsEndpoint } from '../lib/tls-endpoint';
import { Gateway, GatewaySpecServersTlsMode, VirtualService } from '../imports/networking.istio.io';
import { IstioGatewayChart, IstiodChart } from './istio';
import { IstioRequestRateScaling } from './keda';
import { UsedSecret, SecretsChart } from './secrets';
import { REGISTRY_CREDENTIALS } from '../lib/secrets';
import { WorkloadTraffic } from './traffic';
import { compareText } from '../lib/text';
import { MeshSecurity } from './mesh-security';
import { METRICS_PORT_NAME, WorkloadPod } from './workload-pod';

type WorkloadConfig = PlatformConfig['apps']['workloads'][string];

export interface WorkloadsProps {
  readonly config: Section<'apps'>;
  /** Public hosts are <subdomain>.<domain>. */
  readonly domain: string;
  /** Issues the gateway hosts' certificates; must answer HTTP-01 through the Istio ingress gateway. */
  readonly gatewayIssuer: ClusterIssuerRef;
  readonly gateway: IstioGatewayChart;
  /** Pods created before istiod's injection webhook exists run without a sidecar until restarted. */
  readonly istiod: IstiodChart;
  readonly secrets: SecretsChart;
  /** The Prometheus that scrapes the sidecars and that KEDA reads the Istio request rate from. */
  readonly monitoring: MonitoringStack;
}

export class WorkloadsChart extends ManifestComponent {
  public readonly workloads: ReadonlyMap<string, Workload>;

  constructor(scope: Construct, props: WorkloadsProps) {
    const { config } = props;
    const ns = config.namespace;
    // Not "apps": that folder holds the child Applications.
    super(scope, 'workloads', { namespace: ns, dependsOn: [props.istiod, props.gateway] });
    const pullSecret = props.secrets.use(this, REGISTRY_CREDENTIALS, ns);
    const workloads = new Map<string, Workload>();
    for (const [name, w] of Object.entries(config.workloads).sort(([a], [b]) => compareText(a, b))) {
      workloads.set(name, new Workload(this, name, { ...props, name, workload: w, namespace: ns, pullSecret }));
    }
    this.workloads = workloads;
    new MeshSecurity(this, 'mesh-security', {
      namespace: ns, gateway: props.gateway, istiod: props.istiod,
      workloads: [...workloads].map(([name, wl]) => ({
        name, selector: wl.selector, serviceAccountName: wl.pod.serviceAccount.name, port: wl.config.port,
        metricsPort: wl.config.metricsPort, public: wl.config.subdomain !== undefined, callers: wl.pod.settings.callers,
      })),
    });

    // Declared order, as the guide lists them (nginx, login-js).
    const metered = Object.keys(config.workloads).filter((name) => workloads.get(name)!.reportsRequests);
    if (metered.length > 0) {
      new PodScrape(this, 'envoy-scrape', {
        stack: props.monitoring,
        name: 'istio-envoy',
        podNamespace: ns,
        matchExpressions: [{ key: 'app', operator: 'In', values: metered }],
        ...ENVOY_METRICS,
      });
    }
  }
}

interface WorkloadProps extends WorkloadsProps {
  readonly name: string;
  readonly workload: WorkloadConfig;
  readonly namespace: string;
  readonly pullSecret: UsedSecret;
}

/** One workload: Deployment, Service, and its public route when it has a host. */
export class Workload extends Construct {
  public readonly deployment: k8s.KubeDeployment;
  public readonly service: k8s.KubeService;
  public readonly image: string;
  /** Its VirtualService, DestinationRules, other versions or canary, when config opts it in. */
  public readonly traffic?: WorkloadTraffic;
  /** The labels the Deployment, Service, budget, monitors and policies select its pods by. */
  public readonly selector: Readonly<Record<string, string>>;
  /** The hardened pod parts: ServiceAccount, probes, security context, budget, ConfigMaps. */
  public readonly pod: WorkloadPod;
  public readonly config: WorkloadConfig;
  /**
   * Whether its sidecar reports istio_requests_total: its port speaks HTTP or gRPC. Those sidecars are
   * scraped, so request-rate autoscaling (which config allows only on such a port) always has its metric.
   */
  public readonly reportsRequests: boolean;

  constructor(scope: Construct, id: string, props: WorkloadProps) {
    super(scope, id);
    const { name, workload: w, namespace: ns } = props;
    this.image = `${w.image.repository}:${w.image.tag}`;
    this.reportsRequests = HTTP_PORT_NAME.test(w.portName);
    // Istio's telemetry and Kiali's graph identify a workload by app and version (canonical-name and
    // canonical-revision when set); the app.kubernetes.io and Backstage labels are the guide's.
    const selector = { app: name };
    this.selector = selector;
    this.config = w;
    this.pod = new WorkloadPod(this, 'pod', { name, namespace: ns, workload: w, selector, monitoring: props.monitoring });
    const identity = {
      'app.kubernetes.io/name': name,
      'app.kubernetes.io/version': w.version,
      'backstage.io/kubernetes-id': name,
    };
    const podLabels = {
      ...selector,
      version: w.version,
      ...identity,
      'service.istio.io/canonical-name': name,
      'service.istio.io/canonical-revision': w.version,
      // The label as well as the guide's annotation: the injector's object selector matches the label, so
      // the pod keeps its sidecar even in a namespace without istio-injection=enabled.
      'sidecar.istio.io/inject': 'true',
    };
    const podAnnotations = { 'sidecar.istio.io/inject': 'true', ...w.podAnnotations, ...this.pod.annotations };
    const containerPorts: k8s.ContainerPort[] = [{ name: w.portName, containerPort: w.port }];
    const servicePorts: k8s.ServicePort[] = [{ name: w.portName, port: w.port, targetPort: k8s.IntOrString.fromNumber(w.port) }];
    if (w.metricsPort !== undefined) {
      containerPorts.push({ name: METRICS_PORT_NAME, containerPort: w.metricsPort });
      servicePorts.push({ name: METRICS_PORT_NAME, port: w.metricsPort, targetPort: k8s.IntOrString.fromNumber(w.metricsPort) });
    }

    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: { name, namespace: ns, labels: identity },
      spec: {
        // No replicas unless config fixes them: KEDA's HPA owns the count where autoscaling is on, and Argo
        // CD would reset it (config refuses replicas with autoscaling).
        ...(this.pod.settings.replicas !== undefined ? { replicas: this.pod.settings.replicas } : {}),
        revisionHistoryLimit: 0,
        // With other versions beside it (traffic.versions), each Deployment selects its own version's pods.
        selector: { matchLabels: w.traffic?.versions ? { ...selector, version: w.version } : selector },
        template: {
          metadata: { labels: podLabels, annotations: podAnnotations },
          spec: {
            ...this.pod.podSpec,
            containers: [{ name, image: this.image, ports: containerPorts, ...this.pod.container }],
            imagePullSecrets: [{ name: props.pullSecret.name }],
          },
        },
      },
    });
    this.service = new k8s.KubeService(this, 'service', {
      metadata: {
        name: `${name}-service`,
        namespace: ns,
        labels: { ...selector, 'backstage.io/kubernetes-id': name },
        ...(w.serviceAnnotations ? { annotations: { ...w.serviceAnnotations } } : {}),
      },
      spec: { selector, ports: servicePorts },
    });

    // Traffic policy or canary (config opt-in): charts/traffic.ts routes the public host and the mesh.
    const routed = w.traffic !== undefined || w.canary !== undefined;
    const host = w.subdomain ? `${w.subdomain}.${props.domain}` : undefined;
    const gateway = host ? this.expose(props, host, w.port, !routed) : undefined;
    if (routed) {
      this.traffic = new WorkloadTraffic(this, 'traffic', {
        name, namespace: ns, workload: w, deployment: this.deployment, service: this.service,
        publicHost: host && gateway ? { host, gateway } : undefined, prometheusUrl: props.monitoring.prometheusUrl,
      });
    }

    if (w.autoscaling) {
      new IstioRequestRateScaling(this, 'autoscaling', {
        deployment: this.deployment.name,
        ...(w.canary ? { target: 'Rollout' as const } : {}),
        namespace: ns,
        prometheusUrl: props.monitoring.prometheusUrl,
        ...w.autoscaling,
      });
    }
  }

  /**
   * The Certificate and Gateway of the public host, and its plain route unless `route` is false; returns the Gateway's name.
   * An Istio Gateway and VirtualService whatever the environment's exposure (the platform's endpoints may be on
   * the Gateway API): Argo Rollouts shifts a canary's weights in this VirtualService natively, but drives Gateway
   * API routes only through a plugin it downloads at run time, and the traffic policy routes to DestinationRule
   * subsets, which an HTTPRoute cannot name. Both land on the same istio-ingressgateway pods.
   */
  private expose(props: WorkloadProps, host: string, port: number, route: boolean): string {
    const { name, namespace: ns, gateway } = props;
    // The gateway pod reads credentialName secrets from its own namespace, not the Gateway's.
    const tls = new TlsEndpoint(this, 'endpoint', {
      host,
      namespace: gateway.gatewayNamespace,
      secretName: `${name}-secret`,
      issuer: props.gatewayIssuer,
      configField: `apps.workloads.${name}.subdomain`,
      secretConfigField: `apps.workloads.${name}`,
    });
    const gw = new Gateway(this, 'gateway', {
      metadata: { name: `${name}-gateway`, namespace: ns },
      spec: {
        selector: { ...gateway.selector },
        servers: [
          // Port 80 stays open: cert-manager's HTTP-01 challenges for this host arrive there.
          { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: [host] },
          {
            port: { number: 443, name: 'https', protocol: 'HTTPS' },
            hosts: [host],
            tls: { mode: GatewaySpecServersTlsMode.SIMPLE, credentialName: tls.secretName },
          },
        ],
      },
    });
    if (!route) return gw.name;
    new VirtualService(this, 'virtual-service', {
      metadata: { name: `${name}-virtualservice`, namespace: ns },
      spec: {
        gateways: [gw.name],
        hosts: [host],
        http: [{
          match: [{ uri: { prefix: '/' } }],
          route: [{ destination: { host: this.service.name, port: { number: port } } }],
        }],
      },
    });
    return gw.name;
  }
}
