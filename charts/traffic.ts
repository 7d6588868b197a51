// A workload's traffic, when its config opts in (apps.workloads.<name>.traffic or .canary): one
// VirtualService for every caller (the ingress gateway, for a public host, and the mesh, for the Service's
// host) with the configured timeouts, retries, matches and weighted splits; the DestinationRule with a
// subset per version (label `version`), load balancing, connection pool and outlier detection; and a
// Deployment `<name>-<version>` per extra version (traffic.versions), behind the same Service. With canary,
// charts/canary.ts turns the Deployment into a Rollout and the split into the Rollout's. A workload without
// either keeps the plain route of charts/workloads.ts.
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import {
  DestinationRule,
  DestinationRuleSpecTrafficPolicy,
  DestinationRuleSpecTrafficPolicyLoadBalancerSimple,
  DestinationRuleSpecTrafficPolicyOutlierDetection,
  VirtualService,
  VirtualServiceSpecHttp,
  VirtualServiceSpecHttpRetries,
} from '../imports/networking.istio.io';
import { PlatformConfig } from '../lib/config';
import { PRIMARY_ROUTE, TrafficConfig } from '../lib/traffic-config';
import { CanaryDelivery } from './canary';

type WorkloadConfig = PlatformConfig['apps']['workloads'][string];

/** The pod and object labels that carry a workload's version (charts/workloads.ts sets them from `version`). */
export const VERSION_LABELS = ['version', 'app.kubernetes.io/version', 'service.istio.io/canonical-revision'] as const;

export interface WorkloadTrafficProps {
  readonly name: string;
  readonly namespace: string;
  readonly workload: WorkloadConfig;
  /** The workload's own Deployment (its version is `workload.version`). */
  readonly deployment: k8s.KubeDeployment;
  /** The Service every version runs behind. */
  readonly service: k8s.KubeService;
  /** The public host and the Gateway serving it, when the workload has a subdomain. */
  readonly publicHost?: { readonly host: string; readonly gateway: string };
  /** The Prometheus the canary analysis reads the sidecars' metrics from. */
  readonly prometheusUrl: string;
}

/** The traffic of one workload. `canary` is set when the workload is delivered by a Rollout. */
export class WorkloadTraffic extends Construct {
  public readonly virtualService: VirtualService;
  public readonly destinationRules: readonly DestinationRule[];
  public readonly canary?: CanaryDelivery;

  constructor(scope: Construct, id: string, props: WorkloadTrafficProps) {
    super(scope, id);
    const { name, namespace: ns, workload: w } = props;
    const t: TrafficConfig = w.traffic ?? {};
    const port = { number: w.port };
    const policy = trafficPolicy(t);

    let http: VirtualServiceSpecHttp[];
    const rules: DestinationRule[] = [];
    if (w.canary) {
      this.canary = new CanaryDelivery(this, 'canary', {
        name, namespace: ns, canary: w.canary, deployment: props.deployment, service: props.service,
        virtualService: `${name}-virtualservice`, prometheusUrl: props.prometheusUrl,
      });
      // Host-level splitting: the Rollout moves these two weights (and only these) between its Services.
      http = [{
        name: PRIMARY_ROUTE,
        route: [
          { destination: { host: this.canary.stableService, port }, weight: 100 },
          { destination: { host: this.canary.canaryService, port }, weight: 0 },
        ],
        ...timeouts(t.timeout, t.retries),
      }];
      if (policy) {
        for (const host of [this.canary.stableService, this.canary.canaryService]) {
          rules.push(new DestinationRule(this, `destination-rule-${host}`, { metadata: { name: host, namespace: ns }, spec: { host, trafficPolicy: policy } }));
        }
      }
    } else {
      const service = props.service.name;
      const versions = [w.version, ...Object.keys(t.versions ?? {})];
      for (const [version, extra] of Object.entries(t.versions ?? {})) {
        new VersionDeployment(this, `deployment-${version}`, {
          primary: props.deployment, workloadName: name, namespace: ns, primaryVersion: w.version, version,
          image: `${w.image.repository}:${extra.tag}`,
        });
      }
      const routes = t.routes ?? [{ name: PRIMARY_ROUTE, to: { [w.version]: 100 } }];
      http = routes.map((r) => ({
        name: r.name,
        ...(r.match ? { match: [matchOf(r.match)] } : {}),
        route: Object.entries(r.to).map(([subset, weight]) => ({ destination: { host: service, port, subset }, weight })),
        ...timeouts(r.timeout ?? t.timeout, r.retries ?? t.retries),
      }));
      rules.push(new DestinationRule(this, 'destination-rule', {
        metadata: { name: service, namespace: ns },
        spec: {
          host: service,
          ...(policy ? { trafficPolicy: policy } : {}),
          subsets: versions.map((v) => ({ name: v, labels: { version: v } })),
        },
      }));
    }
    this.destinationRules = rules;

    // One VirtualService for both paths in: the gateway's host and, inside the mesh, the Service's.
    const pub = props.publicHost;
    this.virtualService = new VirtualService(this, 'virtual-service', {
      metadata: { name: `${name}-virtualservice`, namespace: ns },
      spec: {
        ...(pub ? { gateways: [pub.gateway, 'mesh'] } : {}),
        hosts: [...(pub ? [pub.host] : []), props.service.name],
        http,
      },
    });
  }
}

function trafficPolicy(t: TrafficConfig): DestinationRuleSpecTrafficPolicy | undefined {
  const policy: DestinationRuleSpecTrafficPolicy = {
    ...(t.loadBalancer ? { loadBalancer: { simple: t.loadBalancer as DestinationRuleSpecTrafficPolicyLoadBalancerSimple } } : {}),
    ...(t.connectionPool ? { connectionPool: { ...t.connectionPool } } : {}),
    // Spelled out: the binding names the field consecutive5XxErrors (and writes consecutive5xxErrors).
    ...(t.outlierDetection ? { outlierDetection: outlierDetectionOf(t.outlierDetection) } : {}),
  };
  return Object.keys(policy).length > 0 ? policy : undefined;
}

function outlierDetectionOf(o: NonNullable<TrafficConfig['outlierDetection']>): DestinationRuleSpecTrafficPolicyOutlierDetection {
  const { consecutive5xxErrors, ...rest } = o;
  return { ...rest, ...(consecutive5xxErrors !== undefined ? { consecutive5XxErrors: consecutive5xxErrors } : {}) };
}

function timeouts(timeout: string | undefined, retries: TrafficConfig['retries']): Pick<VirtualServiceSpecHttp, 'timeout' | 'retries'> {
  const r: VirtualServiceSpecHttpRetries | undefined = retries && {
    attempts: retries.attempts,
    ...(retries.perTryTimeout ? { perTryTimeout: retries.perTryTimeout } : {}),
    ...(retries.retryOn ? { retryOn: retries.retryOn.join(',') } : {}),
  };
  return { ...(timeout ? { timeout } : {}), ...(r ? { retries: r } : {}) };
}

type RouteMatch = NonNullable<NonNullable<TrafficConfig['routes']>[number]['match']>;
function matchOf(m: RouteMatch): NonNullable<VirtualServiceSpecHttp['match']>[number] {
  return {
    ...(m.uri ? { uri: { ...m.uri } } : {}),
    ...(m.headers ? { headers: Object.fromEntries(Object.entries(m.headers).map(([h, v]) => [h, { ...v }])) } : {}),
  };
}

interface VersionDeploymentProps {
  readonly primary: k8s.KubeDeployment;
  readonly workloadName: string;
  readonly namespace: string;
  readonly primaryVersion: string;
  readonly version: string;
  readonly image: string;
}

/**
 * Another version of a workload: the workload's own Deployment as it is synthesized (whatever charts/workloads.ts
 * puts into it), named `<name>-<version>`, selecting and labelling its pods with its version, and running
 * the version's image tag in the workload's container. Derived at synth time, so the two cannot drift.
 */
class VersionDeployment extends ApiObject {
  constructor(scope: Construct, id: string, private readonly version: VersionDeploymentProps) {
    super(scope, id, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `${version.workloadName}-${version.version}`, namespace: version.namespace } });
  }

  public override toJson(): any {
    const { primary, version, primaryVersion, workloadName } = this.version;
    const base = primary.toJson();
    const relabel = (labels: Record<string, string> | undefined) => Object.fromEntries(Object.entries(labels ?? {})
      .map(([k, v]) => [k, (VERSION_LABELS as readonly string[]).includes(k) && v === primaryVersion ? version : v]));
    const spec = JSON.parse(JSON.stringify(base.spec));
    spec.selector.matchLabels = { ...spec.selector.matchLabels, version };
    spec.template.metadata.labels = relabel(spec.template.metadata.labels);
    const container = spec.template.spec.containers.find((c: { name: string }) => c.name === workloadName);
    if (!container) throw new Error(`${this.node.path}: the Deployment ${workloadName} has no container ${workloadName} to run ${this.version.image} in`);
    container.image = this.version.image;
    const own = super.toJson();
    return { ...own, metadata: { ...own.metadata, labels: relabel(base.metadata.labels) }, spec };
  }
}
