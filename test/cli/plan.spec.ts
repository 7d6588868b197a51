// The plan on a fixture repo: a git repository in a temp folder with a committed gitops/, then changed.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { addRendered, chartApplications, diffFields, formatPlan, parseTree, plan, treeAtRef, treeOnDisk, vendorAtRef } from '../../lib/plan';
import { renderCluster } from '../../lib/render';
import { labConfig, tempDir } from '../helpers';
import { run } from '../commands';

const ROOT = path.join(__dirname, '..', '..');

const yamlOf = (o: object) => JSON.stringify(o);
const ns = (name: string) => yamlOf({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const ingress = (host: string) => yamlOf({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: 'web' }, spec: { rules: [{ host }] } });
const app = (name: string) => yamlOf({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name, namespace: 'argocd' }, spec: { source: { path: `gitops/lab/${name}` } } });
const sts = (claims: string[]) => yamlOf({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'web' }, spec: { volumeClaimTemplates: claims.map((name) => ({ metadata: { name } })) } });

function git(cwd: string, ...args: string[]) {
  return execFileSync('git', ['-c', 'user.email=t@example.org', '-c', 'user.name=t', ...args], { cwd, encoding: 'utf8' });
}

function write(dir: string, files: Record<string, string>) {
  fs.rmSync(path.join(dir, 'gitops'), { recursive: true, force: true });
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, 'gitops', rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'gitops', rel), text);
  }
}

/** A repo whose HEAD has `before`, and whose work tree has `after`. */
function fixture(before: Record<string, string>, after: Record<string, string>) {
  const dir = tempDir();
  git(dir, 'init', '-q');
  write(dir, before);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'before');
  write(dir, after);
  const gitops = path.join(dir, 'gitops');
  return { dir, before: parseTree(treeAtRef('HEAD', gitops, dir)), after: parseTree(treeOnDisk(gitops)) };
}

const BASE = {
  'lab/apps/application-web.yaml': app('web'),
  'lab/apps/application-shop.yaml': app('shop'),
  'lab/namespaces/namespace-web.yaml': ns('web'),
  'lab/namespaces/namespace-shop.yaml': ns('shop'),
  'lab/web/ingress-web.yaml': ingress('www.example.org'),
  'lab/web/statefulset-db.yaml': sts(['data']),
  'lab/shop/ingress-web.yaml': yamlOf({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'shop', namespace: 'shop' }, spec: {} }),
};

describe('plan', () => {
  test('lists exactly a changed host, a removed app and a removed namespace, per Application', () => {
    const after: Record<string, string> = { ...BASE, 'lab/web/ingress-web.yaml': ingress('shop.example.org') };
    delete after['lab/apps/application-shop.yaml'];
    delete after['lab/shop/ingress-web.yaml'];
    delete after['lab/namespaces/namespace-shop.yaml'];
    const f = fixture(BASE, after);
    const p = plan(f.before, f.after, new Set());
    expect(p.added).toEqual([]);
    expect(p.changed.map((c) => [c.after.app, c.after.kind, c.fields])).toEqual([
      ['web', 'Ingress', [{ path: 'spec.rules[0].host', before: 'www.example.org', after: 'shop.example.org' }]],
    ]);
    expect(p.removed.map((o) => `${o.app}: ${o.kind}/${o.name}`).sort()).toEqual(['namespaces: Namespace/shop', 'root: Application/shop', 'shop: Ingress/shop']);
    // The gate stops the namespace removal until it is acknowledged.
    expect(p.blocked.map((d) => d.key)).toEqual(['Namespace/shop']);
    expect(plan(f.before, f.after, new Set(['Namespace/shop'])).blocked).toEqual([]);
    expect(plan(f.before, f.after, new Set(['lab:Namespace/shop'])).blocked).toEqual([]);
    const text = formatPlan(p, false);
    expect(text).toContain('Application lab / web\n  ~ Ingress web/web\n      spec.rules[0].host: "www.example.org" -> "shop.example.org"');
    expect(text).toContain('Application lab / root\n  - Application argocd/shop');
    expect(text).toContain('BLOCKED Namespace/shop (lab): deleting a namespace deletes everything in it');
    expect(text).toContain('0 to add, 1 to change, 3 to remove.');
    expect(text).not.toContain('\x1b[');
    expect(formatPlan(p, true)).toContain('\x1b[31m');
  });

  test('a dropped volume claim template is dangerous; an added object is listed', () => {
    const after = { ...BASE, 'lab/web/statefulset-db.yaml': sts([]), 'lab/web/service-web.yaml': yamlOf({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'web' } }) };
    const f = fixture(BASE, after);
    const p = plan(f.before, f.after, new Set());
    expect(p.added.map((o) => o.kind)).toEqual(['Service']);
    expect(p.blocked.map((d) => d.key)).toEqual(['StatefulSet/web/db/volumeClaimTemplates/data']);
  });

  test('a changed volume claim template is blocked too: Kubernetes refuses the update', () => {
    const bigger = yamlOf({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'web' }, spec: { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { resources: { requests: { storage: '10Gi' } } } }] } });
    const f = fixture(BASE, { ...BASE, 'lab/web/statefulset-db.yaml': bigger });
    const p = plan(f.before, f.after, new Set());
    expect(p.blocked.map((d) => d.key)).toEqual(['StatefulSet/web/db/volumeClaimTemplates/data']);
    expect(p.blocked[0].why).toMatch(/--cascade=orphan/);
  });

  test.each([
    ['CustomResourceDefinition', { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'things.example.org' } }, 'CustomResourceDefinition/things.example.org'],
    ['PersistentVolumeClaim', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'web' } }, 'PersistentVolumeClaim/web/data'],
    ['Secret', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'web' } }, 'Secret/web/s'],
    ['ExternalSecret', { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name: 's', namespace: 'web' } }, 'ExternalSecret/web/s'],
  ])('removing a %s is blocked', (_kind, obj, key) => {
    const f = fixture({ ...BASE, 'lab/web/x.yaml': yamlOf(obj) }, BASE);
    expect(plan(f.before, f.after, new Set()).blocked.map((d) => d.key)).toEqual([key]);
  });

  test('field diffs name nested paths and list items', () => {
    expect(diffFields({ a: { b: [1, 2] }, c: 1 }, { a: { b: [1, 3] }, d: 2 })).toEqual([
      { path: 'a.b[1]', before: 2, after: 3 },
      { path: 'c', before: 1, after: undefined },
      { path: 'd', before: undefined, after: 2 },
    ]);
  });

  test('an unknown ref is a clear error', () => {
    const f = fixture(BASE, BASE);
    expect(() => treeAtRef('no-such-branch', path.join(f.dir, 'gitops'), f.dir)).toThrow(/cannot read .*gitops\/ at git ref "no-such-branch"/);
  });
});

describe('npm run plan', () => {
  test('--help explains the gate', async () => {
    const r = await run('plan', ['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Exits 3 when a change removes');
    expect(r.stdout).toContain('--allow <key>');
  });
});

describe('list diffs', () => {
  test('an item inserted into a sorted list is one addition, not a shift of every item', () => {
    const before = { d: [{ ns: 'a' }, { ns: 'c' }, { ns: 'keda' }] };
    const after = { d: [{ ns: 'a' }, { ns: 'autoscaling' }, { ns: 'c' }] };
    expect(diffFields(before, after)).toEqual([
      { path: 'd[]', before: { ns: 'keda' }, after: undefined },
      { path: 'd[]', before: undefined, after: { ns: 'autoscaling' } },
    ]);
  });

  test('an item changed in place keeps its index and the nested path', () => {
    expect(diffFields({ hosts: ['a', 'b'] }, { hosts: ['a', 'c'] })).toEqual([{ path: 'hosts[1]', before: 'b', after: 'c' }]);
  });
});

describe('what the charts render', () => {
  const kiali = (port: number) => yamlOf({
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'kiali', namespace: 'argocd' },
    spec: {
      destination: { namespace: 'istio-system' },
      source: { repoURL: 'https://kiali.org/helm-charts', chart: 'kiali-server', targetRevision: '2.29.0', helm: { releaseName: 'kiali', valuesObject: { server: { port } } } },
    },
  });

  test('a values change shows as the rendered objects it changes, under the chart\'s Application', async () => {
    const { before, after } = fixture({ 'lab/apps/application-kiali.yaml': kiali(20001) }, { 'lab/apps/application-kiali.yaml': kiali(20002) });
    for (const [tree] of [[before], [after]] as const) {
      const inputs = chartApplications(tree).get('lab')!;
      expect(inputs.map((i) => i.application)).toEqual(['kiali']);
      addRendered(tree, 'lab', await renderCluster(inputs, '1.31'), inputs);
    }
    const p = plan(before, after, new Set());
    const changed = p.changed.filter((c) => c.after.app === 'kiali');
    expect(changed.map((c) => `${c.after.kind} ${c.after.name}`)).toEqual(expect.arrayContaining(['Service kiali', 'Deployment kiali']));
    const svc = changed.find((c) => c.after.kind === 'Service')!;
    expect(svc.fields).toEqual(expect.arrayContaining([{ path: 'spec.ports[0].port', before: 20001, after: 20002 }]));
    expect(svc.after.file).toBe('chart kiali-server 2.29.0: kiali-server/templates/service.yaml');
    expect(p.added).toEqual([]);
    expect(p.removed).toEqual([]);
  }, 60_000);

  test('the prune gate covers rendered objects: a chart that stops installing its CRDs is blocked', async () => {
    const certManager = (crds: boolean) => yamlOf({
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'cert-manager', namespace: 'argocd' },
      spec: {
        destination: { namespace: 'cert-manager' },
        source: { repoURL: 'https://charts.jetstack.io', chart: 'cert-manager', targetRevision: 'v1.21.1', helm: { releaseName: 'cert-manager', valuesObject: { crds: { enabled: crds } } } },
      },
    });
    const { before, after } = fixture({ 'lab/apps/application-cert-manager.yaml': certManager(true) }, { 'lab/apps/application-cert-manager.yaml': certManager(false) });
    for (const tree of [before, after]) {
      const inputs = chartApplications(tree).get('lab')!;
      addRendered(tree, 'lab', await renderCluster(inputs, '1.31'), inputs);
    }
    const p = plan(before, after, new Set());
    expect(p.blocked.map((d) => d.key)).toEqual(expect.arrayContaining(['CustomResourceDefinition/certificates.cert-manager.io']));
    expect(p.blocked.every((d) => d.object.app === 'cert-manager')).toBe(true);
  }, 60_000);

  test('the vendored charts of a commit are read from git, for the old side of a chart bump', () => {
    const dir = vendorAtRef('HEAD', ROOT)!;
    try {
      const lock = fs.readFileSync(path.join(dir, 'vendor/charts.lock.yaml'), 'utf8');
      expect(lock).toContain('chart: kiali-server');
      expect(fs.readFileSync(path.join(dir, 'vendor/charts/kiali-server-2.29.0.tgz'))).toEqual(fs.readFileSync(path.join(ROOT, 'vendor/charts/kiali-server-2.29.0.tgz')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('multi-line strings are diffed by line; a Secret\'s values are never shown', () => {
    const cm = (text: string) => yamlOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'x' }, data: { 'config.yaml': text } });
    const secret = (v: string) => yamlOf({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'x' }, data: { token: v } });
    const { before, after } = fixture(
      { 'lab/x/configmap-c.yaml': cm('a: 1\nb: 2\nc: 3\n'), 'lab/x/secret-s.yaml': secret('b2xk') },
      { 'lab/x/configmap-c.yaml': cm('a: 1\nb: 20\nc: 3\n'), 'lab/x/secret-s.yaml': secret('bmV3') });
    const text = formatPlan(plan(before, after, new Set()), false);
    expect(text).toContain('data.config.yaml: (text, by line)');
    expect(text).toMatch(/-b: 2\n.*\+b: 20/);
    expect(text).toContain('data.token: changed (value not shown)');
    expect(text).not.toContain('bmV3');
    expect(text).not.toContain('b2xk');
  });
});

test('a changed map or text in the plan never shows a credential it holds', () => {
  const svc = (annotations: Record<string, string> | undefined) => yamlOf({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'x', ...(annotations ? { annotations } : {}) }, spec: {} });
  const secretValue = 'S3cr3tPa55wd-zz';
  const { before, after } = fixture(
    { 'lab/x/service-s.yaml': svc({ 'db-password': secretValue, link: `https://admin:${secretValue}@grafana.example.org/` }) },
    { 'lab/x/service-s.yaml': svc(undefined) });
  const text = formatPlan(plan(before, after, new Set()), false);
  expect(text).toContain('metadata.annotations');
  expect(text).not.toContain(secretValue);
});

describe('objects that move between Applications', () => {
  const cert = yamlOf({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'web-tls', namespace: 'web' } });
  const keep = ingress('b.example.org');

  test('when the old Application goes in the same change: shown as moved and adopted in place, not removed and added', () => {
    const f = fixture(
      { 'lab/apps/application-a.yaml': app('a'), 'lab/apps/application-b.yaml': app('b'), 'lab/a/certificate-web-tls.yaml': cert, 'lab/b/ingress-web.yaml': keep },
      { 'lab/apps/application-b.yaml': app('b'), 'lab/b/certificate-web-tls.yaml': cert, 'lab/b/ingress-web.yaml': keep });
    const p = plan(f.before, f.after, new Set());
    expect(p.moved.map((m) => `${m.before.app} -> ${m.after.app}: ${m.after.kind}/${m.after.name}`)).toEqual(['a -> b: Certificate/web-tls']);
    expect(p.added).toEqual([]);
    expect(p.removed.map((o) => `${o.kind}/${o.name}`)).toEqual(['Application/a']);
    expect(p.blocked).toEqual([]);
    expect(formatPlan(p, false)).toContain('> Certificate web/web-tls (moved from Application a, which goes: adopted in place)');
  });

  test('when the old Application stays (it would prune the object), the move is blocked until acknowledged', () => {
    const f = fixture(
      { 'lab/apps/application-a.yaml': app('a'), 'lab/apps/application-b.yaml': app('b'), 'lab/a/certificate-web-tls.yaml': cert, 'lab/a/ingress-web.yaml': keep },
      { 'lab/apps/application-a.yaml': app('a'), 'lab/apps/application-b.yaml': app('b'), 'lab/b/certificate-web-tls.yaml': cert, 'lab/a/ingress-web.yaml': keep });
    const p = plan(f.before, f.after, new Set());
    expect(p.blocked.map((d) => d.key)).toEqual(['Certificate/web/web-tls/from/a']);
    expect(formatPlan(p, false)).toContain('which stays: see below');
    expect(plan(f.before, f.after, new Set(['Certificate/web/web-tls/from/a'])).blocked).toEqual([]);
  });

  test('a move out of an Application that stays but never prunes the object (Prune=false) is not blocked, and says so', () => {
    const kept = yamlOf({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'web-tls', namespace: 'web', annotations: { 'argocd.argoproj.io/sync-options': 'Prune=false' } } });
    const f = fixture(
      { 'lab/apps/application-a.yaml': app('a'), 'lab/apps/application-b.yaml': app('b'), 'lab/a/certificate-web-tls.yaml': kept, 'lab/a/ingress-web.yaml': keep },
      { 'lab/apps/application-a.yaml': app('a'), 'lab/apps/application-b.yaml': app('b'), 'lab/b/certificate-web-tls.yaml': kept, 'lab/a/ingress-web.yaml': keep });
    const p = plan(f.before, f.after, new Set());
    expect(p.blocked).toEqual([]);
    expect(formatPlan(p, false)).toContain('(moved from Application a, which stays and never prunes it: adopted in place)');
  });

  test('the key of a blocked move can be acknowledged in config (allowRemovals), as the plan says', () => {
    expect(labConfig((r) => { r.allowRemovals = ['Certificate/web/web-tls/from/a', 'StatefulSet/web/db/volumeClaimTemplates/data']; }).allowRemovals)
      .toEqual(['Certificate/web/web-tls/from/a', 'StatefulSet/web/db/volumeClaimTemplates/data']);
    expect(() => labConfig((r) => { r.allowRemovals = ['Certificate/web/web-tls/elsewhere/a']; })).toThrow(/allowRemovals\.0: must be a key npm run plan prints/);
  });

  test('a Namespace Argo CD never prunes (Prune=false) is not a removal that destroys data', () => {
    const kept = yamlOf({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', annotations: { 'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false' } } });
    const f = fixture({ 'lab/namespaces/namespace-shop.yaml': kept, 'lab/namespaces/namespace-web.yaml': ns('web') }, { 'lab/namespaces/namespace-web.yaml': ns('web') });
    const p = plan(f.before, f.after, new Set());
    expect(p.removed.map((o) => `${o.kind}/${o.name}`)).toEqual(['Namespace/shop']);
    expect(p.dangerous).toEqual([]);
  });
});
