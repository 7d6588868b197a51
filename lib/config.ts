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

export const configSchema = z
  .strictObject({
    /** The public DNS zone every host lives under: harbor.<domain>, argocd.<domain>, ... */
    domain: domainName,
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
    apps: z.strictObject({ namespace: dnsLabel }),
    jenkins: z.strictObject({ namespace: dnsLabel }),
    istio: component({}),
    kubePrometheusStack: component({}),
    loki: component({}),
    promtail: component({}),
    tempo: component({}),
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
  });

/** The typed platform config, as read from one file. */
export type PlatformConfig = z.infer<typeof configSchema> & {
  /** The environment's name: the config file's base name, and the folder gitops/<environment>/. */
  readonly environment: string;
};
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
  return deepFreeze({ ...result.data, environment });
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
