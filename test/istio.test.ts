import { buildPlatform, renderFiles } from '../lib/platform';
import { labConfig, render, Rendered } from './helpers';

const renderWith = (change: (raw: any) => void) => new Rendered(renderFiles(buildPlatform(labConfig(change))));

const lab = render();
const ISTIO = 'https://istio-release.storage.googleapis.com/charts';
const TEMPO = { name: 'otlp', opentelemetry: { service: 'tempo-distributor.observability.svc.cluster.local', port: 4317 } };

describe('istio', () => {
  test('base, istiod and the gateway are pinned charts of the Istio repo, in the istio namespace', () => {
    for (const [app, chart] of [['istio-base', 'base'], ['istiod', 'istiod'], ['istio-ingressgateway', 'gateway']]) {
      expect(lab.app(app).spec.source).toMatchObject({ repoURL: ISTIO, chart, targetRevision: '1.24.2' });
      expect(lab.app(app).spec.destination.namespace).toBe('istio-system');
    }
  });

  test('values are set at the top level, never under _internal_defaults_do_not_set', () => {
    for (const app of ['istio-base', 'istiod', 'istio-ingressgateway']) {
      expect(Object.keys(lab.app(app).spec.source.helm.valuesObject)).not.toContain('_internal_defaults_do_not_set');
    }
  });

  test('istiod carries the guide\'s mesh config: prometheus metrics, otlp tracing to Tempo', () => {
    const mesh = lab.app('istiod').spec.source.helm.valuesObject.meshConfig;
    expect(mesh.defaultProviders).toEqual({ metrics: ['prometheus'], tracing: ['otlp'] });
    expect(mesh.extensionProviders).toEqual([TEMPO]);
    expect(mesh.accessLogFile).toBe('/dev/stdout');
  });

  test('the gateway is istio-ingressgateway with the labels the apps\' Gateways select', () => {
    const app = lab.app('istio-ingressgateway');
    expect(app.spec.source.helm.releaseName).toBe('istio-ingressgateway');
    const labels = app.spec.source.helm.valuesObject.labels;
    for (const gw of lab.all('Gateway') as any[]) {
      for (const [k, v] of Object.entries(gw.spec.selector)) expect(labels[k]).toBe(v);
    }
    expect(labels.istio).toBe('ingressgateway');
  });

  test('waves: CRDs, then istiod, then the gateway and the Telemetry', () => {
    expect(lab.wave('istiod')).toBeGreaterThan(lab.wave('istio-base'));
    expect(lab.wave('istio-ingressgateway')).toBeGreaterThan(lab.wave('istiod'));
    expect(lab.wave('istio-telemetry')).toBeGreaterThan(lab.wave('istiod'));
    const platform = buildPlatform(labConfig());
    const base = platform.components.find((c) => c.name === 'istio-base')!;
    expect([...base.providesApiGroups].sort()).toEqual(['networking.istio.io', 'security.istio.io', 'telemetry.istio.io']);
  });

  test('Telemetry mesh-default samples the configured share of requests to otlp', () => {
    const t = lab.get('Telemetry', 'mesh-default', 'istio-system');
    expect(t.apiVersion).toBe('telemetry.istio.io/v1');
    expect(t.spec).toEqual({ tracing: [{ providers: [{ name: 'otlp' }], randomSamplingPercentage: 100 }] });
    const low = renderWith((raw) => { raw.istio.tracingSamplingPercentage = 5; });
    expect(low.get('Telemetry', 'mesh-default', 'istio-system').spec.tracing[0].randomSamplingPercentage).toBe(5);
    expect(() => labConfig((raw) => { raw.istio.tracingSamplingPercentage = 150; })).toThrow(/istio\.tracingSamplingPercentage/);
  });

  test('the IstioOperator for istioctl is rendered to istioctl/ and synced by no Application', () => {
    const files = lab.in('istioctl');
    expect(files.map((f) => f.path)).toEqual(['istioctl/istiooperator-istio.yaml']);
    const iop: any = files[0].manifest;
    expect(iop.apiVersion).toBe('install.istio.io/v1alpha1');
    expect(iop.metadata).toEqual({ name: 'istio', namespace: 'istio-system' });
    expect(iop.spec.profile).toBe('demo');
    expect(iop.spec.meshConfig.defaultProviders).toEqual({ metrics: ['prometheus'], tracing: ['otlp'] });
    expect(iop.spec.meshConfig.extensionProviders).toEqual([TEMPO]);
    // Same mesh config as the chart, so the two install paths cannot disagree.
    const { enablePrometheusMerge, ...chartMesh } = lab.app('istiod').spec.source.helm.valuesObject.meshConfig;
    expect(iop.spec.meshConfig).toEqual(chartMesh);
    for (const f of lab.in('apps')) expect((f.manifest as any).spec.source.path ?? '').not.toMatch(/istioctl/);
    expect(iop.metadata.annotations).toBeUndefined();
  });

  test('sidecar injection is on for the configured namespaces only', () => {
    expect(lab.get('Namespace', 'default').metadata.labels).toEqual({ 'istio-injection': 'enabled' });
    expect(lab.get('Namespace', 'istio-system').metadata.labels).toBeUndefined();
    const two = renderWith((raw) => { raw.istio.injectionNamespaces = ['default', 'shop']; });
    expect(two.get('Namespace', 'shop').metadata.labels).toEqual({ 'istio-injection': 'enabled' });
  });
});
