// service-reference: in-cluster addresses in our manifests and in the charts' values name a Service of the
// union, and one of its ports.
import { ManifestFile, ValidationOptions, Violation } from '../../lib/validation';
import { Context, groupOf, KObject } from '../../lib/validation/context';
import { findServiceAddresses, serviceReference } from '../../lib/validation/rules-wiring';
import { M, service } from './helpers';

const CLUSTER_SCOPED = new Set(['Namespace', 'MutatingWebhookConfiguration', 'ClusterRole', 'ClusterRoleBinding']);

/** Runs one rule over hand-built objects (a metadata.namespace or 'default'), as validateManifests would. */
function run(rule: (ctx: Context) => void, files: ManifestFile[], options: ValidationOptions = {}): Violation[] {
  const objects: KObject[] = files.map((f) => {
    const m = f.manifest as M;
    const namespace = CLUSTER_SCOPED.has(m.kind) ? undefined : m.metadata?.namespace ?? 'default';
    return {
      file: f.path, manifest: m, apiVersion: m.apiVersion, kind: m.kind, group: groupOf(m.apiVersion), name: m.metadata?.name ?? '', namespace,
      label: `${m.kind} ${namespace === undefined ? '' : `${namespace}/`}${m.metadata?.name}`, application: f.application, rendered: f.rendered,
    };
  });
  const ctx = new Context(objects, options);
  rule(ctx);
  return ctx.violations;
}

const brief = (vs: Violation[]) => vs.map((v) => `${v.object} ${v.field}`);
const rendered = (path: string, manifest: M, application: string): ManifestFile => ({ path, manifest, application, rendered: true });
const own = (path: string, manifest: M): ManifestFile => ({ path, manifest });

/** The chart's Services, as the render gives them. */
const chartServices = [
  rendered('kps (chart) prometheus/service.yaml', service('monitoring', 'kube-prometheus-stack-prometheus', [{ name: 'http-web', port: 9090 }]), 'kube-prometheus-stack'),
  rendered('kps (chart) grafana/service.yaml', service('monitoring', 'kube-prometheus-stack-grafana', [{ name: 'http-web', port: 80 }]), 'kube-prometheus-stack'),
  rendered('loki (chart) gateway/service.yaml', service('loki', 'loki-gateway', [{ name: 'http-metrics', port: 80 }]), 'loki'),
  rendered('tempo (chart) distributor/service.yaml', service('observability', 'tempo-distributor', [{ name: 'grpc-distributor-otlp', port: 4317 }]), 'tempo'),
];

function application(name: string, namespace: string, valuesObject: M): M {
  return {
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name, namespace: 'argocd' },
    spec: {
      project: 'platform', destination: { server: 'https://kubernetes.default.svc', namespace },
      source: { repoURL: 'https://example.com/charts', chart: name, targetRevision: '1.0.0', helm: { valuesObject } },
    },
  };
}

function datasourceConfigMap(url: string): M {
  return {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'loki-datasource', namespace: 'monitoring', labels: { grafana_datasource: '1' } },
    data: { 'loki.yaml': `apiVersion: 1\ndatasources:\n  - name: Loki\n    type: loki\n    url: ${url}\n` },
  };
}

describe('findServiceAddresses', () => {
  const namespaces = new Set(['monitoring', 'loki']);
  const one = (text: string, port?: number) => findServiceAddresses(text, namespaces, port).map((a) => `${a.pod ? `${a.pod}.` : ''}${a.service}.${a.namespace}:${a.port ?? '-'}`);

  test('URLs, host:port, lookups and pod names are recognised, with default ports', () => {
    expect(one('http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090/api/v1/write')).toEqual(['kube-prometheus-stack-prometheus.monitoring:9090']);
    expect(one('url: http://loki-gateway.loki.svc.cluster.local/loki/api/v1/push')).toEqual(['loki-gateway.loki:80']);
    expect(one('https://vault.security.svc')).toEqual(['vault.security:443']);
    expect(one('alertmanager.monitoring:9093')).toEqual(['alertmanager.monitoring:9093']);
    expect(one('dns+memcached.loki.svc:11211')).toEqual(['memcached.loki:11211']);
    expect(one('dnssrv+_grpc._tcp.loki-ingester-headless.loki.svc.cluster.local')).toEqual(['loki-ingester-headless.loki:grpc']);
    expect(one('loki-ingester-0.loki-ingester-headless.loki.svc.cluster.local:9095')).toEqual(['loki-ingester-0.loki-ingester-headless.loki:9095']);
    expect(one('tempo-distributor.observability.svc.cluster.local', 4317)).toEqual(['tempo-distributor.observability:4317']);
  });

  test('public hosts and name.ns without a platform namespace or port are not taken for Services', () => {
    expect(one('https://grafana.k-tech.cloud')).toEqual([]);
    expect(one('grafana.example.com:443')).toEqual([]);
    expect(one('prometheus.monitoring')).toEqual([]);
    expect(one('quay.io/prometheus/prometheus:v3.0.0')).toEqual([]);
    expect(one('platform@k-tech.cloud')).toEqual([]);
    // DNS search domains are no Services.
    expect(one('searches: [monitoring.svc.cluster.local, svc.cluster.local]')).toEqual([]);
  });
});

describe('service-reference', () => {
  test('correct wiring passes: values URLs, a datasource in a ConfigMap, a host with its port field, the API server', () => {
    const files = [
      ...chartServices,
      own('apps/application-kiali.yaml', application('kiali', 'istio-system', {
        external_services: {
          prometheus: { url: 'http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090' },
          grafana: { internal_url: 'http://kube-prometheus-stack-grafana.monitoring.svc.cluster.local', external_url: 'https://grafana.k-tech.cloud' },
        },
      })),
      own('apps/application-istiod.yaml', application('istiod', 'istio-system', {
        meshConfig: { extensionProviders: [{ name: 'otlp', opentelemetry: { service: 'tempo-distributor.observability.svc.cluster.local', port: 4317 } }] },
      })),
      own('monitoring-config/configmap-loki-datasource.yaml', datasourceConfigMap('http://loki-gateway.loki.svc.cluster.local')),
    ];
    expect(run(serviceReference, files)).toEqual([]);
  });

  test('a URL in a chart Application\'s values to a port the Service lacks is reported against the Application, at the values path', () => {
    const files = [
      ...chartServices,
      own('apps/application-kps.yaml', application('kube-prometheus-stack', 'monitoring', {
        grafana: { additionalDataSources: [{ name: 'Prometheus', url: 'http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9091' }] },
      })),
    ];
    const v = run(serviceReference, files);
    expect(brief(v)).toEqual(['Application argocd/kube-prometheus-stack spec.source.helm.valuesObject.grafana.additionalDataSources[0].url']);
    expect(v[0].message).toContain('uses port 9091 (explicit) of Service monitoring/kube-prometheus-stack-prometheus, which has no such port (its ports: http-web=9090)');
    expect(v[0].fix).toContain('http-web=9090');
  });

  test('a missing Service is caught, with the Services of its namespace in the fix', () => {
    const v = run(serviceReference, [...chartServices, own('cm.yaml', datasourceConfigMap('http://loki-gateway-x.loki.svc.cluster.local'))]);
    expect(brief(v)).toEqual(['ConfigMap monitoring/loki-datasource data["loki.yaml"]']);
    expect(v[0].message).toContain('names Service loki/loki-gateway-x, which does not exist');
    expect(v[0].fix).toContain('use Service "loki-gateway"');
  });

  test('the default port of the scheme must be a port of the Service', () => {
    const v = run(serviceReference, [...chartServices, own('cm.yaml', datasourceConfigMap('https://loki-gateway.loki.svc.cluster.local'))]);
    expect(v).toHaveLength(1);
    expect(v[0].message).toContain('uses port 443 (the https default)');
  });

  test('a host whose port field the Service lacks is caught', () => {
    const app = application('istiod', 'istio-system', {
      meshConfig: { extensionProviders: [{ name: 'otlp', opentelemetry: { service: 'tempo-distributor.observability.svc.cluster.local', port: 4318 } }] },
    });
    expect(brief(run(serviceReference, [...chartServices, own('a.yaml', app)])))
      .toEqual(['Application argocd/istiod spec.source.helm.valuesObject.meshConfig.extensionProviders[0].opentelemetry.service']);
  });

  test('name.ns:port counts only for a namespace of the platform', () => {
    const cm = (text: string): M => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'monitoring' }, data: { x: text } });
    expect(run(serviceReference, [...chartServices, own('c.yaml', cm('target: kube-prometheus-stack-prometheus.monitoring:9000'))])).toHaveLength(1);
    expect(run(serviceReference, [...chartServices, own('c.yaml', cm('target: smtp.example:25'))])).toEqual([]);
  });

  test('StatefulSet pod names need a headless Service and an existing ordinal; dnssrv+ needs the named port', () => {
    const headless = { ...service('loki', 'loki-ingester-headless', [{ name: 'grpc', port: 9095 }]), spec: { clusterIP: 'None', selector: { app: 'ingester' }, ports: [{ name: 'grpc', port: 9095, targetPort: 9095 }] } };
    const sts: M = {
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'loki-ingester', namespace: 'loki' },
      spec: { serviceName: 'loki-ingester-headless', replicas: 2, selector: { matchLabels: { app: 'ingester' } }, template: { metadata: { labels: { app: 'ingester' } }, spec: { containers: [{ name: 'i', image: 'x:1', ports: [{ name: 'grpc', containerPort: 9095 }] }] } } },
    };
    const cm = (text: string): M => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'loki' }, data: { x: text } });
    const base = [rendered('s.yaml', headless, 'loki'), rendered('t.yaml', sts, 'loki')];
    expect(run(serviceReference, [...base, own('c.yaml', cm('loki-ingester-1.loki-ingester-headless.loki.svc.cluster.local:9095 dnssrv+_grpc._tcp.loki-ingester-headless.loki.svc.cluster.local'))])).toEqual([]);
    const bad = run(serviceReference, [...base, own('c.yaml', cm('loki-ingester-2.loki-ingester-headless.loki.svc:9095 dnssrv+_http._tcp.loki-ingester-headless.loki.svc'))]);
    expect(bad.map((v) => v.message.split(',')[0])).toEqual([
      'address "loki-ingester-2.loki-ingester-headless.loki.svc:9095" (in its text) names pod "loki-ingester-2"',
      'address "dnssrv+_http._tcp.loki-ingester-headless.loki.svc" (in its text) looks up port "http" (the SRV lookup _http) of Service loki/loki-ingester-headless',
    ]);
  });

  test('rendered objects, Ingress backends and VirtualService destinations are not checked here', () => {
    const chartConfig = rendered('c.yaml', datasourceConfigMap('http://nope.loki.svc.cluster.local'), 'kube-prometheus-stack');
    const vs: M = {
      apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'v', namespace: 'default' },
      spec: { hosts: ['x.example.com'], http: [{ route: [{ destination: { host: 'nope.default.svc.cluster.local', port: { number: 80 } } }] }] },
    };
    expect(run(serviceReference, [...chartServices, chartConfig, own('vs.yaml', vs)])).toEqual([]);
  });

  test('Services come from the union alone: no options.externalServices needed; the API server is built in', () => {
    const app = application('x', 'monitoring', { prometheusUrl: 'http://kube-prometheus-stack-prometheus.monitoring.svc:9090' });
    expect(run(serviceReference, [...chartServices, own('a.yaml', app)])).toEqual([]);
    expect(run(serviceReference, [own('a.yaml', app)])).toHaveLength(1);
  });
});
