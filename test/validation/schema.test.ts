import { validateManifests } from '../../lib/validation';
import { closest, fieldPath, strictify } from '../../lib/validation/schema';
import { brief, certificate, clusterIssuer, deployment, file, M, only, service } from './helpers';

const schema = (files: ReturnType<typeof file>[]) => only('schema', files);

describe('schema: Kubernetes 1.28 kinds', () => {
  const good = () => deployment('apps', 'web', {
    containers: [{
      name: 'web',
      image: 'nginx:1.27.0',
      ports: [{ containerPort: 80, name: 'http' }],
      resources: { requests: { cpu: '100m', memory: 128974848 }, limits: { memory: '256Mi' } },
      readinessProbe: { httpGet: { path: '/', port: 'http' } },
      livenessProbe: { tcpSocket: { port: 80 } },
    }],
  });

  test('a valid Deployment passes (int-or-string ports, quantities as string or number)', () => {
    expect(schema([file('web/deployment.yaml', good())])).toEqual([]);
  });

  test('an unknown field in a Deployment spec fails, with its path, the object and a fix', () => {
    const d = good();
    d.spec.replica = 3;
    const v = schema([file('web/deployment.yaml', d)]);
    expect(v).toEqual([{
      rule: 'schema',
      file: 'web/deployment.yaml',
      object: 'Deployment apps/web',
      field: 'spec.replica',
      message: expect.stringContaining('unknown field "replica"'),
      fix: expect.stringContaining('rename it to "replicas"'),
    }]);
  });

  test('unknown fields deep in the pod template are found, each with its own path', () => {
    const d = good();
    d.spec.template.spec.containers[0].ports[0].naem = 'http';
    d.spec.template.spec.containers[0].comand = ['nginx'];
    d.spec.template.spec.nodeselector = { a: 'b' };
    expect(brief(schema([file('d.yaml', d)])).sort()).toEqual([
      'schema Deployment apps/web spec.template.spec.containers[0].comand',
      'schema Deployment apps/web spec.template.spec.containers[0].ports[0].naem',
      'schema Deployment apps/web spec.template.spec.nodeselector',
    ]);
  });

  test('a wrong type is reported once, not once per int-or-string branch', () => {
    const d = good();
    d.spec.template.spec.containers[0].livenessProbe.tcpSocket.port = true;
    d.spec.replicas = 'two';
    const v = schema([file('d.yaml', d)]);
    expect(v.map((x) => [x.field, x.message])).toEqual([
      ['spec.replicas', 'must be an integer, not "two"'],
      ['spec.template.spec.containers[0].livenessProbe.tcpSocket.port', 'true must be a string or an integer'],
    ]);
  });

  test('labels and annotations are free-form maps of strings', () => {
    const d = good();
    d.metadata.labels = { 'app.kubernetes.io/name': 'web' };
    d.metadata.annotations = { 'argocd.argoproj.io/sync-wave': '3' };
    expect(schema([file('d.yaml', d)])).toEqual([]);
    d.metadata.annotations['argocd.argoproj.io/sync-wave'] = 3;
    expect(brief(schema([file('d.yaml', d)]))).toEqual(['schema Deployment apps/web metadata.annotations["argocd.argoproj.io/sync-wave"]']);
  });

  test('a Service, a ConfigMap and a Namespace pass', () => {
    expect(schema([
      file('s.yaml', service('apps', 'web', [{ name: 'http', port: 80 }])),
      file('c.yaml', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'apps' }, data: { 'a.yaml': 'x: 1' } }),
      file('n.yaml', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps', labels: { 'istio-injection': 'enabled' } } }),
    ])).toEqual([]);
  });

  test('an object without metadata.name fails', () => {
    const v = schema([file('c.yaml', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'a' } })]);
    expect(brief(v)).toEqual(['schema ConfigMap a/(no name) metadata.name']);
  });
});

describe('schema: CRD kinds', () => {
  test('a valid ClusterIssuer passes', () => {
    expect(schema([file('cluster-issuers/clusterissuer-letsencrypt.yaml', clusterIssuer('letsencrypt'))])).toEqual([]);
  });

  test('a valid Certificate passes', () => {
    expect(schema([file('c.yaml', certificate('apps', 'web-tls'))])).toEqual([]);
  });

  test('a Certificate with an unknown field fails', () => {
    const c = certificate('apps', 'web-tls');
    c.spec.secretname = 'web-tls';
    const v = schema([file('c.yaml', c)]);
    expect(v).toEqual([expect.objectContaining({
      rule: 'schema', object: 'Certificate apps/web-tls', field: 'spec.secretname',
      message: expect.stringContaining('unknown field "secretname"'), fix: expect.stringContaining('"secretName"'),
    })]);
  });

  test('a CRD object\'s metadata is checked as an ObjectMeta', () => {
    const c = certificate('apps', 'web-tls');
    c.metadata.label = { a: 'b' };
    expect(brief(schema([file('c.yaml', c)]))).toEqual(['schema Certificate apps/web-tls metadata.label']);
  });

  test('enums and required fields of a CRD are checked', () => {
    const c = certificate('apps', 'web-tls');
    c.spec.usages = ['server-auth'];
    delete c.spec.issuerRef.name;
    const v = schema([file('c.yaml', c)]);
    expect(v.map((x) => x.field).sort()).toEqual(['spec.issuerRef.name', 'spec.usages[0]']);
    expect(v.find((x) => x.field === 'spec.usages[0]')!.fix).toContain('"server auth"');
  });

  test('x-kubernetes-preserve-unknown-fields accepts anything: an Application\'s helm valuesObject', () => {
    const app: M = {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'harbor', namespace: 'argocd' },
      spec: {
        project: 'platform',
        destination: { server: 'https://kubernetes.default.svc', namespace: 'harbor' },
        source: { repoURL: 'https://helm.goharbor.io', chart: 'harbor', targetRevision: '1.19.1', helm: { valuesObject: { any: { thing: [1, 'x'] } } } },
      },
    };
    expect(schema([file('a.yaml', app)])).toEqual([]);
    app.spec.source.repoUrl = app.spec.source.repoURL;
    delete app.spec.source.repoURL;
    const v = schema([file('a.yaml', app)]);
    expect(v).toEqual([
      expect.objectContaining({ field: 'spec.source.repoURL', message: 'required field "repoURL" is missing' }),
      expect.objectContaining({ field: 'spec.source.repoUrl', fix: expect.stringContaining('rename it to "repoURL"') }),
    ]);
  });

  test('Istio oneOf forms: a StringMatch with both prefix and exact fails', () => {
    const vs: M = {
      apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'web', namespace: 'apps' },
      spec: { hosts: ['web.example.com'], http: [{ match: [{ uri: { prefix: '/' } }], route: [{ destination: { host: 'web', port: { number: 80 } } }] }] },
    };
    expect(schema([file('vs.yaml', vs)])).toEqual([]);
    vs.spec.http[0].match[0].uri.exact = '/x';
    const v = schema([file('vs.yaml', vs)]);
    expect(v).toEqual([expect.objectContaining({ field: 'spec.http[0].match[0].uri', message: expect.stringContaining('exclude each other') })]);
  });

  test('int-or-string in a CRD (Rollout canary maxSurge) takes both forms, nothing else', () => {
    const rollout = (maxSurge: unknown): M => ({
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'r', namespace: 'apps' },
      spec: {
        selector: { matchLabels: { app: 'r' } },
        template: { metadata: { labels: { app: 'r' } }, spec: { containers: [{ name: 'r', image: 'r:1.0.0' }] } },
        strategy: { canary: { maxSurge, steps: [{ setWeight: 20 }, { pause: { duration: '1m' } }] } },
      },
    });
    expect(schema([file('a.yaml', rollout(1)), file('b.yaml', rollout('25%'))])).toEqual([]);
    expect(brief(schema([file('c.yaml', rollout([1]))]))).toEqual(['schema Rollout apps/r spec.strategy.canary.maxSurge']);
  });

  test('a CRD shipped in the set defines its kind', () => {
    const crd: M = {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com', scope: 'Namespaced', names: { kind: 'Widget', plural: 'widgets' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } } }],
      },
    };
    const widget = (spec: M) => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'a' }, spec });
    expect(schema([file('crd.yaml', crd), file('w.yaml', widget({ size: 3 }))])).toEqual([]);
    expect(brief(schema([file('crd.yaml', crd), file('w.yaml', widget({ colour: 'red' }))]))).toEqual(['schema Widget a/w spec.colour']);
  });
});

describe('schema: unknown kinds', () => {
  test('an object of an unknown kind fails with "no schema"', () => {
    const v = schema([file('x.yaml', { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g', namespace: 'a' } })]);
    expect(v).toEqual([expect.objectContaining({ rule: 'schema', object: 'Gadget a/g', message: expect.stringContaining('no schema for apiVersion/kind "example.com/v1" Gadget') })]);
  });

  test('a known kind at an apiVersion that is not served names the served ones', () => {
    const v = schema([file('x.yaml', { ...certificate('a', 'b'), apiVersion: 'cert-manager.io/v1alpha2' })]);
    expect(v).toEqual([expect.objectContaining({ message: expect.stringContaining('no schema'), fix: 'use a served apiVersion of Certificate: cert-manager.io/v1' })]);
  });

  test('a file that holds no Kubernetes object fails', () => {
    const v = validateManifests([{ path: 'junk.yaml', manifest: { hello: 'world' } }]);
    expect(v).toEqual([expect.objectContaining({ rule: 'schema', file: 'junk.yaml', message: expect.stringContaining('not a Kubernetes object') })]);
  });
});

describe('schema helpers', () => {
  test('strictify closes object schemas, not preserved or branch ones', () => {
    expect(strictify({ type: 'object', properties: { a: { type: 'object', properties: {} } } }, false)).toEqual({
      type: 'object', additionalProperties: false, properties: { a: { type: 'object', properties: {}, additionalProperties: false } },
    });
    expect(strictify({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, false)).toEqual({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    expect(strictify({ type: 'object', additionalProperties: { type: 'string' } }, false)).toEqual({ type: 'object', additionalProperties: { type: 'string' } });
    expect(strictify({ anyOf: [{ properties: { a: {} } }] }, false)).toEqual({ anyOf: [{ properties: { a: {} } }] });
    expect(strictify({ 'x-kubernetes-int-or-string': true }, false)).toEqual({ 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] });
    expect(strictify({ type: 'string', nullable: true }, false)).toEqual({ type: ['string', 'null'] });
  });

  test('fieldPath quotes keys that are not identifiers', () => {
    expect(fieldPath(['spec', 'rules', 0, 'http', 'paths', 1, 'backend'])).toBe('spec.rules[0].http.paths[1].backend');
    expect(fieldPath(['metadata', 'annotations', 'cert-manager.io/cluster-issuer'])).toBe('metadata.annotations["cert-manager.io/cluster-issuer"]');
  });

  test('closest suggests a likely misspelling only', () => {
    expect(closest('replica', ['replicas', 'selector'])).toBe('replicas');
    expect(closest('repoUrl', ['repoURL', 'path'])).toBe('repoURL');
    expect(closest('banana', ['replicas', 'selector'])).toBeUndefined();
  });
});

describe('schema: a CRD in the set whose schema does not compile', () => {
  test('is reported, not thrown', () => {
    const crd: M = {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com', scope: 'Cluster', names: { kind: 'Widget', plural: 'widgets' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { mode: { type: 'string', pattern: '^(?i)(a|b)$' } } } } } } }],
      },
    };
    const v = schema([file('crd.yaml', crd), file('w.yaml', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { mode: 'a' } })]);
    expect(v).toEqual([expect.objectContaining({ object: 'Widget w', message: expect.stringContaining('its schema does not compile') })]);
  });
});
