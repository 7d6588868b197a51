// Canary delivery of one workload with Argo Rollouts (apps.workloads.<name>.canary): the Rollout that
// replaces the workload's Deployment, its stable and canary Services, the AnalysisTemplate its analysis
// steps run (success rate and p95 latency of the canary, from the sidecars' istio_* metrics in the
// kube-prometheus-stack Prometheus), and the one thing Argo CD must leave to the controller: the weights of
// the VirtualService route the Rollout manages (charts/traffic.ts builds that VirtualService).
//
// Two known traps, and what this file does about them:
// - argoproj/argo-rollouts#3854: ignoring the VirtualService by field manager (`managedFieldsManagers:
//   [rollouts-controller]`) hides every later change to `spec.http` from Argo CD, because the controller's
//   managedFields entry (`f:spec: f:http: {}`) stays on the object after the rollout. We never ignore by
//   manager: the Application ignores, by jq path, exactly `.route[].weight` of the managed route.
// - argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi#208: on Argo CD 3.x a conditional ignore
//   expression (on the plugin's `in-progress` label, present only while a canary runs) evaluates differently
//   on the live and the desired object and leaves the Application OutOfSync for good. We do not use the
//   Gateway API plugin (Istio routing is built into the controller, and the route is an Istio VirtualService),
//   and the expression selects the route by its name, which git and the live object share and the controller
//   never changes, so it evaluates alike on both sides.
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import {
  AnalysisTemplate,
  AnalysisTemplateSpecMetricsCount,
  AnalysisTemplateSpecMetricsFailureLimit,
  Rollout,
} from '../imports/argo-rollouts';
import { IgnoredDifference } from '../lib/component';
import { CanaryConfig, PRIMARY_ROUTE } from '../lib/traffic-config';

export interface CanaryDeliveryProps {
  readonly name: string;
  readonly namespace: string;
  readonly canary: CanaryConfig;
  /** The workload's Deployment: the Rollout takes its place, with its metadata, selector and pod template. */
  readonly deployment: k8s.KubeDeployment;
  /** The workload's Service: the stable and canary Services copy its selector and ports. */
  readonly service: k8s.KubeService;
  /** The VirtualService (in `namespace`) whose route `primary` splits between the stable and canary Services. */
  readonly virtualService: string;
  /** The Prometheus that scrapes the sidecars (and the ingress gateway). */
  readonly prometheusUrl: string;
}

/** The jq path of the weights of one VirtualService route, by name: what the Rollout controller owns. */
export function routeWeightsPath(route: string): string {
  return `.spec.http[] | select(.name == "${route}") | .route[].weight`;
}

export class CanaryDelivery extends Construct {
  public readonly stableService: string;
  public readonly canaryService: string;
  /** The routes of the VirtualService whose weights the Rollout sets. */
  public readonly managedRoutes: readonly string[] = [PRIMARY_ROUTE];
  public readonly rollout: ApiObject;
  public readonly analysisTemplate?: AnalysisTemplate;

  constructor(scope: Construct, id: string, props: CanaryDeliveryProps) {
    super(scope, id);
    const { name, namespace: ns, canary: c } = props;
    this.stableService = `${name}-stable`;
    this.canaryService = `${name}-canary`;
    for (const svc of [this.stableService, this.canaryService]) {
      new DerivedObject(this, `service-${svc}`, { apiVersion: 'v1', kind: 'Service', name: svc, namespace: ns }, () => {
        const base = props.service.toJson();
        // The controller adds rollouts-pod-template-hash to the selector at run time; Argo CD's three-way
        // diff leaves a key git never had alone, so the selector needs no ignoreDifferences.
        return { metadata: { labels: base.metadata.labels }, spec: { selector: base.spec.selector, ports: base.spec.ports } };
      });
    }

    if (c.analysis) {
      const a = c.analysis;
      const canary = `destination_service_name="${this.canaryService}", destination_service_namespace="${ns}"`;
      // reporter="source": counted by the caller's sidecar (the ingress gateway or a mesh client), which
      // knows the Service it routed to; both are scraped. scalar(): no requests yet gives NaN, which meets
      // neither condition, so the measurement is inconclusive and the Rollout pauses for a person.
      const successRate = [
        'scalar(',
        `  sum(rate(istio_requests_total{reporter="source", ${canary}, response_code!~"5.."}[2m]))`,
        '  /',
        `  sum(rate(istio_requests_total{reporter="source", ${canary}}[2m]))`,
        ')',
        '',
      ].join('\n');
      const p95 = [
        'scalar(',
        `  histogram_quantile(0.95, sum by (le) (rate(istio_request_duration_milliseconds_bucket{reporter="source", ${canary}}[2m])))`,
        ')',
        '',
      ].join('\n');
      const metric = (metricName: string, query: string, success: string, failure: string) => ({
        name: metricName,
        interval: a.interval,
        count: AnalysisTemplateSpecMetricsCount.fromNumber(a.count),
        failureLimit: AnalysisTemplateSpecMetricsFailureLimit.fromNumber(a.failureLimit),
        successCondition: success,
        failureCondition: failure,
        provider: { prometheus: { address: props.prometheusUrl, query } },
      });
      this.analysisTemplate = new AnalysisTemplate(this, 'analysis-template', {
        metadata: { name: `${name}-canary-analysis`, namespace: ns },
        spec: {
          metrics: [
            metric('success-rate', successRate, `result >= ${a.minSuccessRate}`, `result < ${a.minSuccessRate}`),
            metric('p95-latency', p95, `result <= ${a.maxP95LatencyMs}`, `result > ${a.maxP95LatencyMs}`),
          ],
        },
      });
    }
    const templateName = this.analysisTemplate?.name;
    const steps = c.steps.map((s) => {
      if (s.setWeight !== undefined) return { setWeight: s.setWeight };
      if (s.pause) return { pause: s.pause.duration ? { duration: s.pause.duration } : {} };
      return { analysis: { templates: [{ templateName: templateName! }] } };
    });

    // The Rollout is the Deployment as charts/workloads.ts builds it (metadata, selector, revision history, pod
    // template, read when synthesized) plus the canary strategy; the Deployment leaves the tree, so exactly
    // one of the two is ever written and the image line stays where set-image expects it.
    const deploymentId = props.deployment.node.id;
    props.deployment.node.scope!.node.tryRemoveChild(deploymentId);
    this.rollout = new DerivedObject(this, 'rollout', { apiVersion: Rollout.GVK.apiVersion, kind: Rollout.GVK.kind, name, namespace: ns }, () => {
      const d = props.deployment.toJson();
      const { strategy: _dropped, ...spec } = d.spec;
      void _dropped;
      return {
        metadata: { labels: d.metadata.labels },
        spec: {
          ...spec,
          strategy: {
            canary: {
              stableService: this.stableService,
              canaryService: this.canaryService,
              trafficRouting: { istio: { virtualService: { name: props.virtualService, routes: [...this.managedRoutes] } } },
              steps,
            },
          },
        },
      };
    });

    new IgnoredDifference(this, 'managed-weights', {
      group: 'networking.istio.io',
      kind: 'VirtualService',
      name: props.virtualService,
      namespace: ns,
      jqPathExpressions: this.managedRoutes.map(routeWeightsPath),
      owner: `Argo Rollouts (Rollout ${ns}/${name})`,
    });
  }
}

interface DerivedObjectMeta {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
}

/**
 * An object whose content is read from other objects when it is synthesized (`derive` returns its metadata
 * labels and spec), so that it follows whatever the workload's constructs put into those objects.
 */
class DerivedObject extends ApiObject {
  constructor(scope: Construct, id: string, meta: DerivedObjectMeta, private readonly derive: () => { metadata: { labels?: Record<string, string> }; spec: object }) {
    super(scope, id, { apiVersion: meta.apiVersion, kind: meta.kind, metadata: { name: meta.name, namespace: meta.namespace } });
  }

  public override toJson(): any {
    const own = super.toJson();
    const { metadata, spec } = this.derive();
    return { ...own, metadata: { ...own.metadata, ...(metadata.labels ? { labels: metadata.labels } : {}) }, spec };
  }
}
