import { composePlatform } from '../charts/platform';
import { HelmComponent } from '../lib/component';
import { findLeaks } from '../lib/leaks';
import { chartComponents } from '../lib/platform';
import { labConfig, render } from './helpers';

const config = labConfig();
const lab = render();
const app = lab.app('kube-prometheus-stack');
const values = lab.values(app.metadata.name);
const alertmanager = values.alertmanager;
const slack = alertmanager.config.receivers[0].slack_configs[0];
const templates: string = alertmanager.templateFiles['slack.tmpl'];

describe('kube-prometheus-stack: the Application', () => {
  test('installs the pinned chart into the monitoring namespace with server-side apply', () => {
    expect(lab.chart(app.metadata.name)).toMatchObject({
      repoURL: 'https://prometheus-community.github.io/helm-charts',
      chart: 'kube-prometheus-stack',
      targetRevision: '88.5.3',
    });
    expect(lab.chart(app.metadata.name).helm.releaseName).toBe('kube-prometheus-stack');
    expect(app.spec.destination.namespace).toBe('monitoring');
    // The operator's CRDs are too large for client-side apply's last-applied annotation.
    expect(app.spec.syncPolicy.syncOptions).toContain('ServerSideApply=true');
  });

  test('is synced after the secrets it mounts', () => {
    expect(lab.wave('kube-prometheus-stack')).toBeGreaterThan(lab.wave('secrets'));
  });

  test('Prometheus accepts remote write (Tempo\'s metrics generator)', () => {
    expect(values.prometheus.prometheusSpec.enableRemoteWriteReceiver).toBe(true);
  });

  test('Prometheus and Alertmanager know their public URLs, so alert links open them', () => {
    expect(values.prometheus.prometheusSpec.externalUrl).toBe('https://prometheus.k-tech.cloud');
    expect(alertmanager.alertmanagerSpec.externalUrl).toBe('https://alertmanager.k-tech.cloud');
  });

  test('on AKS nothing scrapes or alerts on the control plane Azure runs; a self-managed cluster keeps it', () => {
    const off = { kubeControllerManager: { enabled: false }, kubeScheduler: { enabled: false }, kubeEtcd: { enabled: false }, kubeProxy: { enabled: false } };
    expect(values).toMatchObject(off);
    const rendered = lab.platform!.components.find((c) => c.name === 'kube-prometheus-stack')!.appliedManifests as any[];
    const names = rendered.filter((m) => ['Service', 'ServiceMonitor', 'PrometheusRule'].includes(m.kind)).map((m) => `${m.kind} ${m.metadata.name}`);
    expect(names.filter((n) => /scheduler|controller-manager|etcd|kube-proxy/.test(n))).toEqual([]);
    // The API server, kubelets and CoreDNS stay scraped.
    expect(names).toEqual(expect.arrayContaining(['ServiceMonitor kube-prometheus-stack-apiserver', 'ServiceMonitor kube-prometheus-stack-kubelet', 'ServiceMonitor kube-prometheus-stack-coredns']));
    const selfManaged = composePlatform(labConfig((r) => { r.cluster.provider = 'self-managed'; }));
    const v = (chartComponents(selfManaged).find((c) => c.name === 'kube-prometheus-stack') as HelmComponent<any>).values;
    for (const key of Object.keys(off)) expect(v[key]).toBeUndefined();
  });
});

describe('kube-prometheus-stack: Alertmanager to Slack', () => {
  test('the route and inhibit rules are the guide\'s', () => {
    expect(alertmanager.config.route).toEqual({
      group_by: ['alertname', 'namespace', 'pod'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '12h',
      receiver: 'slack-notifications',
      routes: [{ receiver: 'slack-notifications', matchers: ['alertname =~ "InfoInhibitor|Watchdog"'] }],
    });
    expect(alertmanager.config.inhibit_rules).toEqual([
      { source_matchers: ['severity = critical'], target_matchers: ['severity =~ warning|info'], equal: ['namespace', 'alertname'] },
      { source_matchers: ['severity = warning'], target_matchers: ['severity = info'], equal: ['namespace', 'alertname'] },
      { source_matchers: ['alertname = InfoInhibitor'], target_matchers: ['severity = info'], equal: ['namespace'] },
    ]);
    expect(alertmanager.config.global).toEqual({ resolve_timeout: '5m', http_config: { follow_redirects: true } });
  });

  test('one Slack receiver posts to the configured channel as alertmanager, resolved alerts too', () => {
    expect(alertmanager.config.receivers).toHaveLength(1);
    expect(alertmanager.config.receivers[0].name).toBe('slack-notifications');
    expect(slack).toMatchObject({ channel: '#devops', username: 'alertmanager', send_resolved: true });
  });

  test('the webhook URL is read from the mounted alertmanager-slack secret, never from values', () => {
    expect(alertmanager.alertmanagerSpec.secrets).toEqual(['alertmanager-slack']);
    expect(slack.api_url_file).toBe('/etc/alertmanager/secrets/alertmanager-slack/webhook-url');
    expect(slack.api_url).toBeUndefined();
    expect(alertmanager.config.global.slack_api_url).toBeUndefined();
    const declared = lab.secret('alertmanager-slack');
    expect(declared.namespaces).toContain('monitoring');
    expect(Object.keys(declared.keys)).toContain('webhook-url');
    const text = JSON.stringify(values);
    expect(text).not.toMatch(/hooks\.slack\.com|<SLACK_API_URL>|xox[abprs]-/);
    expect(findLeaks([{ path: 'apps/application-kube-prometheus-stack-lab.yaml', manifest: app }])).toEqual([]);
  });

  test('title, title link and text are our templates, each defined in the template file the config loads', () => {
    expect(alertmanager.config.templates).toEqual(['/etc/alertmanager/config/*.tmpl']);
    for (const field of ['title', 'title_link', 'text']) {
      const used = /\{\{ template "([^"]+)" \. \}\}/.exec(slack[field]);
      expect(used).not.toBeNull();
      expect(templates).toMatch(new RegExp(`\\{\\{ define "${used![1].replace(/\./g, '\\.')}" -?\\}\\}`));
    }
  });

  test('the message carries what, how bad, where, when and links', () => {
    for (const field of [
      '.CommonLabels.alertname', '.Labels.alertname', '.Status', '.Labels.severity', '.Annotations.summary', '.Annotations.description',
      '.Labels.namespace', '.Labels.pod', '.Labels.instance', '.Labels.job',
      '.StartsAt', '.EndsAt', 'humanizeDuration', '.GeneratorURL', '.ExternalURL',
    ]) expect(templates).toContain(field);
    expect(templates).toContain('https://prometheus.k-tech.cloud/alerts');
    expect(templates).toContain('https://grafana.k-tech.cloud');
  });

  test('times are shown in the configured zone, Asia/Seoul by default, with the zone\'s abbreviation', () => {
    expect(config.kubePrometheusStack!.alertTimeZone).toBe('Asia/Seoul');
    expect(templates).toContain('.StartsAt | tz "Asia/Seoul" | date "2006-01-02 15:04:05 MST"');
    expect(templates).toContain('.EndsAt | tz "Asia/Seoul" | date "2006-01-02 15:04:05 MST"');
    expect(templates).not.toContain('KST');

    const defaulted = labConfig((r) => { delete r.kubePrometheusStack.alertTimeZone; });
    expect(defaulted.kubePrometheusStack!.alertTimeZone).toBe('Asia/Seoul');
    const utc = render(labConfig((r) => { r.kubePrometheusStack.alertTimeZone = 'Europe/Berlin'; }));
    expect(utc.values('kube-prometheus-stack').alertmanager.templateFiles['slack.tmpl']).toContain('tz "Europe/Berlin"');
  });

  test('an unknown time zone or a channel without # is refused with the field named', () => {
    expect(() => labConfig((r) => { r.kubePrometheusStack.alertTimeZone = 'Asia/Nowhere'; }))
      .toThrow(/kubePrometheusStack\.alertTimeZone: must be an IANA time zone/);
    expect(() => labConfig((r) => { r.kubePrometheusStack.slackChannel = 'devops'; }))
      .toThrow(/kubePrometheusStack\.slackChannel: must be a Slack channel such as #devops/);
  });

  test('the templates are well formed: every if/range/with/define has its end', () => {
    let depth = 0;
    for (const m of templates.matchAll(/\{\{-?\s*(\/\*.*?\*\/|[a-z]+)?[^}]*?-?\}\}/g)) {
      const word = m[1] ?? '';
      if (['if', 'range', 'with', 'define'].includes(word)) depth += 1;
      if (word === 'end') depth -= 1;
      expect(depth).toBeGreaterThanOrEqual(0);
    }
    expect(depth).toBe(0);
    expect(templates.split('{{').length).toBe(templates.split('}}').length);
  });
});

describe('kube-prometheus-stack: Grafana', () => {
  const grafana = values.grafana;

  test('the admin login is the grafana-admin secret, so the chart renders no password of its own', () => {
    expect(grafana.admin).toEqual({ existingSecret: 'grafana-admin', userKey: 'admin-user', passwordKey: 'admin-password' });
    const declared = lab.secret('grafana-admin');
    expect(declared.namespaces).toContain('monitoring');
    expect(Object.keys(declared.keys).sort()).toEqual(['admin-password', 'admin-user']);
    expect(grafana.adminPassword).toBeUndefined();
    expect(JSON.stringify(values)).not.toMatch(/adminPassword|prom-operator/);
  });

  test('the sidecars discover datasources and dashboards by label; the chart\'s Prometheus datasource stays under uid prometheus', () => {
    expect(grafana.sidecar.datasources).toMatchObject({
      enabled: true, label: 'grafana_datasource', labelValue: '1', defaultDatasourceEnabled: true, uid: 'prometheus',
      alertmanager: { enabled: true, uid: 'alertmanager' },
    });
    expect(grafana.sidecar.dashboards).toMatchObject({
      enabled: true, label: 'grafana_dashboard', labelValue: '1', searchNamespace: 'ALL',
      folderAnnotation: 'k8s-sidecar-target-directory', provider: { foldersFromFilesStructure: true },
    });
  });

  test('Grafana\'s ServiceMonitor names its job from a label its Service carries', () => {
    const rendered = lab.platform!.components.find((c) => c.name === 'kube-prometheus-stack')!.appliedManifests as any[];
    const monitor = rendered.find((m) => m.kind === 'ServiceMonitor' && m.metadata.name === 'kube-prometheus-stack-grafana');
    const svc = rendered.find((m) => m.kind === 'Service' && m.metadata.name === 'kube-prometheus-stack-grafana');
    expect(monitor.spec.jobLabel).toBeDefined();
    expect(svc.metadata.labels[monitor.spec.jobLabel]).toBe('kube-prometheus-stack-grafana');
    expect(grafana.service).toEqual({ labels: { [monitor.spec.jobLabel]: 'kube-prometheus-stack-grafana' } });
  });
});
