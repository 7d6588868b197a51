// KEDA: the operator (chart) that turns ScaledObjects into HPAs fed by external metrics, and the one kind
// of ScaledObject the platform uses, scaling a mesh workload on its Istio request rate (the guide's
// nginx-istio-rps). The ScaledObjects live with the workloads they scale (charts/workloads.ts), so the target
// name comes from the Deployment itself.
import { Construct } from 'constructs';
import { Section } from '../lib/config';
import { HelmComponent } from '../lib/component';
import { ClusterSize, requests } from '../lib/sizing';
import { KedaValues } from '../lib/helm-values';
import { ScaledObject } from '../imports/keda.sh';

export class KedaChart extends HelmComponent<KedaValues> {
  /** `size`: config `cluster.size` (default standard). */
  constructor(scope: Construct, props: { readonly config: Section<'keda'>; readonly size?: ClusterSize }) {
    const { config } = props;
    super(scope, 'keda', {
      namespace: config.namespace,
      runtimeObjects: [{
        kind: 'Secret', namespace: config.namespace, name: 'kedaorg-certs', keys: ['ca.crt', 'ca.key', 'tls.crt', 'tls.key'],
        createdBy: 'the operator\'s certificate rotation, for the metrics API server and the webhooks',
      }],
      extraNamespaces: {
        // The metrics API server authenticates the API server's requests with the extension-apiserver-
        // authentication-reader Role, which exists only in kube-system: the chart binds it there.
        'kube-system': 'RoleBinding keda-operator-auth-reader to extension-apiserver-authentication-reader',
      },
      source: { chartKey: 'keda', chartVersion: config.chartVersion },
      values: {},
    });
    if (props.size === 'small') {
      this.addValues({ resources: { operator: requests('10m', '64Mi'), metricServer: requests('10m', '48Mi'), webhooks: requests('10m', '32Mi') } });
    }
  }
}

export interface IstioRequestRateScalingProps {
  /** The Deployment (or Rollout) to scale; also the Istio `destination_workload` the rate is measured for. */
  readonly deployment: string;
  /**
   * The kind of workload scaled: a canary workload's Rollout (charts/canary.ts) instead of its Deployment.
   * @default 'Deployment'
   */
  readonly target?: 'Deployment' | 'Rollout';
  readonly namespace: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Target requests per second per replica. */
  readonly requestsPerSecond: number;
  /** Below this rate the workload may scale to minReplicas (and to zero when that is 0). */
  readonly activationRequestsPerSecond: number;
  /** The Prometheus that scrapes the sidecars' istio_requests_total. */
  readonly prometheusUrl: string;
}

/** A ScaledObject `<deployment>-istio-rps`: replicas follow the rate Istio's sidecars report for the workload. */
export class IstioRequestRateScaling extends Construct {
  public readonly scaledObject: ScaledObject;

  constructor(scope: Construct, id: string, props: IstioRequestRateScalingProps) {
    super(scope, id);
    if (props.minReplicas > props.maxReplicas) {
      throw new Error(`${props.deployment}: autoscaling.minReplicas (${props.minReplicas}) exceeds maxReplicas (${props.maxReplicas})`);
    }
    // reporter="destination": counted once, by the receiving sidecar, whoever the caller is (gateway or mesh).
    const query = [
      'sum(rate(istio_requests_total{',
      '  reporter="destination",',
      `  destination_workload="${props.deployment}",`,
      `  destination_workload_namespace="${props.namespace}"`,
      '}[2m]))',
      '',
    ].join('\n');
    this.scaledObject = new ScaledObject(this, 'scaled-object', {
      metadata: { name: `${props.deployment}-istio-rps`, namespace: props.namespace },
      spec: {
        // KEDA scales any object with a scale subresource; a Rollout has one (argoproj.io/v1alpha1).
        scaleTargetRef: props.target === 'Rollout'
          ? { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: props.deployment }
          : { name: props.deployment },
        minReplicaCount: props.minReplicas,
        maxReplicaCount: props.maxReplicas,
        pollingInterval: 15,
        cooldownPeriod: 60,
        triggers: [{
          type: 'prometheus',
          metadata: {
            serverAddress: props.prometheusUrl,
            query,
            threshold: String(props.requestsPerSecond),
            activationThreshold: String(props.activationRequestsPerSecond),
          },
        }],
      },
    });
  }
}
