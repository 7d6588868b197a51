// The laptop environment (config/local.yaml: kind or minikube, no cloud): synthesized and validated
// end to end, carrying no Azure-specific value, with its CA chain, Kubernetes secret store, in-cluster
// storage, and requests that fit one 6 GB node.
import * as fs from 'fs';
import * as path from 'path';
import { configProblem, labConfig, render, unionViolations } from './helpers';
import { loadConfig } from '../lib/config';
import { chartFiles, renderFiles } from '../lib/platform';
import { parseQuantity, podsOf, totalRequests } from '../lib/resource-requests';
import { SMALL_BUDGET } from '../lib/sizing';

const LOCAL_FILE = path.join(__dirname, '..', 'config', 'local.yaml');
const config = loadConfig(LOCAL_FILE);
const local = render(config);
const lab = render();
const platform = local.platform!;
/** Every object the environment applies: its files (bootstrap's copy of Argo CD left out) and every chart's render. */
const applied = [...renderFiles(platform).filter((f) => !f.path.startsWith('bootstrap/')), ...chartFiles(platform)].map((f) => f.manifest as any);
/** The objects' text, CRDs left out: their schemas describe every provider the CRD supports (azurekv, azureDevOps). */
const text = JSON.stringify(applied.filter((m) => m.kind !== 'CustomResourceDefinition'));
/** The one applied object (ours or a chart's) of this kind, name and namespace. */
function object(kind: string, name: string, namespace: string): any {
  const hits = applied.filter((m) => m.kind === kind && m.metadata.name === name && m.metadata.namespace === namespace);
  if (hits.length !== 1) throw new Error(`expected one ${kind} ${namespace}/${name}, found ${hits.length}`);
  return hits[0];
}

test('synthesizes and validates with no violation', () => {
  expect(config.environment).toBe('local');
  expect(unionViolations(undefined, platform)).toEqual([]);
});

describe('no Azure-specific value', () => {
  test('no workload identity, Key Vault or Blob Storage setting anywhere', () => {
    expect(text).not.toMatch(/azure\.workload\.identity/);
    expect(text).not.toMatch(/vault\.azure\.net/);
    expect(text).not.toMatch(/blob\.core\.windows\.net|storage_account|accountName|"azure":|azurekv/);
    expect(local.values('loki').loki.storage).toEqual({ type: 'filesystem' });
    expect(local.values('tempo').storage.trace.backend).toBe('s3');
  });

  test('no azure annotation: the load balancer\'s settings come from cluster.provider (self-managed: none)', () => {
    expect([...text.matchAll(/"([A-Za-z0-9.-]*azure[A-Za-z0-9./-]*)":/gi)].map((m) => m[1])).toEqual([]);
    // The lab's ingress-nginx, on AKS, has Azure's probe path.
    expect(lab.values('ingress-nginx').controller.service.annotations)
      .toEqual({ 'service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path': '/healthz' });
  });
});

test('a self-signed root issuer signs the CA Certificate that the CA issuer of every endpoint signs with', () => {
  const root = local.get('ClusterIssuer', 'local-ca-root');
  const ca = local.get('Certificate', 'local-ca', 'cert-manager');
  const issuer = local.get('ClusterIssuer', 'local-ca');
  expect(root.spec).toEqual({ selfSigned: {} });
  expect(ca.spec).toMatchObject({ isCA: true, secretName: 'local-ca', issuerRef: { kind: 'ClusterIssuer', name: 'local-ca-root' } });
  expect(issuer.spec).toEqual({ ca: { secretName: ca.spec.secretName } });
  // Applied in that order, each once the one before is healthy.
  expect([root, ca, issuer].map((o) => Number(o.metadata.annotations['argocd.argoproj.io/sync-wave']))).toEqual([1, 2, 3]);
  const endpoints = local.all('Certificate').filter((c: any) => c.metadata.name !== 'local-ca');
  expect(endpoints.length).toBeGreaterThan(5);
  for (const c of endpoints) expect((c as any).spec.issuerRef.name).toBe('local-ca');
  expect(local.all('ClusterIssuer').some((i: any) => i.spec.acme)).toBe(false);
});

test('External Secrets reads the Secrets of platform-secrets, as a ServiceAccount that may only read those', () => {
  const store = local.get('ClusterSecretStore', 'kubernetes-secrets');
  expect(store.spec.provider.kubernetes).toMatchObject({
    remoteNamespace: 'platform-secrets',
    auth: { serviceAccount: { name: 'external-secrets-reader', namespace: 'platform-secrets' } },
  });
  const role = local.get('Role', 'external-secrets-reader', 'platform-secrets');
  expect(role.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }]);
  const binding = local.get('RoleBinding', 'external-secrets-reader', 'platform-secrets');
  expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'external-secrets-reader', namespace: 'platform-secrets' }]);
  local.get('Namespace', 'platform-secrets');
  const externalSecrets = local.all('ExternalSecret') as any[];
  expect(externalSecrets.length).toBeGreaterThan(5);
  for (const e of externalSecrets) {
    expect(e.spec.secretStoreRef.name).toBe('kubernetes-secrets');
    for (const d of e.spec.data) expect(d.remoteRef).toEqual({ key: expect.any(String), property: 'value' });
  }
  expect(local.all('Secret').filter((s: any) => s.data || s.stringData)).toEqual([]);
});

test('Loki runs as one single binary on a volume; Tempo writes to the chart\'s MinIO with the declared login', () => {
  const loki = local.values('loki');
  expect(loki.deploymentMode).toBe('SingleBinary');
  expect(loki.singleBinary).toMatchObject({ replicas: 1, persistence: { enabled: true, size: '10Gi' } });
  expect(loki.loki.schemaConfig.configs[0].object_store).toBe('filesystem');
  const lokiPods = applied.filter((m) => m.metadata.namespace === 'loki' && ['StatefulSet', 'Deployment'].includes(m.kind) && (m.spec.replicas ?? 1) > 0);
  expect(lokiPods.map((m) => m.metadata.name).sort()).toEqual(['loki', 'loki-gateway']);
  expect(object('StatefulSet', 'loki', 'loki').spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('10Gi');

  const tempo = local.values('tempo');
  expect(tempo.minio).toMatchObject({ enabled: true, mode: 'standalone', existingSecret: 'tempo-minio-credentials', persistence: { size: '10Gi' } });
  expect(tempo.storage.trace.s3).toMatchObject({ bucket: 'tempo-traces', endpoint: 'tempo-minio.observability.svc.cluster.local:9000' });
  expect(tempo.storage.trace.s3.secret_key).toBe('${MINIO_ROOT_PASSWORD}');
  expect(tempo.ingester.extraEnv).toContainEqual({ name: 'MINIO_ROOT_PASSWORD', valueFrom: { secretKeyRef: { name: 'tempo-minio-credentials', key: 'rootPassword' } } });
  const minio = object('Deployment', 'tempo-minio', 'observability');
  expect(JSON.stringify(minio.spec.template.spec.containers[0].env)).toContain('tempo-minio-credentials');
  // The chart's default root password is never rendered: no Secret of MinIO's own.
  expect(applied.filter((m) => m.kind === 'Secret' && /minio/.test(m.metadata.name))).toEqual([]);
});

describe('requests fit one 6 GB node', () => {
  // Istio's proxy, injected after the objects are applied into the pods of the injection namespaces.
  const proxy = local.values('istiod').global.proxy.resources.requests;
  const sidecar = { cpu: parseQuantity(proxy.cpu), memory: parseQuantity(proxy.memory) };
  const pods = podsOf(applied, { nodes: 1, sidecars: new Map(config.istio!.injectionNamespaces.map((ns) => [ns, sidecar])) });

  test('every container of every long-running pod requests CPU and memory, so that the sum counts them all', () => {
    const workloads = applied.filter((m) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout'].includes(m.kind) && (m.spec.replicas ?? 1) > 0);
    const missing = workloads.flatMap((m) => [...m.spec.template.spec.containers, ...(m.spec.template.spec.initContainers ?? [])]
      .filter((c: any) => !c.resources?.requests?.memory || !c.resources?.requests?.cpu)
      .map((c: any) => `${m.kind} ${m.metadata.namespace}/${m.metadata.name} ${c.name}`));
    expect(missing).toEqual([]);
    for (const kind of ['Prometheus', 'Alertmanager']) {
      for (const m of applied.filter((o) => o.kind === kind)) expect(m.spec.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    }
  });

  test(`the sum is at most ${SMALL_BUDGET.memory / 2 ** 30} GiB of memory and ${SMALL_BUDGET.cpu} CPUs`, () => {
    expect(pods.length).toBeGreaterThan(40);
    const total = totalRequests(pods);
    expect(total.memory).toBeLessThanOrEqual(SMALL_BUDGET.memory);
    expect(total.cpu).toBeLessThanOrEqual(SMALL_BUDGET.cpu);
  });

  test('the lab, sized standard, would not fit: the budget measures something', () => {
    const lab = render(labConfig()).platform!;
    const labApplied = [...renderFiles(lab).filter((f) => !f.path.startsWith('bootstrap/')), ...chartFiles(lab)].map((f) => f.manifest as any);
    expect(totalRequests(podsOf(labApplied)).memory).toBeGreaterThan(SMALL_BUDGET.memory);
  });
});

describe('config', () => {
  test('http01IngressClass is for ACME issuers only, and ACME needs it', () => {
    expect(configProblem((r) => { r.certManager.issuers.push({ name: 'own-ca', ca: 'selfSigned', http01IngressClass: 'nginx' }); }))
      .toMatch(/certManager\.issuers\.3\.http01IngressClass: applies only to ACME issuers: "own-ca" is a CA issuer, which answers no HTTP-01 challenge; remove http01IngressClass/);
    expect(configProblem((r) => { delete r.certManager.issuers[0].http01IngressClass; }))
      .toMatch(/certManager\.issuers\.0: says how HTTP-01 challenges reach the solver: set exactly one of http01IngressClass/);
    expect(configProblem((r) => { r.certManager.issuers[0].ca = 'selfSigned'; })).toMatch(/certManager\.issuers\.0\.ca: issuer "letsencrypt" sets both acme and ca/);
    expect(configProblem((r) => { r.certManager.issuers[0] = { name: 'letsencrypt', http01IngressClass: 'nginx' }; })).toMatch(/certManager\.issuers\.0\.acme: issuer "letsencrypt" sets neither acme nor ca/);
  });

  test('a CA issuer may sign for any ingress class, the gateway\'s included; ACME issuers need acmeEmail', () => {
    const c = labConfig((r) => { r.certManager.issuers.push({ name: 'own-ca', ca: 'selfSigned' }); r.certManager.ingressIssuer = 'own-ca'; r.apps.gatewayIssuer = 'own-ca'; });
    expect(c.certManager.ingressIssuer).toBe('own-ca');
    expect(configProblem((r) => { delete r.certManager.acmeEmail; })).toMatch(/certManager\.acmeEmail: is required by the ACME issuer "letsencrypt"/);
  });

  test('storage and store kinds are named choices', () => {
    expect(configProblem((r) => { r.loki.storage = { kind: 's3' }; })).toMatch(/loki\.storage\.kind: kind must be "azure-blob" or "filesystem"/);
    expect(configProblem((r) => { r.tempo.storage = { kind: 'filesystem', size: '10Gi' }; })).toMatch(/tempo\.storage\.kind: kind must be "azure-blob" or "minio"/);
    expect(configProblem((r) => { r.loki.storage = { kind: 'filesystem', size: 'ten' }; })).toMatch(/loki\.storage\.size: must be a quantity such as 10Gi/);
    expect(configProblem((r) => { r.secrets.store = { kind: 'kubernetes' }; })).toMatch(/secrets\.store\.namespace: is required/);
    expect(configProblem((r) => { r.cluster.size = 'tiny'; })).toMatch(/cluster\.size: must be "standard" or "small"/);
  });
});

test('the README\'s laptop secrets script creates exactly the store keys the local environment reads', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const script = readme.slice(readme.indexOf('**Secrets on a laptop.**'));
  const block = script.slice(script.indexOf('```sh'), script.indexOf('```', script.indexOf('```sh') + 5));
  const created = new Set([
    ...[...block.matchAll(/(?:^|; )s ([a-z0-9-]+) /gm)].map((m) => m[1]),
    ...[...block.matchAll(/create secret generic ([a-z0-9-]+) /g)].map((m) => m[1]).filter((n) => n !== '"$1"'),
  ]);
  const read = new Set(local.all('ExternalSecret').flatMap((e: any) => e.spec.data.map((d: any) => d.remoteRef.key)));
  expect([...read].filter((k) => !created.has(k))).toEqual([]);
  // Only the basic-auth htpasswd, which an ingress exposure reads, is created beyond what local reads.
  expect([...created].filter((k) => !read.has(k))).toEqual(['monitoring-htpasswd']);
});
