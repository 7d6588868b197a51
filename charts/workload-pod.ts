// What every workload pod gets by default (config overrides each field; lib/workload-config.ts holds the
// defaults): requests and limits, startup/readiness/liveness probes on the declared port, a non-root
// read-only container without capabilities under seccomp RuntimeDefault, a ServiceAccount of its own (its
// mesh identity), a PodDisruptionBudget when more than one replica can run, spreading across nodes, and
// the app's env and files as ConfigMaps whose content hash rolls the pods. The Service, the monitors and
// the budget all select by the workload's one set of selector labels (kube-prometheus's pattern).
import { createHash } from 'crypto';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { PlatformConfig } from '../lib/config';
import { MonitoringStack, PodScrape } from '../lib/monitoring';
import { Hardening, hardening } from '../lib/workload-config';

type WorkloadConfig = PlatformConfig['apps']['workloads'][string];

/** The pod-template annotation whose value changes with the ConfigMaps' content, so a change rolls the pods. */
export const CONFIG_HASH_ANNOTATION = 'checksum/config';
/** The sysctl that lets a non-root process bind ports below 1024 (a "safe" sysctl since Kubernetes 1.22). */
const UNPRIVILEGED_PORT_SYSCTL = 'net.ipv4.ip_unprivileged_port_start';
/** The name the metrics port gets on the container and the Service (charts/workloads.ts). */
export const METRICS_PORT_NAME = 'http-metrics';

export interface WorkloadPodProps {
  /** The workload's name: its ServiceAccount, budget and ConfigMaps are named after it. */
  readonly name: string;
  readonly namespace: string;
  readonly workload: WorkloadConfig;
  /** The labels the Deployment, Service, budget and monitors select the pods by. */
  readonly selector: Readonly<Record<string, string>>;
  /** Scrapes metricsPort, when the workload has one. */
  readonly monitoring: MonitoringStack;
}

/** The hardened parts of one workload's pod, for the Deployment (or any pod template) to spread in. */
export class WorkloadPod extends Construct {
  /** The resolved settings, defaults included. */
  public readonly settings: Hardening;
  /** The pods' ServiceAccount: their identity in the mesh (spiffe://cluster.local/ns/<ns>/sa/<name>). */
  public readonly serviceAccount: k8s.KubeServiceAccount;
  /** Written when more than one replica can run. */
  public readonly disruptionBudget?: k8s.KubePodDisruptionBudget;
  /** Fields of the app container. */
  public readonly container: Omit<k8s.Container, 'name'>;
  /** Fields of the pod spec (besides containers and image pull secrets). */
  public readonly podSpec: Omit<k8s.PodSpec, 'containers'>;
  /** Pod-template annotations (the config hash). */
  public readonly annotations: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: WorkloadPodProps) {
    super(scope, id);
    const { name, namespace: ns, workload: w, selector } = props;
    const s = hardening(w);
    this.settings = s;

    // The pod's identity for AuthorizationPolicies. The API token is not mounted: the app does not call the
    // API server, and istio-proxy gets its own projected token (istio-token) from the injector.
    this.serviceAccount = new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { name, namespace: ns, labels: { ...selector } },
      automountServiceAccountToken: false,
    });

    const volumes: k8s.Volume[] = [];
    const mounts: k8s.VolumeMount[] = [];
    if (s.readOnlyRootFilesystem) {
      const used = new Set<string>();
      for (const p of s.writablePaths) {
        let vol = `writable-${p.slice(1).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')}`.slice(0, 63).replace(/-+$/, '');
        for (let i = 2; used.has(vol); i++) vol = `${vol.slice(0, 60)}-${i}`;
        used.add(vol);
        volumes.push({ name: vol, emptyDir: {} });
        mounts.push({ name: vol, mountPath: p });
      }
    }

    // The app's config as data: env from <name>-env, files from <name>-config. Their content hash on the
    // pod template makes a change of either a new ReplicaSet (a rollout), which a mounted ConfigMap alone
    // would not (env never refreshes; files do, but the app may not reread them).
    const envFrom: k8s.EnvFromSource[] = [];
    const hashed: Record<string, unknown> = {};
    if (Object.keys(s.env).length > 0) {
      const cm = new k8s.KubeConfigMap(this, 'env', { metadata: { name: `${name}-env`, namespace: ns, labels: { ...selector } }, data: { ...s.env } });
      envFrom.push({ configMapRef: { name: cm.name } });
      hashed.env = s.env;
    }
    if (Object.keys(s.files).length > 0) {
      const cm = new k8s.KubeConfigMap(this, 'config', { metadata: { name: `${name}-config`, namespace: ns, labels: { ...selector } }, data: { ...s.files } });
      volumes.push({ name: 'config', configMap: { name: cm.name } });
      mounts.push({ name: 'config', mountPath: s.configMountPath, readOnly: true });
      hashed.files = s.files;
    }
    this.annotations = Object.keys(hashed).length > 0
      ? { [CONFIG_HASH_ANNOTATION]: createHash('sha256').update(JSON.stringify(hashed)).digest('hex') }
      : {};

    // Istio's injector rewrites these probes (HTTP and TCP) to go through the sidecar agent on 15021:
    // the kubelet has no mesh certificate, so under STRICT mTLS it could not reach the port itself, and a
    // TCP connect to a port the sidecar intercepts would always succeed.
    // https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/
    const port = k8s.IntOrString.fromNumber(w.port);
    const check: Pick<k8s.Probe, 'httpGet' | 'tcpSocket'> = s.probe.kind === 'tcp'
      ? { tcpSocket: { port } }
      : { httpGet: { path: s.probe.path, port, scheme: s.probe.scheme } };
    const STARTUP_PERIOD = 5;

    this.container = {
      resources: {
        requests: { cpu: k8s.Quantity.fromString(s.resources.requests.cpu), memory: k8s.Quantity.fromString(s.resources.requests.memory) },
        limits: { cpu: k8s.Quantity.fromString(s.resources.limits.cpu), memory: k8s.Quantity.fromString(s.resources.limits.memory) },
      },
      // Liveness and readiness start once the startup probe passed, so a slow start is not a restart loop.
      startupProbe: { ...check, periodSeconds: STARTUP_PERIOD, timeoutSeconds: 2, failureThreshold: Math.ceil(s.startupSeconds / STARTUP_PERIOD) },
      readinessProbe: { ...check, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
      livenessProbe: { ...check, periodSeconds: 20, timeoutSeconds: 2, failureThreshold: 3 },
      // On the app container only: istio-init (which needs NET_ADMIN and root for iptables) and istio-proxy
      // (uid 1337) get their own security contexts from the injector, which a pod-level one would contradict.
      securityContext: {
        allowPrivilegeEscalation: false,
        runAsNonRoot: s.runAsNonRoot,
        ...(s.runAsUser !== undefined ? { runAsUser: s.runAsUser } : {}),
        ...(s.runAsGroup !== undefined ? { runAsGroup: s.runAsGroup } : {}),
        readOnlyRootFilesystem: s.readOnlyRootFilesystem,
        capabilities: { drop: ['ALL'], ...(s.addCapabilities.length > 0 ? { add: [...s.addCapabilities] } : {}) },
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...(envFrom.length > 0 ? { envFrom } : {}),
      ...(mounts.length > 0 ? { volumeMounts: mounts } : {}),
    };

    // A non-root process may bind a port below 1024 (nginx on 80) only when the pod lowers this sysctl;
    // without it the app exits at start with "permission denied".
    const lowest = Math.min(w.port, w.metricsPort ?? Infinity);
    const nonRootUser = s.runAsUser !== undefined && s.runAsUser !== 0;
    const sysctls = lowest < 1024 && nonRootUser ? [{ name: UNPRIVILEGED_PORT_SYSCTL, value: String(lowest) }] : [];

    this.podSpec = {
      serviceAccountName: this.serviceAccount.name,
      automountServiceAccountToken: false,
      ...(sysctls.length > 0 ? { securityContext: { sysctls } } : {}),
      // Across nodes, so one node's loss or drain takes one replica. ScheduleAnyway by default: a cluster
      // with fewer nodes than replicas still runs them all. matchLabelKeys keeps a rollout's new pods from
      // counting the old ReplicaSet's: the Deployment controller labels pods pod-template-hash, the Argo
      // Rollouts controller rollouts-pod-template-hash (a canary's stable and canary pods are each spread on
      // their own).
      topologySpreadConstraints: [{
        maxSkew: s.maxSkew,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: s.whenUnsatisfiable,
        labelSelector: { matchLabels: { ...selector } },
        matchLabelKeys: [props.workload.canary ? 'rollouts-pod-template-hash' : 'pod-template-hash'],
      }],
      ...(volumes.length > 0 ? { volumes } : {}),
    };

    if (s.multiReplica) {
      this.disruptionBudget = new k8s.KubePodDisruptionBudget(this, 'disruption-budget', {
        metadata: { name, namespace: ns, labels: { ...selector } },
        spec: {
          selector: { matchLabels: { ...selector } },
          maxUnavailable: typeof s.maxUnavailable === 'number' ? k8s.IntOrString.fromNumber(s.maxUnavailable) : k8s.IntOrString.fromString(s.maxUnavailable),
        },
      });
    }

    if (w.metricsPort !== undefined) {
      // The app's own metrics, scraped by the stack's Prometheus, which runs outside the mesh: the port is
      // PERMISSIVE and open to any source (charts/mesh-security.ts).
      new PodScrape(this, 'metrics-scrape', {
        stack: props.monitoring,
        name: `${name}-metrics`,
        podNamespace: ns,
        matchLabels: selector,
        jobLabel: 'app',
        port: METRICS_PORT_NAME,
        path: '/metrics',
      });
    }
  }
}
