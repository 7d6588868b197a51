// gitops/<environment>/README.md: what this environment is, at a glance, for reviewers. Written with
// every synth from the rendered objects themselves, so it cannot disagree with them: Applications with
// their waves, public endpoints, secrets and their consumers, scrape targets, datasources, and Mermaid
// diagrams of the app of apps and of the traffic paths.
import * as yaml from 'js-yaml';
import { secretConsumers, usedSecrets } from './secrets';
import { applicationName, destinationCluster, writtenSources } from './app-of-apps';
import { ARGOCD_INSTALL_FILE, chartComponents, Platform, RenderedFile } from './platform';
import { compareText } from './text';
import { IN_CLUSTER } from './config';
import { meshAccessSection } from './mesh-inventory';

type Obj = any;

/** A Mermaid node id: letters, digits and underscores only. */
const id = (prefix: string, name: string) => `${prefix}_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
/** A Mermaid label: quoted, with the characters Mermaid treats specially escaped as entities. */
const label = (text: string) => `"${text.replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;')}"`;
const cell = (text: string | number | undefined) => String(text ?? '').replace(/\|/g, '\\|') || '–';
const code = (text: string | undefined) => (text ? `\`${text}\`` : '–');

function table(head: string[], rows: (string | number | undefined)[][]): string {
  if (rows.length === 0) return '_none_\n';
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n') + '\n';
}

const CHART_INGRESS = 'Ingress made by a Helm chart';

export interface Endpoint {
  readonly host: string;
  readonly via: string;
  readonly tlsSecret?: string;
  readonly issuer?: string;
  readonly backend?: string;
  readonly namespace: string;
}

function ns(o: Obj): string {
  return o.metadata.namespace ?? '';
}

/** Every public host: Ingresses, Istio Gateways (with their VirtualServices), Gateway API listeners (with their routes), and chart-made Ingresses known only by their Certificate. */
export function endpoints(objects: readonly Obj[]): Endpoint[] {
  const certs = objects.filter((o) => o.kind === 'Certificate');
  const issuerOf = (secret: string | undefined, namespace: string) =>
    certs.find((c) => c.spec.secretName === secret && ns(c) === namespace)?.spec.issuerRef?.name;
  const out: Endpoint[] = [];
  const served = new Set<string>();
  for (const ing of objects.filter((o) => o.kind === 'Ingress')) {
    for (const rule of ing.spec.rules ?? []) {
      const tls = (ing.spec.tls ?? []).find((t: Obj) => (t.hosts ?? []).includes(rule.host));
      for (const p of rule.http?.paths ?? []) {
        const svc = p.backend.service;
        out.push({
          host: `${rule.host}${p.path && p.path !== '/' ? p.path : ''}`,
          via: `Ingress ${ns(ing)}/${ing.metadata.name}`,
          tlsSecret: tls?.secretName,
          issuer: issuerOf(tls?.secretName, ns(ing)) ?? ing.metadata.annotations?.['cert-manager.io/cluster-issuer'],
          backend: svc ? `${svc.name}:${svc.port.number ?? svc.port.name}` : undefined,
          namespace: ns(ing),
        });
      }
      if (tls) served.add(`${ns(ing)}/${tls.secretName}`);
    }
  }
  const services = objects.filter((o) => o.kind === 'VirtualService');
  for (const gw of objects.filter((o) => o.kind === 'Gateway' && o.apiVersion.startsWith('networking.istio.io'))) {
    const hosts = new Set<string>();
    for (const server of gw.spec.servers ?? []) for (const h of server.hosts ?? []) hosts.add(h);
    for (const host of [...hosts].sort()) {
      const tls = (gw.spec.servers ?? []).find((s: Obj) => s.tls?.credentialName && (s.hosts ?? []).includes(host))?.tls?.credentialName;
      const vs = services.find((v) => (v.spec.hosts ?? []).includes(host) && (v.spec.gateways ?? []).some((g: string) => g === gw.metadata.name || g.endsWith(`/${gw.metadata.name}`)));
      const dest = vs?.spec.http?.[0]?.route?.[0]?.destination;
      const cert = certs.find((c) => c.spec.secretName === tls);
      out.push({
        host,
        via: `Gateway ${ns(gw) || '(default)'}/${gw.metadata.name}`,
        tlsSecret: tls,
        issuer: cert?.spec.issuerRef?.name,
        backend: dest ? `${dest.host}${dest.port?.number ? `:${dest.port.number}` : ''}` : undefined,
        namespace: ns(vs ?? gw),
      });
      if (tls && cert) served.add(`${ns(cert)}/${tls}`);
    }
  }
  // Gateway API listeners with a hostname, each with the route attached to it (by sectionName).
  const routes = objects.filter((o) => (o.kind === 'HTTPRoute' || o.kind === 'TLSRoute') && o.apiVersion.startsWith('gateway.networking.k8s.io/'));
  for (const gw of objects.filter((o) => o.kind === 'Gateway' && o.apiVersion.startsWith('gateway.networking.k8s.io/'))) {
    for (const l of gw.spec.listeners ?? []) {
      if (!l.hostname) continue;
      const route = routes.find((r) => (r.spec.parentRefs ?? []).some((p: Obj) => p.name === gw.metadata.name &&
        (p.namespace ?? ns(r)) === ns(gw) && p.sectionName === l.name));
      const backend = route?.spec.rules?.[0]?.backendRefs?.[0];
      const passthrough = l.tls?.mode === 'Passthrough';
      // Passthrough: the backend serves the Certificate of its own namespace, under the route's name.
      const secret = passthrough ? undefined : l.tls?.certificateRefs?.[0]?.name;
      const cert = passthrough
        ? certs.find((c) => ns(c) === (route ? ns(route) : '') && (c.spec.dnsNames ?? []).includes(l.hostname))
        : certs.find((c) => c.spec.secretName === secret && ns(c) === (l.tls?.certificateRefs?.[0]?.namespace ?? ns(gw)));
      out.push({
        host: l.hostname,
        via: `Gateway API ${ns(gw)}/${gw.metadata.name} ${l.name}${passthrough ? ' (TLS passthrough)' : ''}`,
        tlsSecret: cert?.spec.secretName ?? secret,
        issuer: cert?.spec.issuerRef?.name,
        backend: backend ? `${backend.name}:${backend.port}` : undefined,
        namespace: route ? ns(route) : ns(gw),
      });
      if (cert) served.add(`${ns(cert)}/${cert.spec.secretName}`);
    }
  }
  for (const c of certs) {
    if (served.has(`${ns(c)}/${c.spec.secretName}`)) continue;
    for (const host of c.spec.dnsNames ?? []) {
      out.push({ host, via: CHART_INGRESS, tlsSecret: c.spec.secretName, issuer: c.spec.issuerRef?.name, namespace: ns(c) });
    }
  }
  return out.sort((a, b) => compareText(a.host, b.host));
}

function datasources(objects: readonly Obj[]): Obj[] {
  const out: Obj[] = [];
  for (const cm of objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_datasource)) {
    for (const text of Object.values(cm.data ?? {})) {
      try {
        const doc = yaml.load(String(text)) as Obj;
        for (const d of doc?.datasources ?? []) out.push({ ...d, configMap: `${ns(cm)}/${cm.metadata.name}` });
      } catch {
        out.push({ name: '(unparsable)', configMap: `${ns(cm)}/${cm.metadata.name}` });
      }
    }
  }
  return out;
}

function selector(sel: Obj): string {
  if (!sel) return '';
  const labels = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  const exprs = (sel.matchExpressions ?? []).map((e: Obj) => `${e.key} ${e.operator} (${(e.values ?? []).join(',')})`);
  return [...labels, ...exprs].join(', ');
}

/** The Markdown inventory of one environment. */
export function inventory(platform: Platform, files: readonly RenderedFile[]): string {
  const { config } = platform;
  const own = files.filter((f) => !f.path.startsWith('bootstrap/argo-cd/')).map((f) => f.manifest as Obj);
  const apps = files.filter((f) => f.path.startsWith('apps/')).map((f) => f.manifest as Obj);
  const wave = (a: Obj) => Number(a.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
  apps.sort((a, b) => wave(a) - wave(b) || compareText(a.metadata.name, b.metadata.name));
  const rendered = new Map(chartComponents(platform).map((h) => [applicationName(config, h), h.render.objects.map((o) => o.manifest as Obj)]));
  // Endpoints, monitors and datasources of the whole cluster state: ours and what the charts render.
  const objects = [...own, ...[...rendered.values()].flat()];
  const counts = new Map<string, number>();
  for (const f of files) {
    const folder = f.path.split('/')[0];
    counts.set(folder, (counts.get(folder) ?? 0) + 1);
  }

  const out: string[] = [];
  out.push(`# Environment \`${config.environment}\``, '');
  out.push(`Generated by \`npm run synth\` from \`config/${config.environment}.yaml\`; do not edit. ` +
    `Domain \`${config.domain}\`; Argo CD syncs \`${config.deployRepo.url}\` at \`${config.deployRepo.revision}\`. ` +
    (platform.argoCd
      ? 'Bootstrap once: install Argo CD from `bootstrap/argo-cd/` ' +
        `(\`kubectl apply --server-side -f ${config.deployRepo.path}/${config.environment}/${ARGOCD_INSTALL_FILE}\`), then ` +
        `\`kubectl apply -f ${config.deployRepo.path}/${config.environment}/bootstrap/\`; the root Application syncs the rest.`
      : `Deployed by the Argo CD of another cluster (a hub) to ${destinationText(destinationCluster(config))}: ` +
        `register that cluster in the hub (\`argocd cluster add\`), then apply \`${config.deployRepo.path}/${config.environment}/bootstrap/\` ` +
        'to the hub; the root Application syncs the rest. No Argo CD of its own is installed.'), '');

  out.push('## Applications', '');
  out.push(table(['wave', 'Application', 'source', 'namespace', 'objects'], apps.map((a) => {
    const { chart, folder } = writtenSources(a.spec);
    const source = [chart ? `chart ${code(chart.chart!)} ${code(chart.targetRevision!)} from ${chart.repoURL}` : '', folder ? `folder ${code(folder.path!)}` : '']
      .filter(Boolean).join(' + ');
    const written = folder ? `${counts.get(folder.path!.split('/').pop()!) ?? 0} written` : '';
    const fromChart = chart ? `${rendered.get(a.metadata.name)?.length ?? 0} rendered` : '';
    return [wave(a), code(a.metadata.name), source, code(a.spec.destination.namespace), [fromChart, written].filter(Boolean).join(', ')];
  })));

  out.push('### What the charts render', '');
  out.push('Rendered at synth from `vendor/` with the Application\'s values, as Argo CD will, and checked with everything else. ' +
    'Objects of Helm hooks Argo CD ignores (`helm test`) are left out.', '');
  out.push(table(['Application', 'objects by kind', 'namespaces'], [...rendered].sort(([a], [b]) => compareText(a, b)).map(([app, objs]) => {
    const kinds = new Map<string, number>();
    for (const o of objs) kinds.set(o.kind, (kinds.get(o.kind) ?? 0) + 1);
    const namespaces = [...new Set(objs.map((o) => o.metadata.namespace).filter((n): n is string => !!n))].sort(compareText);
    return [code(app), [...kinds].sort(([a], [b]) => compareText(a, b)).map(([k, n]) => `${k} ${n}`).join(', '), namespaces.map(code).join(', ')];
  })));

  out.push('```mermaid', 'flowchart LR');
  out.push(`  root[${label(`platform-${config.environment} (root)`)}]`);
  const waves = [...new Set(apps.map(wave))].sort((a, b) => a - b);
  for (const w of waves) {
    out.push(`  subgraph ${id('wave', String(w))}[${label(`wave ${w}`)}]`);
    for (const a of apps.filter((x) => wave(x) === w)) {
      const s = writtenSources(a.spec).chart;
      out.push(`    ${id('app', a.metadata.name)}[${label(s ? `${a.metadata.name} (chart ${s.targetRevision})` : a.metadata.name)}]`);
    }
    out.push('  end');
  }
  if (waves.length > 0) out.push(`  root --> ${id('wave', String(waves[0]))}`);
  const deps = platform.dependencies;
  for (const [c, ds] of [...deps].sort((a, b) => compareText(a[0].name, b[0].name))) {
    for (const d of ds) out.push(`  ${id('app', applicationName(config, d))} --> ${id('app', applicationName(config, c))}`);
  }
  out.push('```', '');
  out.push('An arrow from A to B: B is synced after A (B uses A\'s CRDs, secrets or issuer, or declares the dependency).', '');

  // A host that only a Certificate names is served by an Ingress a Helm chart makes: name the chart whose
  // values carry the host.
  const eps = endpoints(objects).map((e) => {
    if (e.via !== CHART_INGRESS) return e;
    const owner = apps.map((a) => ({ a, chart: writtenSources(a.spec).chart }))
      .find(({ chart }) => chart && JSON.stringify(chart.helm?.valuesObject ?? {}).includes(`"${e.host}"`));
    return owner ? { ...e, via: `Ingress of chart ${owner.chart!.chart} (Application ${owner.a.metadata.name})` } : e;
  });
  out.push('## Public endpoints', '');
  out.push(table(['host', 'served by', 'TLS secret', 'issuer', 'backend', 'namespace'],
    eps.map((e) => [code(e.host), e.via, code(e.tlsSecret), code(e.issuer), code(e.backend), code(e.namespace)])));
  if (eps.length > 0) {
    out.push('```mermaid', 'flowchart LR');
    const seen = new Set<string>();
    eps.forEach((e, i) => {
      const host = id('host', e.host);
      const via = id('via', e.via);
      for (const [n, l] of [[host, e.host], [via, e.via]] as const) {
        if (!seen.has(n)) out.push(`  ${n}[${label(l)}]`);
        seen.add(n);
      }
      out.push(`  ${host} --> ${via}`);
      if (e.backend) {
        const svc = id('svc', `${e.namespace}_${e.backend}`);
        if (!seen.has(svc)) out.push(`  ${svc}[${label(`Service ${e.namespace}/${e.backend}`)}]`);
        seen.add(svc);
        out.push(`  ${via} --> ${svc}`);
      }
      void i;
    });
    out.push('```', '');
  }

  out.push(...trafficSection(own, apps));
  out.push(...meshAccessSection(objects));

  out.push('## Secrets', '');
  out.push(`Backend: \`${platform.config.secrets.backend}\`. No value is in git; see "Secrets" in the repo README.`, '');
  const uses = secretConsumers(platform.app);
  out.push(table(['secret', 'type', 'namespaces', 'keys', 'consumers'], usedSecrets(platform.app).map((d) => [
    code(d.name), d.type, d.namespaces.map(code).join(', '), Object.keys(d.keys).map(code).join(', '),
    [...new Set(uses.filter((u) => u.secret === d.name).map((u) => `${u.consumer} (${u.namespace})`))].join(', '),
  ])));

  out.push('## Scrape targets', '');
  const monitors = objects.filter((o) => o.kind === 'PodMonitor' || o.kind === 'ServiceMonitor');
  out.push(table(['monitor', 'namespace', 'selects', 'in namespaces', 'port', 'path', 'interval'], monitors.map((m) => {
    const ep = (m.spec.podMetricsEndpoints ?? m.spec.endpoints ?? [])[0] ?? {};
    const nsSel = m.spec.namespaceSelector?.matchNames?.join(', ') ?? (m.spec.namespaceSelector?.any ? 'any' : ns(m));
    return [`${m.kind} ${code(m.metadata.name)}`, code(ns(m)), selector(m.spec.selector), nsSel, code(ep.port ?? ep.targetPort), code(ep.path ?? '/metrics'), ep.interval ?? 'default'];
  })));

  out.push('## Grafana datasources', '');
  out.push(table(['name', 'type', 'uid', 'url', 'ConfigMap'], datasources(objects).map((d) => [d.name, d.type, code(d.uid), code(d.url), code(d.configMap)])));
  return out.join('\n');
}

/**
 * Traffic policy and canary delivery (apps.workloads.<name>.traffic and .canary), when a workload has
 * either: the routes with their weights as git holds them, the DestinationRules with their subsets, and the
 * Rollouts with their steps and the weights the controller owns. Nothing when no workload opts in.
 */
function trafficSection(own: readonly Obj[], apps: readonly Obj[]): string[] {
  const rules = own.filter((o) => o.kind === 'DestinationRule');
  const rollouts = own.filter((o) => o.kind === 'Rollout');
  if (rules.length === 0 && rollouts.length === 0) return [];
  const routed = new Set([...rollouts.map((r) => r.spec.strategy?.canary?.trafficRouting?.istio?.virtualService?.name), ...own
    .filter((o) => o.kind === 'VirtualService' && (o.spec.http ?? []).some((h: Obj) => (h.route ?? []).some((d: Obj) => d.destination?.subset || d.weight !== undefined)))
    .map((o) => o.metadata.name)]);
  const out: string[] = ['## Traffic', ''];
  out.push('Routes as git holds them (first match wins). A route a Rollout manages starts at these weights; the controller moves them during a canary.', '');
  const matchText = (m: Obj[] | undefined) => (m ?? []).map((x: Obj) => [
    ...(x.uri ? [`uri ${Object.entries(x.uri).map(([k, v]) => `${k} ${code(String(v))}`).join('')}`] : []),
    ...Object.entries(x.headers ?? {}).map(([h, v]) => `header ${code(h)} ${Object.entries(v as Obj).map(([k, w]) => `${k} ${code(String(w))}`).join('')}`),
  ].join(' and ')).join(' or ') || 'every request';
  const vsRows = own.filter((o) => o.kind === 'VirtualService' && routed.has(o.metadata.name)).flatMap((vs) => (vs.spec.http ?? []).map((h: Obj) => [
    code(vs.metadata.name), code(h.name), matchText(h.match),
    (h.route ?? []).map((d: Obj) => `${code(d.destination.host)}${d.destination.subset ? ` ${d.destination.subset}` : ''} ${d.weight ?? 100}%`).join(', '),
    [h.timeout ? `timeout ${h.timeout}` : '', h.retries ? `${h.retries.attempts} retries${h.retries.perTryTimeout ? ` of ${h.retries.perTryTimeout}` : ''}${h.retries.retryOn ? ` on ${h.retries.retryOn}` : ''}` : ''].filter(Boolean).join(', '),
  ]));
  out.push(table(['VirtualService', 'route', 'match', 'destinations', 'timeout and retries'], vsRows));
  // The same routes as a diagram: each route's weight to each destination (a subset, or a canary's Service),
  // and which Rollout moves which route's weights.
  const routedServices = own.filter((o) => o.kind === 'VirtualService' && routed.has(o.metadata.name));
  out.push('```mermaid', 'flowchart LR');
  for (const vs of routedServices) {
    const vsNode = id('vs', `${ns(vs)}_${vs.metadata.name}`);
    out.push(`  ${vsNode}[${label(`VirtualService ${vs.metadata.name}`)}]`);
    for (const h of vs.spec.http ?? []) {
      for (const d of h.route ?? []) {
        const dest = `${d.destination.host}${d.destination.subset ? ` ${d.destination.subset}` : ''}`;
        const destNode = id('dest', `${ns(vs)}_${dest}`);
        out.push(`  ${destNode}[${label(dest)}]`);
        out.push(`  ${vsNode} -->|${label(`${h.name ?? 'route'} ${d.weight ?? 100}%`)}| ${destNode}`);
      }
    }
  }
  for (const r of rollouts) {
    const vs = r.spec.strategy.canary.trafficRouting?.istio?.virtualService;
    if (!vs) continue;
    const rNode = id('rollout', `${ns(r)}_${r.metadata.name}`);
    out.push(`  ${rNode}[${label(`Rollout ${r.metadata.name} (canary)`)}]`);
    out.push(`  ${rNode} -.->|${label(`sets the weights of ${(vs.routes ?? []).join(', ')}`)}| ${id('vs', `${ns(r)}_${vs.name}`)}`);
  }
  out.push('```', '');
  out.push(table(['DestinationRule', 'host', 'subsets', 'policy'], rules.map((dr) => {
    const p = dr.spec.trafficPolicy ?? {};
    const od = p.outlierDetection;
    return [code(dr.metadata.name), code(dr.spec.host),
      (dr.spec.subsets ?? []).map((s: Obj) => `${s.name} (${Object.entries(s.labels ?? {}).map(([k, v]) => code(`${k}=${v}`)).join(', ')})`).join(', '),
      [p.loadBalancer?.simple ?? '', p.connectionPool ? 'connection pool' : '',
        od ? `outlier detection (${Object.entries(od).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''].filter(Boolean).join('; ')];
  })));
  if (rollouts.length > 0) {
    const ignored = apps.flatMap((a) => (a.spec.ignoreDifferences ?? []).map((d: Obj) => ({ app: a.metadata.name, ...d })));
    out.push(table(['Rollout', 'stable / canary Service', 'routes it manages', 'steps', 'ignored by Argo CD'], rollouts.map((r) => {
      const c = r.spec.strategy.canary;
      const vs = c.trafficRouting?.istio?.virtualService;
      const steps = (c.steps ?? []).map((s: Obj) => s.setWeight !== undefined ? `${s.setWeight}%` : s.pause ? `pause ${s.pause.duration ?? 'until promoted'}` : s.analysis ? 'analysis' : '?').join(' → ');
      const ig = ignored.filter((d) => d.kind === 'VirtualService' && d.name === vs?.name && d.namespace === ns(r));
      return [code(`${ns(r)}/${r.metadata.name}`), `${code(c.stableService)} / ${code(c.canaryService)}`,
        `${code(vs?.name)}: ${(vs?.routes ?? []).map(code).join(', ')}`, steps,
        ig.map((d) => `${d.app}: ${(d.jqPathExpressions ?? []).map(code).join(', ')}`).join('; ')];
    })));
  }
  return out;
}

/** A destination cluster as the inventory names it. */
function destinationText(d: { readonly server?: string; readonly name?: string }): string {
  return d.name ? `cluster \`${d.name}\`` : d.server === IN_CLUSTER ? 'its own cluster' : `\`${d.server}\``;
}

/** The file of the output folder that compares its environments (gitops/README.md). */
export const ENVIRONMENTS_FILE = 'README.md';

/**
 * gitops/README.md: every environment of the output folder side by side, read off their Application files
 * (apps/*.yaml: what Argo CD will sync), so that it always agrees with the folders, whichever of them the
 * last synth rewrote. `environments`: environment -> its files (relative path -> text).
 */
export function environmentsOverview(environments: ReadonlyMap<string, ReadonlyMap<string, string>>): string {
  const envs = [...environments.keys()].sort(compareText);
  // component -> environment -> what runs there
  const runs = new Map<string, Map<string, string>>();
  const facts = new Map<string, { readonly destination: string; readonly applications: number }>();
  for (const env of envs) {
    let applications = 0;
    let destination = '';
    for (const [rel, text] of environments.get(env)!) {
      if (!rel.startsWith('apps/') || !rel.endsWith('.yaml')) continue;
      const app = yaml.load(text) as { metadata?: { name?: string }; spec?: { destination?: { server?: string; name?: string } } } | undefined;
      const name = app?.metadata?.name;
      if (!name) continue;
      applications++;
      const d = app?.spec?.destination;
      destination = destinationText(d ?? {});
      const component = name.endsWith(`-${env}`) ? name.slice(0, -env.length - 1) : name;
      const { chart } = writtenSources(app!.spec as { source?: unknown; sources?: unknown });
      const what = chart ? `${chart.chart} ${chart.targetRevision}` : 'manifests';
      runs.set(component, new Map([...(runs.get(component) ?? []), [env, what]]));
    }
    facts.set(env, { destination, applications });
  }
  const components = [...runs.keys()].sort(compareText);
  const differs = (c: string) => new Set(envs.map((e) => runs.get(c)!.get(e) ?? 'off')).size > 1;
  const out: string[] = [];
  out.push('# Environments', '');
  out.push('Generated by `npm run synth` from `config/*.yaml`; do not edit. Each environment\'s folder has its own README ' +
    '(Applications, hosts, secrets, traffic). This page sets them side by side: which components run where, and at which ' +
    'chart version, read off the Applications Argo CD syncs. Rows where the environments differ are marked.', '');
  out.push(table(['environment', 'Applications', 'deploys to', 'README'], envs.map((e) => [
    code(e), String(facts.get(e)!.applications), facts.get(e)!.destination, `[${e}/README.md](${e}/README.md)`,
  ])));
  out.push('## Components', '');
  out.push('`manifests`: the component\'s own objects only; `off`: no such component in that environment (its config section is absent).', '');
  out.push(table(['component', ...envs.map(code), 'differs'], components.map((c) => [
    code(c), ...envs.map((e) => runs.get(c)!.get(e) ?? 'off'), differs(c) ? 'yes' : '',
  ])));
  return `${out.join('\n').trimEnd()}\n`;
}
