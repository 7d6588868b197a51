// The checks of the whole cluster state (lib/validation/rules-cluster.ts): each on a small set of objects
// that Argo CD would apply, first broken the way the lab's charts once were, then fixed.
import { ManifestFile, ValidationOptions } from '../../lib/validation';
import { M, only } from './helpers';

const project = (destinations: string[], clusterKinds: { group: string; kind: string }[] = [{ group: '*', kind: '*' }]): ManifestFile => ({
  path: 'bootstrap/appproject-platform.yaml',
  manifest: {
    apiVersion: 'argoproj.io/v1alpha1', kind: 'AppProject', metadata: { name: 'platform', namespace: 'argocd' },
    spec: { sourceRepos: ['*'], destinations: destinations.map((namespace) => ({ server: 'https://kubernetes.default.svc', namespace })), clusterResourceWhitelist: clusterKinds },
  },
});

const application = (name: string, namespace: string, opts: { wave?: number; syncOptions?: string[] } = {}): ManifestFile => ({
  path: `apps/application-${name}.yaml`,
  application: 'platform-lab',
  manifest: {
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Application',
    metadata: { name, namespace: 'argocd', annotations: { 'argocd.argoproj.io/sync-wave': String(opts.wave ?? 0) } },
    spec: {
      project: 'platform',
      source: { repoURL: 'https://charts.example.com', chart: name, targetRevision: '1.0.0' },
      destination: { server: 'https://kubernetes.default.svc', namespace },
      syncPolicy: { syncOptions: ['CreateNamespace=true', ...(opts.syncOptions ?? [])] },
    },
  },
});

const rendered = (app: string, manifest: M): ManifestFile => ({ path: `${app}/(chart) ${app}/templates/x.yaml`, manifest, application: app, rendered: true });

const role = (namespace: string, name: string): M => ({
  apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace },
  rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get'] }],
});

const crd = (group: string, kind: string, padding = 0): M => ({
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `${kind.toLowerCase()}s.${group}` },
  spec: {
    group, scope: 'Namespaced', names: { kind, plural: `${kind.toLowerCase()}s`, singular: kind.toLowerCase(), listKind: `${kind}List` },
    versions: [{
      name: 'v1', served: true, storage: true,
      schema: { openAPIV3Schema: { type: 'object', description: 'x'.repeat(padding), 'x-kubernetes-preserve-unknown-fields': true } },
    }],
  },
});

const builtIn: ValidationOptions['isBuiltIn'] = (apiVersion) => !apiVersion.includes('.') || apiVersion.includes('.k8s.io/');

describe('project-destination', () => {
  const options: ValidationOptions = { applicationNamespaces: new Map([['cert-manager', ['cert-manager']], ['keda', ['keda', 'kube-system']]]) };

  test('a rendered leader-election Role in kube-system, outside the project, is refused naming the Application', () => {
    const v = only('project-destination', [project(['argocd', 'cert-manager']), application('cert-manager', 'cert-manager'),
      rendered('cert-manager', role('kube-system', 'cert-manager:leaderelection'))], options);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ object: 'Role kube-system/cert-manager:leaderelection', field: 'metadata.namespace' });
    expect(v[0].message).toContain('Argo CD refuses the whole sync of cert-manager');
  });

  test('kube-system in the project for another component does not let this one write there', () => {
    const v = only('project-destination', [project(['argocd', 'cert-manager', 'keda', 'kube-system']), application('cert-manager', 'cert-manager'),
      application('keda', 'keda'), rendered('cert-manager', role('kube-system', 'cert-manager:leaderelection')),
      rendered('keda', role('kube-system', 'keda-operator-auth-reader'))], options);
    expect(v.map((x) => x.object)).toEqual(['Role kube-system/cert-manager:leaderelection']);
    expect(v[0].message).toContain('which its component does not declare');
  });

  test('objects in the Application\'s own namespace pass', () => {
    expect(only('project-destination', [project(['cert-manager']), application('cert-manager', 'cert-manager'),
      rendered('cert-manager', role('cert-manager', 'cert-manager:leaderelection'))], options)).toEqual([]);
  });

  test('a cluster-scoped kind the project does not whitelist is refused', () => {
    const v = only('project-destination', [project(['cert-manager'], [{ group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' }]),
      application('cert-manager', 'cert-manager'), rendered('cert-manager', crd('cert-manager.io', 'Certificate'))], options);
    expect(v.map((x) => `${x.object} ${x.field}`)).toEqual(['CustomResourceDefinition certificates.cert-manager.io kind']);
  });
});

describe('apply-size', () => {
  const big = crd('external-secrets.io', 'SecretStore', 300 * 1024);

  test('a CRD over 256 KiB in an Application without ServerSideApply=true is refused', () => {
    const v = only('apply-size', [application('external-secrets', 'external-secrets'), rendered('external-secrets', big)]);
    expect(v).toHaveLength(1);
    expect(v[0].message).toMatch(/is 30\d KiB, over the 256 KiB/);
    expect(v[0].fix).toContain('ServerSideApply=true');
  });

  test('ServerSideApply=true on the Application, or on the object, lets it through', () => {
    expect(only('apply-size', [application('external-secrets', 'external-secrets', { syncOptions: ['ServerSideApply=true'] }), rendered('external-secrets', big)])).toEqual([]);
    const annotated = { ...big, metadata: { ...big.metadata, annotations: { 'argocd.argoproj.io/sync-options': 'Replace=false,ServerSideApply=true' } } };
    expect(only('apply-size', [application('external-secrets', 'external-secrets'), rendered('external-secrets', annotated)])).toEqual([]);
  });

  test('small objects need nothing', () => {
    expect(only('apply-size', [application('x', 'x'), rendered('x', crd('x.io', 'Small'))])).toEqual([]);
  });
});

describe('single-owner', () => {
  test('the same object applied by two Applications is refused, naming both', () => {
    const v = only('single-owner', [application('a', 'shared'), application('b', 'shared'), rendered('a', role('shared', 'r')), rendered('b', role('shared', 'r'))]);
    expect(v).toHaveLength(1);
    expect(v[0].message).toContain('2 Applications (a, b)');
  });

  test('same name in different namespaces or kinds is no clash', () => {
    expect(only('single-owner', [rendered('a', role('one', 'r')), rendered('b', role('two', 'r'))])).toEqual([]);
  });
});

describe('crd-order', () => {
  const certificate = (app: string): ManifestFile => ({
    path: `${app}/certificate-x.yaml`, application: app,
    manifest: { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'x', namespace: 'harbor' }, spec: {} },
  });

  test('a custom resource synced in the same wave as its CRD\'s Application is refused', () => {
    const v = only('crd-order', [application('cert-manager', 'cert-manager', { wave: 0 }), application('harbor-certificate', 'harbor', { wave: 0 }),
      rendered('cert-manager', crd('cert-manager.io', 'Certificate')), certificate('harbor-certificate')], { isBuiltIn: builtIn });
    expect(v).toHaveLength(1);
    expect(v[0].message).toContain('installs in wave 0, not before wave 0');
  });

  test('a later wave passes; so does a CRD in the same Application', () => {
    expect(only('crd-order', [application('cert-manager', 'cert-manager', { wave: 0 }), application('harbor-certificate', 'harbor', { wave: 1 }),
      rendered('cert-manager', crd('cert-manager.io', 'Certificate')), certificate('harbor-certificate')], { isBuiltIn: builtIn })).toEqual([]);
    expect(only('crd-order', [application('cert-manager', 'cert-manager'), rendered('cert-manager', crd('cert-manager.io', 'Certificate')),
      certificate('cert-manager')], { isBuiltIn: builtIn })).toEqual([]);
  });

  test('a custom resource no Application installs the CRD of is refused', () => {
    const v = only('crd-order', [application('harbor-certificate', 'harbor'), certificate('harbor-certificate')], { isBuiltIn: builtIn });
    expect(v.map((x) => x.message)).toEqual([expect.stringContaining('no Application of the platform installs its CustomResourceDefinition')]);
  });

  test('CRDs applied by hand from bootstrap/ count as installed before every wave', () => {
    const bootstrapCrd: ManifestFile = { path: 'bootstrap/argo-cd/install.yaml', manifest: crd('cert-manager.io', 'Certificate') };
    expect(only('crd-order', [bootstrapCrd, application('harbor-certificate', 'harbor'), certificate('harbor-certificate')], { isBuiltIn: builtIn })).toEqual([]);
  });
});

describe('disruption-budget', () => {
  const deployment = (replicas: number): M => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'istiod', namespace: 'istio-system' },
    spec: { replicas, selector: { matchLabels: { app: 'istiod' } }, template: { metadata: { labels: { app: 'istiod', istio: 'pilot' } }, spec: { containers: [] } } },
  });
  const pdb = (spec: M): M => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'istiod', namespace: 'istio-system' }, spec: { selector: { matchLabels: { app: 'istiod' } }, ...spec } });

  test('minAvailable 1 over a single replica blocks every drain', () => {
    const v = only('disruption-budget', [rendered('istiod', deployment(1)), rendered('istiod', pdb({ minAvailable: 1 }))]);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ object: 'PodDisruptionBudget istio-system/istiod', field: 'spec.minAvailable' });
    expect(v[0].message).toContain('node drains and cluster upgrades');
  });

  test('two replicas, or a budget that allows one eviction, pass', () => {
    expect(only('disruption-budget', [rendered('istiod', deployment(2)), rendered('istiod', pdb({ minAvailable: 1 }))])).toEqual([]);
    expect(only('disruption-budget', [rendered('istiod', deployment(1)), rendered('istiod', pdb({ maxUnavailable: 1 }))])).toEqual([]);
  });

  test('maxUnavailable 0 and 100% minAvailable block; an HPA minimum counts as the replicas', () => {
    expect(only('disruption-budget', [rendered('istiod', deployment(3)), rendered('istiod', pdb({ maxUnavailable: 0 }))])).toHaveLength(1);
    expect(only('disruption-budget', [rendered('istiod', deployment(3)), rendered('istiod', pdb({ minAvailable: '100%' }))])).toHaveLength(1);
    const hpa = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'istiod', namespace: 'istio-system' },
      spec: { minReplicas: 1, maxReplicas: 5, scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'istiod' } } };
    expect(only('disruption-budget', [rendered('istiod', deployment(3)), rendered('istiod', hpa), rendered('istiod', pdb({ minAvailable: 1 }))])).toHaveLength(1);
  });
});

describe('managed-control-plane', () => {
  const rule = (alert: string, expr: string): M => ({
    apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'kube-prometheus-stack-kubernetes-system-scheduler', namespace: 'monitoring' },
    spec: { groups: [{ name: 'kubernetes-system-scheduler', rules: [{ alert, expr }] }] },
  });
  const scheduler = rule('KubeSchedulerDown', 'absent(up{job="kube-scheduler"} == 1)');

  test('on AKS, an alert on the scheduler is refused: it can only ever fire', () => {
    const v = only('managed-control-plane', [rendered('kube-prometheus-stack', scheduler)], { managedControlPlane: true });
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ field: 'spec.groups[0].rules[0].expr' });
    expect(v[0].fix).toContain('kubeScheduler.enabled: false');
  });

  test('on a self-managed control plane it is fine, and so are alerts on what AKS lets us scrape', () => {
    expect(only('managed-control-plane', [rendered('kube-prometheus-stack', scheduler)])).toEqual([]);
    expect(only('managed-control-plane', [rendered('kube-prometheus-stack', rule('KubeAPIDown', 'absent(up{job="apiserver"} == 1)'))], { managedControlPlane: true })).toEqual([]);
  });

  test('on AKS, a ServiceMonitor of the controller manager is refused', () => {
    const monitor = {
      apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'kube-prometheus-stack-kube-controller-manager', namespace: 'monitoring' },
      spec: { selector: { matchLabels: { app: 'kube-prometheus-stack-kube-controller-manager' } }, namespaceSelector: { matchNames: ['kube-system'] }, endpoints: [{ port: 'http-metrics' }] },
    };
    expect(only('managed-control-plane', [rendered('kube-prometheus-stack', monitor)], { managedControlPlane: true }).map((v) => v.message))
      .toEqual([expect.stringContaining('scrapes kube-controller-manager')]);
  });
});
