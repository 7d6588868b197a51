// The Gateway API rules (lib/validation/rules-gateway-api.ts, and duplicate-host's listeners): a small
// valid set (a Gateway with an HTTPS listener, its Certificate, an HTTPRoute to a Service) broken one way
// per test.
import { ManifestFile } from '../../lib/validation';
import { certificate, file, ingress, M, only, service } from './helpers';

const gateway = (listeners: M[], namespace = 'istio-system', name = 'platform'): M => ({
  apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name, namespace },
  spec: { gatewayClassName: 'istio', listeners },
});
const https = (name: string, hostname: string, secret: string, routeNamespaces = ['web'], ref: M = {}): M => ({
  name, hostname, port: 443, protocol: 'HTTPS',
  tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: secret, ...ref }] },
  allowedRoutes: { namespaces: { from: 'Selector', selector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: routeNamespaces }] } } },
});
const httpRoute = (namespace: string, name: string, parent: M, host = 'shop.example.com', backend: M = { name: 'shop', port: 80 }): M => ({
  apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name, namespace },
  spec: { parentRefs: [parent], hostnames: [host], rules: [{ backendRefs: [backend] }] },
});
const parent = (sectionName?: string, name = 'platform'): M => ({ name, namespace: 'istio-system', ...(sectionName ? { sectionName } : {}) });

/** The valid set, with `change` applied to its objects first. */
function set(change: (o: { gw: M; route: M; extra: M[] }) => void = () => {}): ManifestFile[] {
  const o = {
    gw: gateway([https('https-shop', 'shop.example.com', 'shop-secret')]),
    route: httpRoute('web', 'shop', parent('https-shop')),
    extra: [] as M[],
  };
  change(o);
  return [
    file('gw.yaml', o.gw),
    file('cert.yaml', certificate('istio-system', 'shop-secret', 'letsencrypt', 'shop.example.com')),
    file('route.yaml', o.route),
    file('svc.yaml', service('web', 'shop', [{ name: 'http', port: 80 }])),
    ...o.extra.map((m, i) => file(`extra-${i}.yaml`, m)),
  ];
}

describe('gateway-listener-certificate', () => {
  test('a listener whose secret a Certificate fills in the Gateway\'s namespace passes', () => {
    expect(only('gateway-listener-certificate', set())).toEqual([]);
  });

  test('a listener whose secret nothing issues is reported', () => {
    const v = only('gateway-listener-certificate', set(({ gw }) => { gw.spec.listeners[0].tls.certificateRefs[0].name = 'shop-tls'; }));
    expect(v).toHaveLength(1);
    expect(v[0].field).toBe('spec.listeners[0].tls.certificateRefs[0].name');
    expect(v[0].message).toMatch(/listener https-shop \(shop\.example\.com\) serves Secret "shop-tls", which no Certificate \(or declared secret\) fills in namespace istio-system/);
  });

  test('a secret in another namespace needs a ReferenceGrant there', () => {
    const files = set(({ gw }) => { gw.spec.listeners[0].tls.certificateRefs[0].namespace = 'web'; });
    files.push(file('cert-web.yaml', certificate('web', 'shop-secret', 'letsencrypt', 'shop.example.com')));
    const v = only('gateway-listener-certificate', files);
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/refers to Secret web\/shop-secret in another namespace, and no ReferenceGrant in web lets Gateways of istio-system read it/)]);
    const grant = {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'ReferenceGrant', metadata: { name: 'gateway-certs', namespace: 'web' },
      spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'istio-system' }], to: [{ group: '', kind: 'Secret', name: 'shop-secret' }] },
    };
    expect(only('gateway-listener-certificate', [...files, file('grant.yaml', grant)])).toEqual([]);
  });
});

describe('route-parent', () => {
  test('a route attached to its listener passes', () => {
    expect(only('route-parent', set())).toEqual([]);
  });

  test('a route attached to a missing Gateway is reported', () => {
    const v = only('route-parent', set(({ route }) => { route.spec.parentRefs = [parent('https-shop', 'edge')]; }));
    expect(v.map((x) => [x.field, x.message])).toEqual([['spec.parentRefs[0].name', expect.stringMatching(/parent Gateway istio-system\/edge does not exist \(Gateways: istio-system\/platform\)/)]]);
  });

  test('a route attached to a missing listener is reported with the listeners there are', () => {
    const v = only('route-parent', set(({ route }) => { route.spec.parentRefs = [parent('https-shops')]; }));
    expect(v.map((x) => [x.field, x.message, x.fix])).toEqual([[
      'spec.parentRefs[0].sectionName',
      expect.stringMatching(/Gateway istio-system\/platform has no listener "https-shops" \(its listeners: https-shop\)/),
      expect.stringMatching(/use listener "https-shop"/),
    ]]);
  });

  test('a listener that does not admit the route\'s namespace, host or kind is reported', () => {
    expect(only('route-parent', set(({ route }) => { route.metadata.namespace = 'other'; })).map((x) => x.message))
      .toEqual([expect.stringMatching(/does not admit this HTTPRoute: its allowedRoutes\.namespaces selector does not select namespace other/)]);
    expect(only('route-parent', set(({ route }) => { route.spec.hostnames = ['www.example.com']; })).map((x) => x.message))
      .toEqual([expect.stringMatching(/its hostname shop\.example\.com matches none of the route's hostnames \(www\.example\.com\)/)]);
    expect(only('route-parent', set(({ route }) => { route.kind = 'TLSRoute'; route.spec.rules = [{ backendRefs: [{ name: 'shop', port: 80 }] }]; })).map((x) => x.message))
      .toEqual([expect.stringMatching(/its protocol HTTPS carries HTTPRoute and GRPCRoute, not TLSRoute/)]);
  });

  test('without a sectionName, some listener must admit the route', () => {
    expect(only('route-parent', set(({ route }) => { route.spec.parentRefs = [parent()]; }))).toEqual([]);
    expect(only('route-parent', set(({ route }) => { route.spec.parentRefs = [parent()]; route.metadata.namespace = 'other'; })).map((x) => x.message))
      .toEqual([expect.stringMatching(/no listener of Gateway istio-system\/platform admits this HTTPRoute \(https-shop: /)]);
  });
});

describe('route-backend', () => {
  test('a backend Service with that port passes', () => {
    expect(only('route-backend', set())).toEqual([]);
  });

  test('a missing Service or port is reported', () => {
    expect(only('route-backend', set(({ route }) => { route.spec.rules[0].backendRefs[0].name = 'shopp'; })).map((x) => [x.field, x.fix]))
      .toEqual([['spec.rules[0].backendRefs[0].name', expect.stringMatching(/use Service "shop"/)]]);
    expect(only('route-backend', set(({ route }) => { route.spec.rules[0].backendRefs[0].port = 8080; })).map((x) => x.message))
      .toEqual([expect.stringMatching(/Service web\/shop has no port 8080/)]);
  });
});

describe('duplicate-host with Gateway API listeners', () => {
  test('two listeners for one host and port in one Gateway are reported', () => {
    const v = only('duplicate-host', set(({ gw }) => { gw.spec.listeners.push(https('https-shop2', 'shop.example.com', 'shop-secret')); }));
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/host shop\.example\.com has a second listener on port 443 in this Gateway/)]);
  });

  test('a listener and an Ingress for one host are reported', () => {
    const v = only('duplicate-host', set(({ extra }) => { extra.push(ingress('web', 'shop', { host: 'shop.example.com' })); }));
    expect(v).toHaveLength(1);
    expect(v[0].message).toMatch(/host shop\.example\.com is also served by/);
  });

  test('listeners of two Gateways for one host and port are reported; other ports are not', () => {
    const second = (port: number) => set(({ extra }) => { extra.push(gateway([{ ...https('https-shop', 'shop.example.com', 'shop-secret'), port }], 'istio-system', 'edge')); });
    expect(only('duplicate-host', second(443)).map((x) => x.message)).toEqual([expect.stringMatching(/both are listeners on port 443/)]);
    expect(only('duplicate-host', second(8443))).toEqual([]);
  });
});
