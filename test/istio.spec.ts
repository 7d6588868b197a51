import { chartFiles } from '../lib/platform';
import { labConfig, render } from './helpers';

const renderWith = (change: (raw: any) => void) => render(labConfig(change));

const lab = render();
const ISTIO = 'https://istio-release.storage.googleapis.com/charts';
const TEMPO = { name: 'otlp', opentelemetry: { service: 'tempo-distributor.observability.svc.cluster.local', port: 4317 } };

describe('istio', () => {
  test('base, istiod and the gateway are pinned charts of the Istio repo, in the istio namespace', () => {
    for (const [app, chart] of [['istio-base', 'base'], ['istiod', 'istiod'], ['istio-ingressgateway', 'gateway']]) {
      expect(lab.chart(app)).toMatchObject({ repoURL: ISTIO, chart, targetRevision: '1.24.2' });
      expect(lab.app(app).spec.destination.namespace).toBe('istio-system');
    }
  });

  test('values are set at the top level, never under _internal_defaults_do_not_set', () => {
    for (const app of ['istio-base', 'istiod', 'istio-ingressgateway']) {
      expect(Object.keys(lab.values(app))).not.toContain('_internal_defaults_do_not_set');
    }
  });

  test('istiod renders no PodDisruptionBudget: with one replica it would block every node drain', () => {
    expect(lab.values('istiod').global.defaultPodDisruptionBudget).toEqual({ enabled: false });
    const istiod = lab.platform!.components.find((c) => c.name === 'istiod')!;
    expect(istiod.appliedManifests.filter((m) => m.kind === 'PodDisruptionBudget')).toEqual([]);
    expect(istiod.appliedManifests.filter((m) => m.kind === 'Deployment').map((m: any) => m.spec.replicas ?? 1)).toEqual([1]);
  });

  test('istiod carries the guide\'s mesh config: prometheus metrics, otlp tracing to Tempo', () => {
    const mesh = lab.values('istiod').meshConfig;
    expect(mesh.defaultProviders).toEqual({ metrics: ['prometheus'], tracing: ['otlp'] });
    expect(mesh.extensionProviders).toEqual([TEMPO]);
    expect(mesh.accessLogFile).toBe('/dev/stdout');
  });

  test('the gateway is istio-ingressgateway with the labels the apps\' Gateways select', () => {
    expect(lab.chart('istio-ingressgateway').helm.releaseName).toBe('istio-ingressgateway');
    const labels = lab.values('istio-ingressgateway').labels;
    for (const gw of lab.all('Gateway') as any[]) {
      for (const [k, v] of Object.entries(gw.spec.selector)) expect(labels[k]).toBe(v);
    }
    expect(labels.istio).toBe('ingressgateway');
  });

  test('waves: CRDs, then istiod (with the Telemetry), then the gateway', () => {
    expect(lab.wave('istiod')).toBeGreaterThan(lab.wave('istio-base'));
    expect(lab.wave('istio-ingressgateway')).toBeGreaterThan(lab.wave('istiod'));
    // istio-base's chart renders the Istio CRDs; what writes Istio custom resources is synced after it.
    const base = lab.platform!.components.find((c) => c.name === 'istio-base')!;
    const groups = base.appliedManifests.filter((m) => m.kind === 'CustomResourceDefinition').map((m: any) => m.spec.group);
    expect([...new Set(groups)].sort()).toEqual(['extensions.istio.io', 'networking.istio.io', 'security.istio.io', 'telemetry.istio.io']);
    expect(lab.dependencies('istiod')).toContain('istio-base');
    expect(lab.in('istiod').map((f) => f.manifest.kind).sort()).toEqual(['PeerAuthentication', 'PodMonitor', 'Telemetry']);
    expect(lab.dependencies('workloads')).toEqual(expect.arrayContaining(['istio-base', 'istiod', 'istio-ingressgateway']));
    expect(lab.dependencies('kiali')).toContain('istio-base');
  });

  test('Telemetry mesh-default samples the configured share of requests to otlp', () => {
    const t = lab.get('Telemetry', 'mesh-default', 'istio-system');
    expect(t.apiVersion).toBe('telemetry.istio.io/v1');
    expect(t.spec).toEqual({ tracing: [{ providers: [{ name: 'otlp' }], randomSamplingPercentage: 100 }] });
    const low = renderWith((raw) => { raw.istio.tracingSamplingPercentage = 5; });
    expect(low.get('Telemetry', 'mesh-default', 'istio-system').spec.tracing[0].randomSamplingPercentage).toBe(5);
    expect(() => labConfig((raw) => { raw.istio.tracingSamplingPercentage = 150; })).toThrow(/istio\.tracingSamplingPercentage/);
  });

  test('Istio is installed one way only, by its charts: no istioctl/ folder, no IstioOperator anywhere', () => {
    expect(lab.files.filter((f) => f.path.split('/')[0] === 'istioctl')).toEqual([]);
    expect(lab.all('IstioOperator')).toEqual([]);
    // Nor does any chart Application render one (or its CRD), and no Application points at an istioctl folder.
    const rendered = chartFiles(lab.platform!).map((f) => f.manifest as any);
    expect(rendered.length).toBeGreaterThan(0);
    expect(rendered.filter((m) => m.kind === 'IstioOperator' || (m.kind === 'CustomResourceDefinition' && m.spec.names.kind === 'IstioOperator'))).toEqual([]);
    for (const f of lab.in('apps')) expect(JSON.stringify((f.manifest as any).spec)).not.toMatch(/istioctl/);
  });

  test('sidecar injection is on for the configured namespaces only', () => {
    expect(lab.get('Namespace', 'default').metadata.labels).toEqual({ 'istio-injection': 'enabled' });
    expect(lab.get('Namespace', 'istio-system').metadata.labels).toBeUndefined();
    const two = renderWith((raw) => { raw.istio.injectionNamespaces = ['default', 'shop']; });
    expect(two.get('Namespace', 'shop').metadata.labels).toEqual({ 'istio-injection': 'enabled' });
  });
});
