// Mesh security (charts/mesh-security.ts, istiod's PeerAuthentications in charts/istio.ts): STRICT mTLS
// where sidecars are injected, one AuthorizationPolicy per workload allowing only its declared callers
// and the ingress gateway, the metrics port left to the Prometheus outside the mesh, an egress scope.
import { chartComponents } from '../lib/platform';
import { inventory } from '../lib/inventory';
import { configProblem, labConfig, labPlatform, render, unionViolations } from './helpers';

const NS = 'default';
const lab = render();
const rendered = (chart: string) => chartComponents(labPlatform()).find((h) => h.name === chart)!.render.objects.map((o) => o.manifest as any);
const saOf = (name: string) => lab.get('Deployment', name, NS).spec.template.spec.serviceAccountName;
const problem = configProblem;

describe('mutual TLS', () => {
  test('istiod makes every injected namespace STRICT, and only those', () => {
    const pa = lab.get('PeerAuthentication', 'default', NS);
    expect(pa.spec).toEqual({ mtls: { mode: 'STRICT' } });
    expect(lab.in('istiod').some((f) => f.manifest === pa)).toBe(true);
    const two = render(labConfig((raw) => { raw.istio.injectionNamespaces = ['default', 'shop']; }));
    expect(two.all('PeerAuthentication').filter((p: any) => !p.spec.selector).map((p) => p.metadata.namespace).sort()).toEqual(['default', 'shop']);
  });

  test('login-js\'s metrics port alone accepts plaintext (Prometheus has no sidecar)', () => {
    const pa = lab.get('PeerAuthentication', 'login-js-metrics', NS);
    expect(pa.spec).toEqual({ selector: { matchLabels: { app: 'login-js' } }, portLevelMtls: { 9113: { mode: 'PERMISSIVE' } } });
    expect(pa.spec.mtls).toBeUndefined(); // the rest of the pod stays STRICT
    expect(lab.all('PeerAuthentication').filter((p: any) => p.metadata.namespace === NS).map((p) => p.metadata.name).sort()).toEqual(['default', 'login-js-metrics']);
  });
});

describe('authorization', () => {
  test('each workload has an ALLOW policy selecting its pods by the Deployment\'s selector', () => {
    for (const name of ['nginx', 'login-js', 'register-js']) {
      const ap = lab.get('AuthorizationPolicy', name, NS);
      expect(ap.spec.action).toBe('ALLOW');
      expect(ap.spec.selector).toEqual({ matchLabels: lab.get('Deployment', name, NS).spec.selector.matchLabels });
    }
  });

  test('register-js: only login-js\'s ServiceAccount, only on its port', () => {
    expect(saOf('login-js')).toBe('login-js');
    expect(lab.get('AuthorizationPolicy', 'register-js', NS).spec.rules).toEqual([
      { from: [{ source: { principals: [`cluster.local/ns/${NS}/sa/${saOf('login-js')}`] } }], to: [{ operation: { ports: ['3000'] } }] },
    ]);
  });

  test('nginx (public host): the ingress gateway, whose identity is the ServiceAccount its chart renders', () => {
    const gw = rendered('istio-ingressgateway').find((m) => m.kind === 'Deployment');
    const sa = gw.spec.template.spec.serviceAccountName;
    expect(rendered('istio-ingressgateway').some((m) => m.kind === 'ServiceAccount' && m.metadata.name === sa)).toBe(true);
    expect(lab.get('AuthorizationPolicy', 'nginx', NS).spec.rules).toEqual([
      { from: [{ source: { principals: [`cluster.local/ns/istio-system/sa/${sa}`] } }], to: [{ operation: { ports: ['80'] } }] },
    ]);
  });

  test('login-js: nginx on its port, and any source on the metrics port only', () => {
    expect(lab.get('AuthorizationPolicy', 'login-js', NS).spec.rules).toEqual([
      { from: [{ source: { principals: [`cluster.local/ns/${NS}/sa/nginx`] } }], to: [{ operation: { ports: ['3000'] } }] },
      { to: [{ operation: { ports: ['9113'] } }] },
    ]);
    // The metrics port is scraped (a PodMonitor for it exists), so opening it is needed, not dead policy.
    expect(lab.get('PodMonitor', 'login-js-metrics', 'monitoring').spec.podMetricsEndpoints[0].port).toBe('http-metrics');
  });

  test('a workload nobody is declared to call and without a host allows nothing', () => {
    const r = render(labConfig((raw) => { delete raw.apps.workloads['register-js'].callers; }));
    expect(r.get('AuthorizationPolicy', 'register-js', NS).spec.rules).toBeUndefined();
  });

  test('no policy is namespace-wide: cert-manager\'s HTTP-01 solvers and other pods are never selected', () => {
    for (const ap of lab.all('AuthorizationPolicy')) expect(Object.keys((ap as any).spec.selector.matchLabels).length).toBeGreaterThan(0);
    // The solvers run where the gateway hosts' Certificates are: a namespace without sidecars or our policies.
    const certNs = lab.get('Certificate', 'nginx-secret', 'istio-system').metadata.namespace;
    expect(labPlatform().config.istio!.injectionNamespaces).not.toContain(certNs);
    expect([...lab.all('PeerAuthentication'), ...lab.all('AuthorizationPolicy')].filter((o) => o.metadata.namespace === certNs)).toEqual([]);
  });
});

describe('egress', () => {
  test('one REGISTRY_ONLY Sidecar: its namespace, the root namespace (ServiceEntries) and the tracing backend', () => {
    const sc = lab.get('Sidecar', 'default', NS);
    expect(sc.spec.outboundTrafficPolicy).toEqual({ mode: 'REGISTRY_ONLY' });
    const tempo = labPlatform().components.find((c) => c.name === 'tempo') as any;
    expect(sc.spec.egress).toEqual([{ hosts: ['./*', 'istio-system/*', `observability/${tempo.otlpGrpc.host}`] }]);
    // The lab's external MySQL stays reachable: its ServiceEntry is in the root namespace, visible to all.
    expect(lab.get('ServiceEntry', 'azure-mysql', 'istio-system').spec.hosts).toEqual(['prod-kb97-mysql.mysql.database.azure.com']);
  });
});

describe('config and checks', () => {
  test('callers must be other, declared workloads, each once', () => {
    expect(problem((r) => { r.apps.workloads['register-js'].callers = ['login']; }))
      .toMatch(/apps\.workloads\.register-js\.callers\.0: "login" is not a workload; allowed: login-js, nginx/);
    expect(problem((r) => { r.apps.workloads['register-js'].callers = ['register-js']; })).toMatch(/apps\.workloads\.register-js\.callers\.0: names the workload itself/);
    expect(problem((r) => { r.apps.workloads['register-js'].callers = ['login-js', 'login-js']; })).toMatch(/apps\.workloads\.register-js\.callers\.1: "login-js" is listed twice/);
  });

  test('a new caller is one config line and one principal', () => {
    const r = render(labConfig((raw) => { raw.apps.workloads['register-js'].callers = ['login-js', 'nginx']; }));
    expect(r.get('AuthorizationPolicy', 'register-js', NS).spec.rules[0].from[0].source.principals)
      .toEqual([`cluster.local/ns/${NS}/sa/login-js`, `cluster.local/ns/${NS}/sa/nginx`]);
  });

  test('the union (schemas of the rendered Istio CRDs included) finds nothing wrong', () => {
    expect(unionViolations().filter((v) => v.file.startsWith('workloads/') || v.file.startsWith('istiod/'))).toEqual([]);
  });

  test('the inventory shows who may call whom', () => {
    const p = labPlatform();
    const md = inventory(p, lab.files);
    expect(md).toContain('## Who may call whom');
    expect(md).toContain('| `default/register-js` | `default/login-js` | `3000` |');
    expect(md).toContain('| `default/nginx` | `istio-system/istio-ingressgateway` | `80` |');
    expect(md).toContain('| `default/login-js` | any source (no mTLS identity required) | `9113` |');
    expect(md).toMatch(/Mutual TLS only \(PeerAuthentication STRICT\) in: `default`; plaintext also accepted on `default\/app=login-js` port 9113/);
  });
});
