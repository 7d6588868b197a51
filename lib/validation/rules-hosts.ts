// duplicate-host: every public host is served by one route. A host is the `spec.rules[].host` of an Ingress
// (ours or a chart's) or a `spec.servers[].hosts[]` entry of an Istio Gateway. The same host on
//   - an Ingress and a Gateway, or on Ingresses of two ingress classes: DNS points a host at one load
//     balancer, so one of them never gets traffic, and cert-manager's HTTP-01 challenge for it fails on one;
//   - two Gateways that select the same gateway pods on the same port: Istio keeps one server and drops the
//     other (istioctl analyze IST0145 ConflictingGateways);
//   - Ingresses of two Applications, or two Ingresses with a common path: ingress-nginx merges them into one
//     server, and for a common path one backend silently wins;
//   - a Gateway API listener (gateway.networking.k8s.io) and anything else, or two listeners on one port
//     (in one Gateway or two): the Gateway API marks such listeners Conflicted, and Istio serves one;
// is reported on every route but the first, naming the others. Wildcard Gateway hosts (`*`, `*.example.com`)
// and listeners without a hostname are not compared.
import { Context, isObject, KObject, list, Path, str } from './context';
import { gatewayListeners } from './rules-gateway-api';


/** One host of one Ingress or Gateway. */
interface Route {
  readonly object: KObject;
  readonly field: Path;
  readonly host: string;
  readonly via: 'Ingress' | 'Gateway' | 'Gateway API';
  /** Ingress: the ingress class; Gateway: the gateway pods it selects. */
  readonly frontend: string;
  /** Ingress: `pathType path` of the rule; Gateway: the server's port number. */
  readonly slots: readonly string[];
}

const INGRESS_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

function ingressRoutes(ctx: Context): Route[] {
  const out: Route[] = [];
  for (const ing of ctx.of('networking.k8s.io', 'Ingress')) {
    const spec = ing.manifest.spec ?? {};
    const frontend = str(spec.ingressClassName) ?? str(ing.manifest.metadata?.annotations?.[INGRESS_CLASS_ANNOTATION]) ?? '(default class)';
    list(spec.rules).forEach((rule, r) => {
      const host = str(rule?.host)?.toLowerCase();
      if (!host) return;
      const slots = list(rule?.http?.paths).filter(isObject).map((p) => `${str(p.pathType) ?? 'ImplementationSpecific'} ${str(p.path) ?? '/'}`);
      out.push({ object: ing, field: ['spec', 'rules', r, 'host'], host, via: 'Ingress', frontend, slots });
    });
  }
  return out;
}

function gatewayRoutes(ctx: Context): Route[] {
  const out: Route[] = [];
  for (const gw of ctx.of('networking.istio.io', 'Gateway')) {
    const selector = isObject(gw.manifest.spec?.selector) ? gw.manifest.spec.selector : {};
    const frontend = Object.keys(selector).sort().map((k) => `${k}=${String(selector[k])}`).join(',') || '(every gateway)';
    list(gw.manifest.spec?.servers).forEach((server, s) => {
      const port = String(server?.port?.number ?? '');
      list(server?.hosts).forEach((h, i) => {
        if (typeof h !== 'string') return;
        // `namespace/host` limits which VirtualServices may bind; the host is what clients name.
        const host = (h.includes('/') ? h.slice(h.indexOf('/') + 1) : h).toLowerCase();
        if (host === '' || host.includes('*')) return;
        out.push({ object: gw, field: ['spec', 'servers', s, 'hosts', i], host, via: 'Gateway', frontend, slots: [port] });
      });
    });
  }
  return out;
}

function gatewayApiRoutes(ctx: Context): Route[] {
  return gatewayListeners(ctx).filter((l) => l.hostname !== undefined && !l.hostname.includes('*')).map((l) => ({
    object: l.gateway, field: ['spec', 'listeners', l.index, 'hostname'], host: l.hostname!, via: 'Gateway API' as const,
    frontend: `${l.gateway.namespace}/${l.gateway.name}`, slots: [String(l.port)],
  }));
}

/** Why two routes of different objects for the same host conflict, or undefined when they may share it. */
function conflict(a: Route, b: Route): string | undefined {
  if (a.via === 'Gateway API' || b.via === 'Gateway API') {
    if (a.via !== b.via) return `a Gateway API listener and ${a.via === 'Gateway API' ? `an ${b.via}` : `an ${a.via}`} for one host either sit behind two load balancers (DNS reaches one) or claim the same gateway pods' port, where Istio serves one of them`;
    const port = a.slots.find((p) => b.slots.includes(p));
    return port === undefined ? undefined : `both are listeners on port ${port}, which the Gateway API marks Conflicted and Istio serves once`;
  }
  if (a.via !== b.via) return 'DNS sends a host to one load balancer, so only one of an Ingress and a Gateway ever receives its traffic';
  if (a.via === 'Ingress') {
    if (a.frontend !== b.frontend) return `DNS sends a host to one load balancer, so only one of the ingress classes "${a.frontend}" and "${b.frontend}" ever receives its traffic`;
    const common = a.slots.filter((p) => b.slots.includes(p));
    if (common.length > 0) return `both route path ${common[0].split(' ').slice(1).join(' ')}, and the ingress controller sends it to one backend only`;
    if (a.object.application !== b.object.application) return `the ingress controller merges them into one server that two Applications each change without knowing of the other`;
    return undefined;
  }
  if (a.frontend !== b.frontend) return undefined;
  const port = a.slots.find((p) => b.slots.includes(p));
  return port === undefined ? undefined : `both select gateway pods ${a.frontend} on port ${port}, and Istio keeps only one of the two servers (IST0145 ConflictingGateways)`;
}

const describe = (r: Route) => `${r.via} ${r.object.namespace ?? ''}/${r.object.name}${r.object.application ? ` (Application ${r.object.application})` : ''}`;

/** duplicate-host */
export function duplicateHost(ctx: Context): void {
  const byHost = new Map<string, Route[]>();
  // Two listeners of one Gateway for one host and port: the Gateway API marks both Conflicted.
  const seen = new Map<string, Route>();
  for (const r of gatewayApiRoutes(ctx)) {
    const k = `${r.object.file}\0${r.object.label}\0${r.host}\0${r.slots[0]}`;
    const first = seen.get(k);
    if (!first) {
      seen.set(k, r);
      continue;
    }
    ctx.report('duplicate-host', r.object, r.field, `host ${r.host} has a second listener on port ${r.slots[0]} in this Gateway (the first: ${first.field.join('.')}); the Gateway API marks both Conflicted`,
      'serve each host from one listener: give one endpoint another host');
  }
  for (const r of [...ingressRoutes(ctx), ...gatewayRoutes(ctx), ...gatewayApiRoutes(ctx)]) {
    let l = byHost.get(r.host);
    if (!l) byHost.set(r.host, (l = []));
    l.push(r);
  }
  for (const [host, routes] of byHost) {
    // Each object once, with all its slots for the host (a Gateway lists a host on port 80 and 443).
    const perObject = new Map<KObject, Route>();
    for (const r of routes) {
      const known = perObject.get(r.object);
      perObject.set(r.object, known ? { ...known, slots: [...known.slots, ...r.slots] } : r);
    }
    if (perObject.size < 2) continue;
    // Ours before the charts', then by file: the report lands on the later ones.
    const ordered = [...perObject.values()].sort((a, b) =>
      Number(a.object.rendered ?? false) - Number(b.object.rendered ?? false) || a.object.file.localeCompare(b.object.file) || a.field.join('.').localeCompare(b.field.join('.')));
    ordered.forEach((r, i) => {
      const earlier = ordered.slice(0, i).map((o) => [o, conflict(o, r)] as const).filter(([, why]) => why !== undefined);
      if (earlier.length === 0) return;
      ctx.report('duplicate-host', r.object, r.field,
        `host ${host} is also served by ${earlier.map(([o]) => describe(o)).join(', ')}: ${earlier[0][1]}`,
        'serve each host from one Ingress or Gateway: give one of them another host (a workload\'s host is apps.workloads.<name>.subdomain in config; the platform\'s are <component>.<domain>)');
    });
  }
}
