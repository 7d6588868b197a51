// The config of a workload's traffic (apps.workloads.<name>.traffic) and canary delivery
// (apps.workloads.<name>.canary): the schema and every check across their fields. Kept apart from
// lib/config.ts, which adds the two keys to a workload and runs `checkTrafficAndCanary` on it, so every
// message names the field under apps.workloads.<name> (and ConfigError names the file).
import { z } from 'zod';

/** An Istio/Argo Rollouts duration: 500ms, 2s, 10s, 3m, 1h. */
export const DURATION = /^(\d+(\.\d+)?)(ms|s|m|h)$/;
const duration = z.string().regex(DURATION, { error: 'must be a duration such as 500ms, 2s, 10s or 3m' });

/** Milliseconds of a duration DURATION accepts. */
export function durationMs(d: string): number {
  const m = DURATION.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[3] as 'ms' | 's' | 'm' | 'h'];
}

/** What Envoy retries on (x-envoy-retry-on and x-envoy-retry-grpc-on), as Istio's retryOn takes them. */
export const RETRY_ON = ['5xx', 'gateway-error', 'reset', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx',
  'refused-stream', 'retriable-status-codes', 'retriable-headers', 'cancelled', 'deadline-exceeded', 'internal',
  'resource-exhausted', 'unavailable'] as const;

const retries = z.strictObject({
  /** How many retries (0: none). */
  attempts: z.number().int().min(0),
  /** Timeout of each attempt; at most the route's timeout. */
  perTryTimeout: duration.optional(),
  retryOn: z.array(z.enum(RETRY_ON, { error: `must be one of ${RETRY_ON.join(', ')}` })).min(1).optional(),
});

/** One way to match a string: exact, prefix or regex (RE2), as Istio's StringMatch. */
const stringMatch = z.strictObject({ exact: z.string().optional(), prefix: z.string().optional(), regex: z.string().optional() })
  .refine((m) => Object.keys(m).length === 1, { error: 'must have exactly one of exact, prefix, regex' });

const match = z.strictObject({
  uri: stringMatch.optional(),
  /** Header name (lower case) -> match, e.g. baggage-user-agent: { regex: ".*Firefox.*" }. */
  headers: z.record(z.string().regex(/^[a-z0-9-]+$/, { error: 'must be a lower-case header name' }), stringMatch).optional(),
}).refine((m) => m.uri !== undefined || Object.keys(m.headers ?? {}).length > 0, { error: 'must match on uri or headers; leave out `match` for a route that takes every request' });

const route = z.strictObject({
  /** The route's name in the VirtualService (http[].name). */
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, { error: 'must be a DNS-1123 label such as firefox or primary' }),
  /** Which requests; none: every request (only the last route). */
  match: match.optional(),
  /** Version (the DestinationRule subset) -> percent of the route's requests; the weights sum to 100. */
  to: z.record(z.string(), z.number().int().min(0).max(100)),
  /** @default traffic.timeout */
  timeout: duration.optional(),
  /** @default traffic.retries */
  retries: retries.optional(),
});

/**
 * A workload's traffic policy; tags are checked by config's image tag rule, passed in. The parameters are
 * ZodString, not ZodType<string>: tsc relates the two structurally, which cost seconds of every type check.
 */
export function trafficSchema(imageTag: z.ZodString, versionLabel: z.ZodString) {
  return z.strictObject({
    /**
     * Versions that run besides the workload's own (`version`, `image.tag`), each a Deployment
     * `<name>-<version>` of the same image repository at its own tag, behind the same Service.
     */
    versions: z.record(versionLabel, z.strictObject({ tag: imageTag })).optional(),
    loadBalancer: z.enum(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'PASSTHROUGH'], { error: 'must be ROUND_ROBIN, LEAST_REQUEST, RANDOM or PASSTHROUGH' }).optional(),
    connectionPool: z.strictObject({
      tcp: z.strictObject({ maxConnections: z.number().int().min(1).optional(), connectTimeout: duration.optional() }).optional(),
      http: z.strictObject({
        http1MaxPendingRequests: z.number().int().min(1).optional(),
        http2MaxRequests: z.number().int().min(1).optional(),
        maxRequestsPerConnection: z.number().int().min(0).optional(),
        maxRetries: z.number().int().min(0).optional(),
      }).optional(),
    }).optional(),
    /** Circuit breaking: eject a pod after consecutive errors (the guide: 10s, 1, 3m, 100). */
    outlierDetection: z.strictObject({
      interval: duration.optional(),
      consecutive5xxErrors: z.number().int().min(0).optional(),
      consecutiveGatewayErrors: z.number().int().min(0).optional(),
      baseEjectionTime: duration.optional(),
      maxEjectionPercent: z.number().int().min(0).max(100).optional(),
    }).optional(),
    /** Timeout of every route that sets none. */
    timeout: duration.optional(),
    /** Retries of every route that sets none. */
    retries: retries.optional(),
    /** HTTP routes in order; the first that matches takes the request; the last has no match. @default one route, all to `version` */
    routes: z.array(route).min(1).optional(),
  });
}

const step = z.strictObject({
  /** Percent of requests to the canary. */
  setWeight: z.number().int().min(0).max(100).optional(),
  /** Wait; without a duration, until someone promotes (`kubectl argo rollouts promote`). */
  pause: z.strictObject({ duration: duration.optional() }).optional(),
  /** Run the workload's AnalysisTemplate (canary.analysis) and abort when it fails. */
  analysis: z.strictObject({}).optional(),
}).refine((s) => Object.keys(s).length === 1, { error: 'must be exactly one of setWeight, pause, analysis' });

export const canarySchema = z.strictObject({
  /** Argo Rollouts canary steps, e.g. [{setWeight: 20}, {pause: {duration: 2m}}, {analysis: {}}, {setWeight: 50}]. */
  steps: z.array(step).min(1),
  /** The success-rate and p95-latency checks of an `analysis` step, read from the sidecars' metrics in Prometheus. */
  analysis: z.strictObject({
    /** Lowest share of non-5xx responses, e.g. 0.99. */
    minSuccessRate: z.number().min(0).max(1),
    /** Highest p95 latency in milliseconds. */
    maxP95LatencyMs: z.number().positive(),
    /** @default 1m */
    interval: duration.default('1m'),
    /** Measurements per analysis step. @default 5 */
    count: z.number().int().min(1).default(5),
    /** Failed measurements tolerated before the canary is aborted. @default 1 */
    failureLimit: z.number().int().min(0).default(1),
  }).optional(),
});

export type TrafficConfig = z.infer<ReturnType<typeof trafficSchema>>;
export type CanaryConfig = z.infer<typeof canarySchema>;
export type TrafficRoute = TrafficConfig extends { routes?: (infer R)[] } ? R : never;

/** The name a version has as a DestinationRule subset (Istio requires a DNS-1123 label). */
const SUBSET = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** The HTTP route a workload's VirtualService has when config names none, and the one a Rollout manages. */
export const PRIMARY_ROUTE = 'primary';

interface WorkloadFacts {
  readonly version: string;
  readonly portName: string;
  readonly traffic?: TrafficConfig;
  readonly canary?: CanaryConfig;
}

/**
 * Every check across the fields of a workload's traffic and canary config: subsets referenced exist,
 * weights sum to 100, a per-try timeout fits its route's timeout, the last route catches the rest, and
 * canary delivery leaves the split to the Rollout. Paths are relative to the workload.
 */
export function checkTrafficAndCanary(w: WorkloadFacts, ctx: z.RefinementCtx, httpPort: RegExp): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const t = w.traffic;
  const c = w.canary;
  if ((t || c) && !httpPort.test(w.portName)) {
    issue(['portName'], `${t ? 'traffic' : 'canary'} routes HTTP (Istio HTTP routes${c ? ', and the analysis reads istio_requests_total' : ''}), which Istio sees only on http-, http2- or grpc- ports; name the port so if the workload speaks HTTP, or drop ${t ? 'traffic' : 'canary'}`);
  }
  if (c) {
    if (t?.versions) issue(['traffic', 'versions'], 'with canary the Rollout runs the versions (stable and canary); drop traffic.versions, or drop canary to run several versions side by side');
    if (t?.routes) issue(['traffic', 'routes'], `with canary the Rollout sets the weights of the route "${PRIMARY_ROUTE}" itself; drop traffic.routes (timeouts and retries go in traffic.timeout and traffic.retries)`);
    c.steps.forEach((s, i) => {
      if (s.analysis && !c.analysis) issue(['canary', 'steps', i, 'analysis'], 'an analysis step needs canary.analysis (minSuccessRate, maxP95LatencyMs); add it, or drop the step');
    });
    if (!c.steps.some((s) => s.setWeight !== undefined)) issue(['canary', 'steps'], 'must hold at least one setWeight step, or no request ever reaches the canary before it is promoted');
  }
  if (!t) return;

  const versions = [w.version, ...Object.keys(t.versions ?? {})];
  if (t.versions || t.routes) {
    if (!SUBSET.test(w.version)) issue(['version'], `"${w.version}" names a DestinationRule subset, which Istio requires to be a DNS-1123 label; use one such as v1 or v1-76-0`);
    for (const v of Object.keys(t.versions ?? {})) {
      if (v === w.version) issue(['traffic', 'versions', v], `"${v}" is the workload's own version; list only the other versions that run besides it`);
      else if (!SUBSET.test(v)) issue(['traffic', 'versions', v], `"${v}" names a DestinationRule subset, which Istio requires to be a DNS-1123 label; use one such as v2`);
    }
  }
  const checkPerTry = (at: (string | number)[], timeout: string | undefined, r: TrafficConfig['retries']) => {
    if (!r?.perTryTimeout || !timeout) return;
    if (durationMs(r.perTryTimeout) > durationMs(timeout)) {
      issue([...at, 'perTryTimeout'], `${r.perTryTimeout} exceeds the route's timeout ${timeout}: no attempt could run that long; make it at most ${timeout}`);
    }
  };
  checkPerTry(['traffic', 'retries'], t.timeout, t.retries);
  const names = new Set<string>();
  (t.routes ?? []).forEach((r, i) => {
    const at = ['traffic', 'routes', i];
    if (names.has(r.name)) issue([...at, 'name'], `"${r.name}" is the name of an earlier route; give each route its own name`);
    names.add(r.name);
    const last = i === t.routes!.length - 1;
    if (!last && !r.match) issue([...at, 'match'], 'is missing: a route without match takes every request, so the routes after it would never be used; add a match, or move the route last');
    if (last && r.match) issue([...at, 'match'], 'must be left out on the last route: requests no route matches would get 404; add a last route without match');
    const targets = Object.entries(r.to);
    if (targets.length === 0) issue([...at, 'to'], `must name at least one version with its weight, e.g. { ${w.version}: 100 }`);
    for (const [v] of targets) {
      if (!versions.includes(v)) issue([...at, 'to', v], `"${v}" is not a version of this workload (versions: ${versions.join(', ')}: version and traffic.versions); route to one of them, or add it to traffic.versions`);
    }
    const sum = targets.reduce((n, [, weight]) => n + weight, 0);
    if (targets.length > 0 && sum !== 100) issue([...at, 'to'], `weights sum to ${sum}; they must sum to 100`);
    const timeout = r.timeout ?? t.timeout;
    if (r.retries) {
      checkPerTry([...at, 'retries'], timeout, r.retries);
    } else if (r.timeout && t.retries?.perTryTimeout && durationMs(t.retries.perTryTimeout) > durationMs(r.timeout)) {
      issue([...at, 'timeout'], `${r.timeout} is shorter than traffic.retries.perTryTimeout (${t.retries.perTryTimeout}), which this route inherits; give the route retries of its own or a timeout of at least ${t.retries.perTryTimeout}`);
    }
  });
}
