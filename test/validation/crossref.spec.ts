// Each cross-reference rule: a minimal good set passes, and one defect is caught where it is.
import { ManifestFile, validateManifests } from '../../lib/validation';
import { floatingReason } from '../../lib/validation/rules-workloads';
import { EXACT_CHART_VERSION, floatingTagReason } from '../../lib/config';
import { tagProblem } from '../../lib/set-image';
import { labConfig } from '../helpers';
import { leakViolations } from '../../lib/leaks';
import { resolveServiceHost } from '../../lib/validation/rules-routing';
import {
  brief, certificate, clusterIssuer, deployment, externalSecret, file, ingress, M, only, service,
} from './helpers';

describe('ingress-tls-certificate', () => {
  const ing = (secretName: string, annotations?: Record<string, string>) =>
    file('web/ingress.yaml', ingress('apps', 'web', { secretName, annotations, paths: [{ path: '/', service: 'web', port: 80 }] }));

  test('a TLS secret filled by a Certificate in the same namespace passes', () => {
    expect(only('ingress-tls-certificate', [file('web/cert.yaml', certificate('apps', 'web-tls')), ing('web-tls')])).toEqual([]);
  });

  test('a TLS secret no Certificate fills is caught', () => {
    const v = only('ingress-tls-certificate', [file('web/cert.yaml', certificate('apps', 'other-tls')), ing('web-tls')]);
    expect(v).toEqual([expect.objectContaining({
      object: 'Ingress apps/web', field: 'spec.tls[0].secretName',
      message: 'TLS secret "web-tls" is not the spec.secretName of any cert-manager Certificate in namespace apps',
    })]);
  });

  test('a Certificate in another namespace does not count, and the message says so', () => {
    const v = only('ingress-tls-certificate', [file('cert.yaml', certificate('istio-system', 'web-tls')), ing('web-tls')]);
    expect(v).toHaveLength(1);
    expect(v[0].message).toContain('Certificate istio-system/web-tls fills a secret of that name in another namespace');
  });

  test('a secret a controller creates at run time (runtimeObjects) passes', () => {
    expect(only('ingress-tls-certificate', [ing('web-tls')], { runtimeObjects: [{ kind: 'Secret', namespace: 'apps', name: 'web-tls', createdBy: 'a controller' }] })).toEqual([]);
  });

  test('an ingress-shim annotation next to a Certificate for the same secret is caught', () => {
    const v = only('ingress-tls-certificate', [
      file('web/cert.yaml', certificate('apps', 'web-tls')),
      ing('web-tls', { 'cert-manager.io/cluster-issuer': 'letsencrypt' }),
    ]);
    expect(brief(v)).toEqual(['ingress-tls-certificate Ingress apps/web metadata.annotations["cert-manager.io/cluster-issuer"]']);
  });
});

describe('issuer-exists', () => {
  const issuers = [file('ci/le.yaml', clusterIssuer('letsencrypt'))];

  test('a Certificate naming an existing ClusterIssuer passes', () => {
    expect(only('issuer-exists', [...issuers, file('c.yaml', certificate('apps', 'web-tls', 'letsencrypt'))])).toEqual([]);
  });

  test('a Certificate naming a missing ClusterIssuer is caught', () => {
    const v = only('issuer-exists', [...issuers, file('c.yaml', certificate('apps', 'web-tls', 'letsencrypt-prod'))]);
    expect(v).toEqual([expect.objectContaining({ object: 'Certificate apps/web-tls', field: 'spec.issuerRef.name', message: expect.stringContaining('ClusterIssuer "letsencrypt-prod" does not exist') })]);
  });

  test('an Issuer (the default kind) must be in the Certificate\'s namespace', () => {
    const c = certificate('apps', 'web-tls', 'ca');
    delete c.spec.issuerRef.kind;
    const issuer = (ns: string): M => ({ apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'ca', namespace: ns }, spec: { selfSigned: {} } });
    expect(only('issuer-exists', [file('i.yaml', issuer('apps')), file('c.yaml', c)])).toEqual([]);
    expect(brief(only('issuer-exists', [file('i.yaml', issuer('other')), file('c.yaml', c)]))).toEqual(['issuer-exists Certificate apps/web-tls spec.issuerRef.name']);
  });

  test('an external issuer group is not checked', () => {
    const c = certificate('apps', 'web-tls', 'pca');
    c.spec.issuerRef = { name: 'pca', kind: 'AWSPCAClusterIssuer', group: 'awspca.cert-manager.io' };
    expect(only('issuer-exists', [file('c.yaml', c)])).toEqual([]);
  });

  test('an Ingress cert-manager.io/issuer annotation needs an Issuer in its namespace', () => {
    const ing = ingress('apps', 'web', { annotations: { 'cert-manager.io/issuer': 'ca' } });
    expect(brief(only('issuer-exists', [file('i.yaml', ing)]))).toEqual(['issuer-exists Ingress apps/web metadata.annotations["cert-manager.io/issuer"]']);
  });
});

describe('ingress-backend', () => {
  const svc = file('web/svc.yaml', service('apps', 'web', [{ name: 'http', port: 80 }]));

  test('a backend by port number or by port name of a Service in the set passes', () => {
    expect(only('ingress-backend', [svc, file('i.yaml', ingress('apps', 'web', { paths: [{ path: '/', service: 'web', port: 80 }, { path: '/x', service: 'web', port: 'http' }] }))])).toEqual([]);
  });

  test('a missing Service, a wrong port number and a wrong port name are each caught', () => {
    const v = only('ingress-backend', [svc, file('i.yaml', ingress('apps', 'web', {
      paths: [{ path: '/', service: 'webb', port: 80 }, { path: '/a', service: 'web', port: 8080 }, { path: '/b', service: 'web', port: 'https' }],
    }))]);
    expect(v.map((x) => x.field)).toEqual([
      'spec.rules[0].http.paths[0].backend.service.name',
      'spec.rules[0].http.paths[1].backend.service.port.number',
      'spec.rules[0].http.paths[2].backend.service.port.name',
    ]);
    expect(v[0].fix).toContain('use Service "web"');
  });

  test('a Service in another namespace does not count', () => {
    const v = only('ingress-backend', [svc, file('i.yaml', ingress('other', 'web', { paths: [{ path: '/', service: 'web', port: 80 }] }))]);
    expect(v).toHaveLength(1);
  });

  test('a Service a chart renders counts like our own, port checked; without it the backend is missing', () => {
    const chartService: ManifestFile = {
      path: 'argo-cd/(chart) argo-cd/templates/argocd-server/service.yaml', application: 'argo-cd', rendered: true,
      manifest: service('argocd', 'argocd-server', [{ name: 'http', port: 80 }, { name: 'https', port: 443 }]),
    };
    const ok = file('argo-cd-endpoint/i.yaml', ingress('argocd', 'argocd', { paths: [{ path: '/', service: 'argocd-server', port: 'https' }] }));
    expect(only('ingress-backend', [chartService, ok])).toEqual([]);
    const bad = file('argo-cd-endpoint/i.yaml', ingress('argocd', 'argocd', { paths: [{ path: '/', service: 'argocd-server', port: 'grpc' }] }));
    expect(brief(only('ingress-backend', [chartService, bad]))).toEqual(['ingress-backend Ingress argocd/argocd spec.rules[0].http.paths[0].backend.service.port.name']);
    expect(brief(only('ingress-backend', [ok]))).toEqual(['ingress-backend Ingress argocd/argocd spec.rules[0].http.paths[0].backend.service.name']);
  });

  test('objects without a namespace take defaultNamespace', () => {
    const ing = ingress('x', 'web', { paths: [{ path: '/', service: 'web', port: 80 }] });
    delete ing.metadata.namespace;
    const s = service('x', 'web', [{ port: 80 }]);
    delete s.metadata.namespace;
    expect(only('ingress-backend', [file('web/i.yaml', ing), file('web/s.yaml', s)], { defaultNamespace: (f) => f.split('/')[0] })).toEqual([]);
  });
});

describe('gateway-credential', () => {
  const gateway = (credentialName: string): M => ({
    apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'nginx-gateway', namespace: 'apps' },
    spec: {
      selector: { istio: 'ingressgateway' },
      servers: [
        { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['www.example.com'] },
        { port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['www.example.com'], tls: { mode: 'SIMPLE', credentialName } },
      ],
    },
  });

  // The gateway workload, as the istio-ingressgateway chart renders it: its namespace is where Istio reads credentials.
  const gatewayWorkload = (namespace: string): ManifestFile => {
    const d = deployment(namespace, 'istio-ingressgateway', { containers: [{ name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.24.2' }] });
    d.spec.template.metadata.labels = { app: 'istio-ingressgateway', istio: 'ingressgateway' };
    return file(`${namespace}/gw.yaml`, d);
  };

  test('a credentialName filled by a Certificate in the gateway workload\'s namespace passes', () => {
    expect(only('gateway-credential', [gatewayWorkload('istio-system'), file('c.yaml', certificate('istio-system', 'nginx-secret', 'letsencrypt2')), file('g.yaml', gateway('nginx-secret'))])).toEqual([]);
  });

  test('a Certificate in the Gateway\'s own namespace does not count: the gateway workload reads istio-system', () => {
    const v = only('gateway-credential', [gatewayWorkload('istio-system'), file('c.yaml', certificate('apps', 'nginx-secret')), file('g.yaml', gateway('nginx-secret'))]);
    expect(v).toEqual([expect.objectContaining({
      object: 'Gateway apps/nginx-gateway', field: 'spec.servers[1].tls.credentialName',
      message: expect.stringContaining('declared in apps, but the gateway workload only reads istio-system'),
    })]);
  });

  test('the namespace is the selected gateway workload\'s, wherever it runs (no istio-system assumed)', () => {
    const mesh = [gatewayWorkload('mesh-system'), file('g.yaml', gateway('nginx-secret'))];
    expect(only('gateway-credential', [...mesh, file('c.yaml', certificate('mesh-system', 'nginx-secret'))])).toEqual([]);
    const v = only('gateway-credential', [...mesh, file('c.yaml', certificate('istio-system', 'nginx-secret'))]);
    expect(v.map((x) => x.message)).toEqual([expect.stringContaining('in namespace mesh-system, where the ingress gateway workload reads it (a secret of that name is declared in istio-system')]);
  });

  test('a Gateway whose selector selects no gateway workload is caught at its selector', () => {
    const v = only('gateway-credential', [file('c.yaml', certificate('istio-system', 'nginx-secret')), file('g.yaml', gateway('nginx-secret'))]);
    expect(brief(v)).toEqual(['gateway-credential Gateway apps/nginx-gateway spec.selector']);
    expect(v[0].message).toContain('selector istio=ingressgateway selects no gateway workload');
  });
});

describe('virtualservice-destination', () => {
  const vs = (host: string, port?: number): M => ({
    apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'web', namespace: 'apps' },
    spec: { hosts: ['www.example.com'], gateways: ['web'], http: [{ route: [{ destination: { host, ...(port ? { port: { number: port } } : {}) } }] }] },
  });
  const svc = file('s.yaml', service('apps', 'nginx-service', [{ name: 'http-nginx', port: 80 }]));

  test('short, name.namespace and FQDN hosts of an existing Service pass', () => {
    for (const host of ['nginx-service', 'nginx-service.apps', 'nginx-service.apps.svc', 'nginx-service.apps.svc.cluster.local']) {
      expect(only('virtualservice-destination', [svc, file('vs.yaml', vs(host, 80))])).toEqual([]);
    }
    expect(only('virtualservice-destination', [svc, file('vs.yaml', vs('nginx-service'))])).toEqual([]);
  });

  test('a missing Service and a wrong port are caught', () => {
    expect(brief(only('virtualservice-destination', [svc, file('vs.yaml', vs('nginx', 80))]))).toEqual(['virtualservice-destination VirtualService apps/web spec.http[0].route[0].destination.host']);
    expect(brief(only('virtualservice-destination', [svc, file('vs.yaml', vs('nginx-service.other.svc.cluster.local', 80))]))).toHaveLength(1);
    expect(brief(only('virtualservice-destination', [svc, file('vs.yaml', vs('nginx-service', 8080))]))).toEqual(['virtualservice-destination VirtualService apps/web spec.http[0].route[0].destination.port.number']);
  });

  test('a Service with several ports needs the destination port', () => {
    const two = file('s.yaml', service('apps', 'nginx-service', [{ name: 'http', port: 80 }, { name: 'metrics', port: 9090 }]));
    expect(brief(only('virtualservice-destination', [two, file('vs.yaml', vs('nginx-service'))]))).toEqual(['virtualservice-destination VirtualService apps/web spec.http[0].route[0].destination.port']);
  });

  test('an external host needs a ServiceEntry', () => {
    expect(only('virtualservice-destination', [file('vs.yaml', vs('api.example.com'))])).toHaveLength(1);
    const se: M = { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'api', namespace: 'apps' }, spec: { hosts: ['api.example.com'], ports: [{ number: 443, name: 'https', protocol: 'TLS' }], resolution: 'DNS' } };
    expect(only('virtualservice-destination', [file('se.yaml', se), file('vs.yaml', vs('api.example.com'))])).toEqual([]);
  });

  test('resolveServiceHost', () => {
    expect(resolveServiceHost('a', 'ns')).toEqual({ name: 'a', namespace: 'ns' });
    expect(resolveServiceHost('a.b.svc.cluster.local', 'ns')).toEqual({ name: 'a', namespace: 'b' });
    expect(resolveServiceHost('a.example.com', 'ns')).toBeUndefined();
  });
});

// What the secret-reference rule checked, now checked by config-reference (which also checks keys and
// ConfigMaps: test/validation/config-reference.spec.ts): every kind of Secret reference, each declaration.
describe('config-reference: Secret references', () => {
  const pod = (refs: M) => deployment('apps', 'web', { containers: [{ name: 'web', image: 'web:1.0.0', ...refs.container }], ...refs.pod });
  const all = {
    pod: { imagePullSecrets: [{ name: 'regcred' }], volumes: [{ name: 'certs', secret: { secretName: 'web-tls' } }] },
    container: { env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }], envFrom: [{ secretRef: { name: 'env' } }] },
  };
  const declared = [
    file('es/db.yaml', externalSecret('apps', 'db')),
    file('es/env.yaml', externalSecret('apps', 'env-source', 'env')),
    file('ss/regcred.yaml', { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name: 'regcred', namespace: 'apps' }, spec: { encryptedData: { '.dockerconfigjson': 'AgB...' }, template: { type: 'kubernetes.io/dockerconfigjson' } } }),
    file('cert.yaml', certificate('apps', 'web-tls')),
  ];

  test('secrets declared by an ExternalSecret (name or target), a SealedSecret and a Certificate pass', () => {
    expect(only('config-reference', [...declared, file('d.yaml', pod(all))])).toEqual([]);
  });

  test('every undeclared reference is caught at its field', () => {
    const v = only('config-reference', [file('d.yaml', pod(all))]);
    expect(v.map((x) => x.field)).toEqual([
      'spec.template.spec.imagePullSecrets[0].name',
      'spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name',
      'spec.template.spec.containers[0].envFrom[0].secretRef.name',
      'spec.template.spec.volumes[0].secret.secretName',
    ]);
    expect(v[0].fix).toContain('ExternalSecret');
  });

  test('runtime Secrets count; optional references are skipped', () => {
    const p = pod({ pod: { imagePullSecrets: [{ name: 'regcred' }] }, container: { envFrom: [{ secretRef: { name: 'opt', optional: true } }] } });
    expect(only('config-reference', [file('d.yaml', p)], { runtimeObjects: [{ kind: 'Secret', namespace: 'apps', name: 'regcred', createdBy: 'a controller' }] })).toEqual([]);
  });

  test('CronJob templates and PodMonitor basicAuth are checked', () => {
    const cron: M = {
      apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c', namespace: 'apps' },
      spec: { schedule: '0 * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', imagePullSecrets: [{ name: 'regcred' }], containers: [{ name: 'c', image: 'c:1.0.0' }] } } } } },
    };
    const pm: M = {
      apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'jenkins', namespace: 'monitoring' },
      spec: { selector: { matchLabels: { app: 'jenkins-server' } }, podMetricsEndpoints: [{ port: 'http', basicAuth: { username: { name: 'jenkins-metrics-basic-auth', key: 'username' }, password: { name: 'jenkins-metrics-basic-auth', key: 'password' } } }] },
    };
    expect(brief(only('config-reference', [file('c.yaml', cron), file('pm.yaml', pm)]))).toEqual([
      'config-reference CronJob apps/c spec.jobTemplate.spec.template.spec.imagePullSecrets[0].name',
      'config-reference PodMonitor monitoring/jenkins spec.podMetricsEndpoints[0].basicAuth.username.name',
      'config-reference PodMonitor monitoring/jenkins spec.podMetricsEndpoints[0].basicAuth.password.name',
    ]);
    const auth = externalSecret('monitoring', 'jenkins-metrics-basic-auth');
    auth.spec.data = [{ secretKey: 'username', remoteRef: { key: 'jenkins-user' } }, { secretKey: 'password', remoteRef: { key: 'jenkins-token' } }];
    expect(only('config-reference', [file('pm.yaml', pm), file('es.yaml', auth)])).toEqual([]);
  });
});

describe('datasource-uid', () => {
  const datasources = (name: string, text: string): M => ({
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'monitoring', labels: { grafana_datasource: '1' } }, data: { [`${name}.yaml`]: text },
  });
  const loki = datasources('loki-datasource', `apiVersion: 1
datasources:
  - name: Loki
    uid: loki
    type: loki
    url: http://loki-gateway.loki.svc.cluster.local
    jsonData:
      derivedFields:
        - name: traceID
          matcherRegex: "traceID=(\\\\w+)"
          datasourceUid: tempo
`);
  const tempo = (metricsUid: string) => datasources('tempo-datasource', `apiVersion: 1
datasources:
  - name: Tempo
    type: tempo
    uid: tempo
    url: http://tempo-query-frontend.observability.svc.cluster.local:3200
    jsonData:
      serviceMap:
        datasourceUid: ${metricsUid}
      tracesToLogsV2:
        datasourceUid: loki
      tracesToMetrics:
        datasourceUid: ${metricsUid}
`);

  // The chart's own datasource, as kube-prometheus-stack renders it.
  const prometheus = datasources('prometheus-datasource', 'apiVersion: 1\ndatasources:\n  - name: Prometheus\n    uid: prometheus\n    type: prometheus\n');

  test('uids defined across ConfigMaps (ours or rendered) pass', () => {
    expect(only('datasource-uid', [file('p.yaml', prometheus), file('l.yaml', loki), file('t.yaml', tempo('prometheus'))])).toEqual([]);
  });

  test('an unknown uid is caught at its path inside the data value', () => {
    const v = only('datasource-uid', [file('p.yaml', prometheus), file('l.yaml', loki), file('t.yaml', tempo('prom'))]);
    expect(v.map((x) => x.field)).toEqual([
      'data["tempo-datasource.yaml"].datasources[0].jsonData.serviceMap.datasourceUid',
      'data["tempo-datasource.yaml"].datasources[0].jsonData.tracesToMetrics.datasourceUid',
    ]);
    expect(v[0].message).toContain('datasource uid "prom"');
  });

  test('an empty uid links to nothing and is caught, as the chart refuses it (one walk: lib/grafana.ts)', () => {
    const v = only('datasource-uid', [file('l.yaml', loki), file('t.yaml', tempo('""'))]);
    expect(v.map((x) => x.field)).toEqual([
      'data["tempo-datasource.yaml"].datasources[0].jsonData.serviceMap.datasourceUid',
      'data["tempo-datasource.yaml"].datasources[0].jsonData.tracesToMetrics.datasourceUid',
    ]);
    expect(v[0].message).toContain('datasource uid ""');
  });

  test('derivedFields outside jsonData (as in the guide\'s loki-datasource.yaml) is caught', () => {
    const misplaced = datasources('loki-datasource', 'apiVersion: 1\ndatasources:\n  - name: Loki\n    uid: loki\n    type: loki\n    derivedFields:\n      - name: traceID\n        datasourceUid: tempo\n');
    expect(brief(only('datasource-uid', [file('l.yaml', misplaced)]))).toEqual(['datasource-uid ConfigMap monitoring/loki-datasource data["loki-datasource.yaml"].datasources[0].derivedFields']);
  });

  test('invalid YAML and duplicate uids are caught; unlabelled ConfigMaps are ignored', () => {
    expect(only('datasource-uid', [file('x.yaml', datasources('x', 'datasources: [\n'))])).toHaveLength(1);
    expect(only('datasource-uid', [file('a.yaml', datasources('a', 'datasources: [{uid: x}]')), file('b.yaml', datasources('b', 'datasources: [{uid: x}]'))])).toHaveLength(1);
    expect(only('datasource-uid', [file('c.yaml', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'm' }, data: { a: 'datasources: [{jsonData: {datasourceUid: nope}}]' } })])).toEqual([]);
  });
});

// What the podmonitor-selector rule checked (a monitor carries the labels the Prometheus selects), now
// checked by monitor-target against the Prometheus objects of the set. PodMonitors and the other target
// checks: test/validation/monitoring.spec.ts.
describe('monitor-target: a ServiceMonitor is selected by the Prometheus', () => {
  const pods = file('web/deployment.yaml', deployment('apps', 'argocd', {
    containers: [{ name: 'argocd', image: 'argocd:1.0.0', ports: [{ name: 'metrics', containerPort: 8082 }] }],
  }));
  const svc = file('web/service.yaml', { ...service('apps', 'argocd', [{ name: 'metrics', port: 8082 }]), metadata: { name: 'argocd', namespace: 'apps', labels: { app: 'argocd' } } });
  const monitor = (labels?: Record<string, string>): M => ({
    apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'argocd', namespace: 'monitoring', ...(labels ? { labels } : {}) },
    spec: { namespaceSelector: { matchNames: ['apps'] }, selector: { matchLabels: { app: 'argocd' } }, endpoints: [{ port: 'metrics' }] },
  });
  const prometheus = file('kps/prometheus.yaml', {
    apiVersion: 'monitoring.coreos.com/v1', kind: 'Prometheus', metadata: { name: 'kube-prometheus-stack-prometheus', namespace: 'monitoring' },
    spec: { serviceMonitorSelector: { matchLabels: { release: 'kube-prometheus-stack' } }, serviceMonitorNamespaceSelector: {} },
  });
  const set = (m: M) => [pods, svc, prometheus, file('m.yaml', m)];

  test('a monitor with the selected labels passes', () => {
    expect(only('monitor-target', set(monitor({ release: 'kube-prometheus-stack' })))).toEqual([]);
  });

  test('a missing or different label is caught', () => {
    expect(brief(only('monitor-target', set(monitor())))).toEqual(['monitor-target ServiceMonitor monitoring/argocd metadata.labels']);
    const v = only('monitor-target', set(monitor({ release: 'kps' })));
    expect(brief(v)).toEqual(['monitor-target ServiceMonitor monitoring/argocd metadata.labels']);
    expect(v[0].message).toContain('selects ServiceMonitors labelled release=kube-prometheus-stack');
    expect(v[0].fix).toBe('set metadata.labels to include release: kube-prometheus-stack');
  });
});

describe('application-path', () => {
  const app = (source: M): M => ({
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'a', namespace: 'argocd' },
    spec: { project: 'platform', destination: { server: 'https://kubernetes.default.svc', namespace: 'x' }, source },
  });
  const repoURL = 'https://github.com/example/deploy.git';
  const cert = file('harbor-certificate/certificate-harbor-secret.yaml', certificate('harbor', 'harbor-secret'));
  const options = { repoPathPrefix: 'gitops/lab/', repoURL };

  test('a path that holds manifests passes', () => {
    expect(only('application-path', [cert, file('apps/a.yaml', app({ repoURL, targetRevision: 'main', path: 'gitops/lab/harbor-certificate' }))], options)).toEqual([]);
  });

  test('a path to an empty or missing folder is caught', () => {
    const v = only('application-path', [cert, file('apps/a.yaml', app({ repoURL, targetRevision: 'main', path: 'gitops/lab/harbor-certs' }))], options);
    expect(v).toEqual([expect.objectContaining({ field: 'spec.source.path', message: expect.stringContaining('holds no manifest') })]);
  });

  test('a path outside the prefix is caught; another repo is not checked', () => {
    expect(brief(only('application-path', [cert, file('apps/a.yaml', app({ repoURL, path: 'gitops/prod/harbor-certificate' }))], options))).toEqual(['application-path Application argocd/a spec.source.path']);
    expect(only('application-path', [file('apps/a.yaml', app({ repoURL: 'https://github.com/other/repo', path: 'anything' }))], options)).toEqual([]);
  });

  test('subfolders only count with directory.recurse', () => {
    const nested = file('workloads/web/deployment.yaml', deployment('apps', 'web', { containers: [{ name: 'w', image: 'w:1.0.0' }] }));
    expect(only('application-path', [nested, file('apps/a.yaml', app({ repoURL, path: 'gitops/lab/workloads' }))], options)).toHaveLength(1);
    expect(only('application-path', [nested, file('apps/a.yaml', app({ repoURL, path: 'gitops/lab/workloads', directory: { recurse: true } }))], options)).toEqual([]);
  });

  test('a chart source needs an exact targetRevision', () => {
    const chart = (targetRevision?: string) => file('apps/a.yaml', app({ repoURL: 'https://charts.jetstack.io', chart: 'cert-manager', ...(targetRevision ? { targetRevision } : {}) }));
    for (const ok of ['v1.21.1', '1.19.1', '2.0.0-rc.1']) expect(only('application-path', [chart(ok)])).toEqual([]);
    // Build metadata is refused as config refuses it: semver precedence ignores it, so it names no single archive.
    for (const bad of ['^1.2.0', '1.x', '*', 'latest', '>=1.0.0', '1.2', '1.2.3+build.1', undefined]) {
      expect(brief(only('application-path', [chart(bad)]))).toEqual(['application-path Application argocd/a spec.source.targetRevision']);
    }
  });

  test('one version rule: config refuses the chart versions the validator refuses', () => {
    for (const bad of ['^1.2.0', '1.x', 'latest', '1.2', '1.2.3+build.1']) {
      expect(EXACT_CHART_VERSION.test(bad)).toBe(false);
      expect(() => labConfig((raw) => { raw.harbor.chartVersion = bad; })).toThrow(/harbor\.chartVersion: must be an exact chart version/);
    }
  });

  test('multi-source Applications are checked per source', () => {
    const multi = app({ repoURL, path: 'gitops/lab/harbor-certificate' });
    delete multi.spec.source;
    multi.spec.sources = [{ repoURL, path: 'gitops/lab/harbor-certificate' }, { repoURL: 'https://helm.goharbor.io', chart: 'harbor', targetRevision: '1.x' }];
    expect(brief(only('application-path', [cert, file('apps/a.yaml', multi)], options))).toEqual(['application-path Application argocd/a spec.sources[1].targetRevision']);
  });
});

describe('image-pinned', () => {
  const withImages = (...images: string[]) => file('d.yaml', deployment('apps', 'web', {
    initContainers: [{ name: 'init', image: images[0] }],
    containers: images.slice(1).map((image, i) => ({ name: `c${i}`, image })),
  }));

  test('exact tags, digests and registry ports pass', () => {
    expect(only('image-pinned', [withImages('alpine/git:2.45.2', 'harbor.k-tech.cloud/msa/nginx:2', 'registry:5000/app@sha256:0123abcd', 'jenkins/jenkins:2.479.1-lts-jdk17')])).toEqual([]);
  });

  test('latest, no tag and floating tags are caught, init containers included', () => {
    const v = only('image-pinned', [withImages('alpine/git:latest', 'jenkins/jenkins:lts', 'nginx', 'registry:5000/app')]);
    expect(v.map((x) => x.field)).toEqual([
      'spec.template.spec.initContainers[0].image',
      'spec.template.spec.containers[0].image',
      'spec.template.spec.containers[1].image',
      'spec.template.spec.containers[2].image',
    ]);
    expect(v[0].fix).toContain('alpine/git:<version>');
    expect(v[3].fix).toContain('registry:5000/app:<version>');
  });

  test('floatingReason', () => {
    expect(floatingReason('nginx:1.27')).toBeUndefined();
    expect(floatingReason('jenkins/jenkins:lts-jdk17')).toContain('follows "lts"');
    expect(floatingReason('busybox:stable')).toContain('moves');
    expect(floatingReason('node:alpine')).toContain('names no version');
  });

  test('one tag rule: what the validator refuses, config and set-image refuse too', () => {
    for (const tag of ['latest', 'LATEST', 'lts-jdk17', 'edge_1', 'nightly', 'release-candidate', 'RELEASE.latest', 'RELEASE.2022-10-24', 'alpine', 'stable']) {
      expect(floatingTagReason(tag)).toBeDefined();
      expect(floatingReason(`nginx:${tag}`)).toBeDefined();
      expect(tagProblem(tag)).toMatch(/floats/);
      expect(() => labConfig((raw) => { raw.apps.workloads.nginx.image.tag = tag; })).toThrow(/apps\.workloads\.nginx\.image\.tag: must be an exact tag/);
    }
    // MinIO's tags name a build by its time: exact, although they start with "RELEASE".
    for (const tag of ['42', '2.528.2-lts-jdk21', 'v1.4.2', '1.27-alpine', 'RELEASE.2022-10-24T18-35-07Z']) {
      expect(floatingTagReason(tag)).toBeUndefined();
      expect(tagProblem(tag)).toBeUndefined();
    }
  });
});

describe('no-secret-data', () => {
  // One rule, in the leak scan (lib/leaks.ts): the validator itself no longer has a copy.
  const secret = (extra: M): M => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'monitoring' }, type: 'Opaque', ...extra });

  test('a Secret without data passes (and declares its name for config-reference)', () => {
    expect(leakViolations([file('s.yaml', secret({}))])).toEqual([]);
    expect(validateManifests([file('s.yaml', secret({ data: { x: 'eA==' } }))]).filter((v) => v.rule === 'no-secret-data')).toEqual([]);
  });

  test('data and stringData are caught (the guide\'s jenkins-metrics-basic-auth)', () => {
    const v = leakViolations([file('s.yaml', secret({ stringData: { username: 'kangbock', password: '<token>' }, data: { x: 'eA==' } }))]);
    expect(v.map((x) => [x.rule, x.file, x.field, x.message])).toEqual([
      ['no-secret-data', 's.yaml', 'data', 'a Secret in git carries its data (data keys: x); declare it where its component uses it (SecretsChart.use()) instead'],
      ['no-secret-data', 's.yaml', 'stringData', 'a Secret in git carries its data (stringData keys: password, username); declare it where its component uses it (SecretsChart.use()) instead'],
    ]);
    expect(v[0].fix).toContain('SecretsChart.use(), which writes an ExternalSecret or SealedSecret');
  });
});

describe('all rules together', () => {
  test('a small, consistent platform has no violations', () => {
    const files = [
      file('cluster-issuers/le.yaml', clusterIssuer('letsencrypt')),
      file('web/certificate.yaml', certificate('apps', 'web-tls')),
      file('web/service.yaml', service('apps', 'web', [{ name: 'http', port: 80 }])),
      file('web/ingress.yaml', ingress('apps', 'web', { secretName: 'web-tls', paths: [{ path: '/', service: 'web', port: 'http' }] })),
      file('web/externalsecret.yaml', externalSecret('apps', 'db')),
      file('web/deployment.yaml', deployment('apps', 'web', {
        containers: [{ name: 'web', image: 'nginx:1.27.0', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] }],
      })),
    ];
    expect(validateManifests(files)).toEqual([]);
  });

  test('one defect, one violation', () => {
    const files = [file('d.yaml', deployment('apps', 'web', { containers: [{ name: 'web', image: 'nginx' }] }))];
    expect(brief(validateManifests(files))).toEqual(['image-pinned Deployment apps/web spec.template.spec.containers[0].image']);
  });
});
