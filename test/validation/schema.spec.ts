import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SchemaCache, schemaCacheKey, schemaRegistry, validateManifests } from '../../lib/validation';
import { closest, fieldPath, jsPattern, SchemaRegistry, servedApiVersions, strictify, supportedKubernetesVersions } from '../../lib/validation/schema';
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
  const widgets = (pattern: string): M => ({
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com', scope: 'Cluster', names: { kind: 'Widget', plural: 'widgets' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { mode: { type: 'string', pattern } } } } } } }],
    },
  });
  const widget = (mode: string) => file('w.yaml', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { mode } });

  test('is reported, not thrown', () => {
    // RE2's (?P<name>...) group has no JavaScript form.
    const v = schema([file('crd.yaml', widgets('^(?P<mode>a|b)$')), widget('a')]);
    expect(v).toEqual([expect.objectContaining({ object: 'Widget w', message: expect.stringContaining('its schema does not compile') })]);
  });

  test('RE2\'s (?i) compiles, and matches without regard to case', () => {
    expect(jsPattern('^(?i)(ab|c)$')).toBe('^([aA][bB]|[cC])$');
    expect(jsPattern('^[a-z]+$')).toBe('^[a-z]+$');
    const crd = file('crd.yaml', widgets('^(?i)(a|b)$'));
    expect(schema([crd, widget('a')])).toEqual([]);
    expect(schema([crd, widget('B')])).toEqual([]);
    expect(schema([crd, widget('c')])).toEqual([expect.objectContaining({ object: 'Widget w', field: 'spec.mode' })]);
  });
});

describe('schema: per Kubernetes version', () => {
  const dir = path.join(__dirname, '..', '..', 'schemas');
  const ALL = ['1.28', '1.29', '1.30', '1.31', '1.32', '1.33', '1.34', '1.35', '1.36'];
  const at = (kubernetesVersion: string | undefined, files: ReturnType<typeof file>[], schemaCache?: SchemaCache) =>
    only('schema', files, { kubernetesVersion, schemaCache });

  // spec.versions[].selectableFields: alpha in 1.30, beta (on by default) in 1.31, GA in 1.32.
  const selectableCrd = (): M => ({
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com', scope: 'Namespaced', names: { kind: 'Widget', plural: 'widgets' },
      versions: [{
        name: 'v1', served: true, storage: true,
        selectableFields: [{ jsonPath: '.spec.colour' }],
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { colour: { type: 'string' } } } } } },
      }],
    },
  });

  test('the bundle holds every minor from 1.28 to 1.36', () => {
    expect(supportedKubernetesVersions(dir)).toEqual(ALL);
    expect(supportedKubernetesVersions()).toEqual(ALL);
  });

  test('a CRD with spec.versions[].selectableFields is a violation on 1.28 and 1.29, valid on 1.31', () => {
    for (const v of ['1.28', '1.29']) {
      expect(at(v, [file('crd.yaml', selectableCrd())])).toEqual([expect.objectContaining({
        object: 'CustomResourceDefinition widgets.example.com', field: 'spec.versions[0].selectableFields',
        message: expect.stringContaining('unknown field "selectableFields"'),
      })]);
    }
    expect(at('1.31', [file('crd.yaml', selectableCrd())])).toEqual([]);
    expect(at('1.36', [file('crd.yaml', selectableCrd())])).toEqual([]);
    // Without a version, the registry is 1.28's.
    expect(brief(at(undefined, [file('crd.yaml', selectableCrd())]))).toEqual(['schema CustomResourceDefinition widgets.example.com spec.versions[0].selectableFields']);
  });

  test('a kind only newer minors serve is unknown on older ones: admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy (GA in 1.30)', () => {
    const policy: M = {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'max-replicas' },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] }] },
        validations: [{ expression: 'object.spec.replicas <= 5', message: 'at most 5 replicas' }],
      },
    };
    for (const v of ['1.28', '1.29']) {
      expect(at(v, [file('vap.yaml', policy)])).toEqual([expect.objectContaining({
        rule: 'schema', object: 'ValidatingAdmissionPolicy max-replicas', field: 'apiVersion',
        message: `no schema for apiVersion/kind "admissionregistration.k8s.io/v1" ValidatingAdmissionPolicy: it is neither a Kubernetes ${v} kind nor a kind of a bundled CRD`,
        fix: 'use a served apiVersion of ValidatingAdmissionPolicy: admissionregistration.k8s.io/v1alpha1, admissionregistration.k8s.io/v1beta1',
      })]);
    }
    for (const v of ALL.slice(2)) expect(at(v, [file('vap.yaml', policy)])).toEqual([]);
    // And it is checked there, not merely known.
    const typo = { ...policy, spec: { ...policy.spec, validation: policy.spec.validations } };
    expect(brief(at('1.30', [file('vap.yaml', typo)]))).toEqual(['schema ValidatingAdmissionPolicy max-replicas spec.validation']);
  });

  test('servedApiVersions lists group/versions and group/version/Kinds, sorted, for Helm --api-versions', () => {
    const served = servedApiVersions('1.31', dir);
    expect(served).toEqual(expect.arrayContaining(['apps/v1', 'apps/v1/Deployment', 'v1', 'v1/Service', 'networking.k8s.io/v1/Ingress']));
    expect(served).not.toContain('batch/v1beta1'); // removed in 1.25
    expect(served).not.toContain('batch/v1beta1/CronJob');
    expect(served).not.toContain('v1/PodList'); // list kinds are not resources
    expect(served).not.toContain('cert-manager.io/v1'); // CRDs are not built in
    expect(served).toEqual([...served].sort());
    expect(new Set(served).size).toBe(served.length);
    expect(servedApiVersions('1.31')).toEqual(served);
    // Each minor's own: ValidatingAdmissionPolicy v1 from 1.30, MutatingAdmissionPolicy v1 from 1.36.
    expect(servedApiVersions('1.28', dir)).not.toContain('admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy');
    expect(served).toContain('admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy');
    expect(served).not.toContain('admissionregistration.k8s.io/v1/MutatingAdmissionPolicy');
    expect(servedApiVersions('1.36', dir)).toContain('admissionregistration.k8s.io/v1/MutatingAdmissionPolicy');
    // A caller's changes do not leak into the next answer.
    served.length = 0;
    expect(servedApiVersions('1.31', dir)).toContain('apps/v1');
  });

  test('a version the bundle lacks, or that is not a minor, is refused with the versions there are', () => {
    expect(() => servedApiVersions('1.27', dir)).toThrow(/no schema bundle for Kubernetes 1\.27 .*\(it has 1\.28, 1\.29, .*1\.36\)/);
    expect(() => new SchemaRegistry('1.31.2', dir)).toThrow('Kubernetes version "1.31.2" is not a minor version such as "1.31"');
    expect(() => validateManifests([], { kubernetesVersion: '1.40' })).toThrow(/no schema bundle for Kubernetes 1\.40/);
  });

  test('registries, their fingerprints and schema cache keys are per version', () => {
    const r28 = schemaRegistry(dir, '1.28');
    const r31 = schemaRegistry(dir, '1.31');
    expect(r31).toBe(schemaRegistry(dir, '1.31'));
    expect(r31).not.toBe(r28);
    expect(r28).toBe(schemaRegistry(dir));
    expect([r28.kubernetesVersion, r31.kubernetesVersion]).toEqual(['1.28', '1.31']);
    expect(r31.fingerprint).not.toBe(r28.fingerprint);
    expect(new SchemaRegistry('1.31', dir).fingerprint).toBe(r31.fingerprint);
    const m = selectableCrd();
    expect(schemaCacheKey(r31, m)).not.toBe(schemaCacheKey(r28, m));
  });

  test('the fingerprint names the version even when two bundles are the same bytes', () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'schemas-'));
    try {
      fs.copyFileSync(path.join(dir, 'crds.json'), path.join(copy, 'crds.json'));
      fs.copyFileSync(path.join(dir, 'k8s-1.31.json'), path.join(copy, 'k8s-1.31.json'));
      fs.copyFileSync(path.join(dir, 'k8s-1.31.json'), path.join(copy, 'k8s-1.32.json'));
      expect(supportedKubernetesVersions(copy)).toEqual(['1.31', '1.32']);
      expect(new SchemaRegistry('1.32', copy).fingerprint).not.toBe(new SchemaRegistry('1.31', copy).fingerprint);
      expect(new SchemaRegistry('1.31', copy).fingerprint).toBe(schemaRegistry(dir, '1.31').fingerprint);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });

  test('an object the cache holds as valid on one version is checked again on another', () => {
    const cache = new Set<string>();
    expect(at('1.31', [file('crd.yaml', selectableCrd())], cache)).toEqual([]);
    expect(cache.size).toBe(1);
    expect(brief(at('1.28', [file('crd.yaml', selectableCrd())], cache))).toEqual(['schema CustomResourceDefinition widgets.example.com spec.versions[0].selectableFields']);
    expect(at('1.31', [file('crd.yaml', selectableCrd())], cache)).toEqual([]);
  });

  test('every built-in kind of every minor is classified cluster-scoped or namespaced', () => {
    // Namespaced built-in kinds, as `group/Kind`; every other built-in kind is cluster-scoped.
    const namespaced = new Set([
      '/Binding', '/ConfigMap', '/Endpoints', '/Event', '/LimitRange', '/PersistentVolumeClaim', '/Pod', '/PodTemplate',
      '/ReplicationController', '/ResourceQuota', '/Secret', '/Service', '/ServiceAccount',
      'apps/ControllerRevision', 'apps/DaemonSet', 'apps/Deployment', 'apps/ReplicaSet', 'apps/StatefulSet',
      'authentication.k8s.io/TokenRequest', 'authorization.k8s.io/LocalSubjectAccessReview',
      'autoscaling/HorizontalPodAutoscaler', 'autoscaling/Scale', 'batch/CronJob', 'batch/Job',
      'certificates.k8s.io/PodCertificateRequest', 'coordination.k8s.io/Lease', 'coordination.k8s.io/LeaseCandidate',
      'discovery.k8s.io/EndpointSlice', 'events.k8s.io/Event', 'networking.k8s.io/Ingress', 'networking.k8s.io/NetworkPolicy',
      'policy/Eviction', 'policy/PodDisruptionBudget', 'rbac.authorization.k8s.io/Role', 'rbac.authorization.k8s.io/RoleBinding',
      'resource.k8s.io/PodSchedulingContext', 'resource.k8s.io/ResourceClaim', 'resource.k8s.io/ResourceClaimParameters',
      'resource.k8s.io/ResourceClaimTemplate', 'resource.k8s.io/ResourceClassParameters',
      'scheduling.k8s.io/PodGroup', 'scheduling.k8s.io/Workload', 'storage.k8s.io/CSIStorageCapacity',
    ]);
    const clusterScoped = new Set<string>();
    const wrong: string[] = [];
    for (const v of ALL) {
      const registry = schemaRegistry(dir, v);
      // Every kind the minor defines, served by default or not (alpha and beta kinds too).
      const kinds = Object.keys(JSON.parse(fs.readFileSync(path.join(dir, `k8s-${v}.json`), 'utf8')).kinds as object)
        .filter((k) => !(k.endsWith('List') && servedApiVersions(v, dir).includes(k.slice(0, -4))));
      for (const entry of kinds) {
        if (entry.endsWith('List')) continue;
        const i = entry.lastIndexOf('/');
        const kind = entry.slice(i + 1);
        const apiVersion = entry.slice(0, i);
        const groupKind = `${apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : ''}/${kind}`;
        const cluster = registry.isClusterScoped(apiVersion, kind);
        if (cluster === namespaced.has(groupKind)) wrong.push(`${v} ${entry}: ${cluster ? 'cluster-scoped' : 'namespaced'}`);
        if (cluster) clusterScoped.add(groupKind);
      }
    }
    expect(wrong).toEqual([]);
    for (const k of ['/Namespace', 'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding', 'admissionregistration.k8s.io/MutatingAdmissionPolicy',
      'storage.k8s.io/VolumeAttributesClass', 'networking.k8s.io/ServiceCIDR', 'networking.k8s.io/IPAddress', 'resource.k8s.io/DeviceClass',
      'resource.k8s.io/ResourceSlice', 'certificates.k8s.io/ClusterTrustBundle', 'storagemigration.k8s.io/StorageVersionMigration']) {
      expect(clusterScoped).toContain(k);
    }
    // A namespaced kind's name in a cluster-scoped kind's group is not enough: the group counts too.
    expect(schemaRegistry(dir, '1.31').isClusterScoped('example.com/v1', 'Namespace')).toBe(false);
  });

  test('validation places a cluster-scoped kind of a newer minor outside any namespace', () => {
    const vac: M = { apiVersion: 'storage.k8s.io/v1', kind: 'VolumeAttributesClass', metadata: { name: 'gold' }, driverName: 'disk.csi.azure.com', parameters: { iops: '5000' } };
    expect(at('1.34', [file('vac.yaml', vac)])).toEqual([]);
    expect(brief(at('1.33', [file('vac.yaml', vac)]))).toEqual(['schema VolumeAttributesClass gold apiVersion']);
  });
});

describe('schema: what the API server checks beyond the OpenAPI schema', () => {
  test('a port above 65535 (or 0) is refused where the API server would; nodePort 0 means "allocate"', () => {
    const svc = (port: number, nodePort?: number) => file('s.yaml', {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'apps' },
      spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ name: 'http', port, targetPort: 8080, ...(nodePort === undefined ? {} : { nodePort }) }] },
    });
    expect(brief(only('schema', [svc(70000)]))).toEqual(['schema Service apps/web spec.ports[0].port']);
    expect(only('schema', [svc(80, 0)])).toEqual([]);
    expect(only('schema', [svc(80)])).toEqual([]);
    const pod = deployment('apps', 'web', { containers: [{ name: 'web', image: 'web:1.0.0', ports: [{ containerPort: 65536 }] }] });
    expect(brief(only('schema', [file('d.yaml', pod)]))).toEqual(['schema Deployment apps/web spec.template.spec.containers[0].ports[0].containerPort']);
  });
});
