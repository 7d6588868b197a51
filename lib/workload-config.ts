// The hardening and mesh-access fields of a workload (`apps.workloads.<name>` in config), their defaults,
// and the checks across fields and workloads. lib/config.ts spreads `workloadHardeningFields` into its
// workload schema and calls `workloadHardeningProblems` from its cross-field check; charts/workload-pod.ts
// and charts/mesh-security.ts read the resolved values through `hardening()`. Every default is stated
// here once and documented in README.md ("Workload defaults", "Mesh security") and config/lab.yaml.
import { z } from 'zod';
import { keyedRecord } from './keyed-record';

/** Requests and limits of the app container when config gives none (merged per field). */
export const DEFAULT_RESOURCES = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { cpu: '500m', memory: '256Mi' },
} as const;
/**
 * The user the app container runs as when config names none: distroless's `nonroot`, a uid that owns no
 * file of a typical image, so the image's files must be world-readable (COPY makes them so).
 */
export const DEFAULT_RUN_AS_USER = 65532;
/** Writable emptyDir mounts when config names none: the root filesystem is read-only. */
export const DEFAULT_WRITABLE_PATHS: readonly string[] = ['/tmp'];
/** The path HTTP probes ask for. */
export const DEFAULT_PROBE_PATH = '/';
/** How long a container may take to start before the startup probe gives up (then liveness takes over). */
export const DEFAULT_STARTUP_SECONDS = 120;
/** At most this many pods of a workload may be evicted at once. */
export const DEFAULT_MAX_UNAVAILABLE = 1;
/** Where `config` files are mounted when config names no path. */
export const DEFAULT_CONFIG_MOUNT_PATH = '/config';

const cpu = z.string().regex(/^([1-9][0-9]*m|[0-9]+(\.[0-9]{1,3})?)$/, { error: 'must be a CPU quantity such as 100m or 0.5' });
const memory = z.string().regex(/^[1-9][0-9]*(Ki|Mi|Gi)$/, { error: 'must be a memory quantity such as 128Mi or 1Gi' });
const quantities = z.strictObject({ cpu: cpu.optional(), memory: memory.optional() });
const absolutePath = z.string().regex(/^(\/[A-Za-z0-9._-]+)+$/, { error: 'must be an absolute path such as /var/cache/nginx' });
const httpPath = z.string().regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/%-]*$/, { error: 'must be an HTTP path starting with "/", such as /healthz' });
/** A workload name as config's keys spell it (lib/config.ts checks the keys themselves). */
const workloadRef = z.string().regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, { error: 'must name a workload of apps.workloads' });
/** Environment variable names as most shells accept them. */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name: letters, digits and "_", not starting with a digit' });
/** A ConfigMap key, which becomes the file name. */
const fileName = z.string().regex(/^(?!\.{1,2}$)[-._a-zA-Z0-9]{1,253}$/, { error: 'must be a file name of letters, digits, "-", "_" and "." (a ConfigMap key)' });

/** The fields lib/config.ts adds to a workload. Every one is optional; `hardening()` resolves the defaults. */
export const workloadHardeningFields = {
  /**
   * A fixed replica count, for a workload without autoscaling.
   * @default - none written: one replica, or KEDA's count
   */
  replicas: z.number().int().min(1).optional(),
  /** Container requests and limits, merged per field with DEFAULT_RESOURCES. */
  resources: z.strictObject({ requests: quantities.optional(), limits: quantities.optional() }).optional(),
  /**
   * Startup, readiness and liveness probes on `port`: HTTP GET `path` for an http-/http2-/grpc-/https- port,
   * a TCP connect for a tcp-/tls- port (which has no path).
   */
  probes: z.strictObject({
    /** @default "/" */
    path: httpPath.optional(),
    /** @default 120 */
    startupSeconds: z.number().int().min(10).max(3600).optional(),
  }).optional(),
  /** The app container's security context. Injected containers (istio-proxy, istio-init) keep their own. */
  securityContext: z.strictObject({
    /** @default true */
    runAsNonRoot: z.boolean().optional(),
    /** @default 65532 when runAsNonRoot, else the image's user */
    runAsUser: z.number().int().min(0).optional(),
    /** @default runAsUser */
    runAsGroup: z.number().int().min(0).optional(),
    /** @default true */
    readOnlyRootFilesystem: z.boolean().optional(),
    /** Paths that get a writable emptyDir (with a read-only root filesystem). @default ["/tmp"] */
    writablePaths: z.array(absolutePath).optional(),
    /** Capabilities added back after dropping ALL. @default none */
    addCapabilities: z.array(z.string().regex(/^[A-Z_]+$/, { error: 'must be a capability name such as NET_BIND_SERVICE' })).optional(),
  }).optional(),
  /** The PodDisruptionBudget, written when more than one replica can run. */
  disruptionBudget: z.strictObject({
    /** @default 1 */
    maxUnavailable: z.union([
      z.number().int().min(1, { error: 'must be at least 1: a budget that allows no eviction blocks node drains and AKS upgrades' }),
      z.string().regex(/^([1-9][0-9]?|100)%$/, { error: 'must be a percentage from 1% to 100%' }),
    ]),
  }).optional(),
  /** Spreading the pods across nodes (kubernetes.io/hostname). */
  topologySpread: z.strictObject({
    /** @default 1 */
    maxSkew: z.number().int().min(1).optional(),
    /** @default ScheduleAnyway (a small cluster must still run every replica) */
    whenUnsatisfiable: z.enum(['ScheduleAnyway', 'DoNotSchedule']).optional(),
  }).optional(),
  /** Environment variables (no secret values: synth's leak scan refuses them), from the ConfigMap <name>-env. */
  env: keyedRecord('environment variable', envName, z.string(), 'rename it').optional(),
  /** Files: name -> content, from the ConfigMap <name>-config mounted read-only at configMountPath. */
  config: keyedRecord('file', fileName, z.string(), 'rename it').optional(),
  /** @default "/config" */
  configMountPath: absolutePath.optional(),
  /**
   * The workloads that may call this one (their sidecars' mTLS identity). Everyone else is denied, except
   * the ingress gateway for a workload with a subdomain and any source on metricsPort.
   * @default - none
   */
  callers: z.array(workloadRef).optional(),
};

type Fields = { [K in keyof typeof workloadHardeningFields]: z.infer<(typeof workloadHardeningFields)[K]> };

/** What the hardening needs to know of a workload besides its own fields. */
export interface HardenedWorkload extends Partial<Fields> {
  readonly port: number;
  readonly portName: string;
  readonly metricsPort?: number;
  readonly autoscaling?: { readonly maxReplicas: number };
}

/** The resolved settings of one workload: its fields with every default filled in. */
export interface Hardening {
  readonly replicas?: number;
  /** Whether more than one pod can run (autoscaling up to more than one, or replicas > 1). */
  readonly multiReplica: boolean;
  readonly resources: { readonly requests: { readonly cpu: string; readonly memory: string }; readonly limits: { readonly cpu: string; readonly memory: string } };
  /** `tcp`: a TCP connect probe; else HTTP GET of `path` with this scheme. */
  readonly probe: { readonly kind: 'tcp' } | { readonly kind: 'http'; readonly scheme: 'HTTP' | 'HTTPS'; readonly path: string };
  readonly startupSeconds: number;
  readonly runAsNonRoot: boolean;
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly readOnlyRootFilesystem: boolean;
  readonly writablePaths: readonly string[];
  readonly addCapabilities: readonly string[];
  readonly maxUnavailable: number | string;
  readonly maxSkew: number;
  readonly whenUnsatisfiable: 'ScheduleAnyway' | 'DoNotSchedule';
  readonly env: Readonly<Record<string, string>>;
  readonly files: Readonly<Record<string, string>>;
  readonly configMountPath: string;
  readonly callers: readonly string[];
}

/** Port names whose traffic is opaque TCP: they get a TCP probe. */
const TCP_PORT_NAME = /^(tcp|tls)(-|$)/;

/** The settings of a workload, defaults resolved (once, here). */
export function hardening(w: HardenedWorkload): Hardening {
  const s = w.securityContext ?? {};
  const runAsNonRoot = s.runAsNonRoot ?? true;
  const runAsUser = s.runAsUser ?? (runAsNonRoot ? DEFAULT_RUN_AS_USER : undefined);
  return {
    replicas: w.replicas,
    multiReplica: (w.autoscaling?.maxReplicas ?? 0) > 1 || (w.replicas ?? 1) > 1,
    resources: {
      requests: { ...DEFAULT_RESOURCES.requests, ...w.resources?.requests },
      limits: { ...DEFAULT_RESOURCES.limits, ...w.resources?.limits },
    },
    probe: TCP_PORT_NAME.test(w.portName)
      ? { kind: 'tcp' }
      : { kind: 'http', scheme: w.portName.startsWith('https') ? 'HTTPS' : 'HTTP', path: w.probes?.path ?? DEFAULT_PROBE_PATH },
    startupSeconds: w.probes?.startupSeconds ?? DEFAULT_STARTUP_SECONDS,
    runAsNonRoot,
    runAsUser,
    runAsGroup: s.runAsGroup ?? runAsUser,
    readOnlyRootFilesystem: s.readOnlyRootFilesystem ?? true,
    writablePaths: s.writablePaths ?? DEFAULT_WRITABLE_PATHS,
    addCapabilities: s.addCapabilities ?? [],
    maxUnavailable: w.disruptionBudget?.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE,
    maxSkew: w.topologySpread?.maxSkew ?? 1,
    whenUnsatisfiable: w.topologySpread?.whenUnsatisfiable ?? 'ScheduleAnyway',
    env: w.env ?? {},
    files: w.config ?? {},
    configMountPath: w.configMountPath ?? DEFAULT_CONFIG_MOUNT_PATH,
    callers: w.callers ?? [],
  };
}

/** A CPU quantity in millicores, a memory quantity in bytes. */
function amount(q: string): number {
  const units: Record<string, number> = { m: 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  const m = /^([0-9.]+)(m|Ki|Mi|Gi)?$/.exec(q)!;
  return m[2] ? Number(m[1]) * units[m[2]] : Number(m[1]) * 1000;
}

/**
 * What is wrong across a workload's fields or between workloads, each with the path under
 * apps.workloads.<name> and a message that says the fix.
 */
export function workloadHardeningProblems(workloads: Readonly<Record<string, HardenedWorkload>>): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  for (const name of Object.keys(workloads).sort()) {
    const w = workloads[name];
    const at = ['apps', 'workloads', name];
    const h = hardening(w);
    if (w.replicas !== undefined && w.autoscaling) {
      out.push({ path: [...at, 'replicas'], message: 'is set together with autoscaling, whose ScaledObject owns the replica count (Argo CD and KEDA would fight over it); drop replicas or autoscaling' });
    }
    for (const field of ['cpu', 'memory'] as const) {
      if (amount(h.resources.requests[field]) > amount(h.resources.limits[field])) {
        out.push({ path: [...at, 'resources', 'requests', field], message: `${h.resources.requests[field]} is above the limit ${h.resources.limits[field]} (defaults: requests ${DEFAULT_RESOURCES.requests[field]}, limits ${DEFAULT_RESOURCES.limits[field]}); the API server refuses a request above its limit; lower the request or raise resources.limits.${field}` });
      }
    }
    if (w.probes?.path !== undefined && h.probe.kind === 'tcp') {
      out.push({ path: [...at, 'probes', 'path'], message: `port "${w.portName}" is plain TCP, so its probes are TCP connects without a path; drop probes.path, or name the port http-... if it speaks HTTP` });
    }
    if (h.runAsNonRoot && h.runAsUser === 0) {
      out.push({ path: [...at, 'securityContext', 'runAsUser'], message: 'is 0 (root) while runAsNonRoot is true, which the kubelet refuses; use a non-zero uid, or set securityContext.runAsNonRoot: false with a comment saying why the image needs root' });
    }
    if (w.securityContext?.writablePaths !== undefined && !h.readOnlyRootFilesystem) {
      out.push({ path: [...at, 'securityContext', 'writablePaths'], message: 'has no effect with readOnlyRootFilesystem: false (the whole filesystem is writable); drop one of the two' });
    }
    if (h.writablePaths.includes(h.configMountPath) && Object.keys(h.files).length > 0) {
      out.push({ path: [...at, 'configMountPath'], message: `"${h.configMountPath}" is also a writable path; the config files and the emptyDir cannot share a mount; choose another configMountPath` });
    }
    if (w.configMountPath !== undefined && Object.keys(h.files).length === 0) {
      out.push({ path: [...at, 'configMountPath'], message: 'is set but the workload has no config files; add config or drop configMountPath' });
    }
    const seen = new Set<string>();
    (w.callers ?? []).forEach((caller, i) => {
      if (caller === name) {
        out.push({ path: [...at, 'callers', i], message: `names the workload itself; a workload's own pods need no policy to call it; remove "${caller}"` });
      } else if (!Object.prototype.hasOwnProperty.call(workloads, caller)) {
        out.push({ path: [...at, 'callers', i], message: `"${caller}" is not a workload; allowed: ${Object.keys(workloads).filter((n) => n !== name).sort().join(', ') || 'none'}` });
      } else if (seen.has(caller)) {
        out.push({ path: [...at, 'callers', i], message: `"${caller}" is listed twice; remove one` });
      }
      seen.add(caller);
    });
  }
  return out;
}
