// kube-prometheus-stack: Prometheus, Alertmanager, Grafana and the prometheus-operator CRDs that every
// component's PodMonitors need, with the HTTPS endpoints of the three UIs. The guide's `helm install` plus its two `helm upgrade -f`
// (alertmanager-notification-values.yaml, and enableRemoteWriteReceiver for Tempo's metrics generator)
// are one set of values here. No credential is in the values: the Slack webhook is a file mounted from
// the alertmanager-slack secret, and Grafana's admin login is the grafana-admin secret.
import { Construct } from 'constructs';
import { PlatformConfig, Section } from '../lib/config';
import { PROVIDERS } from '../lib/provider';
import { ClusterSize, requests } from '../lib/sizing';
import { HelmComponent } from '../lib/component';
import { GrafanaValues, KubePrometheusStackValues } from '../lib/helm-values';
import { SecretsChart } from './secrets';
import { SecretDeclaration } from '../lib/secrets';
import { GrafanaProvisioning } from '../lib/grafana';
import { MonitoringStack, PodScrape } from '../lib/monitoring';
import { MetricsPods } from './cert-manager';
import { Access, Exposure } from '../lib/exposure';
import { ClusterIssuerRef, TlsEndpoint } from '../lib/tls-endpoint';

export const ALERTMANAGER_SLACK: SecretDeclaration = {
  name: 'alertmanager-slack',
  type: 'Opaque',
  keys: { 'webhook-url': 'alertmanager-slack-webhook-url' },
  purpose: 'Alertmanager posting to Slack (incoming webhook URL, mounted as a file)',
};

export const GRAFANA_ADMIN: SecretDeclaration = {
  name: 'grafana-admin',
  type: 'Opaque',
  keys: { 'admin-user': 'grafana-admin-user', 'admin-password': 'grafana-admin-password' },
  purpose: 'Grafana admin login (the chart would otherwise generate one on every render)',
};

export const MONITORING_BASIC_AUTH: SecretDeclaration = {
  name: 'monitoring-basic-auth',
  type: 'Opaque',
  keys: { auth: 'monitoring-htpasswd' },
  purpose: 'htpasswd lines (bcrypt) of who may open prometheus.<domain> and alertmanager.<domain>',
};

/**
 * The chart's values with the Grafana subchart typed by its own chart's values: `grafana:` is passed
 * through to grafana 12.x, whose keys (folderAnnotation, provider.foldersFromFilesStructure, ...) the
 * umbrella chart's values.yaml does not repeat.
 */
export type KubePrometheusStackChartValues = KubePrometheusStackValues & {
  readonly grafana?: GrafanaValues;
  /** alertmanager.config is Alertmanager's own config file; values.yaml shows only part of `global`. */
  readonly alertmanager?: { readonly config?: { readonly global?: { readonly http_config?: { readonly follow_redirects?: boolean } } } };
  /** The kube-state-metrics and node-exporter subcharts' resources (their values.yaml is not in the type). */
  readonly 'kube-state-metrics'?: { readonly resources?: ReturnType<typeof requests> };
  readonly 'prometheus-node-exporter'?: { readonly resources?: ReturnType<typeof requests> };
};

/** A Service in front of one of the stack's servers. */
export interface StackService {
  readonly name: string;
  readonly port: number;
  /** In-cluster URL, e.g. http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090. */
  readonly url: string;
}

/** The hosts of the stack's UIs; the monitoring component serves them (those the exposure publishes). */
export interface StackHosts {
  readonly prometheus: string;
  readonly alertmanager: string;
  readonly grafana: string;
}

/** The Slack receiver every alert goes to, as the guide names it. */
export const SLACK_RECEIVER = 'slack-notifications';
/** Where prometheus-operator mounts `alertmanagerSpec.secrets` (one folder per secret, one file per key). */
const ALERTMANAGER_SECRETS_DIR = '/etc/alertmanager/secrets';
const ALERTMANAGER_TEMPLATE_FILE = 'slack.tmpl';

/**
 * AKS runs the scheduler, controller manager and etcd where no customer Prometheus can scrape them, and
 * binds kube-proxy's metrics to localhost: their Services, monitors and alert rules (KubeSchedulerDown,
 * KubeControllerManagerDown, KubeProxyDown, etcd) would only ever fire. The chart drops all three with
 * `enabled: false`; the API server, kubelets and CoreDNS stay scraped.
 */
const MANAGED_CONTROL_PLANE_OFF: KubePrometheusStackChartValues = {
  kubeControllerManager: { enabled: false },
  kubeScheduler: { enabled: false },
  kubeEtcd: { enabled: false },
  kubeProxy: { enabled: false },
};

export interface KubePrometheusStackProps {
  readonly config: Section<'kubePrometheusStack'>;
  /** The UIs are prometheus.<domain>, alertmanager.<domain> and grafana.<domain>. */
  readonly domain: string;
  /** How the environment serves its endpoints (an Ingress each, or routes on the shared Gateway). */
  readonly exposure: Exposure;
  /** Issues the hosts' certificates; must answer HTTP-01 through the exposure's class or Gateway. */
  readonly issuer: ClusterIssuerRef;
  readonly provider: PlatformConfig['cluster']['provider'];
  readonly secrets: SecretsChart;
  /**
   * cert-manager's controller, scraped by a PodMonitor of this component: cert-manager cannot own it,
   * since this component's Certificates need cert-manager synced first and its PodMonitor would need this
   * component's CRD first.
   */
  readonly certManager: MetricsPods;
  /** How large the component runs (config `cluster.size`). @default 'standard' */
  readonly size?: ClusterSize;
}

/**
 * Prometheus, Alertmanager and Grafana: the chart, their HTTPS endpoints, and what other components
 * need to be monitored (`MonitoringStack`) and to provision Grafana (`GrafanaProvisioning`).
 */
export class KubePrometheusStackChart extends HelmComponent<KubePrometheusStackChartValues> implements MonitoringStack {
  public readonly hosts: StackHosts;
  public readonly endpoints: { readonly prometheus: TlsEndpoint; readonly alertmanager: TlsEndpoint; readonly grafana: TlsEndpoint };
  public readonly prometheus: StackService;
  public readonly alertmanager: StackService;
  public readonly grafana: StackService;
  /** Labels a PodMonitor or ServiceMonitor needs for this Prometheus to select it. */
  public readonly monitorLabels: Readonly<Record<string, string>>;
  public readonly monitorNamespace: string;
  public readonly prometheusUrl: string;
  /** How other components provision Grafana's datasources and dashboards. */
  public readonly grafanaProvisioning: GrafanaProvisioning;

  constructor(scope: Construct, props: KubePrometheusStackProps) {
    const { config: kps, secrets } = props;
    const ns = kps.namespace;
    // The release name is the component's name; the chart names its Services <release>-<component>.
    const release = 'kube-prometheus-stack';
    super(scope, release, {
      namespace: ns,
      runtimeObjects: [{
        kind: 'Secret', namespace: ns, name: `${release}-admission`, keys: ['ca', 'cert', 'key'],
        createdBy: `Job ${release}-admission-create (kube-webhook-certgen), for the operator's admission webhook`,
      }],
      extraNamespaces: {
        // The chart scrapes CoreDNS through a Service it puts next to the CoreDNS pods.
        'kube-system': 'Service kube-prometheus-stack-coredns in front of CoreDNS',
      },
      source: { chartKey: 'kube-prometheus-stack', chartVersion: kps.chartVersion },
      values: PROVIDERS[props.provider].managedControlPlane ? MANAGED_CONTROL_PLANE_OFF : {},
    });
    const service = (suffix: string, port: number): StackService => {
      const name = `${release}-${suffix}`;
      return { name, port, url: `http://${name}.${ns}.svc.cluster.local:${port}` };
    };
    if (props.size === 'small') {
      this.addValues({
        prometheus: { prometheusSpec: { resources: requests('50m', '320Mi') } },
        alertmanager: { alertmanagerSpec: { resources: requests('5m', '32Mi') } },
        grafana: { resources: requests('20m', '128Mi'), sidecar: { resources: requests('5m', '48Mi') } },
        'kube-state-metrics': { resources: requests('5m', '32Mi') },
        'prometheus-node-exporter': { resources: requests('5m', '16Mi') },
        prometheusOperator: { resources: requests('5m', '48Mi'), prometheusConfigReloader: { resources: requests('5m', '16Mi') } },
      });
    }
    // The chart names its Services <release>-<component> (the release name contains the chart name).
    this.prometheus = service('prometheus', 9090);
    this.alertmanager = service('alertmanager', 9093);
    this.grafana = service('grafana', 80);
    this.prometheusUrl = this.prometheus.url;
    this.hosts = {
      prometheus: `prometheus.${props.domain}`,
      alertmanager: `alertmanager.${props.domain}`,
      grafana: `grafana.${props.domain}`,
    };
    // prometheusSpec.podMonitorSelectorNilUsesHelmValues (default true) makes Prometheus select only
    // monitors carrying the release label; the monitors live next to Prometheus (every namespace would
    // do: podMonitorNamespaceSelector is {}).
    this.monitorLabels = { release };
    this.monitorNamespace = ns;
    this.grafanaProvisioning = {
      namespace: ns,
      datasourceLabels: { grafana_datasource: '1' },
      dashboardLabels: { grafana_dashboard: '1' },
      folderAnnotation: 'k8s-sidecar-target-directory',
      datasourceUid: { prometheus: 'prometheus', alertmanager: 'alertmanager' },
    };
    const grafana = this.grafanaProvisioning;

    // Prometheus and Alertmanager have no login of their own, and the guide publishes both: anyone could
    // query every metric, write series (Prometheus accepts remote write for Tempo) and silence alerts.
    // ingress-nginx asks for a password from the htpasswd in a declared secret (declared only where an
    // Ingress uses it); an exposure without basic auth (the Gateway API) does not publish them at all.
    // Grafana has its own login.
    let htpasswd: string | undefined;
    const basicAuth = (realm: string) => Access.basicAuth(realm, () => {
      if (htpasswd === undefined) {
        const auth = secrets.use(this, MONITORING_BASIC_AUTH, ns);
        auth.key('auth');
        htpasswd = auth.name;
      }
      return htpasswd;
    });
    const access = { prometheus: basicAuth('Prometheus'), alertmanager: basicAuth('Alertmanager') };
    // Where links (alerts' GeneratorURL, Slack messages) point: the public host, or for an unpublished UI
    // the address `kubectl port-forward svc/<service> <port>` serves it at.
    const linkTo = (host: string, a: Access, s: StackService) => (props.exposure.publishes(a) ? `https://${host}` : `http://localhost:${s.port}`);
    const urls = {
      prometheus: linkTo(this.hosts.prometheus, access.prometheus, this.prometheus),
      alertmanager: linkTo(this.hosts.alertmanager, access.alertmanager, this.alertmanager),
      grafana: `https://${this.hosts.grafana}`,
    };

    const slack = secrets.use(this, ALERTMANAGER_SLACK, ns);
    const grafanaAdmin = secrets.use(this, GRAFANA_ADMIN, ns);

    this.addValues({
      prometheus: {
        prometheusSpec: {
          // Tempo's metrics generator remote-writes service-graph and span metrics here.
          enableRemoteWriteReceiver: true,
          // Alerts' "source" links (GeneratorURL) then open the public Prometheus, not a pod name.
          externalUrl: urls.prometheus,
        },
      },
      alertmanager: {
        alertmanagerSpec: {
          // .ExternalURL in the Slack templates; links to the public Alertmanager.
          externalUrl: urls.alertmanager,
          secrets: [slack.name],
        },
        templateFiles: { [ALERTMANAGER_TEMPLATE_FILE]: slackTemplates(kps.alertTimeZone, urls) },
        config: {
          // The guide also sets global.slack_api_url and receivers[].api_url to the webhook URL in plain
          // text; here the receiver reads it from the mounted secret (api_url_file) and nothing else holds it.
          global: { resolve_timeout: '5m', http_config: { follow_redirects: true } },
          inhibit_rules: [
            { source_matchers: ['severity = critical'], target_matchers: ['severity =~ warning|info'], equal: ['namespace', 'alertname'] },
            { source_matchers: ['severity = warning'], target_matchers: ['severity = info'], equal: ['namespace', 'alertname'] },
            { source_matchers: ['alertname = InfoInhibitor'], target_matchers: ['severity = info'], equal: ['namespace'] },
          ],
          route: {
            group_by: ['alertname', 'namespace', 'pod'],
            group_wait: '30s',
            group_interval: '5m',
            repeat_interval: '12h',
            receiver: SLACK_RECEIVER,
            // As the guide: Watchdog and InfoInhibitor reach Slack too (the chart's default silences
            // them), so a Watchdog message every 12h shows the whole alert path works.
            routes: [{ receiver: SLACK_RECEIVER, matchers: ['alertname =~ "InfoInhibitor|Watchdog"'] }],
          },
          receivers: [{
            name: SLACK_RECEIVER,
            slack_configs: [{
              channel: kps.slackChannel,
              api_url_file: `${ALERTMANAGER_SECRETS_DIR}/${slack.name}/${slack.key('webhook-url')}`,
              username: 'alertmanager',
              title: '{{ template "platform.slack.title" . }}',
              title_link: '{{ template "platform.slack.titlelink" . }}',
              text: '{{ template "platform.slack.text" . }}',
              send_resolved: true,
            }],
          }],
          // Helm replaces lists: restate the chart's default so templateFiles are loaded.
          templates: ['/etc/alertmanager/config/*.tmpl'],
        },
      },
      grafana: {
        // The grafana chart's ServiceMonitor takes the job name from the Service label named after the
        // release, which its Service does not carry: without this label the job silently falls back to the
        // Service's name. The label keeps that name as the job.
        service: { labels: { [release]: this.grafana.name } },
        // With an existing secret the chart renders no Secret of its own, so there is no random
        // password that changes on every render for Argo CD to see as a diff.
        admin: {
          existingSecret: grafanaAdmin.name,
          userKey: grafanaAdmin.key('admin-user'),
          passwordKey: grafanaAdmin.key('admin-password'),
        },
        sidecar: {
          datasources: {
            enabled: true,
            label: 'grafana_datasource',
            labelValue: grafana.datasourceLabels.grafana_datasource,
            // The chart's own Prometheus (and Alertmanager) datasource stays, under a pinned uid that the
            // Tempo datasource and the dashboards link to.
            defaultDatasourceEnabled: true,
            uid: grafana.datasourceUid.prometheus,
            alertmanager: { enabled: true, uid: grafana.datasourceUid.alertmanager },
          },
          dashboards: {
            enabled: true,
            label: 'grafana_dashboard',
            labelValue: grafana.dashboardLabels.grafana_dashboard,
            searchNamespace: 'ALL',
            // The guide annotates its Tempo dashboard with a target folder; the sidecar only honours that
            // with these two settings, which the guide never sets.
            folderAnnotation: grafana.folderAnnotation,
            provider: { foldersFromFilesStructure: true },
          },
        },
      },
    });

    const endpoint = (id: string, host: string, secretName: string, routeName: string, backend: StackService, a?: Access) =>
      new TlsEndpoint(this, id, {
        host,
        namespace: ns,
        secretName,
        issuer: props.issuer,
        route: { exposure: props.exposure, name: routeName, backend: { service: backend.name, port: backend.port }, access: a },
      });
    // Names as the guide's *-certificate.yaml and *-ingress.yaml have them.
    this.endpoints = {
      prometheus: endpoint('prometheus', this.hosts.prometheus, 'prometheus-secret', 'prometheus-ingress', this.prometheus, access.prometheus),
      alertmanager: endpoint('alertmanager', this.hosts.alertmanager, 'alertmanager-secret', 'alertmanager-ingress', this.alertmanager, access.alertmanager),
      grafana: endpoint('grafana', this.hosts.grafana, 'grafana-secret', 'grafana', this.grafana),
    };
    const cm = props.certManager;
    new PodScrape(this, 'scrape-cert-manager', {
      stack: this, name: 'cert-manager', podNamespace: cm.namespace, matchLabels: cm.matchLabels,
      jobLabel: 'app.kubernetes.io/name', port: cm.port, path: cm.path,
    });
  }
}

/**
 * Alertmanager templates for Slack. One message per notification group: a headline, then each alert
 * with what, where, when (in `timeZone`) and links.
 */
function slackTemplates(timeZone: string, urls: { readonly prometheus: string; readonly grafana: string }): string {
  const at = (field: string) => `${field} | tz "${timeZone}" | date "2006-01-02 15:04:05 MST"`;
  return `{{/* Generated by this repo's charts/kube-prometheus-stack.ts. */}}
{{ define "platform.slack.title" -}}
{{ if eq .Status "firing" }}:rotating_light: FIRING ({{ .Alerts.Firing | len }}){{ else }}:white_check_mark: RESOLVED{{ end }} {{ .CommonLabels.alertname }}{{ with .CommonLabels.severity }} [{{ . }}]{{ end }}
{{- end }}

{{ define "platform.slack.titlelink" }}{{ .ExternalURL }}/#/alerts?receiver={{ .Receiver }}{{ end }}

{{ define "platform.slack.alert" -}}
*{{ .Labels.alertname }}* is *{{ .Status }}*, severity *{{ or .Labels.severity "none" }}*
{{ with .Annotations.summary }}> {{ . }}{{ else }}{{ with .Annotations.message }}> {{ . }}{{ end }}{{ end }}
{{ with .Annotations.description }}{{ . }}
{{ end -}}
Where: namespace \`{{ or .Labels.namespace "-" }}\` | pod \`{{ or .Labels.pod "-" }}\` | instance \`{{ or .Labels.instance "-" }}\` | job \`{{ or .Labels.job "-" }}\`
Started: {{ ${at('.StartsAt')} }}
{{ if eq .Status "resolved" -}}
Ended: {{ ${at('.EndsAt')} }} (lasted {{ .EndsAt.Sub .StartsAt | humanizeDuration }})
{{- else -}}
Firing for {{ since .StartsAt | humanizeDuration }}
{{- end }}
Links: <{{ .GeneratorURL }}|query>{{ with .Annotations.runbook_url }} | <{{ . }}|runbook>{{ end }}{{ with .Annotations.dashboard_url }} | <{{ . }}|dashboard>{{ end }}
{{- end }}

{{ define "platform.slack.text" -}}
{{ if and (eq .Status "firing") (eq .CommonLabels.severity "critical") }}<!channel> {{ end -}}
{{ range .Alerts }}{{ template "platform.slack.alert" . }}

{{ end -}}
<{{ .ExternalURL }}|Alertmanager> | <${urls.prometheus}/alerts|Prometheus alerts> | <${urls.grafana}|Grafana>
{{- end }}
`;
}
