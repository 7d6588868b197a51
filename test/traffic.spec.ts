// Traffic policy per workload (apps.workloads.<name>.traffic): what the lab guide does by hand with
// DestinationRules and VirtualServices, from config, checked at synth.
import { ConfigError } from '../lib/config';
import { validateManifests } from '../lib/validation';
import { labConfig, labRaw, render, unionViolations } from './helpers';
import { file } from './validation/helpers';

const NS = 'default';
const RETRY_ON = ['5xx', 'retriable-4xx', 'gateway-error', 'connect-failure', 'refused-stream'];

/** The guide's traffic management on nginx: v2 beside v1, Firefox to v2, a weighted split, timeouts, retries, circuit breaking. */
function guideTraffic(split: Record<string, number>) {
  return (raw: any) => {
    raw.apps.workloads.nginx.traffic = {
      versions: { v2: { tag: '3' } },
      loadBalancer: 'ROUND_ROBIN',
      connectionPool: { tcp: { maxConnections: 100 }, http: { http1MaxPendingRequests: 10, maxRequestsPerConnection: 10 } },
      outlierDetection: { interval: '10s', consecutive5xxErrors: 1, baseEjectionTime: '3m', maxEjectionPercent: 100 },
      timeout: '3s',
      retries: { attempts: 3, perTryTimeout: '2s', retryOn: RETRY_ON },
      routes: [
        { name: 'firefox', match: { headers: { 'baggage-user-agent': { regex: '.*Firefox.*' } } }, to: { v2: 100 } },
        { name: 'primary', to: split },
      ],
    };
  };
}

/** The ConfigError problems of a config change, or [] when it is accepted. */
function problems(change: (raw: any) => void): string[] {
  try {
    labConfig(change);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    expect(e.message.startsWith('config/lab.yaml: invalid platform config')).toBe(true);
    return [...e.problems];
  }
}

describe('the lab stays plain', () => {
  const lab = render();
  test('no DestinationRule, extra Deployment, Rollout or ignored difference unless a workload opts in', () => {
    expect(lab.all('DestinationRule')).toEqual([]);
    expect(lab.all('Rollout')).toEqual([]);
    expect(lab.in('workloads').map((f) => f.manifest).filter((m) => m.kind === 'Deployment').map((d) => d.metadata.name).sort()).toEqual(['login-js', 'nginx', 'register-js']);
    expect(lab.in('apps').map((f) => f.manifest).filter((a: any) => a.spec.ignoreDifferences)).toEqual([]);
    expect(() => lab.app('argo-rollouts')).toThrow('no Application argo-rollouts');
  });
});

describe('the guide\'s traffic management, from config', () => {
  const r = render(labConfig(guideTraffic({ v1: 80, v2: 20 })));

  test('a DestinationRule with a subset per version (label version) and the guide\'s policy', () => {
    const dr = r.get('DestinationRule', 'nginx-service', NS);
    expect(dr.spec).toEqual({
      host: 'nginx-service',
      subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }],
      trafficPolicy: {
        loadBalancer: { simple: 'ROUND_ROBIN' },
        connectionPool: { tcp: { maxConnections: 100 }, http: { http1MaxPendingRequests: 10, maxRequestsPerConnection: 10 } },
        outlierDetection: { interval: '10s', consecutive5xxErrors: 1, baseEjectionTime: '3m', maxEjectionPercent: 100 },
      },
    });
  });

  test('v2 runs as its own Deployment behind the same Service, with its tag and version label', () => {
    const v1 = r.get('Deployment', 'nginx', NS);
    const v2 = r.get('Deployment', 'nginx-v2', NS);
    expect(v1.spec.selector.matchLabels).toEqual({ app: 'nginx', version: 'v1' });
    expect(v2.spec.selector.matchLabels).toEqual({ app: 'nginx', version: 'v2' });
    expect(v1.spec.template.spec.containers[0].image).toBe('harbor.k-tech.cloud/msa/nginx:2');
    expect(v2.spec.template.spec.containers[0].image).toBe('harbor.k-tech.cloud/msa/nginx:3');
    expect(v2.spec.template.metadata.labels).toMatchObject({ version: 'v2', 'service.istio.io/canonical-revision': 'v2', 'app.kubernetes.io/version': 'v2' });
    // Everything else of the pod template is v1's: the two cannot drift.
    const strip = (t: any) => ({ ...t, metadata: { ...t.metadata, labels: {} }, spec: { ...t.spec, containers: t.spec.containers.map((c: any) => ({ ...c, image: '' })) } });
    expect(strip(v2.spec.template)).toEqual(strip(v1.spec.template));
    const svc = r.get('Service', 'nginx-service', NS);
    for (const d of [v1, v2]) for (const [k, v] of Object.entries(svc.spec.selector)) expect(d.spec.template.metadata.labels[k]).toBe(v);
  });

  test('one VirtualService for the gateway and the mesh: Firefox to v2, the rest 80/20, 3s timeout, 3 retries of 2s', () => {
    const vs = r.get('VirtualService', 'nginx-virtualservice', NS);
    expect(vs.spec.gateways).toEqual(['nginx-gateway', 'mesh']);
    expect(vs.spec.hosts).toEqual(['www.k-tech.cloud', 'nginx-service']);
    const dest = (subset: string, weight: number) => ({ destination: { host: 'nginx-service', port: { number: 80 }, subset }, weight });
    const policy = { timeout: '3s', retries: { attempts: 3, perTryTimeout: '2s', retryOn: RETRY_ON.join(',') } };
    expect(vs.spec.http).toEqual([
      { name: 'firefox', match: [{ headers: { 'baggage-user-agent': { regex: '.*Firefox.*' } } }], route: [dest('v2', 100)], ...policy },
      { name: 'primary', route: [dest('v1', 80), dest('v2', 20)], ...policy },
    ]);
    expect(r.all('VirtualService')).toHaveLength(1);
  });

  test.each([[{ v1: 30, v2: 70 }], [{ v2: 100 }]])('the guide\'s next splits render as configured: %j', (split) => {
    const vs = render(labConfig(guideTraffic(split))).get('VirtualService', 'nginx-virtualservice', NS);
    const primary = vs.spec.http.find((h: any) => h.name === 'primary');
    expect(Object.fromEntries(primary.route.map((d: any) => [d.destination.subset, d.weight]))).toEqual(split);
  });

  test('the whole union passes every check, the subset rule included', () => {
    expect(unionViolations(undefined, r.platform)).toEqual([]);
  });

  test('the inventory shows subsets and weights', () => {
    const readme = r.platform ? require('../lib/inventory').inventory(r.platform, r.files) as string : '';
    expect(readme).toContain('## Traffic');
    expect(readme).toContain('| `nginx-virtualservice` | `primary` | every request | `nginx-service` v1 80%, `nginx-service` v2 20% |');
    expect(readme).toContain('| `nginx-service` | `nginx-service` | v1 (`version=v1`), v2 (`version=v2`) |');
    // The traffic diagram: each route's weight to each subset.
    expect(readme).toContain('vs_default_nginx_virtualservice -->|"primary 80%"| dest_default_nginx_service_v1');
    expect(readme).toContain('vs_default_nginx_virtualservice -->|"primary 20%"| dest_default_nginx_service_v2');
  });
});

describe('traffic config errors name the file, the field and the fix', () => {
  const route = (change: (t: any) => void) => (raw: any) => { guideTraffic({ v1: 80, v2: 20 })(raw); change(raw.apps.workloads.nginx.traffic); };
  test.each<[string, (t: any) => void, RegExp]>([
    ['a subset that does not exist', (t) => { t.routes[1].to = { v1: 80, v3: 20 }; }, /^apps\.workloads\.nginx\.traffic\.routes\.1\.to\.v3: "v3" is not a version of this workload \(versions: v1, v2/],
    ['weights that do not sum to 100', (t) => { t.routes[1].to = { v1: 80, v2: 30 }; }, /^apps\.workloads\.nginx\.traffic\.routes\.1\.to: weights sum to 110; they must sum to 100/],
    ['a per-try timeout over the route timeout', (t) => { t.retries.perTryTimeout = '4s'; }, /^apps\.workloads\.nginx\.traffic\.retries\.perTryTimeout: 4s exceeds the route's timeout 3s/],
    ['a route timeout under the inherited per-try timeout', (t) => { t.routes[0].timeout = '1s'; }, /^apps\.workloads\.nginx\.traffic\.routes\.0\.timeout: 1s is shorter than traffic\.retries\.perTryTimeout \(2s\)/],
    ['a last route with a match', (t) => { t.routes.reverse(); }, /^apps\.workloads\.nginx\.traffic\.routes\.0\.match: is missing/],
    ['two routes of one name', (t) => { t.routes[0].name = 'primary'; }, /^apps\.workloads\.nginx\.traffic\.routes\.1\.name: "primary" is the name of an earlier route/],
    ['a version that is the workload\'s own', (t) => { t.versions = { v1: { tag: '3' } }; }, /^apps\.workloads\.nginx\.traffic\.versions\.v1: "v1" is the workload's own version/],
    ['a floating tag for a version', (t) => { t.versions.v2.tag = 'latest'; }, /^apps\.workloads\.nginx\.traffic\.versions\.v2\.tag: must be an exact tag/],
    ['an unknown retry condition', (t) => { t.retries.retryOn = ['5xx', 'sometimes']; }, /^apps\.workloads\.nginx\.traffic\.retries\.retryOn\.1: must be one of 5xx/],
  ])('%s', (_, change, message) => {
    const p = problems(route(change));
    expect(p.some((x) => message.test(x))).toBe(true);
  });

  test('a subset name must be a DNS-1123 label (login-js runs v1.76.0)', () => {
    const p = problems((raw) => { raw.apps.workloads['login-js'].traffic = { versions: { v2: { tag: '2' } } }; });
    expect(p).toEqual([expect.stringMatching(/^apps\.workloads\.login-js\.version: "v1\.76\.0" names a DestinationRule subset, which Istio requires to be a DNS-1123 label; use one such as v1 or v1-76-0/)]);
  });

  test('traffic needs an HTTP port (register-js is tcp-)', () => {
    const p = problems((raw) => { raw.apps.workloads['register-js'].traffic = { timeout: '3s' }; });
    expect(p).toEqual([expect.stringMatching(/^apps\.workloads\.register-js\.portName: traffic routes HTTP/)]);
  });

  test('the guide\'s config itself is accepted', () => {
    expect(problems(guideTraffic({ v1: 80, v2: 20 }))).toEqual([]);
    expect(labRaw().apps.workloads.nginx.traffic).toBeUndefined();
  });
});

describe('destination-subset (synth and npm run validate)', () => {
  const r = render(labConfig(guideTraffic({ v1: 80, v2: 20 })));
  const files = () => r.in('workloads').map((f) => file(f.path, JSON.parse(JSON.stringify(f.manifest))));
  const check = (edit: (byName: (kind: string, name: string) => any) => void) => {
    const fs = files();
    edit((kind, name) => fs.find((f) => (f.manifest as any).kind === kind && (f.manifest as any).metadata.name === name)!.manifest);
    return validateManifests(fs).filter((v) => v.rule === 'destination-subset').map((v) => `${v.object} ${v.field}: ${v.message}`);
  };

  test('the rendered workloads pass', () => {
    expect(check(() => undefined)).toEqual([]);
  });

  test('a route to a subset no DestinationRule defines is caught (a hand edit of gitops/)', () => {
    expect(check((get) => { get('VirtualService', 'nginx-virtualservice').spec.http[1].route[1].destination.subset = 'v3'; }))
      .toEqual(['VirtualService default/nginx-virtualservice spec.http[1].route[1].destination.subset: subset "v3" of host "nginx-service" is defined by no DestinationRule of Service default/nginx-service (its subsets: v1, v2)']);
  });

  test('a subset that selects no pod, and a host that is no Service, are caught', () => {
    expect(check((get) => { get('Deployment', 'nginx-v2').spec.template.metadata.labels.version = 'v2-rc'; }))
      .toEqual([expect.stringContaining('DestinationRule default/nginx-service spec.subsets[1].labels: subset "v2" selects no pod of Service default/nginx-service')]);
    const moved = check((get) => { get('DestinationRule', 'nginx-service').spec.host = 'nginx'; });
    expect(moved[0]).toContain('DestinationRule default/nginx-service spec.host: host "nginx" is Service default/nginx, which does not exist');
    // Its subsets then belong to no DestinationRule of nginx-service: every route to them is caught too.
    expect(moved.slice(1)).toHaveLength(3);
    for (const m of moved.slice(1)) expect(m).toMatch(/subset "v[12]" of host "nginx-service" is defined by no DestinationRule/);
  });
});
