// Istio 1.30.3 on Kubernetes 1.34, as config/prod.yaml runs them, with every Istio kind we construct
// (test/fixtures/istio130.yaml adds the guide's traffic management over prod): the 1.30 charts render with our
// values, the whole cluster state validates against 1.30's values and CRDs, and the CRD bindings made from
// 1.24.2 build only objects 1.30.3 accepts.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { KEEP } = require('../scripts/trim-imports') as { KEEP: Record<string, string[]> };
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { composePlatform } from '../charts/platform';
import { HelmComponent, isHelmComponent } from '../lib/component';
import { buildPlatform, Platform, renderFiles } from '../lib/platform';
import { validationOptions } from '../lib/validate-platform';
import { formatViolations, schemaRegistry, validateManifests } from '../lib/validation';
import { crdFilesOf } from '../lib/versions';
import { parseConfig } from '../lib/config';
import { labPlatform, Rendered, unionViolations } from './helpers';

const FIXTURE = path.join(__dirname, 'fixtures', 'istio130.yaml');
const PROD = path.join(__dirname, '..', 'config', 'prod.yaml');
const ISTIO_CHARTS = ['istio-base', 'istiod', 'istio-ingressgateway'];

/** Merges `over` into `base`, key by key (lists and scalars replace). */
function merge(base: any, over: any): any {
  if (typeof base !== 'object' || base === null || Array.isArray(base) || typeof over !== 'object' || over === null || Array.isArray(over)) return over;
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? merge(out[k], v) : v;
  return out;
}

let built: { platform: Platform; files: Rendered } | undefined;
/** The fixture environment, built once for this file. */
function istio130(): { platform: Platform; files: Rendered } {
  if (!built) {
    const overlay = yaml.load(fs.readFileSync(FIXTURE, 'utf8'));
    const prod = yaml.load(fs.readFileSync(PROD, 'utf8'));
    const config = parseConfig(yaml.dump(merge(prod, overlay)), PROD);
    const platform = buildPlatform(composePlatform(config));
    built = { platform, files: new Rendered(renderFiles(platform), platform) };
  }
  return built;
}

const chartOf = (platform: Platform, name: string) =>
  platform.components.filter(isHelmComponent).find((c) => c.name === name) as HelmComponent<any> ?? (() => { throw new Error(`no chart component ${name}`); })();
const rendered = (platform: Platform, name: string, kind: string) => chartOf(platform, name).render.objects.map((o) => o.manifest as any).filter((m) => m.kind === kind);

describe('Istio 1.30.3 on Kubernetes 1.34 (config/prod.yaml with test/fixtures/istio130.yaml)', () => {
  test('its Istio Applications name 1.30.3 (the lab keeps 1.24.2), every other chart both run at the lab\'s version', () => {
    const { platform, files } = istio130();
    expect(platform.config.cluster.kubernetesVersion).toBe('1.34');
    for (const app of ISTIO_CHARTS) {
      expect(files.chart(app).targetRevision).toBe('1.30.3');
      expect(chartOf(labPlatform(), app).source.version).toBe('1.24.2');
    }
    // Every other chart the lab also runs is at the lab's version.
    const versions = (p: Platform) => new Map(p.components.filter(isHelmComponent).filter((c) => !ISTIO_CHARTS.includes(c.name)).map((c) => [c.name, c.source.version]));
    const [here, lab] = [versions(platform), versions(labPlatform())];
    const shared = [...here.keys()].filter((name) => lab.has(name));
    expect(shared.length).toBeGreaterThan(8);
    expect(shared.filter((name) => here.get(name) !== lab.get(name))).toEqual([]);
  });

  test('the 1.30.3 charts render with our values: one istiod without a disruption budget, every request traced, the gateway\'s labels', () => {
    const { platform } = istio130();
    const [istiod] = rendered(platform, 'istiod', 'Deployment');
    expect(istiod.spec.template.spec.containers[0].image).toMatch(/\/pilot:1\.30\.3$/);
    expect(istiod.spec.replicas ?? 1).toBe(1);
    expect(istiod.spec.template.spec.containers[0].env).toEqual(expect.arrayContaining([{ name: 'PILOT_TRACE_SAMPLING', value: '100' }]));
    expect(rendered(platform, 'istiod', 'PodDisruptionBudget')).toEqual([]);
    expect(rendered(platform, 'istiod', 'HorizontalPodAutoscaler')).toEqual([]);
    const mesh = yaml.load(rendered(platform, 'istiod', 'ConfigMap').find((m) => m.metadata.name === 'istio').data.mesh) as any;
    expect(mesh.extensionProviders).toEqual([{ name: 'otlp', opentelemetry: { service: 'tempo-distributor.observability.svc.cluster.local', port: 4317 } }]);
    expect(mesh.enablePrometheusMerge).toBe(true);

    const [gateway] = rendered(platform, 'istio-ingressgateway', 'Deployment');
    expect(gateway.metadata.name).toBe('istio-ingressgateway');
    expect(gateway.spec.template.metadata.labels).toMatchObject({ istio: 'ingressgateway', app: 'istio-ingressgateway' });
    expect(rendered(platform, 'istio-ingressgateway', 'HorizontalPodAutoscaler')).toEqual([]);
    // The base chart installs 1.30's CRDs (Sidecar among them, which 1.24's pinned CRD file lacks).
    const crds = rendered(platform, 'istio-base', 'CustomResourceDefinition').map((m) => m.metadata.name);
    expect(crds).toEqual(expect.arrayContaining(['sidecars.networking.istio.io', 'telemetries.telemetry.istio.io']));
  });

  test('the whole cluster state validates with no violation, against Kubernetes 1.34 and the CRDs of Istio 1.30.3', () => {
    const { platform } = istio130();
    const options = validationOptions(platform);
    expect(options.kubernetesVersion).toBe('1.34');
    expect(options.crdFiles).toContain('istio-1.30.crds.yaml');
    expect(options.crdFiles).not.toContain('istio.crds.yaml');
    expect(validationOptions(labPlatform()).crdFiles).toContain('istio.crds.yaml');
    const violations = unionViolations(undefined, platform);
    expect(formatViolations(violations)).toBe('');
  });
});

describe('custom resources are checked against the CRDs of the chart versions the environment runs', () => {
  // A field Istio 1.30's Telemetry has and 1.24's lacks.
  const telemetry = {
    apiVersion: 'telemetry.istio.io/v1', kind: 'Telemetry', metadata: { name: 'mesh-default', namespace: 'istio-system' },
    spec: { tracing: [{ providers: [{ name: 'otlp' }], enableIstioTags: false }] },
  };
  const schemaViolations = (crdFiles: readonly string[]) => validateManifests([{ path: 'istiod/telemetry.yaml', manifest: telemetry }], { kubernetesVersion: '1.34', crdFiles })
    .filter((v) => v.rule === 'schema');

  test('crdFilesOf picks each chart\'s CRD file by the version it runs, the default for the rest', () => {
    const istio = (version: string) => ({ repoURL: 'https://istio-release.storage.googleapis.com/charts', chart: 'base', version });
    const on130 = crdFilesOf([istio('1.30.3')]);
    expect(on130).toContain('istio-1.30.crds.yaml');
    expect(on130).not.toContain('istio.crds.yaml');
    expect(on130).toContain('cert-manager.crds.yaml');
    expect(crdFilesOf([istio('1.24.2')])).toEqual(crdFilesOf([]));
    expect(crdFilesOf([])).toContain('istio.crds.yaml');
  });

  test('a 1.30-only field passes on 1.30.3 and is an unknown field on 1.24.2', () => {
    expect(schemaViolations(crdFilesOf([{ repoURL: 'https://istio-release.storage.googleapis.com/charts', chart: 'base', version: '1.30.3' }]))).toEqual([]);
    expect(schemaViolations(crdFilesOf([]))).toEqual([expect.objectContaining({ field: 'spec.tracing[0].enableIstioTags', message: expect.stringContaining('unknown field "enableIstioTags"') })]);
  });

  test('a CRD file the bundle lacks is refused, naming the fix', () => {
    expect(() => schemaRegistry(undefined, '1.34', ['istio-1.99.crds.yaml'])).toThrow(/schemas\/crds\.json holds no CRD file istio-1\.99\.crds\.yaml .*list the chart version with its crds in versions\.yaml and run npm run gen:schemas/);
  });
});

describe('the Istio bindings in imports/ stay at 1.24.2: the kinds we construct are the same in 1.30.3', () => {
  type Schema = { [k: string]: any };
  const bundle = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'schemas', 'crds.json'), 'utf8')) as { kinds: Record<string, Schema> };
  const schemaOf = (key: string): Schema => {
    let e = bundle.kinds[key];
    if (!e) throw new Error(`schemas/crds.json has no ${key}`);
    while (e.sameAs) e = bundle.kinds[e.sameAs];
    return e.schema;
  };
  /** Every field path a schema declares, `$ref`s to its shared definitions followed. */
  const fieldPaths = (root: Schema): Set<string> => {
    const out = new Set<string>();
    const walk = (s: Schema | undefined, at: string) => {
      if (!s || typeof s !== 'object') return;
      if (typeof s.$ref === 'string') return walk(root.definitions[s.$ref.split('/').pop()!], at);
      for (const [k, v] of Object.entries((s.properties ?? {}) as Schema)) { out.add(`${at}.${k}`); walk(v, `${at}.${k}`); }
      if (s.items && typeof s.items === 'object') walk(s.items, `${at}[]`);
      if (s.additionalProperties && typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${at}{}`);
    };
    walk(root, '');
    return out;
  };
  const istioModules = Object.keys(KEEP).filter((m) => m.endsWith('.istio.io'));

  test('every field the 1.24.2 schema of each bound kind declares, 1.30.3 declares too', () => {
    const checked: string[] = [];
    for (const module of istioModules) {
      const source = fs.readFileSync(path.join(__dirname, '..', 'imports', `${module}.ts`), 'utf8');
      for (const kind of KEEP[module]) {
        // The apiVersion the binding writes.
        const apiVersion = new RegExp(`apiVersion: '([^']+)',\\n\\s+kind: '${kind}'`).exec(source)?.[1];
        expect(apiVersion).toBeDefined();
        const older = fieldPaths(schemaOf(`istio.crds.yaml ${apiVersion}/${kind}`));
        const newer = fieldPaths(schemaOf(`istio-1.30.crds.yaml ${apiVersion}/${kind}`));
        expect([...older].filter((p) => !newer.has(p)).map((p) => `${kind}${p}`)).toEqual([]);
        checked.push(kind);
      }
    }
    expect(checked.sort()).toEqual(['AuthorizationPolicy', 'DestinationRule', 'Gateway', 'PeerAuthentication', 'ServiceEntry', 'Telemetry', 'VirtualService']);
  });

  test('every Istio object the platform constructs validates against both versions\' CRDs', () => {
    const { platform, files } = istio130();
    const ours = files.files.map((f) => f.manifest as any).filter((m) => /\.istio\.io\//.test(m.apiVersion));
    const lab = schemaRegistry(undefined, '1.34', crdFilesOf([]));
    const on130 = schemaRegistry(undefined, '1.34', validationOptions(platform).crdFiles);
    expect(on130.crdFiles).toContain('istio-1.30.crds.yaml');
    const problems = ours.flatMap((m) => [lab, on130].flatMap((r) => (r.check(m.apiVersion, m.kind, m) ?? [{ field: '', message: 'no schema' }])
      .map((p) => `${r.crdFiles.find((f) => f.startsWith('istio'))}: ${m.kind} ${m.metadata.namespace}/${m.metadata.name} ${p.field}: ${p.message}`)));
    // Sidecar has no schema in 1.24.2's pinned file (it is built without a binding: charts/mesh-security.ts).
    expect(problems.filter((p) => !/^istio\.crds\.yaml: Sidecar .*no schema$/.test(p))).toEqual([]);
    // What this environment constructs covers every bound kind.
    const bound = istioModules.flatMap((m) => KEEP[m]);
    expect(bound.filter((k) => !ours.some((m) => m.kind === k))).toEqual([]);
  });
});
