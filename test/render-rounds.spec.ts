// How a cluster's charts are rendered (lib/render.ts renderRounds), driven with made-up renders: which charts
// each round asks for, with which arguments, and what counts as unstable.
import * as fs from 'fs';
import * as path from 'path';
import { c as tarCreate } from 'tar';
import { chartSource } from '../lib/versions';
import { apiVersionsReadBy, archiveTraits, ChartInput, chartTraits, ChartTraits, RenderedChart, renderRounds, RenderRequest } from '../lib/render';
import { tempDir } from './helpers';

const input = (application: string): ChartInput => ({
  application, source: { repoURL: 'https://charts.example.com', chart: application, version: '1.0.0' }, releaseName: application, namespace: application, values: {},
});
const crd = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'things.example.com' },
  spec: { group: 'example.com', names: { kind: 'Thing' }, versions: [{ name: 'v1', served: true }] } };
const secret = (value: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'x' }, data: { k: value } });
const chart = (application: string, objects: object[]): RenderedChart =>
  ({ application, objects: objects.map((manifest) => ({ source: 't.yaml', manifest: manifest as any })), helm: { version: 'v3', origin: 'test' }, fromCache: false, unstable: [] });

/** Drives the rounds; `render` answers each request. Returns the rounds asked for and the result. */
function drive(charts: ChartInput[], traits: Record<string, ChartTraits>, render: (r: RenderRequest) => object[]) {
  const rounds: RenderRequest[][] = [];
  const gen = renderRounds(charts, '1.31', (c) => traits[c.application]);
  let step = gen.next();
  while (!step.done) {
    rounds.push(step.value);
    step = gen.next(step.value.map((r) => chart(r.application, render(r))));
  }
  return { rounds, result: step.value };
}

const still: ChartTraits = { apiVersionsRead: [], mayBeRandom: false };

describe('render rounds', () => {
  test('round 2 passes the CRDs\' API versions, only to charts that read them', () => {
    const { rounds } = drive([input('operator'), input('reader'), input('plain')],
      { operator: still, reader: { apiVersionsRead: 'all', mayBeRandom: false }, plain: still },
      (r) => (r.application === 'operator' ? [crd] : []));
    expect(rounds).toHaveLength(2);
    expect(rounds[0].every((r) => !r.apiVersions.includes('example.com/v1'))).toBe(true);
    expect(rounds[1].map((r) => r.application)).toEqual(['reader']);
    expect(rounds[1][0].apiVersions).toEqual(expect.arrayContaining(['example.com/v1', 'example.com/v1/Thing', 'apps/v1']));
  });

  test('a chart that can be random is rendered again with the same arguments; what differs is unstable', () => {
    let n = 0;
    const { rounds, result } = drive([input('harbor')], { harbor: { apiVersionsRead: [], mayBeRandom: true } }, () => [secret(String(n++))]);
    expect(rounds.map((r) => r.map((q) => q.attempt ?? 1))).toEqual([[1], [2]]);
    expect(result.get('harbor')!.unstable).toEqual(['Secret x/s']);
  });

  test('a capability change alone is not instability; random data behind capabilities is', () => {
    const traits: Record<string, ChartTraits> = { operator: still, reader: { apiVersionsRead: ['example.com/v1/Thing'], mayBeRandom: true } };
    // The reader renders an extra label once it sees the CRD: round 1 and 2 differ, a third render agrees.
    const stable = drive([input('operator'), input('reader')], traits,
      (r) => (r.application === 'operator' ? [crd] : [secret(r.apiVersions.includes('example.com/v1/Thing') ? 'with' : 'without')]));
    expect(stable.rounds).toHaveLength(3);
    expect(stable.result.get('reader')!.unstable).toEqual([]);
    expect(stable.result.get('reader')!.objects[0].manifest).toMatchObject({ data: { k: 'with' } });
    let n = 0;
    const random = drive([input('operator'), input('reader')], traits, (r) => (r.application === 'operator' ? [crd] : [secret(String(n++))]));
    expect(random.result.get('reader')!.unstable).toEqual(['Secret x/s']);
  });

  test('a chart that asks by name only for API versions no CRD serves is final after round 1; if it may be random, round 2 repeats round 1', () => {
    let n = 0;
    const { rounds, result } = drive([input('operator'), input('autoscaled'), input('random')], {
      operator: still,
      autoscaled: { apiVersionsRead: ['autoscaling/v2', 'other.example.com/v1'], mayBeRandom: false },
      random: { apiVersionsRead: ['policy/v1'], mayBeRandom: true },
    }, (r) => (r.application === 'operator' ? [crd] : r.application === 'random' ? [secret(String(n++))] : []));
    expect(rounds.map((r) => r.map((q) => `${q.application} ${q.attempt ?? 1} ${q.apiVersions.includes('example.com/v1') ? 'crds' : 'built-in'}`))).toEqual([
      ['operator 1 built-in', 'autoscaled 1 built-in', 'random 1 built-in'],
      ['random 2 built-in'],
    ]);
    expect(result.get('random')!.unstable).toEqual(['Secret x/s']);
  });

  test('objects of Helm hooks Argo CD ignores are left out; its own hooks stay', () => {
    const hook = (name: string, h: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'x', annotations: { 'helm.sh/hook': h } } });
    const { result } = drive([input('c')], { c: still }, () => [hook('test', 'test'), hook('migrate', 'pre-install,pre-upgrade'), hook('rollback', 'pre-rollback')]);
    expect(result.get('c')!.objects.map((o) => o.manifest.metadata.name)).toEqual(['migrate']);
  });

  test('what the vendored charts ask of the API versions, read from their templates', () => {
    // argo-cd asks through a variable ($apiVersion): any API version may change its output.
    expect(chartTraits(chartSource('argo-cd')).apiVersionsRead).toBe('all');
    // kube-prometheus-stack asks by name, none of them a CRD the platform installs: a CRD never renders it again.
    const kps = chartTraits(chartSource('kube-prometheus-stack')).apiVersionsRead;
    expect(kps).toEqual(expect.arrayContaining(['autoscaling/v2', 'autoscaling.k8s.io/v1']));
    expect(kps).not.toEqual(expect.arrayContaining([expect.stringMatching(/^monitoring\.coreos\.com\//)]));
    // loki asks whether the Prometheus operator's kinds are served (its rules and monitors hang on them).
    expect(chartTraits(chartSource('loki')).apiVersionsRead).toEqual(expect.arrayContaining(['monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PrometheusRule']));
    // cert-manager never asks.
    expect(chartTraits(chartSource('cert-manager')).apiVersionsRead).toEqual([]);
  });

  test.each([
    ['a question by name', '{{- if .Capabilities.APIVersions.Has "policy/v1" }}', ['policy/v1']],
    ['the has form, from the root', '{{ if has "x.io/v1/Thing" $.Capabilities.APIVersions }}', ['x.io/v1/Thing']],
    ['braces in a string before it', '{{ printf "}}" }}{{ if .Capabilities.APIVersions.Has "a.io/v1" }}{{ end }}', ['a.io/v1']],
    ['only the Kubernetes version', '{{ semverCompare ">=1.21-0" .Capabilities.KubeVersion.Version }}', []],
    ['a security context\'s capabilities, a CRD column', 'requiredDropCapabilities: [ALL]\n- name: Capabilities\n  jsonPath: .status.capabilities', []],
    ['a question through a variable', '{{ if .Capabilities.APIVersions.Has $apiVersion }}', 'all'],
    ['the capabilities serialized', '{{ toYaml .Capabilities }}', 'all'],
    ['the capabilities kept in a variable', '{{ $c := .Capabilities }}{{ if $c.APIVersions.Has "policy/v1" }}', 'all'],
    ['the capabilities by index', '{{ index $ "Capabilities" "APIVersions" }}', 'all'],
    ['the root context serialized', '{{ toJson $ }}', 'all'],
    ['a values string a template passes to tpl', 'expr: .Capabilities.APIVersions', 'all'],
  ])('what a chart text asks of the API versions: %s', (_, text, read) => {
    expect(apiVersionsReadBy(text)).toEqual(read);
  });

  test('a subchart packed in charts/ is read too; another .tgz is only data', () => {
    const work = tempDir();
    const write = (rel: string, text: string | Buffer) => {
      fs.mkdirSync(path.dirname(path.join(work, rel)), { recursive: true });
      fs.writeFileSync(path.join(work, rel), text);
    };
    write('sub/Chart.yaml', 'apiVersion: v2\nname: sub\nversion: 0.1.0\n');
    write('sub/templates/x.yaml', '{{- if .Capabilities.APIVersions.Has $v }}{{ randAlphaNum 8 }}{{ end }}\n');
    write('parent/Chart.yaml', 'apiVersion: v2\nname: parent\nversion: 0.1.0\n');
    write('parent/templates/y.yaml', '{{- if .Capabilities.APIVersions.Has "policy/v1" }}{{ end }}\n');
    write('parent/files/blob.tgz', Buffer.from('not an archive'));
    write('parent/charts/broken.tgz', Buffer.from('not an archive either'));
    tarCreate({ gzip: true, cwd: work, file: path.join(work, 'parent/charts/sub-0.1.0.tgz'), sync: true, portable: true }, ['sub']);
    tarCreate({ gzip: true, cwd: work, file: path.join(work, 'parent.tgz'), sync: true, portable: true }, ['parent']);
    expect(archiveTraits(fs.readFileSync(path.join(work, 'parent.tgz')))).toEqual({ apiVersionsRead: 'all', mayBeRandom: true });
    fs.rmSync(path.join(work, 'parent/charts'), { recursive: true });
    tarCreate({ gzip: true, cwd: work, file: path.join(work, 'alone.tgz'), sync: true, portable: true }, ['parent']);
    expect(archiveTraits(fs.readFileSync(path.join(work, 'alone.tgz')))).toEqual({ apiVersionsRead: ['policy/v1'], mayBeRandom: false });
  });
});
