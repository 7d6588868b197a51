// Rules unread-value and default-credential, over small objects and a chart packed here.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tar from 'tar';
import { Context, KObject } from '../../lib/validation/context';
import { ChartSourceRef, defaultCredentials, isPasswordKey, unreadValueRule, WELL_KNOWN_CREDENTIALS } from '../../lib/validation/rules-values';
import { ManifestFile, Violation } from '../../lib/validation/types';
import { storeUnreadValuesIn } from '../../lib/chart-values';

// Analyses stay in memory here, as when this file ran alone: lib/validate-platform.ts, which other specs
// load, keeps them in dist/values-cache.
let resultsDir: string | undefined;
beforeAll(() => { resultsDir = storeUnreadValuesIn(undefined); });
afterAll(() => { storeUnreadValuesIn(resultsDir); });

type M = Record<string, any>;

let tmp: string;
let archive: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rules-values-'));
  const dir = path.join(tmp, 'src', 'kiali-server');
  fs.mkdirSync(path.join(dir, 'templates'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: kiali-server\nversion: 2.29.0\n');
  fs.writeFileSync(path.join(dir, 'values.yaml'), 'auth:\n  strategy: ""\nexternal_services:\n  istio:\n    root_namespace: ""\nserver:\n  port: 20001\n');
  fs.writeFileSync(path.join(dir, 'templates', 'configmap.yaml'),
    'data:\n  config.yaml: |\n    {{- $cm := omit .Values "kiali_route_url" }}\n    {{- toYaml $cm | nindent 4 }}\n' +
    '{{ .Values.external_services.istio.root_namespace | default .Release.Namespace }}');
  archive = path.join(tmp, 'kiali-server-2.29.0.tgz');
  tar.create({ gzip: true, sync: true, cwd: path.join(tmp, 'src'), file: archive }, ['kiali-server']);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A Context over the files, as validateManifests builds it (namespace from metadata, 'default' otherwise). */
function context(files: ManifestFile[]): Context {
  const objects: KObject[] = files.map((f) => {
    const m = f.manifest as M;
    const namespace = m.metadata?.namespace ?? 'default';
    const group = m.apiVersion.includes('/') ? m.apiVersion.split('/')[0] : '';
    return {
      file: f.path, manifest: m, apiVersion: m.apiVersion, kind: m.kind, group, name: m.metadata.name, namespace,
      label: `${m.kind} ${namespace}/${m.metadata.name}`, application: f.application, rendered: f.rendered,
    };
  });
  return new Context(objects, {});
}

function application(name: string, source: M): M {
  return {
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name, namespace: 'argocd' },
    spec: { project: 'platform', destination: { server: 'https://kubernetes.default.svc', namespace: 'istio-system' }, source },
  };
}

function kiali(values: M): M {
  return application('kiali', {
    repoURL: 'https://kiali.org/helm-charts', chart: 'kiali-server', targetRevision: '2.29.0', helm: { valuesObject: values },
  });
}

function secret(name: string, namespace: string, data: Record<string, string>, encode = true): M {
  return {
    apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque',
    [encode ? 'data' : 'stringData']: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, encode ? Buffer.from(v).toString('base64') : v])),
  };
}

function run(rule: (ctx: Context) => void, files: ManifestFile[]): Violation[] {
  const ctx = context(files);
  rule(ctx);
  return ctx.violations;
}

describe('unread-value', () => {
  const seen: ChartSourceRef[] = [];
  const rule = unreadValueRule((s) => { seen.push(s); return archive; });

  test('reports each unread key at its valuesObject field, naming the chart version and a similar key', () => {
    const v = run(rule, [{ path: 'apps/application-kiali.yaml', manifest: kiali({ auth: { strategy: 'token' }, istio_namespace: 'istio-system', server: { port: 20001 } }) }]);
    expect(v.map((x) => `${x.rule} ${x.object} ${x.field}`)).toEqual([
      'unread-value Application argocd/kiali spec.source.helm.valuesObject.istio_namespace',
    ]);
    expect(v[0].message).toContain('kiali-server 2.29.0 never reads it');
    expect(v[0].fix).toContain('remove istio_namespace');
    expect(v[0].fix).toContain('external_services.istio.root_namespace');
    expect(seen).toContainEqual({ repoURL: 'https://kiali.org/helm-charts', chart: 'kiali-server', version: '2.29.0' });
  });

  test('keys the chart reads pass; so do Applications without a chart', () => {
    expect(run(rule, [
      { path: 'a.yaml', manifest: kiali({ auth: { strategy: 'token' }, external_services: { istio: { root_namespace: 'istio-system' }, grafana: { enabled: true } } }) },
      { path: 'b.yaml', manifest: application('folder', { repoURL: 'https://git.example.com/deploy.git', path: 'gitops/lab/x', targetRevision: 'main' }) },
    ])).toEqual([]);
  });

  test('a chart archive that cannot be found is reported once, on the chart', () => {
    const failing = unreadValueRule(() => { throw new Error('chart kiali-server 2.29.0 is not vendored'); });
    const v = run(failing, [{ path: 'a.yaml', manifest: kiali({ istio_namespace: 'x' }) }]);
    expect(v.map((x) => x.field)).toEqual(['spec.source.chart']);
    expect(v[0].message).toContain('not vendored');
  });

  test('a lookup that returns undefined skips the source', () => {
    expect(run(unreadValueRule(() => undefined), [{ path: 'a.yaml', manifest: kiali({ istio_namespace: 'x' }) }])).toEqual([]);
  });
});

describe('default-credential', () => {
  test('a rendered Secret carrying Harbor\'s database default is reported without the password in the message', () => {
    const harborApp = application('harbor', { repoURL: 'https://helm.goharbor.io', chart: 'harbor', targetRevision: '1.19.1', helm: { valuesObject: {} } });
    const v = run(defaultCredentials, [
      { path: 'apps/application-harbor.yaml', manifest: harborApp },
      { path: 'harbor/secret-harbor-database.yaml', manifest: secret('harbor-database', 'devops-tools', { POSTGRES_PASSWORD: 'changeit' }), application: 'harbor', rendered: true },
    ]);
    expect(v.map((x) => `${x.rule} ${x.object} ${x.field}`)).toEqual(['default-credential Secret devops-tools/harbor-database data.POSTGRES_PASSWORD']);
    const text = `${v[0].message} ${v[0].fix}`;
    expect(text).not.toContain('changeit');
    expect(text).not.toContain(Buffer.from('changeit').toString('base64'));
    expect(v[0].message).toContain("the chart's well-known default password for database.internal.password");
    expect(v[0].message).toContain('rendered by chart harbor of Application harbor');
    expect(v[0].fix).toContain('database.external.existingSecret');
  });

  test('Helm values holding a default password are reported at their field; usernames are not', () => {
    const v = run(defaultCredentials, [{
      path: 'apps/application-harbor.yaml',
      manifest: application('harbor', {
        repoURL: 'https://helm.goharbor.io', chart: 'harbor', targetRevision: '1.19.1',
        helm: { valuesObject: { harborAdminPassword: 'Harbor12345', database: { external: { username: 'admin', password: 'password' } } } },
      }),
    }]);
    expect(v.map((x) => x.field)).toEqual([
      'spec.source.helm.valuesObject.harborAdminPassword',
      'spec.source.helm.valuesObject.database.external.password',
    ]);
    for (const x of v) expect(x.message).not.toMatch(/Harbor12345|: password\b/);
    expect(v[1].message).toContain('under password key password');
  });

  test('stringData, generic defaults only under password keys, and other values pass', () => {
    const v = run(defaultCredentials, [
      { path: 's1.yaml', manifest: secret('grafana-admin', 'monitoring', { 'admin-user': 'admin', 'admin-password': 'admin' }, false) },
      { path: 's2.yaml', manifest: secret('ok', 'monitoring', { password: 'a-long-random-value' }) },
    ]);
    expect(v.map((x) => x.field)).toEqual(['stringData["admin-password"]']);
    expect(v[0].message).not.toMatch(/\badmin\b(?!-password)/);
  });

  test('the list of well-known credentials is data: every entry names its chart and a fix', () => {
    for (const c of WELL_KNOWN_CREDENTIALS) {
      expect(c.chart).not.toBe('');
      expect(c.fix.length).toBeGreaterThan(20);
    }
    expect(WELL_KNOWN_CREDENTIALS.some((c) => c.chart === 'harbor' && c.key === 'database.internal.password')).toBe(true);
    expect(['adminPassword', 'POSTGRES_PASSWORD', 'admin-password', 'REGISTRY_PASSWD'].every(isPasswordKey)).toBe(true);
    expect(['existingSecretPasswordKey', 'passwordSecret', 'admin-user'].some(isPasswordKey)).toBe(false);
  });
});
