// monitor-target: every PodMonitor and ServiceMonitor selects pods, names ports they have, names a jobLabel
// they carry, and is selected by a Prometheus.
import { ManifestFile, ValidationOptions, Violation } from '../../lib/validation';
import { istioSidecar, monitorTarget, podModels, selectorMatches } from '../../lib/validation/rules-monitoring';
import { contextOf, M } from './helpers';

const context = contextOf;

function run(files: ManifestFile[], options: ValidationOptions = {}): Violation[] {
  const ctx = context(files, options);
  monitorTarget(ctx);
  return ctx.violations;
}

const brief = (vs: Violation[]) => vs.map((v) => `${v.object} ${v.field}`);
const f = (path: string, manifest: M): ManifestFile => ({ path, manifest });

function deployment(namespace: string, name: string, labels: Record<string, string>, ports: { name?: string; containerPort: number }[], annotations?: Record<string, string>): M {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace },
    spec: {
      selector: { matchLabels: labels },
      template: { metadata: { labels, ...(annotations ? { annotations } : {}) }, spec: { containers: [{ name, image: `${name}:1.0.0`, ports }] } },
    },
  };
}

function prometheus(spec: M = { podMonitorSelector: { matchLabels: { release: 'kps' } }, podMonitorNamespaceSelector: {}, serviceMonitorSelector: { matchLabels: { release: 'kps' } }, serviceMonitorNamespaceSelector: {} }): M {
  return { apiVersion: 'monitoring.coreos.com/v1', kind: 'Prometheus', metadata: { name: 'kps-prometheus', namespace: 'monitoring' }, spec: { portName: 'http-web', ...spec } };
}

function podMonitor(spec: M, labels: Record<string, string> = { release: 'kps' }, namespace = 'monitoring'): M {
  return { apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'argocd-server', namespace, labels }, spec };
}

function serviceMonitor(spec: M, labels: Record<string, string> = { release: 'kps' }): M {
  return { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'web', namespace: 'monitoring', labels }, spec };
}

function namespace(name: string, labels?: Record<string, string>): M {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(labels ? { labels } : {}) } };
}

const argocdServer = f('argo-cd (chart) server.yaml', deployment('argocd', 'argocd-server', { 'app.kubernetes.io/name': 'argocd-server' }, [{ name: 'server', containerPort: 8080 }, { name: 'metrics', containerPort: 8083 }]));
const goodPodMonitor = podMonitor({
  jobLabel: 'app.kubernetes.io/name',
  namespaceSelector: { matchNames: ['argocd'] },
  selector: { matchLabels: { 'app.kubernetes.io/name': 'argocd-server' } },
  podMetricsEndpoints: [{ port: 'metrics', path: '/metrics' }],
});

describe('selectors', () => {
  test('matchLabels and matchExpressions; {} selects everything, null nothing', () => {
    const l = { app: 'web', tier: 'front' };
    expect(selectorMatches({}, l)).toBe(true);
    expect(selectorMatches(null, l)).toBe(false);
    expect(selectorMatches({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }] }, l)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, l)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }, { key: 'app', operator: 'Exists' }] }, l)).toBe(true);
  });
});

describe('monitor-target: PodMonitor', () => {
  test('correct wiring passes', () => {
    expect(run([argocdServer, f('pm.yaml', goodPodMonitor), f('p.yaml', prometheus())])).toEqual([]);
  });

  test('a port name no selected pod has is caught, with the pods\' ports', () => {
    const pm = podMonitor({ ...goodPodMonitor.spec, podMetricsEndpoints: [{ port: 'http-metrics' }] });
    const v = run([argocdServer, f('pm.yaml', pm), f('p.yaml', prometheus())]);
    expect(brief(v)).toEqual(['PodMonitor monitoring/argocd-server spec.podMetricsEndpoints[0].port']);
    expect(v[0].message).toContain('no selected pod has container port "http-metrics"');
    expect(v[0].message).toContain('metrics=8083, server=8080');
    expect(v[0].fix).toBe('use port "metrics"');
  });

  test('portNumber and targetPort must be a container port too', () => {
    const byNumber = podMonitor({ ...goodPodMonitor.spec, podMetricsEndpoints: [{ portNumber: 8084 }] });
    expect(brief(run([argocdServer, f('pm.yaml', byNumber), f('p.yaml', prometheus())]))).toEqual(['PodMonitor monitoring/argocd-server spec.podMetricsEndpoints[0].portNumber']);
    const ok = podMonitor({ ...goodPodMonitor.spec, podMetricsEndpoints: [{ portNumber: 8083 }, { targetPort: 'metrics' }] });
    expect(run([argocdServer, f('pm.yaml', ok), f('p.yaml', prometheus())])).toEqual([]);
  });

  test('a jobLabel the pods lack is caught', () => {
    const pm = podMonitor({ ...goodPodMonitor.spec, jobLabel: 'app' });
    const v = run([argocdServer, f('pm.yaml', pm), f('p.yaml', prometheus())]);
    expect(brief(v)).toEqual(['PodMonitor monitoring/argocd-server spec.jobLabel']);
    expect(v[0].message).toContain('falls back to "monitoring/argocd-server"');
    expect(v[0].fix).toContain('app.kubernetes.io/name');
  });

  test('a selector that matches no pod, or the wrong namespace, is caught', () => {
    const wrongLabels = podMonitor({ ...goodPodMonitor.spec, selector: { matchLabels: { 'app.kubernetes.io/name': 'argocd-srv' } } });
    const v = run([argocdServer, f('pm.yaml', wrongLabels), f('p.yaml', prometheus())]);
    expect(brief(v)).toEqual(['PodMonitor monitoring/argocd-server spec.selector']);
    expect(v[0].fix).toContain('app.kubernetes.io/name=argocd-server');
    // No namespaceSelector: only the monitor's own namespace.
    const ownNamespace = podMonitor({ ...goodPodMonitor.spec, namespaceSelector: undefined });
    const w = run([argocdServer, f('pm.yaml', ownNamespace), f('p.yaml', prometheus())]);
    expect(w).toHaveLength(1);
    expect(w[0].fix).toContain('run in argocd: set spec.namespaceSelector.matchNames');
    const any = podMonitor({ ...goodPodMonitor.spec, namespaceSelector: { any: true } });
    expect(run([argocdServer, f('pm.yaml', any), f('p.yaml', prometheus())])).toEqual([]);
  });
});

describe('monitor-target: Prometheus selection', () => {
  const base = [argocdServer, f('pm.yaml', goodPodMonitor)];

  test('a Prometheus whose podMonitorSelector does not match is caught', () => {
    const p = prometheus({ podMonitorSelector: { matchLabels: { release: 'kube-prometheus-stack' } }, podMonitorNamespaceSelector: {} });
    const v = run([...base, f('p.yaml', p)]);
    expect(brief(v)).toEqual(['PodMonitor monitoring/argocd-server metadata.labels']);
    expect(v[0].message).toContain('Prometheus monitoring/kps-prometheus selects PodMonitors labelled release=kube-prometheus-stack');
    expect(v[0].fix).toBe('set metadata.labels to include release: kube-prometheus-stack');
  });

  test('an unset selector selects nothing; {} selects every monitor', () => {
    expect(run([...base, f('p.yaml', prometheus({ podMonitorNamespaceSelector: {} }))])[0].message).toContain('spec.podMonitorSelector is unset');
    expect(run([...base, f('p.yaml', prometheus({ podMonitorSelector: {}, podMonitorNamespaceSelector: {} }))])).toEqual([]);
  });

  test('an unset namespace selector means the Prometheus\'s own namespace; a set one matches Namespace labels', () => {
    const elsewhere = podMonitor(goodPodMonitor.spec, { release: 'kps' }, 'argocd');
    const own = prometheus({ podMonitorSelector: { matchLabels: { release: 'kps' } } });
    expect(run([argocdServer, f('pm.yaml', elsewhere), f('p.yaml', own)])[0].message).toContain('only looks in its own namespace monitoring');
    expect(run([argocdServer, f('pm.yaml', goodPodMonitor), f('p.yaml', own)])).toEqual([]);
    const labelled = prometheus({ podMonitorSelector: {}, podMonitorNamespaceSelector: { matchLabels: { monitored: 'true' } } });
    expect(run([argocdServer, f('pm.yaml', elsewhere), f('p.yaml', labelled), f('ns.yaml', namespace('argocd'))])).toHaveLength(1);
    expect(run([argocdServer, f('pm.yaml', elsewhere), f('p.yaml', labelled), f('ns.yaml', namespace('argocd', { monitored: 'true' }))])).toEqual([]);
    // A namespace without an object has only kubernetes.io/metadata.name.
    const byName = prometheus({ podMonitorSelector: {}, podMonitorNamespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'argocd' } } });
    expect(run([argocdServer, f('pm.yaml', elsewhere), f('p.yaml', byName)])).toEqual([]);
  });

  test('without any Prometheus, every monitor is reported', () => {
    expect(brief(run(base))).toEqual(['PodMonitor monitoring/argocd-server metadata.labels']);
  });
});

describe('monitor-target: Istio sidecars', () => {
  const web = (annotations?: Record<string, string>) => f('web.yaml', deployment('default', 'nginx', { app: 'nginx' }, [{ name: 'http', containerPort: 80 }], annotations));
  const envoy = podMonitor({
    namespaceSelector: { matchNames: ['default'] },
    selector: { matchLabels: { app: 'nginx' } },
    jobLabel: 'service.istio.io/canonical-name',
    podMetricsEndpoints: [{ port: 'http-envoy-prom', path: '/stats/prometheus' }],
  });

  test('pods of a namespace labelled istio-injection=enabled get the proxy port and the canonical labels', () => {
    expect(run([web(), f('pm.yaml', envoy), f('p.yaml', prometheus()), f('ns.yaml', namespace('default', { 'istio-injection': 'enabled' }))])).toEqual([]);
  });

  test('without injection (namespace not labelled, or the pod opts out), the Envoy port is missing', () => {
    const v = run([web(), f('pm.yaml', envoy), f('p.yaml', prometheus()), f('ns.yaml', namespace('default'))]);
    expect(brief(v)).toEqual(['PodMonitor monitoring/argocd-server spec.podMetricsEndpoints[0].port', 'PodMonitor monitoring/argocd-server spec.jobLabel']);
    expect(v[0].message).toContain('istio-injection=enabled');
    const optOut = run([web({ 'sidecar.istio.io/inject': 'false' }), f('pm.yaml', envoy), f('p.yaml', prometheus()), f('ns.yaml', namespace('default', { 'istio-injection': 'enabled' }))]);
    expect(optOut).toHaveLength(2);
  });

  test('istioSidecar: labels from app and version, else the workload name and latest', () => {
    const ns = { 'istio-injection': 'enabled' };
    expect(istioSidecar({ labels: { app: 'web', version: 'v2' }, annotations: {}, workloadName: 'web-deploy' }, ns)?.labels).toEqual({
      'security.istio.io/tlsMode': 'istio', 'service.istio.io/canonical-name': 'web', 'service.istio.io/canonical-revision': 'v2',
    });
    expect(istioSidecar({ labels: {}, annotations: {}, workloadName: 'web-deploy' }, ns)?.labels['service.istio.io/canonical-name']).toBe('web-deploy');
    expect(istioSidecar({ labels: {}, annotations: {}, workloadName: 'w' }, {})).toBeUndefined();
    expect(istioSidecar({ labels: { 'sidecar.istio.io/inject': 'true' }, annotations: {}, workloadName: 'w' }, {})?.container.ports).toEqual([{ name: 'http-envoy-prom', containerPort: 15090 }]);
  });
});

describe('monitor-target: ServiceMonitor', () => {
  const svc = (targetPort: number | string, labels: Record<string, string> = { app: 'web', jobName: 'web' }): M => ({
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'apps', labels },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http-metrics', port: 9100, targetPort }] },
  });
  const pods = f('d.yaml', deployment('apps', 'web', { app: 'web' }, [{ name: 'metrics', containerPort: 9100 }]));
  const sm = serviceMonitor({ jobLabel: 'jobName', namespaceSelector: { matchNames: ['apps'] }, selector: { matchLabels: { app: 'web' } }, endpoints: [{ port: 'http-metrics' }] });

  test('correct wiring passes', () => {
    expect(run([pods, f('s.yaml', svc('metrics')), f('sm.yaml', sm), f('p.yaml', prometheus())])).toEqual([]);
  });

  test('a Service port name that does not exist is caught', () => {
    const bad = serviceMonitor({ ...sm.spec, endpoints: [{ port: 'metrics' }] });
    const v = run([pods, f('s.yaml', svc('metrics')), f('sm.yaml', bad), f('p.yaml', prometheus())]);
    expect(brief(v)).toEqual(['ServiceMonitor monitoring/web spec.endpoints[0].port']);
    expect(v[0].message).toContain('no selected Service has a port named "metrics"');
  });

  test('a targetPort name no pod declares is caught', () => {
    const v = run([pods, f('s.yaml', svc('http-metrics')), f('sm.yaml', sm), f('p.yaml', prometheus())]);
    expect(v).toHaveLength(1);
    expect(v[0].message).toContain('forwards to container port "http-metrics", which no pod behind it declares');
  });

  test('a jobLabel the Service lacks is caught', () => {
    expect(brief(run([pods, f('s.yaml', svc('metrics', { app: 'web' })), f('sm.yaml', sm), f('p.yaml', prometheus())]))).toEqual(['ServiceMonitor monitoring/web spec.jobLabel']);
  });

  test('a Service that selects no pod is caught; the pods prometheus-operator runs for a Prometheus count', () => {
    const orphan = { ...svc('metrics'), spec: { selector: { app: 'webb' }, ports: [{ name: 'http-metrics', port: 9100, targetPort: 'metrics' }] } };
    expect(brief(run([pods, f('s.yaml', orphan), f('sm.yaml', sm), f('p.yaml', prometheus())]))).toEqual(['ServiceMonitor monitoring/web spec.selector']);
    const promSvc: M = {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'kps-prometheus', namespace: 'monitoring', labels: { app: 'kps-prometheus', 'self-monitor': 'true' } },
      spec: { selector: { 'app.kubernetes.io/name': 'prometheus', 'operator.prometheus.io/name': 'kps-prometheus' }, ports: [{ name: 'http-web', port: 9090, targetPort: 9090 }, { name: 'reloader-web', port: 8080, targetPort: 'reloader-web' }] },
    };
    const self = serviceMonitor({ selector: { matchLabels: { app: 'kps-prometheus', 'self-monitor': 'true' } }, endpoints: [{ port: 'http-web' }, { port: 'reloader-web' }] });
    expect(run([f('s.yaml', promSvc), f('sm.yaml', self), f('p.yaml', prometheus())])).toEqual([]);
  });

  test('pods the cluster runs can be declared in options.clusterPods', () => {
    const dns: M = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'coredns', namespace: 'kube-system', labels: { app: 'coredns' } }, spec: { selector: { 'k8s-app': 'kube-dns' }, ports: [{ name: 'http-metrics', port: 9153, targetPort: 9153 }] } };
    const m = serviceMonitor({ namespaceSelector: { matchNames: ['kube-system'] }, selector: { matchLabels: { app: 'coredns' } }, endpoints: [{ port: 'http-metrics' }] });
    const files = [f('s.yaml', dns), f('sm.yaml', m), f('p.yaml', prometheus())];
    expect(run(files)[0].fix).toContain('clusterPods in lib/provider.ts');
    const clusterPods = [{ namespace: 'kube-system', name: 'coredns', labels: { 'k8s-app': 'kube-dns' }, ports: [{ name: 'metrics', containerPort: 9153 }], providedBy: 'AKS' }];
    expect(run(files, { clusterPods } as ValidationOptions)).toEqual([]);
  });

  test('Helm test pods never run under Argo CD and are no pods', () => {
    const test = deployment('apps', 'web-test', { app: 'web' }, [{ name: 'metrics', containerPort: 9100 }]);
    const pod: M = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-test', namespace: 'apps', labels: { app: 'web' }, annotations: { 'helm.sh/hook': 'test' } }, spec: test.spec.template.spec };
    expect(podModels(context([f('t.yaml', pod)]))).toEqual([]);
  });
});
