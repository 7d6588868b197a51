import * as yaml from 'js-yaml';
import { NODE_NAME_ENV } from '../charts/alloy';
import { findServiceAddresses } from '../lib/validation/rules-wiring';
import { Block, Expr, readAlloyConfig } from './alloy-reader';
import { configProblem, labConfig, render } from './helpers';
import { Labels, publicLabels, relabel, Rule } from './relabel-eval';

/** The lab with Alloy instead of Promtail. */
const withAlloy = (change?: (raw: any) => void) => labConfig((raw) => {
  delete raw.promtail;
  raw.alloy = { namespace: 'monitoring' };
  change?.(raw);
});

const env = render(withAlloy());
const lab = render();

/** What a component's chart renders (what Argo CD applies), by kind and name. */
function rendered(r: typeof env, component: string, kind: string, name: string): any {
  const c = r.platform!.components.find((x) => x.name === component) as any;
  const hits = c.render.objects.map((o: any) => o.manifest).filter((m: any) => m.kind === kind && m.metadata.name === name);
  if (hits.length !== 1) throw new Error(`expected one ${kind} ${name} in ${component}'s render, found ${hits.length}`);
  return hits[0];
}

const configOf = (r: typeof env): Block[] => readAlloyConfig(rendered(r, 'alloy', 'ConfigMap', 'alloy').data['config.alloy']);
const daemonSet = rendered(env, 'alloy', 'DaemonSet', 'alloy');
const alloyContainer = daemonSet.spec.template.spec.containers.find((c: any) => c.name === 'alloy');

// --- A model of the pipeline, read from the rendered configuration --------------------------------------

const byId = (blocks: Block[], id: string): Block => {
  const b = blocks.find((x) => `${x.name}.${x.label}` === id);
  if (!b) throw new Error(`no component ${id}; the configuration has ${blocks.map((x) => `${x.name}.${x.label}`).join(', ')}`);
  return b;
};
const refOf = (e: Expr): string => {
  if (typeof e === 'object' && e !== null && 'ref' in e) return e.ref as string;
  throw new Error(`expected a reference, found ${JSON.stringify(e)}`);
};
const rulesOf = (b: Block): Rule[] => b.blocks.filter((x) => x.name === 'rule').map((x) => x.attributes as unknown as Rule);

/** The targets a component's export yields for one discovered pod (undefined: dropped). */
function targetsFrom(blocks: Block[], ref: string, pod: Labels): Labels | undefined {
  const [component, field] = [ref.slice(0, ref.lastIndexOf('.')), ref.slice(ref.lastIndexOf('.') + 1)];
  const b = byId(blocks, component);
  if (b.name === 'discovery.kubernetes' && field === 'targets') return pod;
  if (b.name === 'discovery.relabel' && field === 'output') {
    const input = targetsFrom(blocks, refOf(b.attributes.targets), pod);
    return input && relabel(input, rulesOf(b));
  }
  throw new Error(`${ref} is not modelled`);
}

interface Delivery { readonly labels: Labels; readonly url: Expr; readonly tenant: Expr }

/** Where a stream goes from a receiver: through loki.relabel components to loki.write endpoints. */
function forward(blocks: Block[], receivers: Expr, labels: Labels): Delivery[] {
  return (receivers as Expr[]).flatMap((r) => {
    const ref = refOf(r);
    if (!ref.endsWith('.receiver')) throw new Error(`${ref} is not a receiver`);
    const b = byId(blocks, ref.slice(0, -'.receiver'.length));
    if (b.name === 'loki.relabel') {
      const out = relabel(labels, rulesOf(b));
      return out ? forward(blocks, b.attributes.forward_to, out) : [];
    }
    if (b.name === 'loki.write') {
      return b.blocks.filter((e) => e.name === 'endpoint').map((e) => ({ labels, url: e.attributes.url, tenant: e.attributes.tenant_id }));
    }
    throw new Error(`${b.name} is not modelled`);
  });
}

/**
 * The streams Alloy pushes for one pod's container: discovery, relabeling, then what loki.source.kubernetes
 * adds (kubetail.PrepareLabels in grafana/alloy: `job` defaults to the component's id and `instance` to
 * `<namespace>/<pod>:<container>` when the target has none; labels starting with "__" are not kept).
 */
function alloyStreams(blocks: Block[], pod: Labels): Delivery[] {
  const sources = blocks.filter((b) => b.name === 'loki.source.kubernetes');
  return sources.flatMap((s) => {
    const target = targetsFrom(blocks, refOf(s.attributes.targets), pod);
    if (!target) return [];
    const withDefaults: Labels = {
      job: `${s.name}.${s.label}`,
      instance: `${target.__meta_kubernetes_namespace}/${target.__meta_kubernetes_pod_name}:${target.__meta_kubernetes_pod_container_name}`,
      ...target,
    };
    return forward(blocks, s.attributes.forward_to, publicLabels(withDefaults));
  });
}

/** The labels Promtail's kubernetes-pods job gives the same pod, from the rendered promtail chart's config. */
function promtailLabels(pod: Labels): Labels | undefined {
  const file: any = yaml.load(rendered(lab, 'promtail', 'Secret', 'promtail').stringData['promtail.yaml']);
  const job = file.scrape_configs.find((j: any) => j.job_name === 'kubernetes-pods');
  const out = relabel(pod, job.relabel_configs);
  return out && publicLabels(out);
}

/** A container of a pod as discovery.kubernetes (role pod) describes it, Promtail's and Alloy's alike. */
function pod(namespace: string, name: string, container: string, labels: Record<string, string>, controller?: string): Labels {
  const out: Labels = {
    __meta_kubernetes_namespace: namespace,
    __meta_kubernetes_pod_name: name,
    __meta_kubernetes_pod_container_name: container,
    __meta_kubernetes_pod_uid: `0c5e4c9a-${name.length}`,
    __meta_kubernetes_pod_node_name: 'aks-system-12345678-vmss000000',
    __meta_kubernetes_pod_ip: '10.244.1.7',
  };
  if (controller) {
    out.__meta_kubernetes_pod_controller_kind = 'ReplicaSet';
    out.__meta_kubernetes_pod_controller_name = controller;
  }
  for (const [k, v] of Object.entries(labels)) {
    const key = k.replace(/[^a-zA-Z0-9_]/g, '_');
    out[`__meta_kubernetes_pod_label_${key}`] = v;
    out[`__meta_kubernetes_pod_labelpresent_${key}`] = 'true';
  }
  return out;
}

const PODS = {
  workload: pod('apps', 'login-js-5d8c7b9f4d-x2k9q', 'login-js', { app: 'login-js', version: 'v1' }, 'login-js-5d8c7b9f4d'),
  helmChart: pod('loki', 'loki-gateway-6f7c9d8b5c-7xkzp', 'nginx',
    { 'app.kubernetes.io/name': 'loki', 'app.kubernetes.io/instance': 'loki', 'app.kubernetes.io/component': 'gateway' }, 'loki-gateway-6f7c9d8b5c'),
  unlabelled: pod('default', 'debug', 'shell', {}),
  canary: pod('loki', 'loki-canary-8h2vd', 'loki-canary', { 'app.kubernetes.io/name': 'loki-canary', 'app.kubernetes.io/instance': 'loki' }),
};

describe('alloy', () => {
  const blocks = configOf(env);

  test('the pinned chart, in the configured namespace, only where the environment has an alloy section', () => {
    expect(env.chart('alloy')).toMatchObject({ repoURL: 'https://grafana.github.io/helm-charts', chart: 'alloy', targetRevision: '1.11.1' });
    expect(env.app('alloy').spec.destination.namespace).toBe('monitoring');
    expect(() => lab.app('alloy')).toThrow();
    const moved = render(withAlloy((raw) => { raw.alloy.namespace = 'logging'; }));
    expect(moved.app('alloy').spec.destination.namespace).toBe('logging');
  });

  test('a pod\'s streams carry exactly the labels Promtail gives them today, service and service_name included', () => {
    for (const [what, p] of Object.entries(PODS).filter(([k]) => k !== 'canary')) {
      const streams = alloyStreams(blocks, p);
      expect([what, streams.length]).toEqual([what, 1]);
      expect([what, streams[0].labels]).toEqual([what, promtailLabels(p)]);
    }
    // What the platform relies on, spelled out: Grafana filters by namespace and pod, Tempo's traces-to-logs
    // link matches `service`, Loki's service_name comes from the `app` label.
    expect(alloyStreams(blocks, PODS.helmChart)[0].labels).toEqual({
      namespace: 'loki', pod: 'loki-gateway-6f7c9d8b5c-7xkzp', container: 'nginx', node_name: 'aks-system-12345678-vmss000000',
      app: 'loki', instance: 'loki', component: 'gateway', job: 'loki/loki', service: 'loki',
    });
    expect(alloyStreams(blocks, PODS.workload)[0].labels).toEqual({
      namespace: 'apps', pod: 'login-js-5d8c7b9f4d-x2k9q', container: 'login-js', node_name: 'aks-system-12345678-vmss000000',
      app: 'login-js', job: 'apps/login-js', service_name: 'login-js',
    });
  });

  test('the loki-canary\'s pods are not tailed', () => {
    expect(promtailLabels(PODS.canary)).toBeUndefined();
    expect(alloyStreams(blocks, PODS.canary)).toEqual([]);
  });

  test('pushes to the Loki gateway as the tenant Grafana reads as', () => {
    const datasource: any = yaml.load(Object.values(env.get('ConfigMap', 'loki-datasource', 'monitoring').data)[0] as string);
    const loki = datasource.datasources[0];
    const [stream] = alloyStreams(blocks, PODS.workload);
    expect(stream.url).toBe(`${loki.url}/loki/api/v1/push`);
    expect(stream.tenant).toBe(loki.secureJsonData.httpHeaderValue1);
    const other = render(withAlloy((raw) => { raw.loki.tenant = 'platform'; raw.loki.namespace = 'logs'; }));
    const [moved] = alloyStreams(configOf(other), PODS.workload);
    expect(moved).toMatchObject({ url: 'http://loki-gateway.logs.svc.cluster.local/loki/api/v1/push', tenant: 'platform' });
    // The validator's wiring rule reads addresses out of any string, so it checks this one against Loki's Services.
    const text = rendered(env, 'alloy', 'ConfigMap', 'alloy').data['config.alloy'];
    expect(findServiceAddresses(text, new Set(['loki']))).toEqual([expect.objectContaining({ service: 'loki-gateway', namespace: 'loki', port: 80 })]);
  });

  test('discovers only the pods of its own node, from the variable the chart sets to the node name', () => {
    const discovery = blocks.filter((b) => b.name === 'discovery.kubernetes');
    expect(discovery).toHaveLength(1);
    expect(discovery[0].attributes.role).toBe('pod');
    expect(discovery[0].blocks).toEqual([{
      name: 'selectors', label: undefined, blocks: [],
      attributes: { role: 'pod', field: { concat: ['spec.nodeName=', { call: 'sys.env', args: [NODE_NAME_ENV] }] } },
    }]);
    expect(alloyContainer.env).toContainEqual({ name: NODE_NAME_ENV, valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    expect(daemonSet.kind).toBe('DaemonSet');
  });

  test('reads logs through the API: no host paths, not root, state on a volume of its own', () => {
    const spec = daemonSet.spec.template.spec;
    expect(spec.volumes.filter((v: any) => v.hostPath)).toEqual([]);
    expect(spec.hostNetwork ?? false).toBe(false);
    expect(alloyContainer.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    expect(alloyContainer.securityContext.runAsUser).toBeGreaterThan(0);
    // With a read-only root, Alloy's storage (the read positions) must be a mounted volume.
    const storage = alloyContainer.args.find((a: string) => a.startsWith('--storage.path=')).split('=')[1];
    const mount = alloyContainer.volumeMounts.find((m: any) => m.mountPath === storage);
    expect(spec.volumes.find((v: any) => v.name === mount.name)).toEqual({ name: mount.name, emptyDir: {} });
    expect(alloyContainer.resources).toEqual({ requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { memory: expect.any(String) } });
    expect(alloyContainer.args).toContain('--disable-reporting');
  });

  test('may read pods and their logs, and nothing else', () => {
    const role = rendered(env, 'alloy', 'ClusterRole', 'alloy');
    const granted = role.rules.flatMap((r: any) => r.resources.map((res: string) => `${res}:${[...r.verbs].sort().join(',')}`)).sort();
    expect(granted).toEqual(['pods/log:get', 'pods:get,list,watch']);
    // The pipeline reads pods through discovery.kubernetes and loki.source.kubernetes only.
    expect(blocks.map((b) => b.name).filter((n) => n.includes('kubernetes')).sort()).toEqual(['discovery.kubernetes', 'loki.source.kubernetes']);
  });

  test('nothing of Promtail is applied where Alloy ships the logs', () => {
    expect(() => env.app('promtail')).toThrow();
    expect(env.platform!.components.map((c) => c.name)).not.toContain('promtail');
    const all = env.platform!.components.flatMap((c) => c.appliedManifests);
    expect(all.filter((m: any) => /promtail/.test(JSON.stringify({ name: m.metadata?.name, labels: m.metadata?.labels })))).toEqual([]);
    expect(env.files.filter((f) => /promtail/.test(f.path))).toEqual([]);
  });

  test('an environment with both promtail and alloy is refused, naming both', () => {
    const message = configProblem((raw) => { raw.alloy = { namespace: 'monitoring' }; });
    expect(message).toMatch(/alloy: is set, and so is promtail: two log shippers would push every log line to Loki twice; keep one/);
    expect(message).toMatch(/config\/lab\.yaml/);
  });

  test('an unknown field in the alloy section is refused', () => {
    expect(() => withAlloy((raw) => { raw.alloy.replicas = 2; })).toThrow(/alloy: unknown field "replicas"/);
  });
});
