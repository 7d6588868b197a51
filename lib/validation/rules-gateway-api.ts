// Gateway API (gateway.networking.k8s.io): what a controller would accept but leave unserved, found before
// the sync. Each rule reports where the fix belongs:
//   gateway-listener-certificate  a listener's certificateRef names a Secret that nothing fills (no
//                                 Certificate, declared secret or runtime secret in its namespace), or one
//                                 in another namespace without a ReferenceGrant there;
//   route-parent                  an HTTPRoute/TLSRoute/GRPCRoute attached to a Gateway that does not exist,
//                                 to a listener (sectionName) it does not have, or to a listener that does
//                                 not admit it (protocol, allowedRoutes kinds or namespaces, hostname);
//   route-backend                 a backendRef that names no Service (ours or rendered) or no port of it.
// Two listeners for one host are duplicate-host's (rules-hosts.ts).
import { closest } from './schema';
import { Context, describePorts, isObject, Json, KObject, list, namespacedName, Path, str } from './context';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';
const ROUTE_KINDS = ['HTTPRoute', 'TLSRoute', 'GRPCRoute'] as const;
/** The label Kubernetes puts on every namespace with its name: the only namespace label known before the sync. */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** The route kinds a listener protocol carries (Gateway API's core support). */
const KINDS_BY_PROTOCOL: Readonly<Record<string, readonly string[]>> = {
  HTTP: ['HTTPRoute', 'GRPCRoute'],
  HTTPS: ['HTTPRoute', 'GRPCRoute'],
  TLS: ['TLSRoute'],
};

export interface Listener {
  readonly gateway: KObject;
  readonly index: number;
  readonly name: string;
  readonly port: number;
  readonly protocol: string;
  readonly hostname?: string;
  readonly spec: Json;
}

/** Every listener of every Gateway API Gateway. */
export function gatewayListeners(ctx: Context): Listener[] {
  return ctx.of(GATEWAY_API_GROUP, 'Gateway').flatMap((gw) => list(gw.manifest.spec?.listeners).filter(isObject).map((l, index) => ({
    gateway: gw, index, name: str(l.name) ?? '', port: Number(l.port), protocol: str(l.protocol) ?? '', hostname: str(l.hostname)?.toLowerCase(), spec: l,
  })));
}

/** Whether a ReferenceGrant in `to.namespace` lets objects of `fromKind` in `fromNamespace` refer to `to`. */
function granted(ctx: Context, fromKind: string, fromNamespace: string, to: { group: string; kind: string; namespace: string; name: string }): boolean {
  return ctx.of(GATEWAY_API_GROUP, 'ReferenceGrant').some((g) => g.namespace === to.namespace &&
    list(g.manifest.spec?.from).some((f) => isObject(f) && (str(f.group) ?? '') === GATEWAY_API_GROUP && f.kind === fromKind && f.namespace === fromNamespace) &&
    list(g.manifest.spec?.to).some((t) => isObject(t) && (str(t.group) ?? '') === to.group && t.kind === to.kind && (t.name === undefined || t.name === to.name)));
}

/** gateway-listener-certificate */
export function gatewayListenerCertificate(ctx: Context): void {
  const declared = ctx.declaredSecrets();
  for (const l of gatewayListeners(ctx)) {
    list(l.spec.tls?.certificateRefs).forEach((ref, i) => {
      if (!isObject(ref) || (str(ref.group) ?? '') !== '' || (str(ref.kind) ?? 'Secret') !== 'Secret') return;
      const name = str(ref.name);
      if (!name) return;
      const gwNamespace = l.gateway.namespace ?? 'default';
      const namespace = str(ref.namespace) ?? gwNamespace;
      const field: Path = ['spec', 'listeners', l.index, 'tls', 'certificateRefs', i];
      if (namespace !== gwNamespace && !granted(ctx, 'Gateway', gwNamespace, { group: '', kind: 'Secret', namespace, name })) {
        ctx.report('gateway-listener-certificate', l.gateway, [...field, 'namespace'],
          `listener ${l.name} refers to Secret ${namespace}/${name} in another namespace, and no ReferenceGrant in ${namespace} lets Gateways of ${gwNamespace} read it, so the listener gets no certificate`,
          `keep the Certificate in ${gwNamespace} (where a gateway-api exposure puts it), or declare a ReferenceGrant in ${namespace} from Gateway in ${gwNamespace} to Secret ${name}`);
        return;
      }
      if (declared.has(namespacedName(namespace, name)) || ctx.isRuntimeSecret(namespace, name)) return;
      const other = ctx.secretElsewhere(namespace, name);
      ctx.report('gateway-listener-certificate', l.gateway, [...field, 'name'],
        `listener ${l.name}${l.hostname ? ` (${l.hostname})` : ''} serves Secret "${name}", which no Certificate (or declared secret) fills in namespace ${namespace}` +
        (other.length > 0 ? ` (one of that name is declared in ${other.join(', ')})` : ''),
        `declare a Certificate with spec.secretName: ${name} in namespace ${namespace} (a TlsEndpoint with a gateway-api exposure does), or, if a controller creates the secret at run time, list it in the runtimeObjects of the component that runs that controller`);
    });
  }
}

/** Whether a route host matches a listener hostname (exact, or `*.suffix` covering one or more labels). */
function hostMatches(listener: string | undefined, host: string): boolean {
  if (listener === undefined) return true;
  const h = host.toLowerCase();
  if (listener.startsWith('*.')) return h.endsWith(listener.slice(1)) && h.length > listener.length - 1;
  if (h.startsWith('*.')) return listener.endsWith(h.slice(1));
  return h === listener;
}

/** Why a listener does not admit a route, or undefined. */
function refusal(l: Listener, route: KObject, hostnames: string[]): string | undefined {
  const carried = KINDS_BY_PROTOCOL[l.protocol] ?? [];
  if (!carried.includes(route.kind)) return `its protocol ${l.protocol} carries ${carried.join(' and ') || 'no route kind this platform uses'}, not ${route.kind}`;
  const allowed = l.spec.allowedRoutes;
  const kinds = list(allowed?.kinds).filter(isObject).map((k) => str(k.kind)).filter((k): k is string => k !== undefined);
  if (kinds.length > 0 && !kinds.includes(route.kind)) return `its allowedRoutes.kinds admit ${kinds.join(', ')} only`;
  const from = str(allowed?.namespaces?.from) ?? 'Same';
  const routeNs = route.namespace ?? 'default';
  const gwNs = l.gateway.namespace ?? 'default';
  if (from === 'Same' && routeNs !== gwNs) return `it admits routes of its own namespace ${gwNs} only (allowedRoutes.namespaces.from Same), and the route is in ${routeNs}`;
  if (from === 'Selector') {
    const selector = allowed.namespaces.selector ?? {};
    const labels: Record<string, string> = { [NAMESPACE_NAME_LABEL]: routeNs };
    const known = (k: string) => k === NAMESPACE_NAME_LABEL;
    const matchLabels = isObject(selector.matchLabels) ? selector.matchLabels : {};
    const ok = Object.entries(matchLabels).every(([k, v]) => !known(k) || labels[k] === v) &&
      list(selector.matchExpressions).filter(isObject).every((e) => {
        if (!known(str(e.key) ?? '')) return true;
        const values = list(e.values);
        if (e.operator === 'In') return values.includes(routeNs);
        if (e.operator === 'NotIn') return !values.includes(routeNs);
        return true;
      });
    if (!ok) return `its allowedRoutes.namespaces selector does not select namespace ${routeNs}`;
  }
  if (hostnames.length > 0 && !hostnames.some((h) => hostMatches(l.hostname, h))) return `its hostname ${l.hostname} matches none of the route's hostnames (${hostnames.join(', ')})`;
  return undefined;
}

/** route-parent */
export function routeParent(ctx: Context): void {
  const listeners = gatewayListeners(ctx);
  const gateways = new Map(ctx.of(GATEWAY_API_GROUP, 'Gateway').map((g) => [namespacedName(g.namespace, g.name), g]));
  for (const kind of ROUTE_KINDS) {
    for (const route of ctx.of(GATEWAY_API_GROUP, kind)) {
      const hostnames = list(route.manifest.spec?.hostnames).filter((h): h is string => typeof h === 'string');
      list(route.manifest.spec?.parentRefs).forEach((ref, i) => {
        if (!isObject(ref) || (str(ref.kind) ?? 'Gateway') !== 'Gateway' || (str(ref.group) ?? GATEWAY_API_GROUP) !== GATEWAY_API_GROUP) return;
        const name = str(ref.name);
        if (!name) return;
        const namespace = str(ref.namespace) ?? route.namespace ?? 'default';
        const at: Path = ['spec', 'parentRefs', i];
        const gw = gateways.get(namespacedName(namespace, name));
        if (!gw) {
          const names = [...gateways.keys()].sort();
          const guess = closest(`${namespace}/${name}`, names);
          ctx.report('route-parent', route, [...at, 'name'], `parent Gateway ${namespace}/${name} does not exist${names.length > 0 ? ` (Gateways: ${names.join(', ')})` : ''}, so nothing serves this route`,
            `${guess ? `attach to ${guess}` : 'attach to an existing Gateway'}, or make the Gateway (config exposure.kind gateway-api makes the platform's)`);
          return;
        }
        const own = listeners.filter((l) => l.gateway === gw);
        const section = str(ref.sectionName);
        if (section !== undefined) {
          const l = own.find((x) => x.name === section);
          if (!l) {
            ctx.report('route-parent', route, [...at, 'sectionName'], `Gateway ${namespace}/${name} has no listener "${section}" (its listeners: ${own.map((x) => x.name).join(', ') || 'none'}), so the route is never attached`,
              `${closest(section, own.map((x) => x.name)) ? `use listener "${closest(section, own.map((x) => x.name))}"` : 'name an existing listener'}, or add the listener to the Gateway`);
            return;
          }
          const why = refusal(l, route, hostnames);
          if (why) ctx.report('route-parent', route, [...at, 'sectionName'], `listener ${section} of Gateway ${namespace}/${name} does not admit this ${kind}: ${why}`, 'attach the route to a listener that admits it, or change the listener');
          return;
        }
        if (own.some((l) => refusal(l, route, hostnames) === undefined)) return;
        ctx.report('route-parent', route, [...at, 'name'], `no listener of Gateway ${namespace}/${name} admits this ${kind} (${own.map((l) => `${l.name}: ${refusal(l, route, hostnames)}`).join('; ') || 'it has no listeners'})`,
          'attach the route to a listener that admits it (sectionName), or change the listeners');
      });
    }
  }
}

/** route-backend */
export function routeBackend(ctx: Context): void {
  const services = ctx.services();
  for (const kind of ROUTE_KINDS) {
    for (const route of ctx.of(GATEWAY_API_GROUP, kind)) {
      list(route.manifest.spec?.rules).forEach((rule, r) => {
        list(rule?.backendRefs).forEach((ref, b) => {
          if (!isObject(ref) || (str(ref.group) ?? '') !== '' || (str(ref.kind) ?? 'Service') !== 'Service') return;
          const name = str(ref.name);
          if (!name) return;
          const routeNs = route.namespace ?? 'default';
          const namespace = str(ref.namespace) ?? routeNs;
          const at: Path = ['spec', 'rules', r, 'backendRefs', b];
          if (namespace !== routeNs && !granted(ctx, kind, routeNs, { group: '', kind: 'Service', namespace, name })) {
            ctx.report('route-backend', route, [...at, 'namespace'], `backend Service ${namespace}/${name} is in another namespace, and no ReferenceGrant in ${namespace} lets ${kind}s of ${routeNs} use it`,
              `move the route to ${namespace}, or declare a ReferenceGrant in ${namespace} from ${kind} in ${routeNs} to Service ${name}`);
            return;
          }
          const svc = services.get(namespacedName(namespace, name));
          if (!svc) {
            const names = ctx.serviceNames(namespace);
            const guess = closest(name, names);
            ctx.report('route-backend', route, [...at, 'name'], `backend Service "${name}" does not exist in namespace ${namespace}`,
              `${guess ? `use Service "${guess}"` : 'point the backend at an existing Service'}${names.length > 0 ? ` (Services in ${namespace}: ${names.join(', ')})` : ''}, or set the values of the chart that should render it`);
            return;
          }
          if (!svc.ports || typeof ref.port !== 'number') return;
          if (!svc.ports.some((p) => p.port === ref.port)) {
            ctx.report('route-backend', route, [...at, 'port'], `Service ${namespace}/${name} has no port ${ref.port} (its ports: ${describePorts(svc.ports)})`,
              `use one of its port numbers (backendRefs take numbers, not names), or add port ${ref.port} to the Service`);
          }
        });
      });
    }
  }
}
