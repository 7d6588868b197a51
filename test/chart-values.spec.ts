// unreadValues: which keys of a values object a chart never reads, on small charts packed here.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tar from 'tar';
import { chartIdentity, explainValue, storeUnreadValuesIn, suggestValueKey, unreadValues } from '../lib/chart-values';

// Analyses stay in memory here, as when this file ran alone: lib/validate-platform.ts, which other specs
// load, keeps them in dist/values-cache.
let resultsDir: string | undefined;
beforeAll(() => { resultsDir = storeUnreadValuesIn(undefined); });
afterAll(() => { storeUnreadValuesIn(resultsDir); });

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-values-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let counter = 0;

/** Packs the files (relative to the chart folder `name`) into a .tgz and returns its path. */
function pack(name: string, files: Record<string, string | Buffer>): string {
  const dir = path.join(tmp, `src-${++counter}`);
  for (const [rel, content] of Object.entries(files)) {
    const f = path.join(dir, name, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, content);
  }
  const file = path.join(tmp, `${name}-${counter}.tgz`);
  tar.create({ gzip: true, sync: true, cwd: dir, file, portable: true }, [name]);
  return file;
}

function chartYaml(name: string, version: string, extra = ''): string {
  return `apiVersion: v2\nname: ${name}\nversion: ${version}\n${extra}`;
}

const paths = (archive: string | Buffer, values: object) => unreadValues(archive, values).map((u) => u.path);

describe('unreadValues', () => {
  const app = () => pack('app', {
    'Chart.yaml': chartYaml('app', '1.2.3'),
    'values.yaml': [
      'replicas: 1',
      'podAnnotations: {}',
      'nodeSelector:',
      '  kubernetes.io/os: linux',
      'image:',
      '  repository: nginx',
      '  tag: "1.27"',
      'resources: ~',
      'extraArgs: []',
    ].join('\n'),
    'templates/deployment.yaml': [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'spec:',
      '  replicas: {{ .Values.replicas }}',
      '  template:',
      '    metadata:',
      '      annotations: {{- toYaml .Values.podAnnotations | nindent 8 }}',
      '    spec:',
      '      containers:',
      '        - image: {{ .Values.image.repository }}:{{ .Values.image.tag }}',
      '          {{- with .Values.tuning }}',
      '          env: {{ toYaml . | nindent 12 }}',
      '          {{- end }}',
      '          {{- if .Values.metrics.enabled }}',
      '          ports: [{ containerPort: {{ .Values.metrics.port }} }]',
      '          {{- end }}',
      '{{/* .Values.commentedOut is only a comment */}}',
    ].join('\n'),
    'templates/_helpers.tpl': '{{- define "app.name" -}}{{ index .Values "name-override" | default .Chart.Name }}{{- end }}',
  });

  test('a key absent from the defaults and from every template is reported, naming the chart and version', () => {
    const r = unreadValues(app(), { replicas: 2, replica: 3, image: { repository: 'x', tags: 'y' } });
    expect(r.map((u) => u.path)).toEqual(['replica', 'image.tags']);
    expect(r[0].segments).toEqual(['replica']);
    expect(r[0].reason).toContain('app 1.2.3');
    expect(r[0].reason).toContain('no default');
  });

  test('a key under an empty-map, null or list default is accepted with its whole subtree', () => {
    expect(paths(app(), {
      podAnnotations: { 'prometheus.io/scrape': 'true' },
      resources: { requests: { cpu: '10m' } },
      extraArgs: ['--x'],
    })).toEqual([]);
  });

  test('a non-empty map default is checked key by key', () => {
    expect(paths(app(), { nodeSelector: { 'kubernetes.io/os': 'linux', zone: 'a' } })).toEqual(['nodeSelector.zone']);
  });

  test('a key read only by a template is accepted; a with over a prefix reads all of it', () => {
    expect(paths(app(), { metrics: { enabled: true, port: 9090 }, tuning: { anything: { deep: 1 } }, 'name-override': 'x' })).toEqual([]);
  });

  test('a key only tested by an if reads the key, not what is under it', () => {
    expect(paths(app(), { metrics: { enabled: true, portt: 1 } })).toEqual(['metrics.portt']);
  });

  test('comments are not reads; keys with dots are written in brackets', () => {
    expect(paths(app(), { commentedOut: 1, 'a.b': { c: 1 } })).toEqual(['commentedOut', '["a.b"]']);
  });

  test('global is shared and always accepted', () => {
    expect(paths(app(), { global: { imageRegistry: 'r', anything: { x: 1 } } })).toEqual([]);
  });

  test('a subchart is addressed by its alias (folder subchart) and its keys are checked in the subchart', () => {
    const archive = pack('parent', {
      'Chart.yaml': chartYaml('parent', '2.0.0', [
        'dependencies:',
        '  - name: postgres',
        '    alias: db',
        '    version: 0.1.0',
        '    condition: db.enabled',
      ].join('\n')),
      'values.yaml': 'db:\n  port: 5432\n',
      'templates/cm.yaml': 'data: {{ .Values.db.port }}',
      'charts/postgres/Chart.yaml': chartYaml('postgres', '0.1.0'),
      'charts/postgres/values.yaml': 'port: 5432\nauth:\n  username: app\n',
      'charts/postgres/templates/svc.yaml': 'host: {{ .Values.host }} user: {{ .Values.auth.username }} {{ .Values.global.x }}',
    });
    const r = unreadValues(archive, { db: { enabled: true, port: 1, host: 'h', auth: { username: 'u', pasword: 'p' }, bogus: 1 }, postgres: { port: 1 } });
    expect(r.map((u) => u.path)).toEqual(['db.auth.pasword', 'db.bogus', 'postgres']);
    expect(r[0].reason).toContain('subchart db: postgres 0.1.0');
    expect(chartIdentity(archive).subcharts.db.name).toBe('postgres');
  });

  test('a packaged (.tgz) subchart is read too, and an archive may be given as a Buffer', () => {
    const sub = fs.readFileSync(pack('cache', {
      'Chart.yaml': chartYaml('cache', '3.1.0'),
      'values.yaml': 'maxmemory: 64mb\n',
      'templates/cm.yaml': '{{ .Values.maxmemory }}',
    }));
    const archive = fs.readFileSync(pack('web', {
      'Chart.yaml': chartYaml('web', '1.0.0', 'dependencies:\n  - name: cache\n    version: 3.1.0\n'),
      'values.yaml': '{}',
      'templates/x.yaml': '{{ .Values.port }}',
      'charts/cache-3.1.0.tgz': sub,
    }));
    expect(paths(archive, { port: 80, cache: { maxmemory: '1gb', maxmemroy: '1gb' } })).toEqual(['cache.maxmemroy']);
  });

  test('index, hasKey, aliases and dict parameters of defines are followed', () => {
    const archive = pack('forms', {
      'Chart.yaml': chartYaml('forms', '0.0.1'),
      'values.yaml': '',
      'templates/a.yaml': [
        '{{- $cfg := .Values.config }}',
        'a: {{ $cfg.level }} b: {{ index .Values "server" "web-root" }}',
        '{{- if hasKey .Values.probe "path" }}{{ end }}',
        '{{ include "forms.affinity" (dict "ctx" . "component" .Values.worker) }}',
        '{{- with (index $.Values "sections") }}{{ .alpha | toYaml }}{{ end }}',
      ].join('\n'),
      'templates/_helpers.tpl': '{{- define "forms.affinity" -}}{{ toYaml .component.affinity }} {{ .ctx.Release.Name }}{{- end }}',
    });
    expect(paths(archive, {
      config: { level: 'debug', lvl: 'x' },
      server: { 'web-root': '/', port: 1 },
      probe: { path: '/healthz' },
      worker: { affinity: { any: 1 }, replicas: 2 },
      sections: { alpha: { x: 1 }, beta: 1 },
    })).toEqual(['config.lvl', 'server.port', 'worker.replicas', 'sections.beta']);
  });

  test('a chart that passes .Values whole to its application: declared sections are accepted, undeclared top-level keys reported', () => {
    const archive = pack('dump', {
      'Chart.yaml': chartYaml('dump', '2.29.0'),
      'values.yaml': 'auth:\n  strategy: ""\nserver:\n  port: 20001\n',
      'templates/configmap.yaml': 'data:\n  config.yaml: |\n    {{- $cm := omit .Values "route_url" }}\n    {{- toYaml $cm | nindent 4 }}',
    });
    const r = unreadValues(archive, { auth: { strategy: 'token', openid: { x: 1 } }, server: { port: 1, web_root: '/' }, istio_namespace: 'istio-system' });
    expect(r.map((u) => u.path)).toEqual(['istio_namespace']);
    expect(r[0].reason).toContain('passes .Values whole');
    expect(suggestValueKey(archive, ['auth', 'stratgy'])).toBe('auth.strategy');
  });

  test('istio charts: defaults under the merged key count as root defaults', () => {
    const archive = pack('gw', {
      'Chart.yaml': chartYaml('gateway', '1.24.2'),
      'values.yaml': '_internal_defaults_do_not_set:\n  replicaCount: 1\n  service:\n    type: LoadBalancer\n',
      'templates/zzz_profile.yaml': [
        '{{- $defaults := $.Values._internal_defaults_do_not_set }}',
        '{{- $_ := unset $.Values "_internal_defaults_do_not_set" }}',
        '{{- $b := set $ "Values" (mustMergeOverwrite $defaults $.Values) }}',
      ].join('\n'),
      'templates/svc.yaml': 'type: {{ .Values.service.type }}',
    });
    expect(paths(archive, { replicaCount: 2, service: { type: 'ClusterIP', tpye: 'x' }, replicas: 1 })).toEqual(['service.tpye', 'replicas']);
  });

  test('values.schema.json properties count as read', () => {
    const archive = pack('schema', {
      'Chart.yaml': chartYaml('schema', '1.0.0'),
      'values.yaml': '{}',
      'values.schema.json': JSON.stringify({
        $ref: '#/$defs/values',
        $defs: { values: { type: 'object', properties: { mode: { type: 'string' }, tls: { type: 'object', properties: { enabled: { type: 'boolean' } } }, labels: { type: 'object' } } } },
      }),
      'templates/x.yaml': 'x: 1',
    });
    expect(paths(archive, { mode: 'a', tls: { enabled: true, foo: 1 }, labels: { a: 'b' }, other: 1 })).toEqual(['tls.foo', 'other']);
  });

  test('files the templates read with .Files.Get are scanned', () => {
    const archive = pack('files', {
      'Chart.yaml': chartYaml('files', '1.0.0'),
      'values.yaml': '{}',
      'templates/cm.yaml': '{{ tpl (.Files.Get "files/config.tpl.yaml") . }} {{ .Files.Get (printf "profiles/%s.yaml" .Values.profile) }}',
      'files/config.tpl.yaml': 'level: {{ .Values.logLevel }}',
      'unused/other.yaml': '{{ .Values.neverRead }}',
    });
    expect(paths(archive, { logLevel: 'info', profile: 'x', neverRead: 1 })).toEqual(['neverRead']);
  });

  test('explainValue says why a key is read', () => {
    expect(explainValue(app(), ['resources', 'limits'])).toBe('read: app 1.2.3: values.yaml has resources (null)');
    expect(explainValue(app(), ['podAnnotations', 'a'])).toBe('read: app 1.2.3: templates/deployment.yaml reads podAnnotations');
    expect(explainValue(app(), ['nope'])).toMatch(/^unread: /);
  });

  test('an archive without a chart is refused', () => {
    const dir = path.join(tmp, 'empty');
    fs.mkdirSync(path.join(dir, 'x'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'x', 'README.md'), 'hi');
    const file = path.join(tmp, 'empty.tgz');
    tar.create({ gzip: true, sync: true, cwd: dir, file }, ['x']);
    expect(() => unreadValues(file, {})).toThrow(/no Chart\.yaml/);
  });
});
