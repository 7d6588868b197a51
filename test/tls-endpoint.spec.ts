import { App, Testing } from 'cdk8s';
import { ManifestComponent } from '../lib/component';
import { Access, Exposure } from '../lib/exposure';
import { ClusterIssuerRef, TlsEndpoint } from '../lib/tls-endpoint';

function setup() {
  const app = new App();
  const issuers = new ManifestComponent(app, 'issuers', { namespace: 'cert-manager' });
  const issuer: ClusterIssuerRef = { name: 'letsencrypt', http01: { ingressClass: 'nginx' }, declaredBy: issuers };
  const chart = new ManifestComponent(app, 'web', { namespace: 'web' });
  return { issuer, issuers, chart };
}

describe('TlsEndpoint', () => {
  test('one call yields a Certificate and an Ingress that agree on host, secret and class', () => {
    const { issuer, chart } = setup();
    new TlsEndpoint(chart, 'prometheus', {
      host: 'prometheus.example.com', namespace: 'monitoring', secretName: 'prometheus-secret', issuer,
      route: { exposure: Exposure.ingress('nginx'), name: 'prometheus-ingress', backend: { service: 'kube-prometheus-stack-prometheus', port: 9090 } },
    });
    const [cert, ingress] = Testing.synth(chart);
    expect(cert.kind).toBe('Certificate');
    expect(cert.metadata).toEqual({ name: 'prometheus-secret', namespace: 'monitoring' });
    expect(cert.spec.issuerRef).toEqual({ name: 'letsencrypt', kind: 'ClusterIssuer' });
    expect(ingress.spec).toEqual({
      ingressClassName: 'nginx',
      tls: [{ hosts: ['prometheus.example.com'], secretName: 'prometheus-secret' }],
      rules: [{ host: 'prometheus.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'kube-prometheus-stack-prometheus', port: { number: 9090 } } } }] } }],
    });
    expect(ingress.metadata.annotations).toBeUndefined();
  });

  test('a named port is kept as a name', () => {
    const { issuer, chart } = setup();
    new TlsEndpoint(chart, 'argocd', {
      host: 'argocd.example.com', namespace: 'argocd', secretName: 'argocd-server-tls', issuer,
      route: { exposure: Exposure.ingress('nginx'), name: 'argocd', backend: { service: 'argocd-server', port: 'https' }, ingressAnnotations: { 'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS' } },
    });
    const ingress = Testing.synth(chart)[1];
    expect(ingress.spec.rules[0].http.paths[0].backend.service.port).toEqual({ name: 'https' });
    expect(ingress.metadata.annotations).toEqual({ 'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS' });
  });

  test('without ingress options only the Certificate is made', () => {
    const { issuer, chart } = setup();
    new TlsEndpoint(chart, 'harbor', { host: 'harbor.example.com', namespace: 'tools', secretName: 'harbor-secret', issuer });
    expect(Testing.synth(chart).map((o) => o.kind)).toEqual(['Certificate']);
  });

  test('the endpoint\'s component is synced after the issuer\'s', () => {
    const { issuer, issuers, chart } = setup();
    new TlsEndpoint(chart, 'harbor', { host: 'harbor.example.com', namespace: 'tools', secretName: 'harbor-secret', issuer });
    expect(chart.declaredDependencies).toEqual([issuers]);
  });

  test('an ingress class that cannot solve the issuer\'s challenge is refused', () => {
    const { issuer, chart } = setup();
    expect(() => new TlsEndpoint(chart, 'www', {
      host: 'www.example.com', namespace: 'web', secretName: 'www', issuer,
      route: { exposure: Exposure.ingress('istio'), name: 'www', backend: { service: 'web', port: 80 } },
    })).toThrow(/issuer "letsencrypt" solves HTTP-01 through ingress class "nginx", but its Ingress uses class "istio", so the challenge would never reach the host/);
  });

  test('an ingress-shim annotation, a second way to issue the secret, is refused', () => {
    const { issuer, chart } = setup();
    expect(() => new TlsEndpoint(chart, 'argocd', {
      host: 'argocd.example.com', namespace: 'argocd', secretName: 'argocd-server-tls', issuer,
      route: { exposure: Exposure.ingress('nginx'), name: 'argocd', backend: { service: 'argocd-server', port: 'https' }, ingressAnnotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt-prod' } },
    })).toThrow(/cert-manager.io\/cluster-issuer would make cert-manager issue argocd-server-tls a second time/);
  });

  test('a host over 64 bytes has no commonName (cert-manager refuses one); the host stays in dnsNames and the Ingress', () => {
    const host = `${'a'.repeat(50)}.${'b'.repeat(10)}.example.com`;
    for (const [h, cn] of [[host, undefined], [host.slice(host.length - 64), host.slice(host.length - 64)]] as const) {
      const { issuer, chart } = setup();
      new TlsEndpoint(chart, 'long', {
        host: h, namespace: 'web', secretName: 'long-secret', issuer,
        route: { exposure: Exposure.ingress('nginx'), name: 'long', backend: { service: 'web', port: 80 } },
      });
      const [cert, ingress] = Testing.synth(chart);
      expect(cert.spec.commonName).toBe(cn);
      expect(cert.spec.dnsNames).toEqual([h]);
      expect(ingress.spec.rules[0].host).toBe(h);
    }
  });
});

describe('TlsEndpoint through the Gateway API', () => {
  function gatewaySetup() {
    const app = new App();
    const issuers = new ManifestComponent(app, 'issuers', { namespace: 'cert-manager' });
    const issuer: ClusterIssuerRef = { name: 'le-gateway', http01: { gateway: 'platform' }, declaredBy: issuers };
    const chart = new ManifestComponent(app, 'web', { namespace: 'web' });
    return { issuer, chart, gateway: Exposure.gatewayApi('platform', 'istio-system') };
  }

  test('a terminating endpoint registers its listener, puts its Certificate where the Gateway reads it and routes from its own namespace', () => {
    const { issuer, chart, gateway } = gatewaySetup();
    const e = new TlsEndpoint(chart, 'shop', {
      host: 'shop.example.com', namespace: 'web', secretName: 'shop-secret', issuer,
      route: { exposure: gateway, name: 'shop', backend: { service: 'shop', port: 8080 } },
    });
    expect(e.certificateNamespace).toBe('istio-system');
    expect(gateway.listeners).toEqual([{ name: 'https-shop', host: 'shop.example.com', tls: 'terminate', secretName: 'shop-secret', routeNamespace: 'web', certificateNamespace: 'istio-system', origin: 'web' }]);
    const [cert, route] = Testing.synth(chart);
    expect(cert.metadata).toEqual({ name: 'shop-secret', namespace: 'istio-system' });
    expect(route.kind).toBe('HTTPRoute');
    expect(route.metadata).toEqual({ name: 'shop', namespace: 'web' });
    expect(route.spec.parentRefs).toEqual([{ name: 'platform', namespace: 'istio-system', sectionName: 'https-shop' }]);
  });

  test('an endpoint without a login of its own is not published: no listener, route or Certificate', () => {
    const { issuer, chart, gateway } = gatewaySetup();
    let asked = false;
    const e = new TlsEndpoint(chart, 'metrics', {
      host: 'metrics.example.com', namespace: 'web', secretName: 'metrics-secret', issuer,
      route: { exposure: gateway, name: 'metrics', backend: { service: 'metrics', port: 9090 }, access: Access.basicAuth('Metrics', () => { asked = true; return 'htpasswd'; }) },
    });
    expect(e.published).toBe(false);
    expect(gateway.listeners).toEqual([]);
    expect(Testing.synth(chart)).toEqual([]);
    // The htpasswd secret is never asked for, so it need not be declared.
    expect(asked).toBe(false);
  });

  test('an Ingress exposure asks ingress-nginx for basic auth from the htpasswd secret', () => {
    const { issuer, chart } = setup();
    new TlsEndpoint(chart, 'metrics', {
      host: 'metrics.example.com', namespace: 'web', secretName: 'metrics-secret', issuer,
      route: { exposure: Exposure.ingress('nginx'), name: 'metrics', backend: { service: 'metrics', port: 9090 }, access: Access.basicAuth('Metrics', () => 'htpasswd') },
    });
    expect(Testing.synth(chart)[1].metadata.annotations).toEqual({
      'nginx.ingress.kubernetes.io/auth-type': 'basic', 'nginx.ingress.kubernetes.io/auth-secret': 'htpasswd', 'nginx.ingress.kubernetes.io/auth-realm': 'Metrics',
    });
  });

  test('a named backend port needs its number, which backendRefs take', () => {
    const { issuer, chart, gateway } = gatewaySetup();
    expect(() => new TlsEndpoint(chart, 'argocd', {
      host: 'argocd.example.com', namespace: 'argocd', secretName: 'argocd-server-tls', issuer,
      route: { exposure: gateway, name: 'argocd', backend: { service: 'argocd-server', port: 'https' }, tls: 'passthrough' },
    })).toThrow(/backend port "https" is a name, and Gateway API backendRefs take a port number; pass backend.portNumber/);
  });

  test('an issuer that solves through an ingress class cannot issue a Gateway endpoint\'s certificate', () => {
    const { chart, gateway } = gatewaySetup();
    const { issuer } = setup();
    expect(() => new TlsEndpoint(chart, 'shop', {
      host: 'shop.example.com', namespace: 'web', secretName: 'shop-secret', issuer,
      route: { exposure: gateway, name: 'shop', backend: { service: 'shop', port: 80 } },
    })).toThrow(/issuer "letsencrypt" solves HTTP-01 through ingress class "nginx", but it is served by Gateway "platform", so the challenge would never reach the host; choose an issuer whose http01GatewayHTTPRoute is "platform"/);
  });
});
