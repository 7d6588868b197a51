// duplicate-host (lib/validation/rules-hosts.ts): every public host is served by one Ingress or Gateway,
// over the whole object set (ours and what the charts render). Run on a Context built here, so that the
// rule is tested whether or not lib/validation/index.ts runs it yet.
import { ManifestFile, Violation } from '../../lib/validation';
import { Context, groupOf, KObject } from '../../lib/validation/context';
import { duplicateHost } from '../../lib/validation/rules-hosts';
import { chartFiles, renderFiles } from '../../lib/platform';
import { labPlatform } from '../helpers';
import { ingress, M } from './helpers';

const CLUSTER_SCOPED = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'ClusterIssuer',
  'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'APIService', 'PriorityClass', 'IngressClass', 'StorageClass']);

function run(files: ManifestFile[]): Violation[] {
  const ctx = new Context(files.filter((f) => (f.manifest as M)?.kind).map((f): KObject => {
    const m = f.manifest as M;
    const namespace = CLUSTER_SCOPED.has(m.kind) ? undefined : m.metadata?.namespace ?? 'default';
    return {
      file: f.path, manifest: m, apiVersion: m.apiVersion, kind: m.kind, group: groupOf(m.apiVersion), name: m.metadata?.name ?? '', namespace,
      label: `${m.kind} ${namespace === undefined ? '' : `${namespace}/`}${m.metadata?.name}`, application: f.application, rendered: f.rendered,
    };
  }), {});
  duplicateHost(ctx);
  return ctx.violations;
}

const gateway = (namespace: string, name: string, hosts: string[], selector: M = { istio: 'ingressgateway' }): M => ({
  apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name, namespace },
  spec: {
    selector,
    servers: [
      { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts },
      { port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts, tls: { mode: 'SIMPLE', credentialName: `${name}-secret` } },
    ],
  },
});
const own = (app: string, path: string, manifest: M): ManifestFile => ({ path, manifest, application: app });
const chart = (app: string, manifest: M): ManifestFile => ({ path: `${app}/(chart) ${app}/templates/ingress.yaml`, manifest, application: app, rendered: true });
const web = (path: string) => [{ path, service: 'web', port: 80 }];

describe('duplicate-host', () => {
  test('the lab platform (ours and every chart render) serves each host once', () => {
    const platform = labPlatform();
    const files = [...renderFiles(platform), ...chartFiles(platform)];
    expect(files.some((f) => (f as ManifestFile).rendered && (f.manifest as M).kind === 'Ingress')).toBe(true);
    expect(run(files)).toEqual([]);
  });

  test('two workloads\' Gateways on one host are refused on the second, naming the first and the fix', () => {
    const v = run([
      own('workloads', 'workloads/gateway-nginx-gateway.yaml', gateway('default', 'nginx-gateway', ['www.example.com'])),
      own('workloads', 'workloads/gateway-shop-gateway.yaml', gateway('default', 'shop-gateway', ['www.example.com'])),
    ]);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ rule: 'duplicate-host', object: 'Gateway default/shop-gateway', field: 'spec.servers[0].hosts[0]' });
    expect(v[0].message).toBe('host www.example.com is also served by Gateway default/nginx-gateway (Application workloads): both select gateway pods ' +
      'istio=ingressgateway on port 80, and Istio keeps only one of the two servers (IST0145 ConflictingGateways)');
    expect(v[0].fix).toContain('apps.workloads.<name>.subdomain');
  });

  test('a workload Gateway on a platform Ingress host (grafana.<domain>) is refused: one host, two load balancers', () => {
    const v = run([
      own('monitoring-config', 'monitoring-config/ingress-grafana.yaml', ingress('monitoring', 'grafana', { host: 'grafana.example.com', paths: web('/') })),
      own('workloads', 'workloads/gateway-shop-gateway.yaml', gateway('default', 'shop-gateway', ['grafana.example.com'])),
    ]);
    expect(v.map((x) => `${x.object} ${x.field}`)).toEqual(['Gateway default/shop-gateway spec.servers[0].hosts[0]']);
    expect(v[0].message).toContain('host grafana.example.com is also served by Ingress monitoring/grafana (Application monitoring-config): DNS sends a host to one load balancer');
  });

  test('a chart\'s Ingress on a host ours already serves is refused, whatever the order of the files', () => {
    const v = run([
      chart('harbor', ingress('devops-tools', 'harbor-ingress', { host: 'harbor.example.com', paths: web('/') })),
      own('workloads', 'workloads/ingress-shop.yaml', ingress('default', 'shop', { host: 'harbor.example.com', paths: web('/shop') })),
    ]);
    // Ours come first: the chart's route is the one reported, naming ours.
    expect(v.map((x) => x.object)).toEqual(['Ingress devops-tools/harbor-ingress']);
    expect(v[0].message).toContain('two Applications each change');
  });

  test('Ingresses of one Application may share a host on different paths, not on the same one', () => {
    const api = own('web', 'web/ingress-api.yaml', ingress('web', 'api', { host: 'shop.example.com', paths: web('/api') }));
    const ui = own('web', 'web/ingress-ui.yaml', ingress('web', 'ui', { host: 'shop.example.com', paths: web('/') }));
    expect(run([api, ui])).toEqual([]);
    const ui2 = own('web', 'web/ingress-ui2.yaml', ingress('web', 'ui2', { host: 'shop.example.com', paths: web('/') }));
    const v = run([api, ui, ui2]);
    expect(v.map((x) => x.object)).toEqual(['Ingress web/ui2']);
    expect(v[0].message).toContain('both route path /');
  });

  test('Ingresses of two classes on one host are refused', () => {
    const a = ingress('web', 'a', { host: 'shop.example.com', paths: web('/') });
    const b = { ...ingress('web', 'b', { host: 'shop.example.com', paths: web('/b') }), spec: { ...ingress('web', 'b', { host: 'shop.example.com', paths: web('/b') }).spec, ingressClassName: 'istio' } };
    const v = run([own('web', 'a.yaml', a), own('web', 'b.yaml', b)]);
    expect(v).toHaveLength(1);
    expect(v[0].message).toContain('ingress classes "nginx" and "istio"');
  });

  test('Gateways of different gateway pods, wildcard hosts and namespace/host forms', () => {
    expect(run([
      own('a', 'a.yaml', gateway('a', 'a', ['shop.example.com'])),
      own('b', 'b.yaml', gateway('b', 'b', ['shop.example.com'], { istio: 'internal-gateway' })),
    ])).toEqual([]);
    expect(run([own('a', 'a.yaml', gateway('a', 'a', ['*'])), own('b', 'b.yaml', gateway('b', 'b', ['*']))])).toEqual([]);
    const v = run([own('a', 'a.yaml', gateway('a', 'a', ['a/Shop.example.com'])), own('b', 'b.yaml', gateway('b', 'b', ['*/shop.example.com']))]);
    expect(v.map((x) => x.object)).toEqual(['Gateway b/b']);
  });

  test('one Gateway listing a host on ports 80 and 443 is one route', () => {
    expect(run([own('workloads', 'g.yaml', gateway('default', 'nginx-gateway', ['www.example.com']))])).toEqual([]);
  });
});
