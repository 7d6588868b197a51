import { ApiObject, App } from 'cdk8s';
import { HelmComponent, ManifestComponent } from '../lib/component';
import { OrderingOptions, syncWaves } from '../lib/ordering';

const options: OrderingOptions = { isBuiltIn: (kind) => !kind.split('/')[0].includes('.') || kind.startsWith('apiextensions.k8s.io/') };

const crd = (group: string, kind: string) => ({
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `${kind.toLowerCase()}s.${group}` },
  spec: { group, names: { kind } },
});

/** A chart component whose render holds the CRDs of `kinds` (`group/Kind`). */
function helm(app: App, name: string, kinds: string[] = []) {
  const c = new HelmComponent(app, name, { namespace: name, source: { repoURL: 'https://x', chart: name, version: '1.0.0' }, values: {} });
  c.attachRender({ objects: kinds.map((k) => ({ source: `${name}/templates/crds.yaml`, manifest: crd(k.split('/')[0], k.split('/')[1]) })), unstable: [] });
  return c;
}

function user(app: App, name = 'user') {
  const u = new ManifestComponent(app, name, { namespace: name });
  new ApiObject(u, 'thing', { apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 'thing' } });
  return u;
}

describe('sync waves', () => {
  test('a component writing custom resources comes after the chart whose render holds their CRD', () => {
    const app = new App();
    const provider = helm(app, 'operator', ['example.com/Thing']);
    const u = user(app);
    const waves = syncWaves([u, provider], options);
    expect(waves.get(provider)).toBe(0);
    expect(waves.get(u)).toBe(1);
  });

  test('a chart whose render uses another chart\'s custom resources waits for it too', () => {
    const app = new App();
    const provider = helm(app, 'operator', ['example.com/Thing']);
    const chart = new HelmComponent(app, 'consumer', { namespace: 'c', source: { repoURL: 'https://x', chart: 'c', version: '1.0.0' }, values: {} });
    chart.attachRender({ objects: [{ source: 'c/templates/thing.yaml', manifest: { apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 't' } } }], unstable: [] });
    expect(syncWaves([chart, provider], options).get(chart)).toBe(1);
  });

  test('waves follow the longest chain of dependencies', () => {
    const app = new App();
    const a = helm(app, 'a');
    const b = helm(app, 'b');
    const c = new HelmComponent(app, 'c', { namespace: 'c', dependsOn: [a, b], source: { repoURL: 'https://x', chart: 'c', version: '1.0.0' }, values: {} });
    c.attachRender({ objects: [], unstable: [] });
    b.dependOn(a);
    const waves = syncWaves([a, b, c], options);
    expect([waves.get(a), waves.get(b), waves.get(c)]).toEqual([0, 1, 2]);
  });

  test('a custom resource whose CRD nothing installs is an error that says what to do', () => {
    const app = new App();
    expect(() => syncWaves([user(app)], options)).toThrow(/user applies example.com Thing objects, but no component of the platform installs that CRD; enable the component/);
  });

  test('CRDs that bootstrap/ installs before anything syncs need no provider', () => {
    const app = new App();
    const u = user(app);
    expect(syncWaves([u], { ...options, preinstalled: new Set(['example.com/Thing']) }).get(u)).toBe(0);
  });

  test('a cycle is an error that names it', () => {
    const app = new App();
    const a = helm(app, 'a');
    const b = helm(app, 'b');
    a.dependOn(b);
    b.dependOn(a);
    expect(() => syncWaves([a, b], options)).toThrow('dependency cycle: a -> b -> a');
  });

  test('two installers of one CRD are refused', () => {
    const app = new App();
    expect(() => syncWaves([helm(app, 'a', ['x.io/X']), helm(app, 'b', ['x.io/X'])], options)).toThrow(/the CRD of x.io\/X is installed by both a and b/);
  });
});
