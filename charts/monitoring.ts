// The monitoring-config component: what the guide applies by hand next to kube-prometheus-stack. The HTTPS endpoints
// of Prometheus, Alertmanager and Grafana; the PodMonitors of lib/scrape-targets.ts; and Grafana's Loki
// and Tempo datasources and two dashboards, as ConfigMaps the Grafana sidecars pick up by label.
// Every datasource uid a datasource or dashboard refers to is checked at synth against the uids provisioned
// here and by the chart, so a renamed datasource fails the synth rather than a dashboard.
import { ApiObject } from 'cdk8s';
import * as k8s from '../imports/k8s';
import { Construct } from 'constructs';
import * as yaml from 'js-yaml';
import { PlatformConfig } from '../lib/config';
import { ManifestComponent } from '../lib/component';
import { ScrapeTarget, scrapeTargets } from '../lib/scrape-targets';
import { dashboardDatasourceUids, linkedDatasourceUids } from '../lib/grafana';
import { ClusterIssuerRef, TlsEndpoint } from '../lib/tls-endpoint';
import {
  PodMonitor,
  PodMonitorSpecPodMetricsEndpoints,
  PodMonitorSpecPodMetricsEndpointsScheme,
} from '../imports/monitoring.coreos.com';
import { KubePrometheusStackChart, StackService } from './kube-prometheus-stack';
import { LokiChart } from './loki';
import { SecretsChart } from './secrets';
import { TempoChart } from './tempo';
import lokiLogsOverview from './dashboards/loki-logs-overview.json';
import tempoServiceObservability from './dashboards/tempo-service-observability.json';

export interface MonitoringProps {
  readonly stack: KubePrometheusStackChart;
  /** The issuer of the three endpoints' certificates (config.certManager.ingressIssuer). */
  readonly issuer: ClusterIssuerRef;
  readonly secrets: SecretsChart;
  readonly loki: LokiChart;
  readonly tempo: TempoChart;
}

/** The uids of the datasources this component provisions. */
export const DATASOURCE_UIDS = { loki: 'loki', tempo: 'tempo' } as const;

export class MonitoringChart extends ManifestComponent {
  public readonly endpoints: { readonly prometheus: TlsEndpoint; readonly alertmanager: TlsEndpoint; readonly grafana: TlsEndpoint };
  public readonly podMonitors: readonly PodMonitor[];
  /** Every datasource uid Grafana will have: the chart's and ours. */
  public readonly datasourceUids: readonly string[];

  constructor(scope: Construct, config: PlatformConfig, props: MonitoringProps) {
    const ns = config.kubePrometheusStack.namespace;
    // Not "monitoring": a component named like a namespace is ambiguous in the inventory's tables.
    super(scope, 'monitoring-config', { namespace: ns });
    const { stack } = props;

    // Prometheus and Alertmanager have no login of their own, and the guide publishes both: anyone could
    // query every metric, write series (Prometheus accepts remote write for Tempo) and silence alerts.
    // ingress-nginx asks for a password from the htpasswd in a declared secret. Grafana has its own login.
    const auth = props.secrets.use(this, 'monitoring-basic-auth', ns);
    const basicAuth = (realm: string) => ({
      'nginx.ingress.kubernetes.io/auth-type': 'basic',
      'nginx.ingress.kubernetes.io/auth-secret': auth.name,
      'nginx.ingress.kubernetes.io/auth-realm': realm,
    });
    auth.key('auth');
    const endpoint = (id: string, host: string, secretName: string, ingressName: string, backend: StackService, annotations?: Record<string, string>) =>
      new TlsEndpoint(this, id, {
        host,
        namespace: ns,
        secretName,
        issuer: props.issuer,
        ingress: { name: ingressName, className: config.ingressClass, backend: { service: backend.name, port: backend.port }, annotations },
      });
    // Names as the guide's *-certificate.yaml and *-ingress.yaml have them.
    this.endpoints = {
      prometheus: endpoint('prometheus', stack.hosts.prometheus, 'prometheus-secret', 'prometheus-ingress', stack.prometheus, basicAuth('Prometheus')),
      alertmanager: endpoint('alertmanager', stack.hosts.alertmanager, 'alertmanager-secret', 'alertmanager-ingress', stack.alertmanager, basicAuth('Alertmanager')),
      grafana: endpoint('grafana', stack.hosts.grafana, 'grafana-secret', 'grafana', stack.grafana),
    };

    this.podMonitors = scrapeTargets(config).map((t) => this.podMonitor(t, ns, props));

    this.datasourceUids = [...Object.values(stack.datasourceUid), ...Object.values(DATASOURCE_UIDS)];
    const lokiDatasource = {
      name: 'Loki',
      uid: DATASOURCE_UIDS.loki,
      type: 'loki',
      access: 'proxy',
      url: props.loki.gatewayUrl,
      isDefault: false,
      editable: false,
      version: 1,
      jsonData: {
        // Loki runs with auth_enabled: every query names the tenant Promtail pushes as.
        httpHeaderName1: 'X-Scope-OrgID',
        // The guide has derivedFields beside jsonData, where Grafana ignores it, and without `url`, which
        // is the query the link runs in Tempo.
        derivedFields: [{
          name: 'traceID',
          matcherRegex: '(?:traceID|traceId|trace_id)=(\\w+)',
          datasourceUid: DATASOURCE_UIDS.tempo,
          url: '${__value.raw}',
          urlDisplayLabel: 'Open trace in Tempo',
        }],
      },
      // The tenant id, not a credential; Grafana only accepts header values here.
      secureJsonData: { httpHeaderValue1: props.loki.tenant },
    };
    const tempoDatasource = {
      name: 'Tempo',
      uid: DATASOURCE_UIDS.tempo,
      type: 'tempo',
      access: 'proxy',
      url: props.tempo.queryFrontendUrl,
      basicAuth: false,
      isDefault: false,
      editable: false,
      version: 1,
      jsonData: {
        // The service graph's metrics are in Prometheus (Tempo's generator remote-writes them).
        serviceMap: { datasourceUid: stack.datasourceUid.prometheus },
        nodeGraph: { enabled: true },
        tracesToLogsV2: {
          datasourceUid: DATASOURCE_UIDS.loki,
          spanStartTimeShift: '-2m',
          spanEndTimeShift: '2m',
          // tracesToLogsV2 takes {key, value} pairs (span attribute -> Loki label); the guide's plain
          // strings are the format of the retired tracesToLogs. Its "cluster" is dropped: no Loki stream
          // has that label, so any span carrying it would match no logs.
          tags: [
            { key: 'namespace', value: 'namespace' },
            { key: 'pod', value: 'pod' },
            { key: 'service.name', value: 'service' },
          ],
        },
        tracesToMetrics: {
          datasourceUid: stack.datasourceUid.prometheus,
          tags: [{ key: 'service.name', value: 'service' }],
          queries: [
            { name: 'Request rate', query: 'sum(rate(traces_spanmetrics_calls_total{$__tags}[5m]))' },
            { name: 'p95 latency', query: 'histogram_quantile(0.95, sum by (le) (rate(traces_spanmetrics_latency_bucket{$__tags}[5m])))' },
          ],
        },
      },
    };
    // The guide's loki file also deletes and re-creates "Loki" on every provisioning run (deleteDatasources),
    // a one-off migration step; with a fixed uid there is nothing to migrate.
    this.datasource('loki-datasource', ns, { apiVersion: 1, prune: true, datasources: [lokiDatasource] }, stack);
    this.datasource('tempo-datasource', ns, { apiVersion: 1, datasources: [tempoDatasource] }, stack);

    this.dashboard('grafana-dashboards-loki', 'loki-overview.json', lokiLogsOverview, ns, stack);
    this.dashboard('grafana-dashboard-tempo-observability', 'tempo-observability.json', tempoServiceObservability, ns, stack, 'Tempo');
  }

  private podMonitor(t: ScrapeTarget, ns: string, props: MonitoringProps): PodMonitor {
    let basicAuth: PodMonitorSpecPodMetricsEndpoints['basicAuth'];
    if (t.basicAuth) {
      const s = props.secrets.use(this, t.basicAuth.secret, ns);
      basicAuth = {
        username: { name: s.name, key: s.key(t.basicAuth.usernameKey) },
        password: { name: s.name, key: s.key(t.basicAuth.passwordKey) },
      };
    }
    const selector = {
      ...(t.selector.matchLabels ? { matchLabels: { ...t.selector.matchLabels } } : {}),
      ...(t.selector.matchExpressions
        ? { matchExpressions: t.selector.matchExpressions.map((e) => ({ key: e.key, operator: e.operator, ...(e.values ? { values: [...e.values] } : {}) })) }
        : {}),
    };
    return new PodMonitor(this, `podmonitor-${t.name}`, {
      metadata: { name: t.name, namespace: ns, labels: { ...props.stack.monitorLabels } },
      spec: {
        ...(t.jobLabel ? { jobLabel: t.jobLabel } : {}),
        namespaceSelector: { matchNames: [t.namespace] },
        selector,
        podMetricsEndpoints: [{
          ...(typeof t.port === 'number' ? { portNumber: t.port } : { port: t.port }),
          path: t.path,
          interval: t.interval,
          ...(t.scheme ? { scheme: t.scheme === 'https' ? PodMonitorSpecPodMetricsEndpointsScheme.HTTPS : PodMonitorSpecPodMetricsEndpointsScheme.HTTP } : {}),
          ...(basicAuth ? { basicAuth } : {}),
        }],
      },
    });
  }

  private datasource(name: string, ns: string, file: { datasources: { jsonData?: unknown }[] } & Record<string, unknown>, stack: KubePrometheusStackChart): ApiObject {
    for (const ds of file.datasources) this.checkUids(`ConfigMap ${name}`, linkedDatasourceUids(ds.jsonData));
    return new k8s.KubeConfigMap(this, name, {
      metadata: { name, namespace: ns, labels: { ...stack.grafanaDatasourceLabels } },
      // Grafana expands $VAR and ${VAR} from its environment in provisioning files: a literal $ (the derived
      // field's ${__value.raw}, the metric queries' $__tags) is written $$.
      data: { [`${name}.yaml`]: yaml.dump(escapeDollars(file), { lineWidth: -1, noRefs: true }) },
    });
  }

  private dashboard(name: string, file: string, dashboard: object, ns: string, stack: KubePrometheusStackChart, folder?: string): ApiObject {
    this.checkUids(`dashboard ${file}`, dashboardDatasourceUids(dashboard));
    return new k8s.KubeConfigMap(this, name, {
      metadata: {
        name,
        namespace: ns,
        labels: { ...stack.grafanaDashboardLabels },
        ...(folder ? { annotations: { [stack.grafanaFolderAnnotation]: folder } } : {}),
      },
      data: { [file]: JSON.stringify(dashboard, null, 2) },
    });
  }

  private checkUids(where: string, uids: Iterable<string>): void {
    const missing = [...new Set(uids)].filter((u) => !this.datasourceUids.includes(u));
    if (missing.length > 0) {
      throw new Error(`${where} refers to datasource uid ${missing.map((u) => `"${u}"`).join(', ')}, which Grafana will not have; provisioned: ${this.datasourceUids.join(', ')}`);
    }
  }
}

/** The value with every `$` in its strings doubled, as Grafana's provisioning reads a literal `$`. */
export function escapeDollars<T>(value: T): T {
  if (typeof value === 'string') return value.replace(/\$/g, '$$$$') as T;
  if (Array.isArray(value)) return value.map(escapeDollars) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeDollars(v)])) as T;
  }
  return value;
}
