import { App } from 'cdk8s';
import { ApiObject } from 'cdk8s';
import { HelmComponent, ManifestComponent } from '../lib/component';
import { syncWaves } from '../lib/ordering';

function helm(app: App, name: string, groups: string[] = []) {
  return new HelmComponent(app, name, { namespace: name, providesApiGroups: groups, source: { repoURL: 'https://x', chart: name, version: '1.0.0' }, values: {} });
}

describe('sync waves', () => {
  test('a component writing custom resources comes after the provider of their CRDs', () => {
    const app = new App();
    const provider = helm(app, 'operator', ['example.com']);
    const user = new ManifestComponent(app, 'user', { namespace: 'user' });
    new ApiObject(user, 'thing', { apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 'thing' } });
    const waves = syncWaves([user, provider]);
    expect(waves.get(provider)).toBe(0);
    expect(waves.get(user)).toBe(1);
  });

  test('waves follow the longest chain of dependencies', () => {
    const app = new App();
    const a = helm(app, 'a');
    const b = helm(app, 'b');
    const c = new HelmComponent(app, 'c', { namespace: 'c', dependsOn: [a, b], source: { repoURL: 'https://x', chart: 'c', version: '1.0.0' }, values: {} });
    b.dependOn(a);
    const waves = syncWaves([a, b, c]);
    expect([waves.get(a), waves.get(b), waves.get(c)]).toEqual([0, 1, 2]);
  });

  test('a custom resource without a provider is an error that says what to do', () => {
    const app = new App();
    const user = new ManifestComponent(app, 'user', { namespace: 'user' });
    new ApiObject(user, 'thing', { apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 'thing' } });
    expect(() => syncWaves([user])).toThrow(/user writes example.com custom resources, but no component provides that API group; enable the component/);
  });

  test('a cycle is an error that names it', () => {
    const app = new App();
    const a = helm(app, 'a');
    const b = helm(app, 'b');
    a.dependOn(b);
    b.dependOn(a);
    expect(() => syncWaves([a, b])).toThrow('dependency cycle: a -> b -> a');
  });

  test('two providers of one API group are refused', () => {
    const app = new App();
    expect(() => syncWaves([helm(app, 'a', ['x.io']), helm(app, 'b', ['x.io'])])).toThrow(/provided by both a and b/);
  });
});
