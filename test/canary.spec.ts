// Canary delivery with Argo Rollouts: nginx of the lab, turned into a canary with analysis (a copy of the
// lab config in memory). The Rollout, its Services, the VirtualService, the DestinationRules, the
// AnalysisTemplate and the Application's ignoreDifferences must agree with each other, pass the schema
// checks against the Argo Rollouts and Istio CRDs, and set-image must bump the Rollout by one line.
import { run, withoutLockWait } from './commands';
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { inventory } from '../lib/inventory';
import { validateManifests } from '../lib/validation';
import { labConfig, labRaw, render, snapshotTree, tempDir, unionViolations } from './helpers';
import { file } from './validation/helpers';

const NS = 'default';
const PROMETHEUS = 'http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090';

/** The change that turns the lab's nginx into a canary with analysis (and the guide's traffic policy). */
function nginxCanary(raw: any): void {
  raw.apps.workloads.nginx.traffic = {
    outlierDetection: { interval: '10s', consecutive5xxErrors: 1, baseEjectionTime: '3m', maxEjectionPercent: 100 },
    timeout: '3s',
    retries: { attempts: 3, perTryTimeout: '2s', retryOn: ['5xx', 'retriable-4xx', 'gateway-error', 'connect-failure', 'refused-stream'] },
  };
  raw.apps.workloads.nginx.canary = {
    steps: [{ setWeight: 20 }, { pause: { duration: '2m' } }, { analysis: {} }, { setWeight: 50 }, { pause: {} }, { setWeight: 80 }, { analysis: {} }],
    analysis: { minSuccessRate: 0.99, maxP95LatencyMs: 500 },
  };
}

const r = render(labConfig(nginxCanary));
const lab = render();
const rollout = r.get('Rollout', 'nginx', NS);
const canary = rollout.spec.strategy.canary;
const vs = r.get('VirtualService', canary.trafficRouting.istio.virtualService.name, NS);

describe('the Rollout replaces the Deployment', () => {
  test('no Deployment nginx; the Rollout has the lab Deployment\'s metadata, selector and pod template', () => {
    expect(r.in('workloads').filter((f) => f.manifest.kind === 'Deployment').map((f) => f.manifest.metadata.name).sort()).toEqual(['login-js', 'register-js']);
    const d = lab.get('Deployment', 'nginx', NS);
    expect(rollout.metadata.labels).toEqual(d.metadata.labels);
    expect(rollout.spec.selector).toEqual(d.spec.selector);
    // The same pod template, but for the spread key: Rollout pods carry rollouts-pod-template-hash (below).
    const spreadKey = (t: any) => ({ ...t, spec: { ...t.spec, topologySpreadConstraints: t.spec.topologySpreadConstraints.map(({ matchLabelKeys: _, ...rest }: any) => rest) } });
    expect(spreadKey(rollout.spec.template)).toEqual(spreadKey(d.spec.template));
    expect(rollout.spec.replicas).toBeUndefined(); // KEDA's HPA owns the count
  });

  test('the canary steps of config, the analysis steps running the AnalysisTemplate', () => {
    const template = r.get('AnalysisTemplate', 'nginx-canary-analysis', NS);
    const run = { analysis: { templates: [{ templateName: template.metadata.name }] } };
    expect(canary.steps).toEqual([{ setWeight: 20 }, { pause: { duration: '2m' } }, run, { setWeight: 50 }, { pause: {} }, { setWeight: 80 }, run]);
  });

  test('KEDA keeps scaling it: the ScaledObject targets the Rollout', () => {
    expect(r.get('ScaledObject', 'nginx-istio-rps', NS).spec.scaleTargetRef).toEqual({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'nginx' });
  });
});

describe('the hardened pod template carries over', () => {
  test('topology spread keys on the Rollout\'s own pod-template hash, so stable and canary pods spread apart', () => {
    const spread = rollout.spec.template.spec.topologySpreadConstraints;
    expect(spread.map((t: any) => t.matchLabelKeys)).toEqual([['rollouts-pod-template-hash']]);
    expect(lab.get('Deployment', 'nginx', NS).spec.template.spec.topologySpreadConstraints[0].matchLabelKeys).toEqual(['pod-template-hash']);
  });
});

describe('Rollout, Services, VirtualService and DestinationRules agree', () => {
  test('stable and canary Services select the Rollout\'s pods on the workload Service\'s ports', () => {
    const svc = r.get('Service', 'nginx-service', NS);
    for (const name of [canary.stableService, canary.canaryService]) {
      const s = r.get('Service', name, NS);
      expect(s.spec).toEqual({ selector: svc.spec.selector, ports: svc.spec.ports });
      for (const [k, v] of Object.entries(s.spec.selector)) expect(rollout.spec.template.metadata.labels[k]).toBe(v);
    }
    expect([canary.stableService, canary.canaryService]).toEqual(['nginx-stable', 'nginx-canary']);
  });

  test('the route the Rollout manages exists and splits between exactly its two Services, all to stable in git', () => {
    expect(canary.trafficRouting).toEqual({ istio: { virtualService: { name: 'nginx-virtualservice', routes: ['primary'] } } });
    const managed = vs.spec.http.filter((h: any) => canary.trafficRouting.istio.virtualService.routes.includes(h.name));
    expect(managed).toHaveLength(1);
    expect(managed[0].route).toEqual([
      { destination: { host: canary.stableService, port: { number: 80 } }, weight: 100 },
      { destination: { host: canary.canaryService, port: { number: 80 } }, weight: 0 },
    ]);
    expect(managed[0]).toMatchObject({ timeout: '3s', retries: { attempts: 3, perTryTimeout: '2s' } });
    // Both the public host through the Gateway and the mesh's calls to nginx-service take the route.
    expect(vs.spec.hosts).toEqual(['www.k-tech.cloud', 'nginx-service']);
    expect(vs.spec.gateways).toEqual(['nginx-gateway', 'mesh']);
  });

  test('a DestinationRule per routed host carries the circuit breaking', () => {
    const hosts = vs.spec.http.flatMap((h: any) => h.route.map((d: any) => d.destination.host)).sort();
    const rules = r.in('workloads').map((f) => f.manifest as any).filter((m) => m.kind === 'DestinationRule');
    expect(rules.map((d) => d.spec.host).sort()).toEqual(hosts);
    for (const d of rules) {
      expect(d.spec.trafficPolicy.outlierDetection).toEqual({ interval: '10s', consecutive5xxErrors: 1, baseEjectionTime: '3m', maxEjectionPercent: 100 });
    }
  });

  test('the AnalysisTemplate reads the canary Service\'s success rate and p95 latency from the stack\'s Prometheus', () => {
    const t = r.get('AnalysisTemplate', 'nginx-canary-analysis', NS);
    const byName = Object.fromEntries(t.spec.metrics.map((m: any) => [m.name, m]));
    expect(Object.keys(byName)).toEqual(['success-rate', 'p95-latency']);
    const canaryLabels = `destination_service_name="${canary.canaryService}", destination_service_namespace="${NS}"`;
    expect(byName['success-rate'].provider.prometheus.query).toContain(`istio_requests_total{reporter="source", ${canaryLabels}, response_code!~"5.."}`);
    expect(byName['p95-latency'].provider.prometheus.query).toContain(`histogram_quantile(0.95, sum by (le) (rate(istio_request_duration_milliseconds_bucket{reporter="source", ${canaryLabels}}[2m])))`);
    for (const m of t.spec.metrics) {
      expect(m.provider.prometheus.address).toBe(PROMETHEUS);
      expect(m).toMatchObject({ interval: '1m', count: 5, failureLimit: 1 });
    }
    expect(byName['success-rate']).toMatchObject({ successCondition: 'result >= 0.99', failureCondition: 'result < 0.99' });
    expect(byName['p95-latency']).toMatchObject({ successCondition: 'result <= 500', failureCondition: 'result > 500' });
    // The address is the Prometheus Service the kube-prometheus-stack chart renders.
    const stack = r.platform!.components.find((c) => c.name === 'kube-prometheus-stack')!;
    expect(stack.appliedManifests.some((m) => m.kind === 'Service' && m.metadata.name === 'kube-prometheus-stack-prometheus' && m.metadata.namespace === 'monitoring')).toBe(true);
  });
});

/**
 * The fields of `obj` that one of the jq expressions the Application uses selects, as dotted paths. Only
 * the form `.spec.http[] | select(.name == "<route>") | .route[].weight` is understood: any other form fails.
 */
function selectedFields(obj: any, expr: string): string[] {
  const m = /^\.spec\.http\[\] \| select\(\.name == "([^"]+)"\) \| \.route\[\]\.weight$/.exec(expr);
  if (!m) throw new Error(`unexpected jq path expression ${expr}`);
  return (obj.spec.http ?? []).flatMap((h: any, i: number) => (h.name === m[1] ? h.route.map((_: unknown, j: number) => `spec.http.${i}.route.${j}.weight`) : []));
}

describe('the GitOps contract: Argo CD ignores exactly the weights the controller owns', () => {
  const apps = r.in('apps').map((f) => f.manifest as any);
  const workloads = r.app('workloads');

  test('the workloads Application ignores, by jq path, the weights of the routes the Rollout manages and nothing else', () => {
    expect(workloads.spec.ignoreDifferences).toHaveLength(1);
    const [entry] = workloads.spec.ignoreDifferences;
    // Never by field manager (argo-rollouts#3854), never anything but the VirtualService the Rollout names.
    expect(Object.keys(entry).sort()).toEqual(['group', 'jqPathExpressions', 'kind', 'name', 'namespace']);
    expect(entry).toMatchObject({ group: 'networking.istio.io', kind: 'VirtualService', name: vs.metadata.name, namespace: NS });
    const selected = entry.jqPathExpressions.flatMap((e: string) => selectedFields(vs, e)).sort();
    const owned = vs.spec.http.flatMap((h: any, i: number) => (canary.trafficRouting.istio.virtualService.routes.includes(h.name)
      ? h.route.map((_: unknown, j: number) => `spec.http.${i}.route.${j}.weight`) : [])).sort();
    expect(selected).toEqual(owned);
    expect(selected).toEqual(['spec.http.0.route.0.weight', 'spec.http.0.route.1.weight']);
    expect(workloads.spec.syncPolicy.syncOptions).toEqual(['CreateNamespace=true', 'RespectIgnoreDifferences=true']);
  });

  test('no other Application ignores anything or changes its sync options', () => {
    for (const a of apps.filter((x) => x.metadata.name !== 'workloads-lab')) {
      expect(a.spec.ignoreDifferences).toBeUndefined();
      if (a.metadata.name !== 'argo-rollouts-lab') expect(a.spec.syncPolicy.syncOptions).toEqual(lab.app(a.metadata.name.replace(/-lab$/, '')).spec.syncPolicy.syncOptions);
    }
    expect(lab.app('workloads').spec.syncPolicy.syncOptions).toEqual(['CreateNamespace=true']);
  });

  test('the selector would fail if the route were renamed (the contract can fail)', () => {
    const renamed = JSON.parse(JSON.stringify(vs));
    renamed.spec.http[0].name = 'main';
    expect(selectedFields(renamed, workloads.spec.ignoreDifferences[0].jqPathExpressions[0])).toEqual([]);
  });
});

describe('the Argo Rollouts controller', () => {
  test('exists only where a workload is a canary, pinned, with its CRDs, synced before the workloads', () => {
    expect(() => lab.app('argo-rollouts')).toThrow();
    expect(r.chart('argo-rollouts')).toMatchObject({ repoURL: 'https://argoproj.github.io/argo-helm', chart: 'argo-rollouts', targetRevision: '2.41.0' });
    expect(r.app('argo-rollouts').spec.destination.namespace).toBe('argo-rollouts');
    const crds = r.platform!.components.find((c) => c.name === 'argo-rollouts')!.appliedManifests.filter((m) => m.kind === 'CustomResourceDefinition') as any[];
    expect(crds.map((c) => c.spec.names.kind).sort()).toEqual(['AnalysisRun', 'AnalysisTemplate', 'ClusterAnalysisTemplate', 'Experiment', 'Rollout']);
    expect(r.dependencies('workloads')).toContain('argo-rollouts');
    expect(r.wave('workloads')).toBeGreaterThan(r.wave('argo-rollouts'));
  });

  test('notifications go to the platform\'s Slack channel with the token of a declared secret, no value in git', () => {
    const n = r.values('argo-rollouts').notifications;
    expect(n.secret).toEqual({ create: false });
    expect(n.notifiers).toEqual({ 'service.slack': 'token: $slack-token' });
    expect(n.subscriptions).toEqual([{ recipients: ['slack:devops'], triggers: expect.arrayContaining(['on-rollout-aborted', 'on-analysis-run-failed', 'on-rollout-completed']) }]);
    const es = r.get('ExternalSecret', 'argo-rollouts-notification-secret', 'argo-rollouts');
    expect(es.spec.target.name).toBe('argo-rollouts-notification-secret');
    expect(es.spec.data.map((d: any) => d.secretKey)).toEqual(['slack-token']);
    const chart = r.platform!.components.find((c) => c.name === 'argo-rollouts')!;
    expect(chart.appliedManifests.filter((m) => m.kind === 'Secret' && m.metadata.name === 'argo-rollouts-notification-secret')).toEqual([]);
    expect(r.get('Namespace', 'argo-rollouts')).toBeDefined();
  });
});

describe('checks', () => {
  test('the whole union passes every check, the Rollout and AnalysisTemplate against their CRD schemas included', () => {
    expect(unionViolations(undefined, r.platform)).toEqual([]);
  });

  test('the schema check reads the Argo Rollouts CRDs: a wrong Rollout or AnalysisTemplate field fails', () => {
    const files = r.in('workloads').map((f) => file(f.path, JSON.parse(JSON.stringify(f.manifest))));
    const ro = files.find((f) => (f.manifest as any).kind === 'Rollout')!.manifest as any;
    ro.spec.strategy.canary.steps[0] = { setWeigth: 20 };
    const at = files.find((f) => (f.manifest as any).kind === 'AnalysisTemplate')!.manifest as any;
    at.spec.metrics[0].provider.prometheus.adress = at.spec.metrics[0].provider.prometheus.address;
    const schema = validateManifests(files, { kubernetesVersion: '1.31' }).filter((v) => v.rule === 'schema').map((v) => `${v.object} ${v.field}`);
    expect(schema).toEqual(expect.arrayContaining([
      expect.stringMatching(/^Rollout default\/nginx spec\.strategy\.canary\.steps\[0\]/),
      expect.stringMatching(/^AnalysisTemplate default\/nginx-canary-analysis spec\.metrics\[0\]\.provider\.prometheus/),
    ]));
  });

  test('the inventory shows the canary state in config', () => {
    const readme = inventory(r.platform!, r.files);
    expect(readme).toContain('| `default/nginx` | `nginx-stable` / `nginx-canary` | `nginx-virtualservice`: `primary` | 20% → pause 2m → analysis → 50% → pause until promoted → 80% → analysis | workloads-lab: `.spec.http[] \\| select(.name == "primary") \\| .route[].weight` |');
    expect(readme).toContain('| `nginx-virtualservice` | `primary` | every request | `nginx-stable` 100%, `nginx-canary` 0% |');
    // The traffic diagram: the stable and canary weights, and the Rollout that moves them.
    expect(readme).toContain('vs_default_nginx_virtualservice -->|"primary 0%"| dest_default_nginx_canary');
    expect(readme).toContain('rollout_default_nginx -.->|"sets the weights of primary"| vs_default_nginx_virtualservice');
  });
});

describe('canary config errors', () => {
  const fails = (change: (raw: any) => void) => {
    try {
      labConfig((raw) => { nginxCanary(raw); change(raw); });
      return [];
    } catch (e) {
      return [...(e as { problems: string[] }).problems];
    }
  };
  test.each<[string, (raw: any) => void, RegExp]>([
    ['routes next to canary', (raw) => { raw.apps.workloads.nginx.traffic.routes = [{ name: 'primary', to: { v1: 100 } }]; }, /^apps\.workloads\.nginx\.traffic\.routes: with canary the Rollout sets the weights of the route "primary" itself/],
    ['an analysis step without analysis', (raw) => { delete raw.apps.workloads.nginx.canary.analysis; }, /^apps\.workloads\.nginx\.canary\.steps\.2\.analysis: an analysis step needs canary\.analysis/],
    ['a step of two kinds', (raw) => { raw.apps.workloads.nginx.canary.steps[0] = { setWeight: 20, pause: {} }; }, /^apps\.workloads\.nginx\.canary\.steps\.0: must be exactly one of setWeight, pause, analysis/],
    ['no setWeight step', (raw) => { raw.apps.workloads.nginx.canary.steps = [{ pause: {} }]; }, /^apps\.workloads\.nginx\.canary\.steps: must hold at least one setWeight step/],
    ['a TCP workload', (raw) => { raw.apps.workloads['register-js'].canary = { steps: [{ setWeight: 10 }] }; }, /^apps\.workloads\.register-js\.portName: canary routes HTTP/],
  ])('%s', (_, change, message) => {
    expect(fails(change).some((p) => message.test(p))).toBe(true);
  });
});

describe('npm run set-image on a canary', () => {
  test('changes the config\'s tag line and the Rollout\'s image line, nothing else', async () => {
    const dir = tempDir();
    const config = path.join(dir, 'config', 'lab.yaml');
    fs.mkdirSync(path.dirname(config));
    const raw = labRaw();
    nginxCanary(raw);
    fs.writeFileSync(config, yaml.dump(raw));
    const out = path.join(dir, 'out');
    const synth = await run('synth', ['--quiet', '--config', config, '--outdir', out]);
    expect([synth.status, withoutLockWait(synth.stderr)]).toEqual([0, '']);
    const before = snapshotTree(out);
    const configBefore = fs.readFileSync(config, 'utf8');
    const bump = await run('set-image', ['nginx', '43', '--config', config, '--outdir', out]);
    expect(withoutLockWait(bump.stderr)).toBe('');
    expect(bump.status).toBe(0);
    const diff = (a: string, b: string) => a.split('\n').map((l, i): [string, string] => [l, b.split('\n')[i]]).filter(([x, y]) => x !== y);
    expect(diff(configBefore, fs.readFileSync(config, 'utf8'))).toEqual([["        tag: '2'", "        tag: '43'"]]);
    const after = snapshotTree(out);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    const changed = Object.keys(after).filter((f) => after[f] !== before[f]);
    expect(changed).toEqual(['lab/workloads/rollout-nginx.yaml']);
    expect(diff(before[changed[0]], after[changed[0]])).toEqual([
      ['        - image: harbor.k-tech.cloud/msa/nginx:2', '        - image: harbor.k-tech.cloud/msa/nginx:43'],
    ]);
  });
});
