// Wiring: every in-cluster address our manifests and the charts' values give (a datasource URL, a remote
// write endpoint, a tracing collector, `host:port` in a config file) names a Service of the union, and a
// port of it. Ingress backends and VirtualService destinations are checked by rules-routing.ts.
//
// Recognised, anywhere in a string (a whole value or text inside one, such as a config file in a
// ConfigMap or a chart value):
// - URLs `scheme://host[:port][/...]`: without a port, http and ws mean 80, https and wss 443;
// - `host:port`, and a whole value that is only a host, with a numeric `port` next to it
//   (`{ service: tempo-distributor.observability.svc.cluster.local, port: 4317 }`);
// - hosts `name.ns.svc.cluster.local`, `name.ns.svc`, and `name.ns` when `ns` is a namespace of the
//   platform and a port or scheme follows (so `grafana.example.com` is never taken for one);
// - StatefulSet pod names `pod-0.name.ns.svc...` (through the headless Service `name`);
// - Thanos/Cortex/Loki lookups `dns+host:port`, `dnssrv+_grpc._tcp.host` (the Service's port named grpc).
import { closest } from './schema';
import { Context, isObject, Json, KObject, Path } from './context';
import { namespaceLabels, PodModel, ServiceModel, serviceModels, servicePods } from './rules-monitoring';
import { LRUCache } from 'lru-cache';

const SCHEME_PORTS: Record<string, number> = { http: 80, ws: 80, https: 443, wss: 443 };

/** A candidate address in a string. Groups: scheme, lookup prefix, host, port. */
const ADDRESS = /(?<![\w.+-])(?:([a-z][a-z0-9+.-]*):\/\/)?((?:dnssrvnoa|dnssrv|dns)\+)?((?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)\.?(?::(\d{1,5}))?(?![\w-])/gi;
const WHOLE_HOST = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?\.svc(\.cluster\.local)?\.?$/i;

export interface ServiceAddress {
  /** The text as found, e.g. http://loki-gateway.loki.svc.cluster.local/loki/api/v1/push. */
  readonly text: string;
  readonly namespace: string;
  readonly service: string;
  /** A StatefulSet pod's hostname (pod-0 of pod-0.name.ns.svc). */
  readonly pod?: string;
  /** The port: a number, or a port name (from a dnssrv+ lookup). */
  readonly port?: number | string;
  /** Where the port comes from, for messages: "explicit", "http default", ... */
  readonly portFrom?: string;
  /** Set when the host is in-cluster (.svc) but not a Service name. */
  readonly malformed?: string;
}

/**
 * The in-cluster Service addresses in a string. `namespaces`: the platform's namespaces (for `name.ns:port`);
 * `siblingPort`: the numeric `port` next to a value that is only a host.
 */
export function findServiceAddresses(text: string, namespaces: ReadonlySet<string>, siblingPort?: number): ServiceAddress[] {
  const out: ServiceAddress[] = [];
  const whole = WHOLE_HOST.test(text.trim());
  for (const m of text.matchAll(ADDRESS)) {
    const [found, schemeRaw, prefixRaw, hostRaw, portRaw] = m;
    const scheme = schemeRaw?.toLowerCase();
    const prefix = prefixRaw?.toLowerCase();
    let labels = hostRaw.toLowerCase().split('.');
    let srvName: string | undefined;
    if (prefix === 'dnssrv+' || prefix === 'dnssrvnoa+' || labels[0].startsWith('_')) {
      // _grpc._tcp.name.ns.svc...: the Service's port named grpc.
      if (labels[0].startsWith('_')) srvName = labels[0].slice(1);
      while (labels.length > 0 && labels[0].startsWith('_')) labels = labels.slice(1);
    }
    let inCluster = false;
    if (labels.slice(-3).join('.') === 'svc.cluster.local') { labels = labels.slice(0, -3); inCluster = true; } else if (labels[labels.length - 1] === 'svc') { labels = labels.slice(0, -1); inCluster = true; }
    let port: number | string | undefined;
    let portFrom: string | undefined;
    if (portRaw !== undefined) { port = Number(portRaw); portFrom = 'explicit'; } else if (srvName && prefix?.startsWith('dnssrv')) { port = srvName; portFrom = `the SRV lookup _${srvName}`; } else if (scheme && SCHEME_PORTS[scheme] !== undefined) { port = SCHEME_PORTS[scheme]; portFrom = `the ${scheme} default`; } else if (whole && siblingPort !== undefined) { port = siblingPort; portFrom = 'the port field next to it'; }
    if (inCluster) {
      if (labels.length === 2) out.push({ text: found, service: labels[0], namespace: labels[1], port, portFrom });
      else if (labels.length === 3) out.push({ text: found, pod: labels[0], service: labels[1], namespace: labels[2], port, portFrom });
      // One label or none is a DNS search domain (`monitoring.svc.cluster.local`), not a Service.
      else if (labels.length > 3) out.push({ text: found, service: labels.join('.'), namespace: '', port, portFrom, malformed: 'has more labels before .svc than <pod>.<service>.<namespace>' });
    } else if (labels.length === 2 && namespaces.has(labels[1]) && (portRaw !== undefined || scheme !== undefined || prefix !== undefined)) {
      out.push({ text: found, service: labels[0], namespace: labels[1], port, portFrom });
    }
  }
  return out;
}

/** Fields rules-routing.ts checks: Ingress backends and VirtualService destinations. */
function routedField(o: KObject, at: Path): boolean {
  if (o.kind === 'Ingress' && at[0] === 'spec' && (at[1] === 'rules' || at[1] === 'defaultBackend')) return true;
  if (o.kind === 'VirtualService' && at[0] === 'spec' && ['http', 'tcp', 'tls'].includes(String(at[1]))) {
    return at.includes('destination') || at.includes('mirror') || at.includes('mirrors');
  }
  return false;
}

/**
 * Calls `visit` with every string under `node`, its path, and the numeric `port` beside it. The path is one
 * array, changed as the walk goes: a visitor that keeps it copies it.
 */
function walkStrings(node: Json, visit: (s: string, at: Path, siblingPort: number | undefined) => void): void {
  const at: Path = [];
  const walk = (n: Json, siblingPort?: number): void => {
    if (typeof n === 'string') { visit(n, at, siblingPort); return; }
    if (Array.isArray(n)) {
      for (let i = 0; i < n.length; i++) { at.push(i); walk(n[i]); at.pop(); }
      return;
    }
    if (!isObject(n)) return;
    const port = typeof n.port === 'number' ? n.port : undefined;
    for (const k of Object.keys(n)) { at.push(k); walk(n[k], port); at.pop(); }
  };
  walk(node);
}

function portsText(s: ServiceModel): string {
  return s.ports.length > 0 ? s.ports.map((p) => (p.name ? `${p.name}=${p.port}` : String(p.port))).join(', ') : 'no ports';
}

/** The ports a client reaches through a headless Service (straight to the pods): numeric targetPorts and the pods' container ports. */
function headlessPorts(pods: readonly PodModel[] | undefined, s: ServiceModel): Set<number> {
  const out = new Set<number>();
  for (const p of s.ports) if (typeof p.targetPort === 'number') out.add(p.targetPort);
  if (!pods) for (const p of s.ports) out.add(p.port);
  for (const p of pods ?? []) for (const c of p.containers) for (const q of c.ports) out.add(q.containerPort);
  return out;
}

/**
 * Every address findServiceAddresses takes ends its host in .svc or in a namespace of the platform: a string
 * with neither is passed over without the full match (most strings of a chart's values).
 */
function addressFilter(namespaces: ReadonlySet<string>): RegExp {
  return new RegExp(`\\.(?:svc|${[...namespaces].map((n) => n.replace(/[^a-z0-9-]/gi, '\\$&')).join('|')})(?![a-z0-9_-])`, 'i');
}

interface FoundAddress {
  /** The field (a path of its own). */
  readonly at: Path;
  /** The whole string the address is in. */
  readonly text: string;
  readonly address: ServiceAddress;
}

/**
 * The addresses found in objects, by the object's JSON and the platform's namespaces (all they depend on), up
 * to 16 Mi characters of keys: an object validated again unchanged (the synths and validations of a test run,
 * the objects environments share) is not walked again. Its text is taken anew on each call: an object may be
 * changed in place between validations (tests do).
 */
const addressesByObject = new LRUCache<string, readonly FoundAddress[]>({ maxSize: 16 * 1024 * 1024, sizeCalculation: (_v, key) => Math.max(1, key.length) });

/** The in-cluster addresses in an object's strings, outside the fields rules-routing.ts checks. */
function addressesIn(o: KObject, namespaces: ReadonlySet<string>, mayHoldAddress: RegExp): readonly FoundAddress[] {
  const key = `${[...namespaces].sort().join(' ')}\0${JSON.stringify(o.manifest)}`;
  let found = addressesByObject.get(key);
  if (!found) {
    const out: FoundAddress[] = [];
    walkStrings(o.manifest, (text, path, siblingPort) => {
      if (!mayHoldAddress.test(text) || routedField(o, path)) return;
      for (const address of findServiceAddresses(text, namespaces, siblingPort)) out.push({ at: [...path], text, address });
    });
    addressesByObject.set(key, (found = out));
  }
  return found;
}

/** service-reference */
export function serviceReference(ctx: Context): void {
  const namespaces = new Set(namespaceLabels(ctx).keys());
  const services = new Map<string, ServiceModel>();
  for (const s of serviceModels(ctx)) services.set(`${s.namespace}/${s.name}`, s);
  // Services declared only in options (e.g. options.externalServices): existence and ports, nothing more.
  for (const [k, v] of ctx.services()) {
    if (services.has(k)) continue;
    const [namespace, name] = k.split('/');
    services.set(k, {
      object: undefined, namespace, name, labels: {}, selector: undefined, headless: false, source: v.source,
      ports: (v.ports ?? []).map((p) => ({ name: p.name, port: p.port, targetPort: p.port })), externalName: v.ports ? undefined : '(any port)',
    });
  }
  const namesIn = (ns: string) => [...services.values()].filter((s) => s.namespace === ns).map((s) => s.name).sort();
  const statefulSets = ctx.of('apps', 'StatefulSet');

  const mayHoldAddress = addressFilter(namespaces);
  for (const o of ctx.objects) {
    if (o.rendered) continue;
    const seen = new Set<string>();
    for (const { at, text, address: a } of addressesIn(o, namespaces, mayHoldAddress)) {
      const dedupe = `${at.join('.')} ${a.text}`;
      if (seen.has(dedupe)) continue;
      seen.add(dedupe);
      const where = text.trim() === a.text ? '' : ' (in its text)';
      if (a.malformed) {
        ctx.report('service-reference', o, at, `address "${a.text}"${where} is in-cluster (.svc) but ${a.malformed}, so it resolves to no Service`,
          'write it as <service>.<namespace>.svc.cluster.local[:port], or <pod>.<service>.<namespace>.svc.cluster.local for a StatefulSet pod');
        continue;
      }
      const svc = services.get(`${a.namespace}/${a.service}`);
      if (!svc) {
        const names = namesIn(a.namespace);
        const guess = closest(a.service, names);
        ctx.report('service-reference', o, at,
          `address "${a.text}"${where} names Service ${a.namespace}/${a.service}, which does not exist in the union` +
          (names.length === 0 ? ` (namespace ${a.namespace} has no Services${namespaces.has(a.namespace) ? '' : ', and is no namespace of the platform'})` : ''),
          `${guess ? `use Service "${guess}"` : 'point it at an existing Service'}${names.length > 0 ? ` (Services in ${a.namespace}: ${names.join(', ')})` : ''}, or deploy Service "${a.service}" in ${a.namespace}`);
        continue;
      }
      const pods = svc.object ? servicePods(ctx, svc) : undefined;
      if (a.pod) {
        if (!svc.headless) {
          ctx.report('service-reference', o, at, `address "${a.text}"${where} names pod "${a.pod}" of Service ${a.namespace}/${a.service}, which is not headless, so pod names do not resolve`,
            `use the Service's own name (${a.service}.${a.namespace}.svc.cluster.local), or the headless Service of the StatefulSet`);
          continue;
        }
        const owners = statefulSets.filter((s) => s.namespace === a.namespace && s.manifest.spec?.serviceName === a.service);
        if (owners.length > 0) {
          const valid = owners.flatMap((s) => Array.from({ length: typeof s.manifest.spec?.replicas === 'number' ? s.manifest.spec.replicas : 1 }, (_, i) => `${s.name}-${i}`));
          if (!valid.includes(a.pod)) {
            ctx.report('service-reference', o, at, `address "${a.text}"${where} names pod "${a.pod}", which no StatefulSet of Service ${a.namespace}/${a.service} runs (its pods: ${valid.join(', ') || 'none'})`,
              `use one of its pods (${valid.join(', ') || 'scale the StatefulSet up'})`);
            continue;
          }
        }
      }
      if (a.port === undefined || svc.externalName !== undefined) continue;
      if (typeof a.port === 'string') {
        if (!svc.ports.some((p) => p.name === a.port)) {
          const guess = closest(a.port, svc.ports.map((p) => p.name ?? '').filter((n) => n !== ''));
          ctx.report('service-reference', o, at, `address "${a.text}"${where} looks up port "${a.port}" (${a.portFrom}) of Service ${a.namespace}/${a.service}, which has no port of that name (its ports: ${portsText(svc)})`,
            guess ? `look up _${guess}._tcp instead` : `name a port "${a.port}" in the Service, or look up one of its named ports`);
        }
        continue;
      }
      const direct = svc.headless || a.pod !== undefined;
      const ok = direct ? headlessPorts(pods, svc).has(a.port) : svc.ports.some((p) => p.port === a.port);
      if (ok) continue;
      const options = direct ? [...headlessPorts(pods, svc)].sort((x, y) => x - y).join(', ') : portsText(svc);
      ctx.report('service-reference', o, at,
        `address "${a.text}"${where} uses port ${a.port} (${a.portFrom}) of Service ${a.namespace}/${a.service}, which has no such port ` +
        (direct ? `(it is headless: the address reaches the pods directly, which serve ${options || 'no declared port'})` : `(its ports: ${options})`),
        `use ${direct ? 'one of those ports' : `one of its ports (${options})`}${a.portFrom !== 'explicit' ? ' explicitly in the address' : ''}, or add port ${a.port} to the Service`);
    }
  }
}
