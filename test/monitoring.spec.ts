import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { escapeDollars } from '../lib/grafana';
import { renderFiles } from '../lib/platform';
import { validatePlatform } from '../lib/validate-platform';
import { labConfig, render, unionViolations } from './helpers';

const lab = render();
const NS = 'monitoring';
const kps = lab.values('kube-prometheus-stack');
const kpsRelease = lab.chart('kube-prometheus-stack').helm.releaseName;
const kpsRendered = lab.platform!.components.find((c) => c.name === 'kube-prometheus-stack')!.appliedManifests as any[];
/** Every `datasourceUid` (datasource links) or `datasource.uid` (dashboard panels) anywhere in `node`. */
const uidsIn = (node: any): string[] => (Array.isArray(node) ? node.flatMap(uidsIn) : node && typeof node === 'object'
  ? Object.entries(node).flatMap(([k, v]: [string, any]) => (k === 'datasourceUid' && typeof v === 'string' ? [v]
    : k === 'datasource' && typeof v?.uid === 'string' ? [v.uid] : uidsIn(v)))
  : []);
/** The uids of the datasources the chart provisions itself (read from its render, not restated). */
const chartUids: string[] = kpsRendered.filter((m) => m.kind === 'ConfigMap' && m.metadata.labels?.[kps.grafana.sidecar.datasources.label])
  .flatMap((cm) => Object.values<string>(cm.data).flatMap((t) => (yaml.load(t) as any).datasources.map((d: any) => d.uid)));

const datasourceFiles = () => lab.files.map((f) => f.manifest as any)
  .filter((m) => m.kind === 'ConfigMap' && m.metadata.labels?.grafana_datasource === '1');
/** The provisioning file of a datasource ConfigMap, as Grafana reads it ($$ is a literal $). */
const provisioning = (name: string): any => {
  const cm = lab.get('ConfigMap', name, NS);
  return yaml.load((Object.values(cm.data)[0] as string));
};
const datasource = (name: string) => provisioning(name).datasources[0];
const dashboard = (name: string, key: string) => JSON.parse(lab.get('ConfigMap', name, NS).data[key]);
const queries = (d: any): string[] => d.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr ?? t.query ?? t.queryType));

describe('monitoring objects live with the component they are about', () => {
  const folderOf = (kind: string, name: string) => lab.files.find((f) => f.manifest.kind === kind && f.manifest.metadata.name === name)!.path.split('/')[0];
  test.each([
    ['Ingress', 'prometheus-ingress', 'kube-prometheus-stack'], ['Certificate', 'grafana-secret', 'kube-prometheus-stack'],
    ['PodMonitor', 'jenkins', 'jenkins'], ['PodMonitor', 'argocd-server', 'argo-cd'], ['PodMonitor', 'istiod', 'istiod'],
    ['PodMonitor', 'istio-gateways', 'istio-ingressgateway'], ['PodMonitor', 'istio-envoy', 'workloads'],
    ['ConfigMap', 'loki-datasource', 'loki'], ['ConfigMap', 'grafana-dashboard-tempo-observability', 'tempo'],
  ])('%s %s is written by %s', (kind, name, component) => {
    expect(folderOf(kind, name)).toBe(component);
  });

  test('a component that applies a PodMonitor is synced after the stack that installs its CRD', () => {
    for (const m of lab.all('PodMonitor')) {
      const owner = folderOf('PodMonitor', m.metadata.name);
      if (owner !== 'kube-prometheus-stack') expect(lab.wave(owner)).toBeGreaterThan(lab.wave('kube-prometheus-stack'));
    }
  });

  test('no Application exists only to hold another product\'s objects', () => {
    const names = lab.in('apps').map((f) => f.manifest.metadata.name);
    for (const gone of ['monitoring-config', 'harbor-certificate', 'argo-cd-endpoint', 'kiali-dashboard', 'istio-telemetry', 'cluster-issuers']) {
      expect(names).not.toContain(gone);
    }
  });
});

describe('monitoring: HTTPS endpoints as the guide names them', () => {
  test.each([
    ['prometheus.k-tech.cloud', 'prometheus-secret', 'prometheus-ingress', 'kube-prometheus-stack-prometheus', 9090],
    ['alertmanager.k-tech.cloud', 'alertmanager-secret', 'alertmanager-ingress', 'kube-prometheus-stack-alertmanager', 9093],
    ['grafana.k-tech.cloud', 'grafana-secret', 'grafana', 'kube-prometheus-stack-grafana', 80],
  ])('%s: Certificate %s, Ingress %s -> %s:%d', (host, secret, ingressName, service, port) => {
    const cert = lab.get('Certificate', secret, NS);
    expect(cert.spec).toMatchObject({
      secretName: secret, commonName: host, dnsNames: [host], issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' },
    });
    const ing = lab.get('Ingress', ingressName, NS);
    expect(ing.spec.ingressClassName).toBe('nginx');
    expect(ing.spec.tls).toEqual([{ hosts: [host], secretName: secret }]);
    expect(ing.spec.rules).toEqual([{
      host,
      http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { number: port } } } }] },
    }]);
    // No cert-manager annotation (the Certificate fills the secret); a password where the UI has no login.
    const expected = ingressName === 'grafana' ? {} : {
      'nginx.ingress.kubernetes.io/auth-type': 'basic',
      'nginx.ingress.kubernetes.io/auth-secret': 'monitoring-basic-auth',
      'nginx.ingress.kubernetes.io/auth-realm': host.startsWith('prometheus') ? 'Prometheus' : 'Alertmanager',
    };
    expect(ing.metadata.annotations ?? {}).toEqual(expected);
    if (ingressName !== 'grafana') expect(lab.get('ExternalSecret', 'monitoring-basic-auth', NS).spec.data[0].secretKey).toBe('auth');
  });

  test('the issuer is config.certManager.ingressIssuer', () => {
    const staging = render(labConfig((r) => { r.certManager.ingressIssuer = 'letsencrypt-staging'; }));
    for (const s of ['prometheus-secret', 'alertmanager-secret', 'grafana-secret']) {
      expect(staging.get('Certificate', s, NS).spec.issuerRef.name).toBe('letsencrypt-staging');
    }
  });

  test('the Alertmanager links in Slack point at the host this component serves', () => {
    expect(kps.alertmanager.alertmanagerSpec.externalUrl).toBe(`https://${lab.get('Ingress', 'alertmanager-ingress', NS).spec.rules[0].host}`);
  });
});

describe('monitoring: PodMonitors', () => {
  const monitors = () => lab.all('PodMonitor') as any[];

  test('the nine PodMonitors of the guide, and one per workload metricsPort', () => {
    // A component added later only adds its own.
    expect(monitors().map((m) => m.metadata.name)).toEqual(expect.arrayContaining([
      'argocd-application-controller', 'argocd-applicationset-controller', 'argocd-repo-server', 'argocd-server',
      'cert-manager', 'istio-envoy', 'istio-gateways', 'istiod', 'jenkins', 'login-js-metrics',
    ]));
  });

  test('each carries the label this Prometheus selects (release: <helm release>)', () => {
    for (const m of monitors()) {
      expect(m.metadata.namespace).toBe(NS);
      expect(m.metadata.labels).toEqual({ release: kpsRelease });
    }
    // The Prometheus the chart renders selects PodMonitors by that label, in every namespace.
    const prometheus = kpsRendered.filter((m) => m.kind === 'Prometheus');
    expect(prometheus).toHaveLength(1);
    expect(prometheus[0].metadata.namespace).toBe(NS);
    expect(prometheus[0].spec.podMonitorSelector).toEqual({ matchLabels: { release: kpsRelease } });
    expect(prometheus[0].spec.podMonitorNamespaceSelector).toEqual({});
  });

  const argocd = (name: string, port: number): [string, object] => [name, {
    jobLabel: 'app.kubernetes.io/name',
    namespaceSelector: { matchNames: ['argocd'] },
    selector: { matchLabels: { 'app.kubernetes.io/name': name } },
    podMetricsEndpoints: [{ portNumber: port, path: '/metrics', interval: '30s' }],
  }];
  test.each<[string, object]>([
    ['istio-envoy', {
      namespaceSelector: { matchNames: ['default'] },
      selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['nginx', 'login-js'] }] },
      podMetricsEndpoints: [{ port: 'http-envoy-prom', path: '/stats/prometheus', interval: '30s' }],
    }],
    ['istiod', {
      jobLabel: 'app',
      namespaceSelector: { matchNames: ['istio-system'] },
      selector: { matchLabels: { app: 'istiod' } },
      podMetricsEndpoints: [{ portNumber: 15014, path: '/metrics', interval: '30s' }],
    }],
    ['istio-gateways', {
      jobLabel: 'istio',
      namespaceSelector: { matchNames: ['istio-system'] },
      selector: { matchExpressions: [{ key: 'istio', operator: 'In', values: ['ingressgateway', 'egressgateway'] }] },
      podMetricsEndpoints: [{ port: 'http-envoy-prom', path: '/stats/prometheus', interval: '30s' }],
    }],
    ['jenkins', {
      // The Jenkins pods carry app (not app.kubernetes.io/name): the job is named after it.
      jobLabel: 'app',
      namespaceSelector: { matchNames: ['devops-tools'] },
      selector: { matchLabels: { app: 'jenkins-server' } },
      podMetricsEndpoints: [{
        port: 'httpport', path: '/prometheus', interval: '30s', scheme: 'http',
        basicAuth: {
          username: { name: 'jenkins-metrics-basic-auth', key: 'username' },
          password: { name: 'jenkins-metrics-basic-auth', key: 'password' },
        },
      }],
    }],
    argocd('argocd-repo-server', 8084),
    argocd('argocd-server', 8083),
    argocd('argocd-application-controller', 8082),
    argocd('argocd-applicationset-controller', 8080),
    ['cert-manager', {
      jobLabel: 'app.kubernetes.io/name',
      namespaceSelector: { matchNames: ['cert-manager'] },
      selector: { matchLabels: { 'app.kubernetes.io/name': 'cert-manager' } },
      podMetricsEndpoints: [{ portNumber: 9402, path: '/metrics', interval: '30s' }],
    }],
  ])('%s scrapes what the guide\'s PodMonitor scrapes', (name, spec) => {
    expect(lab.get('PodMonitor', name, NS).spec).toEqual(spec);
  });

  test('Jenkins is scraped with a declared secret; no credential and no Secret in git', () => {
    const declared = lab.secret('jenkins-metrics-basic-auth');
    expect(declared.namespaces).toContain(NS);
    expect(Object.keys(declared.keys).sort()).toEqual(['password', 'username']);
    expect(lab.files.filter((f) => !f.path.startsWith('bootstrap/') && f.manifest.kind === 'Secret')).toEqual([]);
    expect(JSON.stringify(lab.in('jenkins'))).not.toMatch(/kangbock|JENKINS_API_TOKEN|stringData/);
  });

  test('the Jenkins selector and port name match the Jenkins pods this platform runs', () => {
    const pods = lab.in('jenkins').map((f) => f.manifest as any).filter((m) => m.kind === 'StatefulSet' || m.kind === 'Deployment');
    const spec = lab.get('PodMonitor', 'jenkins', NS).spec;
    const matching = pods.filter((p) => Object.entries(spec.selector.matchLabels).every(([k, v]) => p.spec.template.metadata.labels?.[k] === v));
    expect(matching).toHaveLength(1);
    expect(matching[0].metadata.namespace).toBe(spec.namespaceSelector.matchNames[0]);
    const ports = matching[0].spec.template.spec.containers.flatMap((c: any) => c.ports ?? []).map((p: any) => p.name);
    expect(ports).toContain(spec.podMetricsEndpoints[0].port);
    expect(Object.keys(matching[0].spec.template.metadata.labels)).toContain(spec.jobLabel);
  });

  test('the Envoy monitor selects workloads this platform runs in the apps namespace', () => {
    const spec = lab.get('PodMonitor', 'istio-envoy', NS).spec;
    const deployments = lab.all('Deployment') as any[];
    for (const app of spec.selector.matchExpressions[0].values) {
      expect(deployments.filter((d) => d.metadata.namespace === spec.namespaceSelector.matchNames[0] && d.spec.template.metadata.labels?.app === app)).toHaveLength(1);
    }
  });

  test('selector namespaces come from config', () => {
    const moved = render(labConfig((r) => { r.certManager.namespace = 'certs'; r.apps.namespace = 'shop'; }));
    expect(moved.get('PodMonitor', 'cert-manager', NS).spec.namespaceSelector.matchNames).toEqual(['certs']);
    expect(moved.get('PodMonitor', 'istio-envoy', NS).spec.namespaceSelector.matchNames).toEqual(['shop']);
  });

  /** Every pod template the platform applies (ours and the charts'), with its namespace. */
  const podTemplates = (platform = lab.platform!) => platform.components.flatMap((c) => c.appliedManifests as any[])
    .filter((m) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(m.kind))
    .map((m) => ({ namespace: m.metadata.namespace ?? '', name: m.metadata.name, labels: m.spec.template.metadata?.labels ?? {} }));
  const selects = (monitor: any, pod: { namespace: string; labels: Record<string, string> }) =>
    (monitor.spec.namespaceSelector?.matchNames ?? [monitor.metadata.namespace]).includes(pod.namespace) &&
    Object.entries(monitor.spec.selector.matchLabels ?? {}).every(([k, v]) => pod.labels[k] === v) &&
    (monitor.spec.selector.matchExpressions ?? []).every((e: any) => (e.operator === 'In' ? e.values.includes(pod.labels[e.key]) : true));

  test('every jobLabel is a label of every pod its monitor selects', () => {
    for (const m of monitors().filter((x) => x.spec.jobLabel)) {
      const pods = podTemplates().filter((p) => selects(m, p));
      expect([m.metadata.name, pods.length > 0]).toEqual([m.metadata.name, true]);
      for (const p of pods) expect([m.metadata.name, p.name, p.labels[m.spec.jobLabel] !== undefined]).toEqual([m.metadata.name, p.name, true]);
    }
  });

  test('every workload KEDA scales on istio_requests_total has its sidecar scraped, in any environment', () => {
    const platforms = [lab, render(labConfig((r) => {
      r.apps.workloads['login-js'].autoscaling = { minReplicas: 1, maxReplicas: 3, requestsPerSecond: 10, activationRequestsPerSecond: 1 };
      r.apps.workloads['register-js'].portName = 'http-registerjs';
      r.apps.workloads['register-js'].autoscaling = { minReplicas: 1, maxReplicas: 3, requestsPerSecond: 10, activationRequestsPerSecond: 1 };
    }))];
    for (const env of platforms) {
      const scaled = env.all('ScaledObject') as any[];
      for (const so of scaled) {
        const workload = /destination_workload="([^"]+)"/.exec(so.spec.triggers[0].metadata.query)![1];
        const pods = podTemplates(env.platform!).filter((p) => p.namespace === so.metadata.namespace && p.name === workload);
        expect(pods).toHaveLength(1);
        const scraping = (env.all('PodMonitor') as any[]).filter((m) => selects(m, pods[0]) && m.spec.podMetricsEndpoints.some((e: any) => e.port === 'http-envoy-prom'));
        expect([workload, scraping.length]).toEqual([workload, 1]);
      }
    }
    expect(platforms[1].all('ScaledObject')).toHaveLength(3);
  });

  test('autoscaling on a port Istio cannot count requests on is refused, naming the field', () => {
    expect(() => labConfig((r) => {
      r.apps.workloads['register-js'].autoscaling = { minReplicas: 1, maxReplicas: 3, requestsPerSecond: 10, activationRequestsPerSecond: 1 };
    })).toThrow(/apps\.workloads\.register-js\.portName: autoscaling follows istio_requests_total/);
  });

  test('the platform\'s own validation finds every monitor selected by the rendered Prometheus, and its targets', () => {
    // monitor-target over the union: our PodMonitors and the chart's ServiceMonitors, against the pods,
    // Services and the Prometheus of every Application.
    expect(unionViolations(['monitor-target'])).toEqual([]);
  });
});

describe('monitoring: Grafana datasources', () => {
  test('Loki and Tempo, as ConfigMaps the datasource sidecar discovers', () => {
    expect(datasourceFiles().map((m) => m.metadata.name).sort()).toEqual(['loki-datasource', 'tempo-datasource']);
    expect(Object.keys(lab.get('ConfigMap', 'loki-datasource', NS).data)).toEqual(['loki-datasource.yaml']);
    expect(Object.keys(lab.get('ConfigMap', 'tempo-datasource', NS).data)).toEqual(['tempo-datasource.yaml']);
    // The label is the one the chart's sidecar is told to watch.
    expect(kps.grafana.sidecar.datasources.label).toBe('grafana_datasource');
  });

  test('Loki: the gateway, the tenant header, and trace ids that jump to Tempo', () => {
    const loki = datasource('loki-datasource');
    expect(loki).toMatchObject({ name: 'Loki', uid: 'loki', type: 'loki', access: 'proxy', url: 'http://loki-gateway.loki.svc.cluster.local' });
    expect(loki.jsonData.httpHeaderName1).toBe('X-Scope-OrgID');
    expect(loki.secureJsonData.httpHeaderValue1).toBe('self-monitoring');
    // derivedFields is a jsonData setting; beside jsonData (as the guide has it) Grafana ignores it.
    expect(loki.derivedFields).toBeUndefined();
    expect(loki.jsonData.derivedFields).toEqual([expect.objectContaining({ name: 'traceID', datasourceUid: 'tempo' })]);
    expect(new RegExp(loki.jsonData.derivedFields[0].matcherRegex).exec('level=info traceID=4bf92f3577b34da6 msg=ok')![1]).toBe('4bf92f3577b34da6');
    // Grafana expands $... in provisioning files: the link's query must reach it as ${__value.raw}.
    expect(loki.jsonData.derivedFields[0].url).toBe('$${__value.raw}');
  });

  test('Tempo: service map, node graph, traces to logs and to metrics', () => {
    const tempo = datasource('tempo-datasource');
    expect(tempo).toMatchObject({ name: 'Tempo', uid: 'tempo', type: 'tempo', url: 'http://tempo-query-frontend.observability.svc.cluster.local:3200' });
    expect(tempo.jsonData.serviceMap).toEqual({ datasourceUid: 'prometheus' });
    expect(tempo.jsonData.nodeGraph).toEqual({ enabled: true });
    expect(tempo.jsonData.tracesToLogsV2).toMatchObject({ datasourceUid: 'loki', spanStartTimeShift: '-2m', spanEndTimeShift: '2m' });
    // V2 tags are {key, value}: span attribute -> Loki label; `service` is the label Promtail sets.
    expect(tempo.jsonData.tracesToLogsV2.tags).toContainEqual({ key: 'service.name', value: 'service' });
    expect(tempo.jsonData.tracesToMetrics).toMatchObject({ datasourceUid: 'prometheus', tags: [{ key: 'service.name', value: 'service' }] });
    for (const q of tempo.jsonData.tracesToMetrics.queries) expect(q.query).toContain('{$$__tags}');
  });

  test('every datasource uid a datasource links to exists', () => {
    const defined = [...chartUids, ...datasourceFiles().flatMap((cm) => Object.values(cm.data).flatMap((t: any) => (yaml.load(t) as any).datasources.map((d: any) => d.uid)))];
    expect(new Set(defined).size).toBe(defined.length);
    const links = datasourceFiles().flatMap((cm) => Object.values(cm.data).flatMap((t: any) => (yaml.load(t) as any).datasources.flatMap((d: any) => uidsIn(d.jsonData))));
    expect(links.sort()).toEqual(['loki', 'prometheus', 'prometheus', 'tempo']);
    for (const uid of links) expect(defined).toContain(uid);
    // The chart's datasource ConfigMap is part of the union: no uid needs declaring.
    expect([...chartUids].sort()).toEqual(['alertmanager', 'prometheus']);
    expect(unionViolations(['datasource-uid'])).toEqual([]);
  });

  test('the Loki tenant Grafana reads as is the one Promtail pushes as', () => {
    const promtail = lab.values('promtail');
    expect(datasource('loki-datasource').secureJsonData.httpHeaderValue1).toBe(promtail.config.clients[0].tenant_id);
    expect(promtail.config.clients[0].url).toBe(`${datasource('loki-datasource').url}/loki/api/v1/push`);
  });
});

describe('monitoring: Grafana dashboards', () => {
  const loki = () => dashboard('grafana-dashboards-loki', 'loki-overview.json');
  const tempo = () => dashboard('grafana-dashboard-tempo-observability', 'tempo-observability.json');

  test('two ConfigMaps named as the guide names them, discovered by the dashboard sidecar', () => {
    for (const name of ['grafana-dashboards-loki', 'grafana-dashboard-tempo-observability']) {
      expect(lab.get('ConfigMap', name, NS).metadata.labels).toEqual({ grafana_dashboard: '1' });
    }
    expect(kps.grafana.sidecar.dashboards).toMatchObject({ label: 'grafana_dashboard', labelValue: '1' });
    // The Tempo dashboard goes into a "Tempo" folder, through the annotation the sidecar is told to read.
    expect(lab.get('ConfigMap', 'grafana-dashboard-tempo-observability', NS).metadata.annotations)
      .toEqual({ [kps.grafana.sidecar.dashboards.folderAnnotation]: 'Tempo' });
  });

  test('every dashboard in charts/dashboards/ is embedded', () => {
    const files = fs.readdirSync(path.join(__dirname, '..', 'charts', 'dashboards')).filter((f) => f.endsWith('.json'));
    const embedded = lab.files.map((f) => f.manifest as any).filter((m) => m.metadata.labels?.grafana_dashboard === '1')
      .map((m) => JSON.parse(Object.values(m.data)[0] as string).uid).sort();
    const onDisk = files.map((f) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'charts', 'dashboards', f), 'utf8')).uid).sort();
    expect(embedded).toEqual(onDisk);
    expect(new Set(embedded).size).toBe(embedded.length);
  });

  test('every datasource a dashboard queries exists', () => {
    const defined = [...chartUids, 'loki', 'tempo'];
    for (const d of [loki(), tempo()]) {
      const used = uidsIn(d);
      expect(used.length).toBeGreaterThan(0);
      for (const uid of used) expect(defined).toContain(uid);
    }
  });

  test('a dashboard that queries a datasource Grafana will not have fails synth\'s validation', () => {
    const platform = lab.platform!;
    const bad = { path: 'workloads/configmap-bad-dashboard.yaml', manifest: {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad-dashboard', namespace: NS, labels: { grafana_dashboard: '1' } },
      data: { 'bad.json': JSON.stringify({ panels: [{ datasource: { type: 'prometheus', uid: 'prometheus' } }, { datasource: { type: 'loki', uid: 'lokki' } },
        { datasource: { uid: '-- Mixed --' } }, { datasource: { uid: '${datasource}' } }] }) },
    } as any };
    const v = validatePlatform(platform, [...renderFiles(platform), bad]).filter((x) => x.rule === 'datasource-uid');
    expect(v.map((x) => `${x.object} ${x.field}`)).toEqual(['ConfigMap monitoring/bad-dashboard data["bad.json"].panels[1].datasource.uid']);
  });

  test('Loki overview: log volume and lines by namespace, pod and level', () => {
    const d = loki();
    expect(d.title).toBe('Loki - Kubernetes Logs (Overview)');
    expect(d.templating.list.map((v: any) => v.name)).toEqual(expect.arrayContaining(['namespace', 'pod', 'level']));
    const q = queries(d);
    expect(q.some((x) => x.includes('sum by (namespace)'))).toBe(true);
    expect(q.some((x) => x.includes('sum by (detected_level)'))).toBe(true);
    expect(q.some((x) => /topk\(10, sum by \(namespace, pod\)/.test(x))).toBe(true);
    expect(d.panels.find((p: any) => p.type === 'logs').targets[0].expr).toMatch(/^\{namespace=~"\$namespace", pod=~"\$pod"\}/);
    // A stream selector must have a matcher that does not match "": "All" is .+, never .*.
    for (const v of d.templating.list.filter((x: any) => ['namespace', 'pod'].includes(x.name))) expect(v.allValue).toBe('.+');
  });

  test('Tempo service observability: request rate, errors, p95 by service, and the service graph', () => {
    const d = tempo();
    expect(d.title).toBe('Tempo Service Observability');
    const q = queries(d);
    expect(q).toEqual(expect.arrayContaining([
      expect.stringContaining('sum by (service) (rate(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER"'),
      expect.stringContaining('status_code="STATUS_CODE_ERROR"'),
      expect.stringContaining('histogram_quantile(0.95, sum by (le, service) (rate(traces_spanmetrics_latency_bucket'),
      expect.stringContaining('sum by (client, server) (rate(traces_service_graph_request_total'),
      expect.stringContaining('traces_service_graph_request_failed_total'),
    ]));
    const map = d.panels.find((p: any) => p.type === 'nodeGraph');
    expect(map.datasource).toEqual({ type: 'tempo', uid: 'tempo' });
    expect(map.targets[0].queryType).toBe('serviceMap');
  });
});

describe('Grafana provisioning: helpers', () => {
  test('escapeDollars doubles every $ in strings only', () => {
    expect(escapeDollars({ a: '${x} $y', b: [1, '$'], c: true })).toEqual({ a: '$${x} $$y', b: [1, '$$'], c: true });
  });
});
