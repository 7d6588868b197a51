// What a component needs to be scraped by the platform's Prometheus: a PodMonitor built from the labels
// its pods carry (kube-prometheus's pattern: one set of selector labels for the Service, the monitor and
// the PDB). The monitor sits where the Prometheus discovers monitors, carries the labels it selects them
// by, and names a `jobLabel` only if the selected pods carry that label.
import { Construct } from 'constructs';
import {
  PodMonitor,
  PodMonitorSpecPodMetricsEndpoints,
  PodMonitorSpecPodMetricsEndpointsScheme,
} from '../imports/monitoring.coreos.com';
import { componentOf } from './component';

/** The Prometheus that scrapes the platform: where its monitors live and the labels it selects them by. */
export interface MonitoringStack {
  /** The namespace monitors are written to (and their basic-auth secrets read from). */
  readonly monitorNamespace: string;
  readonly monitorLabels: Readonly<Record<string, string>>;
  /** The in-cluster URL of Prometheus's API, for queries (KEDA, Kiali, analysis). */
  readonly prometheusUrl: string;
}

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values?: readonly string[];
}

/** A secret's keys for a username and a password (a `UsedSecret` of the secrets component). */
export interface BasicAuthSecret {
  readonly name: string;
  readonly namespace: string;
  key(key: string): string;
}

export interface PodScrapeProps {
  readonly stack: MonitoringStack;
  /** The PodMonitor's name. */
  readonly name: string;
  /** The namespace the pods run in. */
  readonly podNamespace: string;
  /** Labels every selected pod carries (the workload's selector labels). */
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
  /** A container port: its name, or its number when the pod does not name it. */
  readonly port: string | number;
  readonly path: string;
  /** @default 30s */
  readonly interval?: string;
  /**
   * The pod label whose value becomes the `job` label. It must be one the selector guarantees
   * (a matchLabels key, or an `In`/`Exists` expression).
   * @default - the job is named `<namespace>/<PodMonitor name>`
   */
  readonly jobLabel?: string;
  /** @default - http (Prometheus's default, not written) */
  readonly scheme?: 'http' | 'https';
  /** Basic auth from two keys of a secret in the monitor's namespace. */
  readonly basicAuth?: { readonly secret: BasicAuthSecret; readonly usernameKey: string; readonly passwordKey: string };
}

/** One PodMonitor: what Prometheus scrapes of a component's pods. */
export class PodScrape extends Construct {
  public readonly podMonitor: PodMonitor;
  /** The pods' namespace and selector, for readers (the inventory, tests). */
  public readonly podNamespace: string;

  constructor(scope: Construct, id: string, props: PodScrapeProps) {
    super(scope, id);
    this.podNamespace = props.podNamespace;
    const where = `PodMonitor ${props.name} (${componentOf(this)?.name ?? scope.node.path})`;
    const expressions = props.matchExpressions ?? [];
    if (!props.matchLabels && expressions.length === 0) throw new Error(`${where}: selects every pod of ${props.podNamespace}; give matchLabels`);
    if (props.jobLabel !== undefined) {
      const guaranteed = new Set([...Object.keys(props.matchLabels ?? {}),
        ...expressions.filter((e) => e.operator === 'In' || e.operator === 'Exists').map((e) => e.key)]);
      if (!guaranteed.has(props.jobLabel)) {
        throw new Error(`${where}: jobLabel "${props.jobLabel}" is not a label its selector guarantees (${[...guaranteed].join(', ') || 'none'}); ` +
          'pods without it would be scraped under the monitor\'s name; use one of the selector\'s labels');
      }
    }
    let basicAuth: PodMonitorSpecPodMetricsEndpoints['basicAuth'];
    if (props.basicAuth) {
      const { secret } = props.basicAuth;
      if (secret.namespace !== props.stack.monitorNamespace) {
        throw new Error(`${where}: basic-auth secret ${secret.name} is in ${secret.namespace}; Prometheus reads it from the monitor's namespace ${props.stack.monitorNamespace}`);
      }
      basicAuth = {
        username: { name: secret.name, key: secret.key(props.basicAuth.usernameKey) },
        password: { name: secret.name, key: secret.key(props.basicAuth.passwordKey) },
      };
    }
    this.podMonitor = new PodMonitor(this, 'podmonitor', {
      metadata: { name: props.name, namespace: props.stack.monitorNamespace, labels: { ...props.stack.monitorLabels } },
      spec: {
        ...(props.jobLabel ? { jobLabel: props.jobLabel } : {}),
        namespaceSelector: { matchNames: [props.podNamespace] },
        selector: {
          ...(props.matchLabels ? { matchLabels: { ...props.matchLabels } } : {}),
          ...(expressions.length > 0
            ? { matchExpressions: expressions.map((e) => ({ key: e.key, operator: e.operator, ...(e.values ? { values: [...e.values] } : {}) })) }
            : {}),
        },
        podMetricsEndpoints: [{
          ...(typeof props.port === 'number' ? { portNumber: props.port } : { port: props.port }),
          path: props.path,
          interval: props.interval ?? '30s',
          ...(props.scheme ? { scheme: props.scheme === 'https' ? PodMonitorSpecPodMetricsEndpointsScheme.HTTPS : PodMonitorSpecPodMetricsEndpointsScheme.HTTP } : {}),
          ...(basicAuth ? { basicAuth } : {}),
        }],
      },
    });
  }
}

/** Envoy's Prometheus endpoint on every sidecar and gateway. */
export const ENVOY_METRICS = { port: 'http-envoy-prom', path: '/stats/prometheus' } as const;
