// The gateway-api exposure end to end, as config/prod.yaml runs it (prod-environment.spec.ts checks that it
// renders and validates with no violation), and what its endpoints become: one shared Gateway with a
// listener per published host, routes in the components' namespaces, Certificates where the Gateway reads
// them, issuers solving HTTP-01 through the Gateway, and no public Prometheus or Alertmanager.
import * as fs from 'fs';
import * as path from 'path';
import { composePlatform } from '../charts/platform';
import { loadConfig, PlatformConfig } from '../lib/config';
import { GatewayExposure } from '../lib/exposure';
import { endpoints } from '../lib/inventory';
import { configProblem, labConfig, render, Rendered } from './helpers';

const PROD = path.join(__dirname, '..', 'config', 'prod.yaml');

let config: PlatformConfig;
let out: Rendered;
beforeAll(() => {
  config = loadConfig(PROD);
  out = render(config);
});

const ours = (kind: string) => out.files.filter((f) => f.manifest.kind === kind).map((f) => f.manifest as any);
const listener = (name: string) => out.get('Gateway', 'platform', 'istio-system').spec.listeners.find((l: any) => l.name === name);

describe('gateway-api exposure', () => {
  test('the Gateway API CRDs are a component of their own, synced before cert-manager and the routes\' components', () => {
    const crds = out.in('gateway-api').map((f) => f.manifest as any);
    expect(crds.map((c) => c.metadata.name)).toEqual(expect.arrayContaining([
      'gateways.gateway.networking.k8s.io', 'httproutes.gateway.networking.k8s.io', 'tlsroutes.gateway.networking.k8s.io', 'referencegrants.gateway.networking.k8s.io',
    ]));
    expect(crds.every((c) => c.metadata.annotations['gateway.networking.k8s.io/bundle-version'] === 'v1.6.1')).toBe(true);
    for (const c of ['cert-manager', 'istio-ingressgateway', 'harbor', 'jenkins', 'argo-cd', 'kube-prometheus-stack', 'kiali']) {
      expect(out.wave(c)).toBeGreaterThan(out.wave('gateway-api'));
    }
    expect(out.dependencies('cert-manager')).toContain('gateway-api');
  });

  test('one Gateway of class istio binds to the existing ingress gateway\'s Service', () => {
    const gw = out.get('Gateway', 'platform', 'istio-system');
    expect(gw.spec.gatewayClassName).toBe('istio');
    expect(gw.spec.addresses).toEqual([{ type: 'Hostname', value: 'istio-ingressgateway.istio-system.svc.cluster.local' }]);
    expect(ours('Gateway').filter((g) => g.apiVersion.startsWith('gateway.networking.k8s.io/'))).toHaveLength(1);
  });

  test('each published endpoint is an HTTPS listener terminating with its Certificate\'s secret, admitting routes of its own namespace only', () => {
    for (const [name, host, secret, ns] of [
      ['https-harbor', 'harbor.prod.k-tech.cloud', 'harbor-secret', 'devops-tools'],
      ['https-jenkins', 'jenkins.prod.k-tech.cloud', 'jenkins-secret', 'devops-tools'],
      ['https-grafana', 'grafana.prod.k-tech.cloud', 'grafana-secret', 'monitoring'],
      ['https-dashboard', 'dashboard.prod.k-tech.cloud', 'dashboard-secret', 'istio-system'],
    ]) {
      const l = listener(name);
      expect(l).toMatchObject({ hostname: host, port: 443, protocol: 'HTTPS', tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: secret }] } });
      expect(l.allowedRoutes.namespaces.selector.matchExpressions).toEqual([{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [ns] }]);
      // The Certificate lives where the Gateway reads it (no cross-namespace reference, no ReferenceGrant).
      expect(out.get('Certificate', secret, 'istio-system').spec.dnsNames).toEqual([host]);
    }
    expect(ours('ReferenceGrant')).toEqual([]);
  });

  test('Argo CD keeps serving its own certificate: a TLS passthrough listener and a TLSRoute to argocd-server:443', () => {
    expect(listener('https-argocd')).toMatchObject({ hostname: 'argocd.prod.k-tech.cloud', protocol: 'TLS', tls: { mode: 'Passthrough' } });
    expect(listener('https-argocd').tls.certificateRefs).toBeUndefined();
    const route = out.get('TLSRoute', 'argocd', 'argocd');
    expect(route.spec).toEqual({
      hostnames: ['argocd.prod.k-tech.cloud'],
      parentRefs: [{ name: 'platform', namespace: 'istio-system', sectionName: 'https-argocd' }],
      rules: [{ backendRefs: [{ name: 'argocd-server', port: 443 }] }],
    });
    expect(out.get('Certificate', 'argocd-server-tls', 'argocd').spec.secretName).toBe('argocd-server-tls');
  });

  test('each endpoint\'s HTTPRoute sits in its component\'s namespace, attached to its listener', () => {
    expect(out.get('HTTPRoute', 'harbor', 'devops-tools').spec).toEqual({
      hostnames: ['harbor.prod.k-tech.cloud'],
      parentRefs: [{ name: 'platform', namespace: 'istio-system', sectionName: 'https-harbor' }],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'harbor', port: 80 }] }],
    });
    expect(out.get('HTTPRoute', 'jenkins', 'devops-tools').spec.rules[0].backendRefs).toEqual([{ name: 'jenkins-service', port: 8080 }]);
    expect(out.get('HTTPRoute', 'grafana', 'monitoring').spec.rules[0].backendRefs).toEqual([{ name: 'kube-prometheus-stack-grafana', port: 80 }]);
    expect(out.get('HTTPRoute', 'dashboard', 'istio-system').spec.rules[0].backendRefs).toEqual([{ name: 'kiali', port: 20001 }]);
    // Harbor's chart serves plain HTTP behind the Gateway instead of its own Ingress.
    expect(out.values('harbor').expose).toMatchObject({ type: 'clusterIP', tls: { enabled: false } });
    expect(ours('Ingress')).toEqual([]);
  });

  test('port 80 carries HTTP-01 challenges from the Certificates\' namespaces and redirects the rest to HTTPS', () => {
    const http = listener('http');
    expect(http).toMatchObject({ port: 80, protocol: 'HTTP' });
    expect(http.hostname).toBeUndefined();
    expect(http.allowedRoutes.namespaces.selector.matchExpressions[0].values).toEqual(['argocd', 'istio-system']);
    const redirect = out.get('HTTPRoute', 'platform-https-redirect', 'istio-system');
    expect(redirect.spec.parentRefs).toEqual([{ name: 'platform', sectionName: 'http' }]);
    expect(redirect.spec.rules).toEqual([{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }]);
    expect([...redirect.spec.hostnames].sort()).toEqual(['argocd', 'dashboard', 'grafana', 'harbor', 'jenkins'].map((h) => `${h}.prod.k-tech.cloud`));
  });

  test('the issuers solve HTTP-01 with an HTTPRoute on that listener, and cert-manager watches the Gateway API', () => {
    const solver = out.get('ClusterIssuer', 'letsencrypt').spec.acme.solvers[0].http01;
    expect(solver.ingress).toBeUndefined();
    expect(solver.gatewayHTTPRoute.parentRefs).toEqual([{ kind: 'Gateway', name: 'platform', namespace: 'istio-system', sectionName: 'http' }]);
    expect(solver.gatewayHTTPRoute.podTemplate.spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    // The workloads' issuer still answers through the Istio ingress gateway's Ingress support.
    expect(out.get('ClusterIssuer', 'letsencrypt2').spec.acme.solvers[0].http01.ingress.class).toBe('istio');
    expect(out.values('cert-manager').config).toEqual({ apiVersion: 'controller.config.cert-manager.io/v1alpha1', kind: 'ControllerConfiguration', gatewayAPI: { enabled: true } });
  });

  test('no endpoint is public without authentication: Prometheus and Alertmanager get no listener, route or Certificate', () => {
    const hosts = out.get('Gateway', 'platform', 'istio-system').spec.listeners.map((l: any) => l.hostname);
    expect(hosts).not.toContain('prometheus.prod.k-tech.cloud');
    expect(hosts).not.toContain('alertmanager.prod.k-tech.cloud');
    const names = [...ours('HTTPRoute'), ...ours('Certificate')].map((o) => o.metadata.name);
    expect(names.filter((n) => /prometheus|alertmanager/.test(n))).toEqual([]);
    // No htpasswd secret to keep in Key Vault for a front that does not exist.
    expect(ours('ExternalSecret').map((e) => e.metadata.name)).not.toContain('monitoring-basic-auth');
    // Links point where `kubectl port-forward` serves them.
    const values = out.values('kube-prometheus-stack');
    expect(values.prometheus.prometheusSpec.externalUrl).toBe('http://localhost:9090');
    expect(values.alertmanager.alertmanagerSpec.externalUrl).toBe('http://localhost:9093');
    // Every published endpoint logs users in itself; Kiali's is a token, not anonymous.
    expect(out.values('kiali').auth.strategy).toBe('token');
  });

  test('the inventory lists each host with its listener, route backend and secret', () => {
    const list = endpoints(out.files.map((f) => f.manifest).filter((m: any) => m?.kind));
    expect(list.find((e) => e.host === 'harbor.prod.k-tech.cloud')).toEqual({
      host: 'harbor.prod.k-tech.cloud', via: 'Gateway API istio-system/platform https-harbor', tlsSecret: 'harbor-secret', issuer: 'letsencrypt', backend: 'harbor:80', namespace: 'devops-tools',
    });
    expect(list.find((e) => e.host === 'argocd.prod.k-tech.cloud')?.via).toBe('Gateway API istio-system/platform https-argocd (TLS passthrough)');
    expect(list.map((e) => e.host)).not.toContain('prometheus.prod.k-tech.cloud');
  });

  test('ingress-nginx does not run', () => {
    expect(out.platform!.components.map((c) => c.name)).not.toContain('ingress-nginx');
  });
});

describe('exposure config', () => {
  const toGateway = (r: any) => {
    r.exposure = { kind: 'gateway-api', gatewayName: 'platform' };
    r.istio.chartVersion = '1.30.3';
    delete r.ingressNginx;
    for (const i of r.certManager.issuers) {
      if (i.http01IngressClass === 'nginx') {
        delete i.http01IngressClass;
        i.http01GatewayHTTPRoute = 'platform';
      }
    }
  };

  test('an issuer solving through a Gateway needs the gateway-api exposure of that Gateway', () => {
    expect(configProblem((r) => { r.certManager.issuers[2] = { name: 'letsencrypt-staging', acme: 'staging', http01GatewayHTTPRoute: 'platform' }; }))
      .toMatch(/certManager\.issuers\.2\.http01GatewayHTTPRoute: names Gateway "platform", but no Gateway is made: exposure\.kind is ingress; set exposure to \{ kind: gateway-api, gatewayName: platform \}/);
    expect(configProblem((r) => { toGateway(r); r.certManager.issuers[2].http01GatewayHTTPRoute = 'edge'; }))
      .toMatch(/certManager\.issuers\.2\.http01GatewayHTTPRoute: names Gateway "edge", but the platform's Gateway is "platform" \(exposure\.gatewayName\); use "platform"/);
  });

  test('the endpoints\' issuer must solve through what serves them', () => {
    expect(configProblem((r) => { toGateway(r); r.certManager.ingressIssuer = 'letsencrypt2'; }))
      .toMatch(/certManager\.ingressIssuer: issuer "letsencrypt2" solves HTTP-01 through ingress class "istio", but exposure serves the endpoints through Gateway "platform", so the challenge would never reach the host; choose an issuer whose http01GatewayHTTPRoute is "platform"/);
  });

  test('an issuer says exactly one way its challenges arrive', () => {
    expect(configProblem((r) => { r.certManager.issuers[0].http01GatewayHTTPRoute = 'platform'; }))
      .toMatch(/certManager\.issuers\.0: says twice how HTTP-01 challenges reach the solver: set exactly one of http01IngressClass/);
    expect(configProblem((r) => { delete r.certManager.issuers[0].http01IngressClass; }))
      .toMatch(/certManager\.issuers\.0: says how HTTP-01 challenges reach the solver: set exactly one of/);
  });

  test('ingress-nginx is refused where nothing is served through it', () => {
    expect(configProblem((r) => { toGateway(r); r.ingressNginx = { namespace: 'ingress-nginx' }; }))
      .toMatch(/ingressNginx: runs ingress-nginx, but exposure\.kind is gateway-api: nothing is served through it \(and it is retired\); remove the ingressNginx section/);
  });

  test('the Gateway needs Istio 1.30 or later, which reads TLSRoute v1 (a promotion of 1.24 back is refused)', () => {
    expect(configProblem((r) => { toGateway(r); r.istio.chartVersion = '1.24.2'; }))
      .toMatch(/istio\.chartVersion: runs Istio 1\.24\.2 with exposure gateway-api: .*TLSRoute .* v1 only, which Istio reads from 1\.30 on/);
    expect(configProblem((r) => { toGateway(r); delete r.istio.chartVersion; })).toMatch(/exposure: runs Istio 1\.24\.2 with exposure gateway-api/);
    // A version versions.yaml does not list is refused by its field, not by a stray error of this check.
    expect(configProblem((r) => { toGateway(r); r.istio.chartVersion = '1.29.9'; })).toMatch(/istio\.chartVersion: 1\.29\.9 is not a version versions\.yaml lists/);
  });

  test('an unknown exposure kind is refused with the two shapes', () => {
    expect(configProblem((r) => { r.exposure = { kind: 'gateway' }; }))
      .toMatch(/exposure(\.kind)?: must be \{ kind: ingress, ingressClass: <class> \} or \{ kind: gateway-api, gatewayName: <name> \}/);
  });

  test('a workload\'s TLS secret may not be a platform endpoint\'s, now that both live in the gateway\'s namespace', () => {
    const c = labConfig((r) => {
      toGateway(r);
      r.apps.workloads.jenkins = r.apps.workloads.nginx;
      delete r.apps.workloads.nginx;
      r.apps.workloads['login-js'].callers = ['jenkins'];
    });
    expect(() => composePlatform(c)).toThrow(/apps\.workloads\.jenkins: its TLS secret "jenkins-secret" in istio-system is also jenkins's; each Certificate would overwrite the other's; rename the workload/);
  });

  test('two endpoints of one route name cannot share the Gateway', () => {
    // Kiali's route is "dashboard"; a second component naming its route so would take the same listener.
    const gw = new GatewayExposure('platform', 'istio-system');
    gw.addListener({ name: 'https-dashboard', host: 'dashboard.example.com', tls: 'terminate', secretName: 's', routeNamespace: 'a', certificateNamespace: 'istio-system', origin: 'kiali' });
    expect(() => gw.addListener({ name: 'https-dashboard', host: 'other.example.com', tls: 'terminate', secretName: 't', routeNamespace: 'b', certificateNamespace: 'istio-system', origin: 'other' }))
      .toThrow(/other: its listener https-dashboard \(other\.example\.com\) clashes with kiali's https-dashboard \(dashboard\.example\.com\)/);
  });
});

test('the vendored CRDs are the upstream bundle of the version versions.yaml names', () => {
  const text = fs.readFileSync(path.join('vendor', 'crds', 'gateway-api.crds.yaml'), 'utf8');
  expect(text).toMatch(/gateway\.networking\.k8s\.io\/bundle-version: v1\.6\.1/);
  expect(text).toMatch(/gateway\.networking\.k8s\.io\/channel: standard/);
  expect(text).not.toMatch(/channel: experimental/);
});
