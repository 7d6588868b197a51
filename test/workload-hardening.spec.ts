// Hardened workloads by default (charts/workload-pod.ts, lib/workload-config.ts): what every workload
// pod gets without a line of config, what each override changes, and what config refuses.
import { findLeaks } from '../lib/leaks';
import {
  DEFAULT_CONFIG_MOUNT_PATH,
  DEFAULT_MAX_UNAVAILABLE,
  DEFAULT_RESOURCES,
  DEFAULT_RUN_AS_USER,
} from '../lib/workload-config';
import { CONFIG_HASH_ANNOTATION } from '../charts/workload-pod';
import { Rendered, configProblem, labConfig, render, unionViolations } from './helpers';

// Every leak scan here is a real one (no clean object taken from dist/leak-cache.json); restored for the next spec.
const leakCache = process.env.PLATFORM_LEAK_CACHE;
beforeAll(() => { process.env.PLATFORM_LEAK_CACHE = 'off'; });
afterAll(() => {
  if (leakCache === undefined) delete process.env.PLATFORM_LEAK_CACHE;
  else process.env.PLATFORM_LEAK_CACHE = leakCache;
});

const NS = 'default';
const lab = render();
const podOf = (r: Rendered, name: string) => r.get('Deployment', name, NS).spec.template;
const containerOf = (r: Rendered, name: string) => podOf(r, name).spec.containers.find((c: any) => c.name === name);
/** The lab with one workload's raw config changed. */
const withWorkload = (name: string, change: (w: any) => void) => render(labConfig((raw) => change(raw.apps.workloads[name])));
const problem = configProblem;

describe('defaults, on a workload that overrides nothing (register-js)', () => {
  const c = containerOf(lab, 'register-js');
  const pod = podOf(lab, 'register-js').spec;

  test('requests and limits', () => {
    expect(c.resources).toEqual({ requests: { ...DEFAULT_RESOURCES.requests }, limits: { ...DEFAULT_RESOURCES.limits } });
  });

  test('a tcp- port gets TCP startup, readiness and liveness probes on that port', () => {
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      expect(c[probe].tcpSocket).toEqual({ port: 3000 });
      expect(c[probe].httpGet).toBeUndefined();
    }
    // 120 s of startup at 5 s a try.
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBe(120);
  });

  test('non-root, read-only root with a writable /tmp, every capability dropped, seccomp RuntimeDefault', () => {
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      runAsUser: DEFAULT_RUN_AS_USER,
      runAsGroup: DEFAULT_RUN_AS_USER,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.volumeMounts).toEqual([{ name: 'writable-tmp', mountPath: '/tmp' }]);
    expect(pod.volumes).toEqual([{ name: 'writable-tmp', emptyDir: {} }]);
    // Port 3000 needs no unprivileged-port sysctl; injected containers keep their own context.
    expect(pod.securityContext).toBeUndefined();
  });

  test('its own ServiceAccount, without the API token', () => {
    expect(pod.serviceAccountName).toBe('register-js');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(lab.get('ServiceAccount', 'register-js', NS).automountServiceAccountToken).toBe(false);
  });

  test('spread across nodes by the workload\'s selector labels, without blocking scheduling', () => {
    const selector = lab.get('Deployment', 'register-js', NS).spec.selector.matchLabels;
    expect(pod.topologySpreadConstraints).toEqual([{
      maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: selector }, matchLabelKeys: ['pod-template-hash'],
    }]);
  });

  test('one replica at most: no PodDisruptionBudget, no replicas field, no config hash', () => {
    expect(lab.all('PodDisruptionBudget').filter((p) => p.metadata.namespace === NS).map((p) => p.metadata.name)).toEqual(['nginx']);
    expect(lab.get('Deployment', 'register-js', NS).spec.replicas).toBeUndefined();
    expect(podOf(lab, 'register-js').metadata.annotations[CONFIG_HASH_ANNOTATION]).toBeUndefined();
  });
});

describe('the lab\'s workloads', () => {
  test('an http- port gets HTTP probes of / on the declared port', () => {
    const c = containerOf(lab, 'login-js');
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      expect(c[probe].httpGet).toEqual({ path: '/', port: 3000, scheme: 'HTTP' });
    }
  });

  test('nginx runs as its image\'s nginx user, with emptyDirs where nginx writes, and may bind port 80', () => {
    const c = containerOf(lab, 'nginx');
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 101, runAsGroup: 101, readOnlyRootFilesystem: true });
    expect(c.volumeMounts.map((m: any) => m.mountPath)).toEqual(['/var/cache/nginx', '/var/run', '/tmp']);
    expect(podOf(lab, 'nginx').spec.securityContext).toEqual({ sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '80' }] });
  });

  test('nginx autoscales up to 10: a PodDisruptionBudget from the selector its Service uses', () => {
    const pdb = lab.get('PodDisruptionBudget', 'nginx', NS);
    const svc = lab.get('Service', 'nginx-service', NS);
    expect(pdb.spec).toEqual({ selector: { matchLabels: svc.spec.selector }, maxUnavailable: DEFAULT_MAX_UNAVAILABLE });
  });

  test('login-js\'s metricsPort is scraped by the stack\'s Prometheus, from the same selector', () => {
    const pm = lab.get('PodMonitor', 'login-js-metrics', 'monitoring');
    expect(pm.spec.selector).toEqual({ matchLabels: lab.get('Service', 'login-js-service', NS).spec.selector });
    expect(pm.spec.podMetricsEndpoints[0]).toMatchObject({ port: 'http-metrics', path: '/metrics' });
  });

  test('the whole union has no violation in the workloads (schemas, budgets, monitors, references)', () => {
    expect(unionViolations().filter((v) => v.file.startsWith('workloads/'))).toEqual([]);
  });
});

describe('overrides', () => {
  const r = withWorkload('register-js', (w) => {
    w.resources = { requests: { memory: '128Mi' }, limits: { memory: '512Mi' } };
    w.replicas = 3;
    w.disruptionBudget = { maxUnavailable: '50%' };
    w.topologySpread = { whenUnsatisfiable: 'DoNotSchedule', maxSkew: 2 };
    w.securityContext = { runAsUser: 1000, writablePaths: ['/app/uploads'], addCapabilities: ['NET_BIND_SERVICE'] };
    w.probes = { startupSeconds: 300 };
  });
  const c = containerOf(r, 'register-js');

  test('resources merge per field with the defaults', () => {
    expect(c.resources).toEqual({ requests: { cpu: DEFAULT_RESOURCES.requests.cpu, memory: '128Mi' }, limits: { cpu: DEFAULT_RESOURCES.limits.cpu, memory: '512Mi' } });
  });

  test('replicas > 1 writes the count and a budget with the configured maxUnavailable', () => {
    expect(r.get('Deployment', 'register-js', NS).spec.replicas).toBe(3);
    expect(r.get('PodDisruptionBudget', 'register-js', NS).spec.maxUnavailable).toBe('50%');
  });

  test('spread, user, writable paths, capabilities and startup time follow config', () => {
    expect(podOf(r, 'register-js').spec.topologySpreadConstraints[0]).toMatchObject({ maxSkew: 2, whenUnsatisfiable: 'DoNotSchedule' });
    expect(c.securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 1000, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } });
    expect(c.volumeMounts).toEqual([{ name: 'writable-app-uploads', mountPath: '/app/uploads' }]);
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBe(300);
  });

  test('a probe path, and runAsNonRoot: false without a user', () => {
    const o = withWorkload('login-js', (w) => { w.probes = { path: '/healthz' }; w.securityContext = { runAsNonRoot: false, readOnlyRootFilesystem: false }; });
    const lc = containerOf(o, 'login-js');
    expect(lc.readinessProbe.httpGet.path).toBe('/healthz');
    expect(lc.securityContext.runAsNonRoot).toBe(false);
    expect(lc.securityContext.runAsUser).toBeUndefined();
    expect(lc.securityContext.readOnlyRootFilesystem).toBe(false);
    expect(lc.volumeMounts).toBeUndefined();
  });
});

describe('app config as data', () => {
  const env = { LOG_LEVEL: 'info', REGISTER_URL: 'http://register-js-service:3000' };
  const files = { 'app.json': '{"greeting":"hello"}\n' };
  const withConfig = (e: Record<string, string>, f: Record<string, string>) => withWorkload('login-js', (w) => { w.env = e; w.config = f; });
  const r = withConfig(env, files);

  test('env becomes ConfigMap <name>-env, read with envFrom; files become <name>-config, mounted read-only', () => {
    expect(r.get('ConfigMap', 'login-js-env', NS).data).toEqual(env);
    expect(r.get('ConfigMap', 'login-js-config', NS).data).toEqual(files);
    const c = containerOf(r, 'login-js');
    expect(c.envFrom).toEqual([{ configMapRef: { name: 'login-js-env' } }]);
    expect(c.volumeMounts).toContainEqual({ name: 'config', mountPath: DEFAULT_CONFIG_MOUNT_PATH, readOnly: true });
    expect(podOf(r, 'login-js').spec.volumes).toContainEqual({ name: 'config', configMap: { name: 'login-js-config' } });
  });

  test('the pod template carries a hash of the content: a change rolls the pods, the same content does not', () => {
    const hash = (x: Rendered) => podOf(x, 'login-js').metadata.annotations[CONFIG_HASH_ANNOTATION];
    expect(hash(r)).toMatch(/^[0-9a-f]{64}$/);
    expect(hash(withConfig({ ...env }, { ...files }))).toBe(hash(r));
    expect(hash(withConfig({ ...env, LOG_LEVEL: 'debug' }, files))).not.toBe(hash(r));
    expect(hash(withConfig(env, { 'app.json': '{"greeting":"hi"}\n' }))).not.toBe(hash(r));
  });

  test('a secret value in env is refused by the leak scan that guards gitops/', () => {
    const leaky = withConfig({ DB_PASSWORD: ['plain', 'text', 'Pa55word'].join('-') }, {});
    const leaks = findLeaks(leaky.files.map((f) => ({ path: f.path, manifest: f.manifest })));
    expect(leaks.map((l) => `${l.object} ${l.field}`)).toEqual(['ConfigMap default/login-js-env (workloads/configmap-login-js-env.yaml) data.DB_PASSWORD']);
  });
});

describe('config refuses', () => {
  test('replicas with autoscaling', () => {
    expect(problem((r) => { r.apps.workloads.nginx.replicas = 2; })).toMatch(/apps\.workloads\.nginx\.replicas: is set together with autoscaling.*drop replicas or autoscaling/);
  });
  test('a request above its limit, naming the defaults', () => {
    expect(problem((r) => { r.apps.workloads.nginx.resources = { requests: { memory: '1Gi' } }; }))
      .toMatch(/apps\.workloads\.nginx\.resources\.requests\.memory: 1Gi is above the limit 256Mi.*raise resources\.limits\.memory/);
  });
  test('a probe path on a tcp- port', () => {
    expect(problem((r) => { r.apps.workloads['register-js'].probes = { path: '/' }; })).toMatch(/apps\.workloads\.register-js\.probes\.path: port "tcp-registerjs" is plain TCP.*drop probes\.path/);
  });
  test('a budget that allows no eviction, root with runAsNonRoot, a bad env name or file name', () => {
    expect(problem((r) => { r.apps.workloads.nginx.disruptionBudget = { maxUnavailable: 0 }; })).toMatch(/apps\.workloads\.nginx\.disruptionBudget\.maxUnavailable/);
    expect(problem((r) => { r.apps.workloads.nginx.securityContext.runAsUser = 0; })).toMatch(/apps\.workloads\.nginx\.securityContext\.runAsUser: is 0 \(root\) while runAsNonRoot is true/);
    expect(problem((r) => { r.apps.workloads.nginx.env = { '1BAD': 'x' }; })).toMatch(/apps\.workloads\.nginx\.env.*environment variable "1BAD" must be an environment variable name/);
    expect(problem((r) => { r.apps.workloads.nginx.config = { '../etc/passwd': 'x' }; })).toMatch(/apps\.workloads\.nginx\.config.*file "\.\.\/etc\/passwd" must be a file name/);
  });
  test('the message names the file', () => {
    expect(problem((r) => { r.apps.workloads.nginx.replicas = 2; })).toMatch(/^config\/lab\.yaml: invalid platform config/);
  });
});
