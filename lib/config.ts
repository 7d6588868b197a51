// The platform config: one YAML file per environment under config/, parsed and checked here into a
// typed, frozen PlatformConfig. Every other file reads its facts (domain, namespaces, issuers, chart
// versions, the deploy repo) from this object and nothing else.
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { z } from 'zod';

/** An exact chart version: `1.2.3` or `v1.2.3`, optionally with a pre-release. Ranges are refused. */
const exactVersion = z
  .string()
  .regex(/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, {
    error: 'must be an exact chart version such as 1.19.1 or v1.21.1 (no ranges, no "latest")',
  });

/** A DNS-1123 label: what Kubernetes accepts as a namespace name. */
const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, {
    error: 'must be a DNS-1123 label: lower-case letters, digits and "-", at most 63 characters',
  });

const domainName = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, {
    error: 'must be a lower-case DNS domain such as example.com',
  });

const component = <T extends z.ZodRawShape>(extra: T) =>
  z.strictObject({
    namespace: dnsLabel,
    chartVersion: exactVersion,
    ...extra,
  });

export const ACME_SERVERS = {
  production: 'https://acme-v02.api.letsencrypt.org/directory',
  staging: 'https://acme-staging-v02.api.letsencrypt.org/directory',
} as const;

/** An IANA time zone such as Asia/Seoul, as Alertmanager's `tz` template function loads it. */
const ianaTimeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return /^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(tz);
  } catch {
    return false;
  }
}, { error: 'must be an IANA time zone such as Asia/Seoul or UTC' });

/** An Azure storage account name: 3 to 24 lower-case letters and digits. */
const azureStorageAccount = z.string().regex(/^[a-z0-9]{3,24}$/, { error: 'must be an Azure storage account name: 3-24 lower-case letters and digits' });

/** An Azure Blob container name: 3 to 63 lower-case letters, digits and single hyphens. */
const azureContainer = z.string().regex(/^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/, { error: 'must be an Azure Blob container name such as loki-chunks' });

const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, {
  error: 'must be a GUID such as 11111111-2222-3333-4444-555555555555 (lower-case hex)',
});

/**
 * A kubeseal ciphertext. kubeseal's output is base64 of a blob that starts with a version byte, so it
 * begins with "Ag" and is hundreds of characters long; anything else is refused as possible plaintext.
 */
const sealedCiphertext = z.string().regex(/^Ag[A-Za-z0-9+/]{200,}={0,2}$/, {
  error: 'must be ciphertext made by `kubeseal --raw` (base64 starting with "Ag"); plaintext is refused',
});

const secretsBackend = z.discriminatedUnion('backend', [
  z.strictObject({
    /** External Secrets Operator reading Azure Key Vault through workload identity. */
    backend: z.literal('external-secrets'),
    namespace: dnsLabel,
    chartVersion: exactVersion,
    keyVault: z.strictObject({
      url: z.string().regex(/^https:\/\/[a-z0-9-]{3,24}\.vault\.azure\.net\/?$/, {
        error: 'must be a Key Vault URL such as https://kv-platform.vault.azure.net/',
      }),
      tenantId: uuid,
      /** Client id of the managed identity federated with the operator's service account. */
      clientId: uuid,
    }),
  }),
  z.strictObject({
    /** Bitnami Sealed Secrets: ciphertext made by kubeseal, committed in this file. */
    backend: z.literal('sealed-secrets'),
    namespace: dnsLabel,
    chartVersion: exactVersion,
    /** secret name -> namespace -> key -> ciphertext (`kubeseal --raw --namespace <ns> --name <secret>`). */
    encryptedData: z.record(z.string(), z.record(z.string(), z.record(z.string(), sealedCiphertext))),
  }),
], { error: 'backend must be "external-secrets" or "sealed-secrets"' });

const issuer = z.strictObject({
  /** The ClusterIssuer's name, as Certificates and Ingress annotations refer to it. */
  name: dnsLabel,
  /** Which Let's Encrypt directory the issuer talks to. */
  acme: z.enum(['production', 'staging']),
  /** The ingress class whose controller answers the HTTP-01 challenge (nginx, or istio for the mesh gateway). */
  http01IngressClass: dnsLabel,
});

/** Docker's tag grammar. */
export const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Tags that name whatever was pushed last, so the same config would run different code tomorrow. */
export const FLOATING_TAG = /^(latest|lts|stable|edge|main|master|dev)(-|$)/;
const imageTag = z
  .string()
  .regex(IMAGE_TAG, { error: 'must be a docker tag: letters, digits, "_", "." and "-", at most 128 characters, not starting with "." or "-"' })
  .refine((t) => !FLOATING_TAG.test(t), { error: 'must be an exact tag such as 2.528.2-lts-jdk21 or 42; floating tags (latest, lts, stable, ...) are refused' });
/** An image without its tag: [registry[:port]/]path. */
const imageRepository = z.string().regex(/^([a-z0-9.-]+(:[0-9]+)?\/)?[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/, {
  error: 'must be an image repository without a tag, such as harbor.example.com/msa/nginx',
});
const image = z.strictObject({ repository: imageRepository, tag: imageTag });

/** One workload of the deploy repo (nginx, login-js, register-js). */
const workload = z.strictObject({
  image,
  /** The container and Service port. Its name tells Istio the protocol: http-*, grpc-*, tcp-*. */
  port: z.number().int().min(1).max(65535),
  portName: z.string().regex(/^(http|http2|https|grpc|tcp|tls)(-[a-z0-9]+)*$/, {
    error: 'must start with the protocol Istio should assume: http-, http2-, https-, grpc-, tcp- or tls- (e.g. http-nginx)',
  }).max(15, { error: 'must be at most 15 characters (a container port name)' }),
  /** Annotations of the pods (e.g. Istio's rewriteAppHTTPProbers), besides sidecar injection. */
  podAnnotations: z.record(z.string(), z.string()).optional(),
  /** Annotations of the Service. */
  serviceAnnotations: z.record(z.string(), z.string()).optional(),
  /** A port serving Prometheus metrics, exposed as http-metrics. */
  metricsPort: z.number().int().min(1).max(65535).optional(),
  /** The `version` label Istio and Kiali group the workload's traffic by. */
  version: z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/, { error: 'must be a label value such as v1 or v1.76.0' }),
  /** Public host <subdomain>.<domain>, served through the Istio ingress gateway; none: reachable only inside the mesh. */
  subdomain: dnsLabel.optional(),
  /** KEDA scaling on the Istio request rate (requests per second per replica). */
  autoscaling: z.strictObject({
    minReplicas: z.number().int().min(0),
    maxReplicas: z.number().int().min(1),
    requestsPerSecond: z.number().positive(),
    activationRequestsPerSecond: z.number().nonnegative(),
  }).refine((a) => a.minReplicas <= a.maxReplicas, { error: 'minReplicas must not exceed maxReplicas', path: ['minReplicas'] }).optional(),
}).refine((w) => w.metricsPort === undefined || w.metricsPort !== w.port, { error: 'metricsPort must differ from port', path: ['metricsPort'] });

export const configSchema = z
  .strictObject({
    /** The public DNS zone every host lives under: harbor.<domain>, argocd.<domain>, ... */
    domain: domainName,
    /** The cluster the environment runs on: what synth renders the charts for and validates against. */
    cluster: z.strictObject({
      /**
       * The Kubernetes minor version the cluster serves, e.g. "1.31": Helm renders every chart for it
       * (--kube-version) and every object is checked against that version's API schema.
       */
      kubernetesVersion: z.string().regex(/^1\.(2[89]|3[0-6])$/, {
        error: 'must be a Kubernetes minor version from 1.28 to 1.36, quoted, such as "1.31" (schemas/ holds those)',
      }),
      /**
       * Who runs the control plane. `aks`: Azure runs the API server, scheduler, controller manager and
       * etcd, so they cannot be scraped and their alerts are turned off; `self-managed`: they run on nodes
       * the cluster can reach.
       */
      provider: z.enum(['aks', 'self-managed'], { error: 'must be "aks" or "self-managed"' }),
    }),
    /** The ingress class of the ingress-nginx controller; Ingresses and HTTP-01 solvers use it. */
    ingressClass: dnsLabel,
    /** Node selector applied where the guide pins pods to Linux nodes (cert-manager, ACME solvers). */
    nodeSelector: z.record(z.string(), z.string()),
    /** The git repository Argo CD syncs, and where this environment's gitops folder sits in it. */
    deployRepo: z.strictObject({
      url: z.string().regex(/^(https:\/\/|ssh:\/\/|git@)\S+$/, {
        error: 'must be a git URL starting with https://, ssh:// or git@',
      }),
      revision: z.string().min(1, { error: 'must name a branch, tag or commit' }),
      /** Path of the gitops/ folder inside the deploy repo; the environment's folder is <path>/<environment>. */
      path: z
        .string()
        .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, {
          error: 'must be a relative path inside the repo such as gitops (no leading or trailing "/")',
        }),
    }),
    argocd: z.strictObject({
      /** Namespace Argo CD runs in; Applications and the AppProject live there. */
      namespace: dnsLabel,
      /** The AppProject every platform Application belongs to. */
      project: dnsLabel,
      /** The argo-cd chart that manages Argo CD itself once the root Application is applied. */
      chartVersion: exactVersion,
      /** The Slack channel (without "#") every Application's sync and health notifications go to. */
      slackChannel: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,79}$/, { error: 'must be a Slack channel name without "#", such as devops' }),
      /** Argo CD RBAC (argocd-rbac-cm): the role of users no policy line names, and the policy lines. */
      rbac: z.strictObject({
        defaultPolicy: z.enum(['role:readonly', 'role:admin', '']),
        policyCsv: z.array(z.string().regex(/^(p|g), *[^,]+(, *[^,]+)+$/, { error: 'must be a policy line such as "p, role:org-admin, applications, *, */*, allow" or "g, my-org:devops, role:admin"' })),
      }).optional(),
      /**
       * Log in with GitHub (Dex): the OAuth app's client id (public) and the organizations whose members
       * may log in. The client secret comes from the declared secret argocd-dex-github, never from here.
       */
      githubSso: z.strictObject({
        clientId: z.string().regex(/^[A-Za-z0-9.]{8,64}$/, { error: 'must be the GitHub OAuth app\'s client id, such as Ov23liAbCdEfGh123456' }),
        orgs: z.array(z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,38})$/, { error: 'must be a GitHub organization name' })).min(1, { error: 'must name at least one GitHub organization' }),
      }).optional(),
    }),
    certManager: component({
      /** Contact address Let's Encrypt writes to about expiring certificates. */
      acmeEmail: z.email({ error: 'must be an e-mail address such as platform@example.com' }),
      issuers: z.array(issuer).min(1, { error: 'must declare at least one issuer' }),
      /** The issuer every Ingress endpoint's Certificate uses; one of issuers[].name. */
      ingressIssuer: dnsLabel,
    }),
    ingressNginx: component({}),
    harbor: component({}),
    /** The deploy repo's workloads (nginx, login-js, register-js). */
    apps: z.strictObject({
      namespace: dnsLabel,
      /** The issuer of the Istio gateway hosts' Certificates; it must solve HTTP-01 through the istio class. */
      gatewayIssuer: dnsLabel,
      /** Workload name -> how it runs. `npm run set-image -- <name> <tag>` changes image.tag. */
      workloads: z.record(dnsLabel, workload).refine((w) => Object.keys(w).length > 0, { error: 'must declare at least one workload' }),
    }),
    jenkins: z.strictObject({
      namespace: dnsLabel,
      /** The controller image, pinned: the guide's jenkins/jenkins:lts would upgrade Jenkins on any restart. */
      image,
      /** Size of the volume holding /var/jenkins_home. */
      storage: z.string().regex(/^[1-9][0-9]*(Mi|Gi|Ti)$/, { error: 'must be a quantity such as 5Gi' }),
    }),
    istio: component({
      /** Namespaces whose pods get the Envoy sidecar (label istio-injection=enabled). */
      injectionNamespaces: z.array(dnsLabel).default(['default']),
      /** Percentage of requests traced to Tempo (Telemetry mesh-default). The guide starts at 100 and lowers it later. */
      tracingSamplingPercentage: z.number().min(0).max(100),
    }),
    kiali: component({
      /** Hosts outside the cluster that the mesh talks to, shown in Kiali's graph (ServiceEntry, MESH_EXTERNAL). */
      externalServices: z.array(z.strictObject({
        name: dnsLabel,
        host: z.string().regex(/^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, { error: 'must be a fully qualified host name' }),
        port: z.number().int().min(1).max(65535),
        protocol: z.enum(['TCP', 'HTTP', 'HTTPS', 'TLS', 'GRPC', 'MONGO']),
        /** The port's name in the ServiceEntry. @default <protocol>-<port>, e.g. tcp-3306 */
        portName: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: 'must be a port name such as tcp-mysql' }).optional(),
      })).default([]),
    }),
    keda: component({}),
    kubePrometheusStack: component({
      /** The Slack channel Alertmanager posts every alert to (the webhook comes from the alertmanager-slack secret). */
      slackChannel: z.string().regex(/^#[a-z0-9][a-z0-9_-]{0,79}$/, { error: 'must be a Slack channel such as #devops' }),
      /** IANA time zone the Slack messages show start and end times in. */
      alertTimeZone: ianaTimeZone.default('Asia/Seoul'),
    }),
    loki: component({
      /** The tenant (X-Scope-OrgID) Promtail pushes as and Grafana reads as; Loki runs with auth_enabled. */
      tenant: z.string().regex(/^[A-Za-z0-9!._*'()-]{1,150}$/, { error: 'must be a Loki tenant id such as self-monitoring' }),
      /** Client id of the managed identity federated with Loki's service account (not a secret). */
      clientId: uuid,
      /** The Azure storage account holding Loki's chunks and rules, reached through workload identity. */
      storageAccount: azureStorageAccount,
      /** Blob containers in that account; they must exist before Loki starts. */
      containers: z.strictObject({ chunks: azureContainer, ruler: azureContainer }),
    }),
    promtail: component({}),
    tempo: component({
      /** The Azure storage account Tempo writes trace blocks to (its key is the tempo-azure-credentials secret). */
      storageAccount: azureStorageAccount,
      /** The Blob container for trace blocks; it must exist before Tempo starts. */
      container: azureContainer,
    }),
    /** Where every secret of the platform comes from; no secret value is ever in this repo. */
    secrets: secretsBackend,
    /**
     * Removals `npm run plan` may let through although they destroy data: `Kind/namespace/name`, or
     * `Kind/name` for cluster-scoped objects (e.g. `Namespace/loki`). Remove entries once merged.
     */
    allowRemovals: z
      .array(z.string().regex(/^[A-Za-z]+\/[a-z0-9.-]+(\/[a-z0-9.-]+)?$/, { error: 'must be Kind/namespace/name or Kind/name, e.g. Namespace/loki' }))
      .default([]),
  })
  .superRefine((c, ctx) => {
    const names = c.certManager.issuers.map((i) => i.name);
    const seen = new Set<string>();
    c.certManager.issuers.forEach((i, n) => {
      if (seen.has(i.name)) {
        ctx.addIssue({ code: 'custom', path: ['certManager', 'issuers', n, 'name'], message: `issuer "${i.name}" is declared twice; names must be unique` });
      }
      seen.add(i.name);
    });
    const chosen = c.certManager.issuers.find((i) => i.name === c.certManager.ingressIssuer);
    if (!chosen) {
      ctx.addIssue({
        code: 'custom',
        path: ['certManager', 'ingressIssuer'],
        message: `names issuer "${c.certManager.ingressIssuer}", which is not declared; allowed: ${names.join(', ')}`,
      });
    } else if (chosen.http01IngressClass !== c.ingressClass) {
      ctx.addIssue({
        code: 'custom',
        path: ['certManager', 'ingressIssuer'],
        message: `issuer "${chosen.name}" solves HTTP-01 through ingress class "${chosen.http01IngressClass}", but Ingresses use "${c.ingressClass}"; choose an issuer whose http01IngressClass is "${c.ingressClass}"`,
      });
    }
    // The apps' hosts are served by the Istio ingress gateway, so their issuer must solve through it.
    const meshIssuers = c.certManager.issuers.filter((i) => i.http01IngressClass === 'istio').map((i) => i.name);
    const gatewayIssuer = c.certManager.issuers.find((i) => i.name === c.apps.gatewayIssuer);
    if (!gatewayIssuer || gatewayIssuer.http01IngressClass !== 'istio') {
      const what = gatewayIssuer ? `solves HTTP-01 through class "${gatewayIssuer.http01IngressClass}", not "istio"` : 'is not declared';
      ctx.addIssue({
        code: 'custom',
        path: ['apps', 'gatewayIssuer'],
        message: `issuer "${c.apps.gatewayIssuer}" ${what}; allowed: ${meshIssuers.join(', ') || 'none (declare an issuer with http01IngressClass: istio)'}`,
      });
    }
  });

/** The typed platform config, as read from one file. */
export type PlatformConfig = z.infer<typeof configSchema> & {
  /** The environment's name: the config file's base name, and the folder gitops/<environment>/. */
  readonly environment: string;
  /** The file the config was read from, for messages. */
  readonly file: string;
};

/** A dotted path for messages, with keys that contain dots quoted: a.b[".dockerconfigjson"]. */
export function fieldPath(segments: readonly (string | number)[]): string {
  return segments.map((s, i) => (typeof s === 'number' ? `.${s}` : /[.\s]/.test(s) ? `["${s}"]` : i === 0 ? s : `.${s}`)).join('');
}
export type IssuerConfig = z.infer<typeof issuer>;
export type SecretsConfig = z.infer<typeof secretsBackend>;

/** A config file that cannot be used. The message names the file, the field and what is allowed. */
export class ConfigError extends Error {
  constructor(readonly file: string, readonly problems: readonly string[]) {
    super(`${file}: invalid platform config\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function at(root: unknown, p: readonly PropertyKey[]): unknown {
  return p.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as any)[k as any] : undefined), root);
}

function shapeKeys(schema: z.ZodType, p: readonly PropertyKey[]): string[] {
  let s: any = schema;
  for (const k of p) {
    while (s?.def?.innerType || s?.def?.in) s = s.def.innerType ?? s.def.in;
    if (s?.def?.type === 'object') s = s.def.shape[k as string];
    else if (s?.def?.type === 'array') s = s.def.element;
    else if (s?.def?.type === 'record') s = s.def.valueType;
    else return [];
  }
  while (s?.def?.innerType || s?.def?.in) s = s.def.innerType ?? s.def.in;
  return s?.def?.type === 'object' ? Object.keys(s.def.shape) : [];
}

/** Parses and checks config text; `file` is only used in messages. */
export function parseConfig(text: string, file: string): PlatformConfig {
  const environment = path.basename(file).replace(/\.ya?ml$/, '');
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(environment)) {
    throw new ConfigError(file, [`file name: the environment name "${environment}" (the file's base name) must be lower-case letters, digits and "-"; rename the file`]);
  }
  let raw: unknown;
  try {
    raw = yaml.load(text, { filename: file });
  } catch (e) {
    const err = e as { reason?: string; mark?: { line: number; column: number }; message: string };
    const where = err.mark ? ` at line ${err.mark.line + 1}, column ${err.mark.column + 1}` : '';
    throw new ConfigError(file, [`not valid YAML${where}: ${err.reason ?? err.message}; fix the syntax there`]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(file, ['the file must hold a YAML mapping of settings (see config/lab.yaml)']);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const field = issue.path.map(String).join('.') || '(top level)';
      if (issue.code === 'unrecognized_keys') {
        const allowed = shapeKeys(configSchema, issue.path);
        return `${field === '(top level)' ? '' : `${field}: `}unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; allowed here: ${allowed.join(', ')}`;
      }
      const got = at(raw, issue.path);
      if (got === undefined && issue.code === 'invalid_type') {
        return `${field}: is required (${issue.message.replace(/^Invalid input: /, '').replace(/, received undefined$/, '')})`;
      }
      return `${field}: ${issue.message.replace(/^Invalid input: /, '')} (got ${describe(got)})`;
    });
    throw new ConfigError(file, problems);
  }
  return deepFreeze({ ...result.data, environment, file });
}

/** Reads one config file. */
export function loadConfig(file: string): PlatformConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [`cannot read the file (${(e as NodeJS.ErrnoException).code}); pass an existing config file`]);
  }
  return parseConfig(text, file);
}

/** The config files of every environment: config/*.yaml, sorted. */
export function configFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    Object.values(o).forEach(deepFreeze);
    Object.freeze(o);
  }
  return o;
}
