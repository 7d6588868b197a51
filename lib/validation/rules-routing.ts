// Routing: every Service an Ingress or a VirtualService sends traffic to exists, with the port it names.
import { closest } from './schema';
import { Context, describePorts, isObject, KObject, list, namespacedName, Path, str } from './context';

const CLUSTER_SUFFIXES = ['.svc.cluster.local', '.svc'];

function missingServiceFix(ctx: Context, namespace: string, name: string, what: string): string {
  const names = ctx.serviceNames(namespace);
  const guess = closest(name, names);
  return `${guess ? `use Service "${guess}"` : what}${names.length > 0 ? ` (Services in ${namespace}: ${names.join(', ')})` : ''}, ` +
    `declare Service "${name}" in ${namespace}, or set the values of the chart that should render it (chart Services are read from the render)`;
}

/** ingress-backend */
export function ingressBackend(ctx: Context): void {
  const services = ctx.services();
  for (const ing of ctx.of('networking.k8s.io', 'Ingress')) {
    const namespace = ing.namespace ?? 'default';
    const backends: [unknown, Path][] = [[ing.manifest.spec?.defaultBackend, ['spec', 'defaultBackend']]];
    list(ing.manifest.spec?.rules).forEach((rule, r) => {
      list(rule?.http?.paths).forEach((p, i) => backends.push([p?.backend, ['spec', 'rules', r, 'http', 'paths', i, 'backend']]));
    });
    for (const [backend, at] of backends) {
      if (!isObject(backend) || !isObject(backend.service)) continue;
      const name = str(backend.service.name);
      if (!name) continue;
      const port = isObject(backend.service.port) ? backend.service.port : {};
      const portText = typeof port.number === 'number' ? `port ${port.number}` : str(port.name) ? `port name "${port.name}"` : 'no port';
      const svc = services.get(namespacedName(namespace, name));
      if (!svc) {
        ctx.report('ingress-backend', ing, [...at, 'service', 'name'],
          `backend Service "${name}" (${portText}) does not exist in namespace ${namespace}`,
          missingServiceFix(ctx, namespace, name, 'point the backend at an existing Service'));
        continue;
      }
      if (!svc.ports) continue;
      if (typeof port.number === 'number') {
        if (!svc.ports.some((p) => p.port === port.number)) {
          ctx.report('ingress-backend', ing, [...at, 'service', 'port', 'number'],
            `Service ${namespace}/${name} has no port ${port.number} (its ports: ${describePorts(svc.ports)})`,
            `use one of its ports, or add port ${port.number} to the Service`);
        }
      } else if (str(port.name)) {
        if (!svc.ports.some((p) => p.name === port.name)) {
          const guess = closest(port.name, svc.ports.map((p) => p.name ?? '').filter((n) => n !== ''));
          ctx.report('ingress-backend', ing, [...at, 'service', 'port', 'name'],
            `Service ${namespace}/${name} has no port named "${port.name}" (its ports: ${describePorts(svc.ports)})`,
            `${guess ? `use port name "${guess}"` : 'use one of its port names or numbers'}, or name a port "${port.name}" in the Service`);
        }
      }
    }
  }
}

interface ResolvedHost {
  readonly namespace: string;
  readonly name: string;
}

/** A destination host as a cluster Service: `name` (the VirtualService's namespace), `name.ns`, `name.ns.svc[.cluster.local]`. */
export function resolveServiceHost(host: string, namespace: string): ResolvedHost | undefined {
  let h = host;
  for (const suffix of CLUSTER_SUFFIXES) if (h.endsWith(suffix)) { h = h.slice(0, -suffix.length); break; }
  const parts = h.split('.');
  if (parts.length === 1) return { namespace, name: parts[0] };
  if (parts.length === 2) return { namespace: parts[1], name: parts[0] };
  return undefined;
}

function serviceEntryHosts(ctx: Context): string[] {
  return ctx.of('networking.istio.io', 'ServiceEntry').flatMap((se) => list(se.manifest.spec?.hosts).filter((h): h is string => typeof h === 'string'));
}

function hostMatches(pattern: string, host: string): boolean {
  return pattern === host || (pattern.startsWith('*') && host.endsWith(pattern.slice(1)));
}

/** virtualservice-destination */
export function virtualServiceDestination(ctx: Context): void {
  const services = ctx.services();
  let entries: string[] | undefined;
  const check = (vs: KObject, destination: unknown, at: Path) => {
    if (!isObject(destination)) return;
    const host = str(destination.host);
    if (!host || host.includes('*')) return;
    entries ??= serviceEntryHosts(ctx);
    if (entries.some((p) => hostMatches(p, host))) return;
    const vsNamespace = vs.namespace ?? 'default';
    const resolved = resolveServiceHost(host, vsNamespace);
    if (!resolved) {
      ctx.report('virtualservice-destination', vs, [...at, 'host'],
        `destination host "${host}" is neither a cluster Service (name, name.namespace or name.namespace.svc.cluster.local) nor a host of a ServiceEntry in the set`,
        'use the Service as name.namespace.svc.cluster.local, or declare a ServiceEntry for the external host');
      return;
    }
    const svc = services.get(namespacedName(resolved.namespace, resolved.name));
    if (!svc) {
      ctx.report('virtualservice-destination', vs, [...at, 'host'],
        `destination host "${host}" is Service ${resolved.namespace}/${resolved.name}, which does not exist` +
        (host.includes('.') ? '' : ` (a short name is resolved in the VirtualService's namespace, ${vsNamespace})`),
        missingServiceFix(ctx, resolved.namespace, resolved.name, 'point the destination at an existing Service (name.namespace.svc.cluster.local for another namespace)'));
      return;
    }
    if (!svc.ports) return;
    const port = isObject(destination.port) ? destination.port.number : undefined;
    if (typeof port === 'number') {
      if (!svc.ports.some((p) => p.port === port)) {
        ctx.report('virtualservice-destination', vs, [...at, 'port', 'number'],
          `Service ${resolved.namespace}/${resolved.name} has no port ${port} (its ports: ${describePorts(svc.ports)})`,
          'use one of its ports, or add the port to the Service');
      }
    } else if (svc.ports.length > 1) {
      ctx.report('virtualservice-destination', vs, [...at, 'port'],
        `Service ${resolved.namespace}/${resolved.name} has several ports (${describePorts(svc.ports)}) and the destination names none`,
        'set port.number to the port the route is for');
    }
  };
  for (const vs of ctx.of('networking.istio.io', 'VirtualService')) {
    const spec = vs.manifest.spec ?? {};
    for (const protocol of ['http', 'tcp', 'tls'] as const) {
      list(spec[protocol]).forEach((route, r) => {
        list(route?.route).forEach((dest, d) => check(vs, dest?.destination, ['spec', protocol, r, 'route', d, 'destination']));
        if (protocol === 'http') {
          check(vs, route?.mirror, ['spec', 'http', r, 'mirror']);
          list(route?.mirrors).forEach((m, i) => check(vs, m?.destination, ['spec', 'http', r, 'mirrors', i, 'destination']));
        }
      });
    }
  }
}

/**
 * destination-subset: a VirtualService destination's `subset` is defined by a DestinationRule of that
 * host, every DestinationRule's host is a Service (or a ServiceEntry host) of the set, and every subset
 * selects pods of a workload behind that Service. Otherwise Envoy answers 503 (no healthy upstream) or
 * the route is rejected: nothing the schema sees.
 */
export function destinationSubset(ctx: Context): void {
  const services = ctx.services();
  const entries = serviceEntryHosts(ctx);
  const rules = ctx.of('networking.istio.io', 'DestinationRule');
  /** The Service a host names, as `namespace/name`, or undefined for a ServiceEntry host or an unresolvable one. */
  const serviceOf = (host: string, namespace: string) => {
    if (entries.some((p) => hostMatches(p, host))) return undefined;
    const r = resolveServiceHost(host, namespace);
    return r && namespacedName(r.namespace, r.name);
  };
  // Pod templates of the set's workloads, by namespace, with their labels.
  const pods = new Map<string, Record<string, unknown>[]>();
  for (const kind of [['apps', 'Deployment'], ['apps', 'StatefulSet'], ['apps', 'DaemonSet'], ['argoproj.io', 'Rollout']] as const) {
    for (const o of ctx.of(kind[0], kind[1])) {
      const labels = o.manifest.spec?.template?.metadata?.labels;
      if (isObject(labels)) pods.set(o.namespace ?? 'default', [...(pods.get(o.namespace ?? 'default') ?? []), labels]);
    }
  }
  const selects = (sel: Record<string, unknown>, labels: Record<string, unknown>) => Object.entries(sel).every(([k, v]) => labels[k] === v);

  const subsetsOf = new Map<string, Map<string, KObject>>();
  for (const dr of rules) {
    const host = str(dr.manifest.spec?.host);
    if (!host || host.includes('*')) continue;
    const ns = dr.namespace ?? 'default';
    const svcKey = serviceOf(host, ns);
    if (svcKey === undefined) {
      if (!entries.some((p) => hostMatches(p, host))) {
        ctx.report('destination-subset', dr, ['spec', 'host'], `host "${host}" is neither a cluster Service nor a host of a ServiceEntry in the set`,
          'use the Service as name, name.namespace or name.namespace.svc.cluster.local, or declare a ServiceEntry for the host');
      }
      continue;
    }
    if (!services.has(svcKey)) {
      const [sns, sname] = svcKey.split('/');
      ctx.report('destination-subset', dr, ['spec', 'host'], `host "${host}" is Service ${svcKey}, which does not exist`,
        missingServiceFix(ctx, sns, sname, 'point the DestinationRule at an existing Service'));
      continue;
    }
    const known = subsetsOf.get(svcKey) ?? new Map<string, KObject>();
    subsetsOf.set(svcKey, known);
    const svc = ctx.of('', 'Service').find((s) => namespacedName(s.namespace, s.name) === svcKey);
    const selector = isObject(svc?.manifest.spec?.selector) ? svc!.manifest.spec.selector : undefined;
    list(dr.manifest.spec?.subsets).forEach((s, i) => {
      const name = str(s?.name);
      if (!name) return;
      known.set(name, dr);
      const labels = isObject(s?.labels) ? s.labels : {};
      if (!selector) return;
      const matching = (pods.get(svcKey.split('/')[0]) ?? []).filter((p) => selects(selector, p) && selects(labels, p));
      if (matching.length === 0) {
        ctx.report('destination-subset', dr, ['spec', 'subsets', i, 'labels'],
          `subset "${name}" selects no pod of Service ${svcKey} (its pods must carry ${JSON.stringify({ ...selector, ...labels })})`,
          'label a workload\'s pods with the subset\'s labels (e.g. a Deployment of that version), or remove the subset');
      }
    });
  }

  for (const vs of ctx.of('networking.istio.io', 'VirtualService')) {
    const ns = vs.namespace ?? 'default';
    list(vs.manifest.spec?.http).forEach((route, r) => {
      list(route?.route).forEach((dest, d) => {
        const subset = str(dest?.destination?.subset);
        const host = str(dest?.destination?.host);
        if (!subset || !host) return;
        const svcKey = serviceOf(host, ns);
        if (svcKey === undefined) return;
        const known = subsetsOf.get(svcKey);
        if (!known?.has(subset)) {
          ctx.report('destination-subset', vs, ['spec', 'http', r, 'route', d, 'destination', 'subset'],
            `subset "${subset}" of host "${host}" is defined by no DestinationRule of Service ${svcKey}` +
            (known && known.size > 0 ? ` (its subsets: ${[...known.keys()].join(', ')})` : ''),
            'define the subset in the DestinationRule of that host, or route to one of its subsets');
        }
      });
    });
  }
}
