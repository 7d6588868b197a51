// How a cluster's charts are rendered (lib/render.ts renderRounds), driven with made-up renders: which charts
// each round asks for, with which arguments, and what counts as unstable.
import { chartSource } from '../lib/versions';
import { ChartInput, chartTraits, ChartTraits, RenderedChart, renderRounds, RenderRequest } from '../lib/render';

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
      (r) => (r.application === 'operator' ? [crd] : [secret(r.apiVersions.includes('example.com/v1') ? 'with' : 'without')]));
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
});
