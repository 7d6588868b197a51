// The platform config: one YAML file per environment under config/, parsed and checked here into a
// typed, frozen PlatformConfig. Every other file reads its facts (domain, namespaces, issuers, chart
// versions, the deploy repo) from this object and nothing else.
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { z } from 'zod';
import { keyedRecord } from './keyed-record';
import { redactSecrets, urlCredentials } from './secret-scan';
import { deepFreeze } from './freeze';
import { chartSource, overrideProblem } from './versions';
import { canarySchema, checkTrafficAndCanary, trafficSchema } from './traffic-config';
import { workloadHardeningFields, workloadHardeningProblems } from './workload-config';

/** The largest config file read: a config is a few KiB; anything near this is a mistake or an attack. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** YAML aliases (`*name`) one config may hold. */
export const MAX_CONFIG_ALIASES = 1000;
/** How many values aliases may add beyond the file's own: a "billion laughs" file adds billions. */
export const MAX_ALIAS_EXPANSION = 10000;
/** How deep collections may nest (the schema needs about 7). */
export const MAX_CONFIG_DEPTH = 64;

/**
 * An exact chart version: `1.2.3` or `v1.2.3`, optionally with a pre-release. Ranges, wildcards, `latest`
 * and build metadata (`+build`, which semver precedence ignores, so it names no single archive) are not.
 * The one definition: config's chartVersion fields and the validator's check of an Application's
 * targetRevision (a hand-edited gitops/) both use it. As a component's `chartVersion` it is optional: it
 * overrides versions.yaml's default for this environment and must be one of the versions versions.yaml
 * lists for that chart (checked below).
 */
export const EXACT_CHART_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
const exactVersion = z
  .string()
  .regex(EXACT_CHART_VERSION, {
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

const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** What is wrong with a label or annotation key (`[prefix/]name`), or undefined. */
function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'must be [prefix/]name with at most one "/"';
  const name = parts[parts.length - 1];
  if (parts.length === 2 && !DNS_SUBDOMAIN.test(parts[0])) {
    return 'has a prefix that is not a DNS subdomain (lower-case letters, digits, "-" and ".", at most 253 characters), such as example.com/name';
  }
  if (!LABEL_NAME.test(name)) {
    return 'must have a name part of 1 to 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  }
  return undefined;
}
const qualifiedName = z.string().superRefine((k, ctx) => {
  const problem = qualifiedNameProblem(k);
  if (problem) ctx.addIssue({ code: 'custom', message: `${problem}; rename the key` });
});
/** A label value: empty, or up to 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit. */
const labelValue = z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, {
  error: 'must be a label value: at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
});
/** The API server refuses an object whose annotations (keys and values) exceed 256 KiB together. */
const ANNOTATIONS_LIMIT = 256 * 1024;
const annotations = keyedRecord('annotation', qualifiedName, z.string()).refine(
  (a) => Object.entries(a).reduce((n, [k, v]) => n + k.length + v.length, 0) <= ANNOTATIONS_LIMIT,
  { error: `must total at most ${ANNOTATIONS_LIMIT} characters (keys and values), as the API server requires; move large content into a ConfigMap` },
);

/** The suffix of a workload's Service, which must be a DNS-1035 label (at most 63 characters). */
const SERVICE_SUFFIX = '-service';
/** The longest workload name whose Service name `<name>-service` fits 63 characters. */
export const MAX_WORKLOAD_NAME = 63 - SERVICE_SUFFIX.length;
/**
 * A workload's name: its Deployment, container, `app` label and the prefix of its Service
 * `<name>-service` (a DNS-1035 label: starts with a letter, at most 63 characters).
 */
const workloadName = z.string().superRefine((name, ctx) => {
  if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
    ctx.addIssue({
      code: 'custom',
      message: `must be lower-case letters, digits and "-", starting with a letter and ending with a letter or digit (its Service "<name>${SERVICE_SUFFIX}" is a DNS-1035 label); rename the workload`,
    });
  } else if (name.length > MAX_WORKLOAD_NAME) {
    ctx.addIssue({
      code: 'custom',
      message: `is ${name.length} characters; use at most ${MAX_WORKLOAD_NAME}, so that its Service "<name>${SERVICE_SUFFIX}" fits the 63 characters of a DNS-1035 label; rename the workload`,
    });
  }
});


/**
 * The ports the Istio sidecar listens on in every pod it is injected into: a container port equal to one
 * of them collides with Envoy (https://istio.io/latest/docs/ops/deployment/application-requirements/).
 */
export const ISTIO_SIDECAR_PORTS: ReadonlyMap<number, string> = new Map([
  [15000, 'Envoy admin'],
  [15001, 'Envoy outbound'],
  [15004, 'debug'],
  [15006, 'Envoy inbound'],
  [15008, 'HBONE mTLS tunnel'],
  [15009, 'HBONE on secure networks'],
  [15020, 'merged Prometheus telemetry'],
  [15021, 'health checks'],
  [15053, 'DNS proxy'],
  [15090, 'Envoy Prometheus telemetry'],
]);

const component = <T extends z.ZodRawShape>(extra: T) =>
  z.strictObject({
    namespace: dnsLabel,
    chartVersion: exactVersion.optional(),
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

/** A Kubernetes quantity of storage, such as 10Gi. */
const storageSize = z.string().regex(/^[1-9][0-9]*(Mi|Gi|Ti)$/, { error: 'must be a quantity such as 10Gi' });

/**
 * Where External Secrets Operator reads the secrets' values. `azure-key-vault`: Azure Key Vault through AKS
 * workload identity; `kubernetes`: Secrets a person created with kubectl in one namespace of the cluster
 * itself (no cloud: a laptop), read by the operator's Kubernetes provider through a ServiceAccount that may
 * only read Secrets there.
 */
const secretStore = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('azure-key-vault'),
    url: z.string().regex(/^https:\/\/[a-z0-9-]{3,24}\.vault\.azure\.net\/?$/, {
      error: 'must be a Key Vault URL such as https://kv-platform.vault.azure.net/',
    }),
    tenantId: uuid,
    /** Client id of the managed identity federated with the operator's service account. */
    clientId: uuid,
  }),
  z.strictObject({
    kind: z.literal('kubernetes'),
    /** The namespace holding the source Secrets (one per remote key, its value under the key `value`). */
    namespace: dnsLabel,
  }),
], { error: 'kind must be "azure-key-vault" or "kubernetes"' });

const secretsBackend = z.discriminatedUnion('backend', [
  z.strictObject({
    /** External Secrets Operator reading the store below. */
    backend: z.literal('external-secrets'),
    namespace: dnsLabel,
    chartVersion: exactVersion.optional(),
    store: secretStore,
  }),
  z.strictObject({
    /** Bitnami Sealed Secrets: ciphertext made by kubeseal, committed in this file. */
    backend: z.literal('sealed-secrets'),
    namespace: dnsLabel,
    chartVersion: exactVersion.optional(),
    /** secret name -> namespace -> key -> ciphertext (`kubeseal --raw --namespace <ns> --name <secret>`). */
    encryptedData: z.record(z.string(), z.record(z.string(), z.record(z.string(), sealedCiphertext))),
  }),
], { error: 'backend must be "external-secrets" or "sealed-secrets"' });

/**
 * Loki's object store. `azure-blob`: chunks, index and rules in Azure Blob Storage through AKS workload
 * identity, Loki in distributed mode; `filesystem`: one Loki (single binary) on a PersistentVolumeClaim of
 * `size` in the cluster (no cloud; one replica, as a filesystem cannot be shared between Loki's components).
 */
const lokiStorage = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('azure-blob'),
    /** Client id of the managed identity federated with Loki's service account (not a secret). */
    clientId: uuid,
    /** The Azure storage account holding Loki's chunks and rules, reached through workload identity. */
    storageAccount: azureStorageAccount,
    /** Blob containers in that account; they must exist before Loki starts. */
    containers: z.strictObject({ chunks: azureContainer, ruler: azureContainer }),
  }),
  z.strictObject({
    kind: z.literal('filesystem'),
    /** The volume holding chunks, index and rules. */
    size: storageSize,
  }),
], { error: 'kind must be "azure-blob" or "filesystem"' });

/**
 * Tempo's object store. `azure-blob`: trace blocks in Azure Blob Storage with the account key (the
 * tempo-azure-credentials secret); `minio`: the chart's bundled MinIO (one server on a PersistentVolumeClaim
 * of `size`), which Tempo reaches as S3: tempo-distributed's components each run in a pod of their own and
 * must all read the blocks the ingesters write, which a filesystem volume cannot give them.
 */
const tempoStorage = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('azure-blob'),
    /** The Azure storage account Tempo writes trace blocks to (its key is the tempo-azure-credentials secret). */
    storageAccount: azureStorageAccount,
    /** The Blob container for trace blocks; it must exist before Tempo starts. */
    container: azureContainer,
  }),
  z.strictObject({
    kind: z.literal('minio'),
    /** MinIO's volume, which holds the trace blocks. */
    size: storageSize,
  }),
], { error: 'kind must be "azure-blob" or "minio"' });

/**
 * A ClusterIssuer: Let's Encrypt through HTTP-01 (`acme` with `http01IngressClass`), or a self-signed CA of
 * the cluster's own (`ca: selfSigned`: a self-signed root ClusterIssuer, the CA Certificate it signs, and the
 * CA ClusterIssuer named `name` that signs the endpoints' certificates; no public DNS or internet needed).
 */
const issuer = z.strictObject({
  /** The ClusterIssuer's name, as Certificates and Ingress annotations refer to it. */
  name: dnsLabel,
  /** Which Let's Encrypt directory the issuer talks to. */
  acme: z.enum(['production', 'staging']).optional(),
  /**
   * How an ACME issuer's HTTP-01 challenges reach the solver: exactly one of the two.
   * http01IngressClass: an Ingress of this class (nginx, or istio for the mesh gateway's Ingress support);
   * http01GatewayHTTPRoute: an HTTPRoute attached to this Gateway API Gateway (exposure.gatewayName).
   */
  http01IngressClass: dnsLabel.optional(),
  http01GatewayHTTPRoute: dnsLabel.optional(),
  /** A CA of the cluster's own, its root self-signed. */
  ca: z.literal('selfSigned', { error: 'must be "selfSigned"' }).optional(),
}).superRefine((i, ctx) => {
  const solvers = [i.http01IngressClass, i.http01GatewayHTTPRoute].filter((v) => v !== undefined).length;
  if (i.acme !== undefined && i.ca !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['ca'], message: `issuer "${i.name}" sets both acme and ca; an issuer is either Let's Encrypt (acme) or a CA of the cluster's own (ca: selfSigned): remove one` });
  } else if (i.acme === undefined && i.ca === undefined) {
    ctx.addIssue({ code: 'custom', path: ['acme'], message: `issuer "${i.name}" sets neither acme nor ca; add \`acme: production\` (or staging) with http01IngressClass, or \`ca: selfSigned\`` });
  } else if (i.acme !== undefined && solvers !== 1) {
    ctx.addIssue({
      code: 'custom',
      message: `${solvers === 0 ? 'says' : 'says twice'} how HTTP-01 challenges reach the solver: set exactly one of http01IngressClass (an ingress class such as nginx) and http01GatewayHTTPRoute (the Gateway API Gateway of exposure.gatewayName)`,
    });
  } else if (i.ca !== undefined && solvers > 0) {
    const field = i.http01IngressClass !== undefined ? 'http01IngressClass' : 'http01GatewayHTTPRoute';
    ctx.addIssue({ code: 'custom', path: [field], message: `applies only to ACME issuers: "${i.name}" is a CA issuer, which answers no HTTP-01 challenge; remove ${field}` });
  }
});

/** A Let's Encrypt issuer answering HTTP-01 through an ingress class or a Gateway. */
export type AcmeIssuer = IssuerConfig & { readonly acme: 'production' | 'staging'; readonly ca?: undefined };
/** A CA of the cluster's own: its certificates are trusted only where the CA is (README "Trusting the CA"). */
export type CaIssuer = IssuerConfig & { readonly ca: 'selfSigned'; readonly acme?: undefined };
export const isCaIssuer = (i: IssuerConfig): i is CaIssuer => i.ca !== undefined;

/** The ingress class of the Istio ingress gateway, which serves the apps' hosts and answers their challenges. */
export const MESH_INGRESS_CLASS = 'istio';

/** How an issuer's HTTP-01 challenges reach its solver: an Ingress of a class, or an HTTPRoute on a Gateway. */
export type Http01Solver = { readonly ingressClass: string } | { readonly gateway: string };

/** An issuer's solver, from its config; none for a CA issuer, which answers no challenge. */
export function http01Solver(issuer: IssuerConfig): Http01Solver | undefined {
  if (isCaIssuer(issuer)) return undefined;
  return issuer.http01GatewayHTTPRoute !== undefined ? { gateway: issuer.http01GatewayHTTPRoute } : { ingressClass: issuer.http01IngressClass! };
}

const sameSolver = (a: Http01Solver, b: Http01Solver) =>
  ('ingressClass' in a && 'ingressClass' in b && a.ingressClass === b.ingressClass) || ('gateway' in a && 'gateway' in b && a.gateway === b.gateway);
const solverText = (s: Http01Solver) => ('ingressClass' in s ? `ingress class "${s.ingressClass}"` : `an HTTPRoute on Gateway "${s.gateway}"`);
const solverField = (s: Http01Solver) => ('ingressClass' in s ? `http01IngressClass is "${s.ingressClass}"` : `http01GatewayHTTPRoute is "${s.gateway}"`);

/**
 * The one issuer-to-front rule: an issuer's HTTP-01 challenge reaches a host only through the ingress
 * class or Gateway the issuer solves with, so that must be what serves the host. Checked where the
 * pairing is made: here for an environment's issuers (with the config file and field), and by
 * TlsEndpoint for an endpoint it builds. Returns the problem, or undefined; `servedBy` is followed by the
 * class's or Gateway's quoted name.
 */
export function http01Problem(issuer: { readonly name: string; readonly http01?: Http01Solver }, served: Http01Solver, servedBy: string): string | undefined {
  // An issuer without HTTP-01 (a CA of the cluster's own) signs for a host whatever serves it.
  if (!issuer.http01 || sameSolver(issuer.http01, served)) return undefined;
  const name = 'ingressClass' in served ? served.ingressClass : served.gateway;
  return `issuer "${issuer.name}" solves HTTP-01 through ${solverText(issuer.http01)}, but ${servedBy} "${name}", ` +
    `so the challenge would never reach the host; choose an issuer whose ${solverField(served)}`;
}

/** Docker's tag grammar. */
export const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Tag words that name no version: they move to whatever was pushed last. */
const FLOATING_TAG_WORDS = new Set(['latest', 'lts', 'stable', 'edge', 'nightly', 'dev', 'develop', 'main', 'master', 'mainline', 'current', 'rolling', 'release']);

/** A release named by its build time, as MinIO tags its images. */
const RELEASE_TIMESTAMP_TAG = /^RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/;

/**
 * Why an image tag floats (names whatever was pushed last, so the same config would run different code
 * tomorrow), or undefined if it is pinned: a floating word (`latest`), a tag that starts with one
 * (`lts-jdk17`, `latest.alpine`), or a tag without any digit (`alpine`), which names no version either.
 * The one definition: config's image tags, set-image and the validator's image-pinned rule use it.
 */
export function floatingTagReason(tag: string): string | undefined {
  // MinIO names each release by its build time (RELEASE.2022-10-24T18-35-07Z): one build, never moved.
  if (RELEASE_TIMESTAMP_TAG.test(tag)) return undefined;
  const word = tag.split(/[-_.]/)[0].toLowerCase();
  if (FLOATING_TAG_WORDS.has(tag.toLowerCase())) return 'moves to whatever is newest';
  if (FLOATING_TAG_WORDS.has(word)) return `follows "${word}" and moves`;
  if (!/\d/.test(tag)) return 'names no version and moves';
  return undefined;
}
const imageTag = z
  .string()
  .regex(IMAGE_TAG, { error: 'must be a docker tag: letters, digits, "_", "." and "-", at most 128 characters, not starting with "." or "-"' })
  .superRefine((t, ctx) => {
    const reason = floatingTagReason(t);
    if (reason) ctx.addIssue({ code: 'custom', message: `must be an exact tag such as 2.528.2-lts-jdk21 or 42; floating tags (latest, lts, stable, ...) are refused: "${t}" ${reason}` });
  });
/** An image without its tag: [registry[:port]/]path. */
const imageRepository = z.string().regex(/^([a-z0-9.-]+(:[0-9]+)?\/)?[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/, {
  error: 'must be an image repository without a tag, such as harbor.example.com/msa/nginx',
});
const image = z.strictObject({ repository: imageRepository, tag: imageTag });

/** Port names whose traffic Istio parses as HTTP (istio_requests_total); tcp-, tls- and https- ports are opaque to it. */
/** Whether any workload of the config is delivered as a canary (then Argo Rollouts runs, with its secret). */
export function usesCanary(config: { readonly apps: { readonly workloads: Readonly<Record<string, { readonly canary?: unknown }>> } }): boolean {
  return Object.values(config.apps.workloads).some((w) => w.canary !== undefined);
}

export const HTTP_PORT_NAME = /^(http|http2|grpc)(-|$)/;

const versionLabel = z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/, { error: 'must be a label value such as v1 or v1.76.0' });

/** One workload of the deploy repo (nginx, login-js, register-js). */
const workload = z.strictObject({
  image,
  /** The container and Service port. Its name tells Istio the protocol: http-*, grpc-*, tcp-*. */
  port: z.number().int().min(1).max(65535),
  portName: z.string().regex(/^(http|http2|https|grpc|tcp|tls)(-[a-z0-9]+)*$/, {
    error: 'must start with the protocol Istio should assume: http-, http2-, https-, grpc-, tcp- or tls- (e.g. http-nginx)',
  }).max(15, { error: 'must be at most 15 characters (a container port name)' }),
  /** Annotations of the pods (e.g. Istio's rewriteAppHTTPProbers), besides sidecar injection. */
  podAnnotations: annotations.optional(),
  /** Annotations of the Service. */
  serviceAnnotations: annotations.optional(),
  /** A port serving Prometheus metrics, exposed as http-metrics. */
  metricsPort: z.number().int().min(1).max(65535).optional(),
  /** The `version` label Istio and Kiali group the workload's traffic by. */
  version: versionLabel,
  /** Public host <subdomain>.<domain>, served through the Istio ingress gateway; none: reachable only inside the mesh. */
  subdomain: dnsLabel.optional(),
  /** KEDA scaling on the Istio request rate (requests per second per replica). */
  autoscaling: z.strictObject({
    minReplicas: z.number().int().min(0),
    maxReplicas: z.number().int().min(1),
    requestsPerSecond: z.number().positive(),
    activationRequestsPerSecond: z.number().nonnegative(),
  }).refine((a) => a.minReplicas <= a.maxReplicas, { error: 'minReplicas must not exceed maxReplicas', path: ['minReplicas'] }).optional(),
  /** DestinationRule and VirtualService policy, extra versions and routes between them (lib/traffic-config.ts). */
  traffic: trafficSchema(imageTag, versionLabel).optional(),
  /** Canary delivery with Argo Rollouts: a Rollout instead of the Deployment (lib/traffic-config.ts). */
  canary: canarySchema.optional(),
  /** Hardened-pod and mesh-access settings, each with a default (lib/workload-config.ts). */
  ...workloadHardeningFields,
}).superRefine((w, ctx) => checkTrafficAndCanary(w, ctx, HTTP_PORT_NAME)).refine((w) => w.metricsPort === undefined || w.metricsPort !== w.port, { error: 'metricsPort must differ from port', path: ['metricsPort'] })
  .refine((w) => !w.autoscaling || HTTP_PORT_NAME.test(w.portName), {
    error: 'autoscaling follows istio_requests_total, which Istio counts only for HTTP and gRPC ports; name the port http-, http2- or grpc- (if the workload speaks HTTP), or drop autoscaling',
    path: ['portName'],
  })
  .refine((w) => w.metricsPort === undefined || w.portName !== 'http-metrics', {
    error: 'must not be "http-metrics" when metricsPort is set: that is the metrics port\'s name, and port names must be unique; choose another name such as http-web',
    path: ['portName'],
  });

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
      /**
       * The cluster Argo CD deploys the components to, as Argo CD knows it: `server: <API server URL>` or
       * `name: <cluster name>` (`argocd cluster add`). Default: the cluster Argo CD itself runs in.
       */
      destination: z.union([
        z.strictObject({ server: z.string().regex(/^https:\/\/\S+$/, { error: 'must be the API server\'s https:// URL as Argo CD knows the cluster, such as https://kubernetes.default.svc' }) }),
        z.strictObject({ name: dnsLabel.or(z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)) }),
      ], { error: 'must be { server: <https URL> } or { name: <cluster name in Argo CD> }' }).optional(),
      /**
       * How large the components run. `standard`: the charts' replicas and requests (the guide's cluster);
       * `small`: one replica each, caches off, and explicit small requests on every container, which
       * together fit one 6 GB node (a laptop's kind or minikube; lib/sizing.ts has the budget).
       */
      size: z.enum(['standard', 'small'], { error: 'must be "standard" or "small"' }).default('standard'),
    }),
    /**
     * How the platform's endpoints (harbor, jenkins, argocd, grafana, prometheus, alertmanager, dashboard)
     * are served (lib/exposure.ts). `ingress`: an Ingress each, of `ingressClass` (ingress-nginx, whose
     * annotations give Prometheus and Alertmanager basic auth). `gateway-api`: one Gateway API Gateway
     * `gatewayName` (class istio) in istio.namespace, bound to the Istio ingress gateway, with a listener
     * and an HTTPRoute (TLSRoute for Argo CD) per endpoint; endpoints without a login of their own
     * (Prometheus, Alertmanager) get no public route. The workloads' hosts keep their Istio Gateway either way.
     */
    exposure: z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('ingress'), ingressClass: dnsLabel }),
      z.strictObject({ kind: z.literal('gateway-api'), gatewayName: dnsLabel.default('platform') }),
    ], { error: 'must be { kind: ingress, ingressClass: <class> } or { kind: gateway-api, gatewayName: <name> }' }),
    /** Node selector applied where the guide pins pods to Linux nodes (cert-manager, ACME solvers). */
    nodeSelector: keyedRecord('label', qualifiedName, labelValue),
    /** The git repository Argo CD syncs, and where this environment's gitops folder sits in it. */
    deployRepo: z.strictObject({
      url: z.string().regex(/^(https:\/\/|ssh:\/\/|git@)\S+$/, {
        error: 'must be a git URL starting with https://, ssh:// or git@',
      }).refine((u) => !carriesCredential(u), {
        // Synth writes the URL into 13 files of gitops/ (Applications, the AppProject, the inventory).
        error: 'must not carry a credential (user:password@, a token before "@" in an https URL, or a token in the query such as ?access_token=): it would be written into gitops/; write the plain URL and give Argo CD the credential as a repository Secret (`argocd repo add <url> --username <user> --password <token>`), and rotate the one that was here',
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
      /** The argo-cd chart that manages Argo CD itself once the root Application is applied. */
      chartVersion: exactVersion.optional(),
      /**
       * The Slack channel (without "#") the environment's notifications go to: its own Argo CD's, of every
       * Application's sync and health, and Argo Rollouts', of each canary. Required where either runs; refused
       * elsewhere (an environment a hub's Argo CD deploys, with no canary: the hub notifies).
       */
      slackChannel: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,79}$/, { error: 'must be a Slack channel name without "#", such as devops' }).optional(),
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
      /** Contact address Let's Encrypt writes to about expiring certificates; required when an issuer is ACME. */
      acmeEmail: z.email({ error: 'must be an e-mail address such as platform@example.com' }).optional(),
      issuers: z.array(issuer).min(1, { error: 'must declare at least one issuer' }),
      /**
       * The issuer of every platform endpoint's Certificate; one of issuers[].name, solving HTTP-01 through
       * what `exposure` serves the endpoints with (its ingress class, or its Gateway).
       */
      ingressIssuer: dnsLabel,
    }),
    /** The ingress-nginx controller; only with `exposure.kind: ingress` (it is retired: last releases 2026-03). */
    ingressNginx: component({}).optional(),
    harbor: component({}).optional(),
    /** The deploy repo's workloads (nginx, login-js, register-js). */
    apps: z.strictObject({
      namespace: dnsLabel,
      /** The issuer of the Istio gateway hosts' Certificates; it must solve HTTP-01 through the istio class. */
      gatewayIssuer: dnsLabel,
      /** Workload name -> how it runs. `npm run set-image -- <name> <tag>` changes image.tag. */
      workloads: keyedRecord('workload name', workloadName, workload).refine((w) => Object.keys(w).length > 0, { error: 'must declare at least one workload' }),
    }),
    jenkins: z.strictObject({
      namespace: dnsLabel,
      /** The controller image, pinned: the guide's jenkins/jenkins:lts would upgrade Jenkins on any restart. */
      image,
      /** Size of the volume holding /var/jenkins_home. */
      storage: z.string().regex(/^[1-9][0-9]*(Mi|Gi|Ti)$/, { error: 'must be a quantity such as 5Gi' }),
    }).optional(),
    istio: component({
      /** Namespaces whose pods get the Envoy sidecar (label istio-injection=enabled). */
      injectionNamespaces: z.array(dnsLabel).default(['default']),
      /** Percentage of requests traced to Tempo (Telemetry mesh-default). The guide starts at 100 and lowers it later. */
      tracingSamplingPercentage: z.number().min(0).max(100),
    }).optional(),
    kiali: component({
      /** Hosts outside the cluster that the mesh talks to, shown in Kiali's graph (ServiceEntry, MESH_EXTERNAL). */
      externalServices: z.array(z.strictObject({
        name: dnsLabel,
        host: z.string().regex(/^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, { error: 'must be a fully qualified host name' }),
        port: z.number().int().min(1).max(65535),
        protocol: z.enum(['TCP', 'HTTP', 'HTTPS', 'TLS', 'GRPC', 'MONGO']),
        /** The port's name in the ServiceEntry. @default <protocol>-<port>, e.g. tcp-3306 */
        portName: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: 'must be a port name such as tcp-mysql' }).optional(),
      })).default([]).superRefine((list, ctx) => {
        // Each becomes a ServiceEntry named after it: two of one name would be one object twice.
        const seen = new Set<string>();
        list.forEach((e, i) => {
          if (seen.has(e.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${e.name}" is already the name of an earlier entry; give each external service a name of its own` });
          seen.add(e.name);
        });
      }),
    }).optional(),
    keda: component({}).optional(),
    /** The Argo Rollouts controller, installed only when a workload sets `canary`. */
    argoRollouts: component({}).default({ namespace: 'argo-rollouts' }),
    kubePrometheusStack: component({
      /** The Slack channel Alertmanager posts every alert to (the webhook comes from the alertmanager-slack secret). */
      slackChannel: z.string().regex(/^#[a-z0-9][a-z0-9_-]{0,79}$/, { error: 'must be a Slack channel such as #devops' }),
      /** IANA time zone the Slack messages show start and end times in. */
      alertTimeZone: ianaTimeZone.default('Asia/Seoul'),
    }).optional(),
    loki: component({
      /** The tenant (X-Scope-OrgID) the log shipper pushes as and Grafana reads as; Loki runs with auth_enabled. */
      tenant: z.string().regex(/^[A-Za-z0-9!._*'()-]{1,150}$/, { error: 'must be a Loki tenant id such as self-monitoring' }),
      /** Where Loki keeps chunks, index and rules. */
      storage: lokiStorage,
    }).optional(),
    /**
     * The log shipper: Promtail (the guide's, end of life since 2026-03-02) or Grafana Alloy, its successor.
     * Each runs where its section is present; an environment with both is refused (below).
     */
    promtail: component({}).optional(),
    alloy: component({}).optional(),
    tempo: component({
      /** Where Tempo keeps trace blocks. */
      storage: tempoStorage,
    }).optional(),
    /** Where every secret of the platform comes from; no secret value is ever in this repo. */
    secrets: secretsBackend,
    /**
     * Changes `npm run plan` may let through although they can destroy data, by the key the plan prints:
     * `Kind/namespace/name` or `Kind/name` (a removal, e.g. `Namespace/loki`), with `/volumeClaimTemplates/<name>`
     * (a StatefulSet's claim template) or `/from/<Application>` (a move out of an Application that stays).
     * Remove entries once merged.
     */
    allowRemovals: z
      .array(z.string().regex(/^[A-Za-z]+(\/[a-z0-9.-]+){1,2}(\/(volumeClaimTemplates|from)\/[a-z0-9.-]+)?$/, {
        error: 'must be a key npm run plan prints: Kind/namespace/name or Kind/name (e.g. Namespace/loki), optionally with /volumeClaimTemplates/<name> or /from/<Application>',
      }))
      .default([]),
  })
  .superRefine((c, ctx) => {
    const names = c.certManager.issuers.map((i) => i.name);
    const acme = c.certManager.issuers.find((i) => i.acme !== undefined);
    if (acme && c.certManager.acmeEmail === undefined) {
      ctx.addIssue({ code: 'custom', path: ['certManager', 'acmeEmail'], message: `is required by the ACME issuer "${acme.name}": the address Let's Encrypt writes to about expiring certificates, such as platform@example.com` });
    }
    const seen = new Set<string>();
    c.certManager.issuers.forEach((i, n) => {
      if (seen.has(i.name)) {
        ctx.addIssue({ code: 'custom', path: ['certManager', 'issuers', n, 'name'], message: `issuer "${i.name}" is declared twice; names must be unique` });
      }
      seen.add(i.name);
    });
    const exposure = c.exposure;
    const served: Http01Solver = exposure.kind === 'ingress' ? { ingressClass: exposure.ingressClass } : { gateway: exposure.gatewayName };
    const chosen = c.certManager.issuers.find((i) => i.name === c.certManager.ingressIssuer);
    if (!chosen) {
      ctx.addIssue({
        code: 'custom',
        path: ['certManager', 'ingressIssuer'],
        message: `names issuer "${c.certManager.ingressIssuer}", which is not declared; allowed: ${names.join(', ')}`,
      });
    } else if (chosen.http01IngressClass !== undefined || chosen.http01GatewayHTTPRoute !== undefined) {
      const problem = http01Problem({ name: chosen.name, http01: http01Solver(chosen) }, served,
        exposure.kind === 'ingress' ? 'Ingresses use' : 'exposure serves the endpoints through Gateway');
      if (problem) ctx.addIssue({ code: 'custom', path: ['certManager', 'ingressIssuer'], message: problem });
    }
    // An issuer solving through a Gateway needs that Gateway: the one exposure.kind gateway-api makes.
    c.certManager.issuers.forEach((i, n) => {
      const gw = i.http01GatewayHTTPRoute;
      if (gw === undefined) return;
      if (exposure.kind !== 'gateway-api') {
        ctx.addIssue({ code: 'custom', path: ['certManager', 'issuers', n, 'http01GatewayHTTPRoute'],
          message: `names Gateway "${gw}", but no Gateway is made: exposure.kind is ${exposure.kind}; set exposure to { kind: gateway-api, gatewayName: ${gw} }, or solve through an ingress class (http01IngressClass)` });
      } else if (gw !== exposure.gatewayName) {
        ctx.addIssue({ code: 'custom', path: ['certManager', 'issuers', n, 'http01GatewayHTTPRoute'],
          message: `names Gateway "${gw}", but the platform's Gateway is "${exposure.gatewayName}" (exposure.gatewayName); use "${exposure.gatewayName}"` });
      }
    });
    if (exposure.kind === 'gateway-api' && (c as { istio?: unknown }).istio === undefined) {
      ctx.addIssue({ code: 'custom', path: ['exposure'],
        message: 'is gateway-api, whose Gateway binds to the Istio ingress gateway, but the istio section is missing; add it, or use { kind: ingress, ingressClass: <class> }' });
    } else if (exposure.kind === 'gateway-api') {
      // The v1.6.1 CRDs serve TLSRoute (Argo CD's passthrough) as v1 only, which Istio reads from 1.30 on.
      const istio = (c as { istio: { chartVersion?: string } }).istio;
      // A version versions.yaml does not list is refused below, by its field.
      const listed = istio.chartVersion === undefined || overrideProblem('istio', istio.chartVersion) === undefined;
      const version = listed ? chartSource('istiod', istio.chartVersion).version : '';
      const [major, minor] = version.split('.').map(Number);
      if (listed && major === 1 && minor < 30) {
        ctx.addIssue({ code: 'custom', path: istio.chartVersion ? ['istio', 'chartVersion'] : ['exposure'],
          message: `runs Istio ${version} with exposure gateway-api: the Gateway API v1.6.1 CRDs serve TLSRoute (Argo CD's endpoint) as v1 only, which Istio reads from 1.30 on, so Argo CD would be unreachable; set istio.chartVersion: 1.30.3, or use { kind: ingress, ingressClass: <class> }` });
      }
    }
    if (exposure.kind === 'gateway-api' && c.ingressNginx !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['ingressNginx'],
        message: 'runs ingress-nginx, but exposure.kind is gateway-api: nothing is served through it (and it is retired); remove the ingressNginx section' });
    }
    // The apps' hosts are served by the Istio ingress gateway, so their issuer must solve through it.
    const meshIssuers = c.certManager.issuers.filter((i) => i.ca !== undefined || i.http01IngressClass === MESH_INGRESS_CLASS).map((i) => i.name);
    const gatewayIssuer = c.certManager.issuers.find((i) => i.name === c.apps.gatewayIssuer);
    const solves = (i: IssuerConfig) => i.http01IngressClass !== undefined || i.http01GatewayHTTPRoute !== undefined;
    const gatewayProblem = gatewayIssuer
      ? solves(gatewayIssuer) && http01Problem({ name: gatewayIssuer.name, http01: http01Solver(gatewayIssuer) }, { ingressClass: MESH_INGRESS_CLASS }, 'the apps\' hosts are served by the Istio ingress gateway, class')
      : `issuer "${c.apps.gatewayIssuer}" is not declared`;
    if (gatewayProblem) {
      ctx.addIssue({
        code: 'custom',
        path: ['apps', 'gatewayIssuer'],
        message: `${gatewayProblem}; allowed: ${meshIssuers.join(', ') || `none (declare an issuer with http01IngressClass: ${MESH_INGRESS_CLASS})`}`,
      });
    }
    const notifier = runsItsOwnArgoCd(c.cluster) ? 'its Argo CD' : usesCanary(c) ? 'Argo Rollouts (a workload is a canary)' : undefined;
    if (notifier && c.argocd.slackChannel === undefined) {
      ctx.addIssue({ code: 'custom', path: ['argocd', 'slackChannel'],
        message: `is required: the environment runs ${notifier}, which posts its notifications there; give a Slack channel name without "#", such as devops` });
    }
    if (!notifier && c.argocd.slackChannel !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['argocd', 'slackChannel'],
        message: 'has no effect: cluster.destination names another cluster, whose environment is deployed by a hub\'s Argo CD (which notifies) and runs no canary (whose Argo Rollouts would); remove it here' });
    }
    // Deployed by a hub's Argo CD (cluster.destination names another cluster): the environment installs no
    // Argo CD, so settings of its own Argo CD would be silently ignored.
    if (!runsItsOwnArgoCd(c.cluster)) {
      for (const field of ['rbac', 'githubSso'] as const) {
        if (c.argocd[field] !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['argocd', field],
            message: 'has no effect: cluster.destination names another cluster, whose environment is deployed by a hub\'s Argo CD and installs none of its own; set it in the hub\'s environment, and remove it here' });
        }
      }
    }
    checkWhatTheClusterRefuses(c, ctx);
    if (c.promtail && c.alloy) {
      ctx.addIssue({
        code: 'custom',
        path: ['alloy'],
        message: 'is set, and so is promtail: two log shippers would push every log line to Loki twice; keep one of the two sections ' +
          '(alloy replaces promtail, which reached end of life on 2026-03-02: remove the promtail section)',
      });
    }
    for (const p of workloadHardeningProblems(c.apps.workloads)) ctx.addIssue({ code: 'custom', ...p });
    // A chartVersion overrides versions.yaml's default for this environment: only to a version listed there.
    for (const [section, value] of Object.entries(c)) {
      const chartVersion = (value as { chartVersion?: string } | undefined)?.chartVersion;
      if (typeof chartVersion !== 'string') continue;
      const problem = overrideProblem(section, chartVersion, section === 'secrets' ? c.secrets.backend : undefined);
      if (problem) ctx.addIssue({ code: 'custom', path: [section, 'chartVersion'], message: problem });
    }
  });

interface ClusterFacts {
  readonly domain: string;
  readonly apps: {
    readonly namespace: string;
    readonly workloads: Readonly<Record<string, { readonly port: number; readonly metricsPort?: number; readonly subdomain?: string }>>;
  };
  readonly [component: string]: unknown;
}

/**
 * The config sections that name a platform component's namespace: every top-level section with a `namespace`
 * field except `apps` itself, read off the config rather than listed, so a new component's section counts.
 */
function componentNamespaceSections(c: ClusterFacts): string[] {
  // Argo Rollouts' section always has its default namespace, but only runs when a workload is a canary.
  return Object.keys(c).filter((k) => k !== 'apps' && typeof (c[k] as { namespace?: unknown } | undefined)?.namespace === 'string')
    .filter((k) => k !== 'argoRollouts' || usesCanary(c as unknown as Parameters<typeof usesCanary>[0]));
}
/** Namespaces Kubernetes itself runs in. */
const SYSTEM_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'];

/**
 * What the API server, cert-manager, Istio or Argo CD would refuse although every field is well formed on
 * its own: host names too long, two routes for one host, a workload sharing a namespace with the platform
 * (where its objects could be the platform's, owned by two Applications), ports the sidecar holds.
 */
function checkWhatTheClusterRefuses(c: ClusterFacts, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });

  const ns = c.apps.namespace;
  const sharing = componentNamespaceSections(c).filter((k) => (c[k] as { namespace: string }).namespace === ns);
  if (sharing.length > 0) {
    issue(['apps', 'namespace'], `"${ns}" is also ${sharing.map((k) => `${k}.namespace`).join(', ')}: a workload's Deployment "<name>" or Service "<name>${SERVICE_SUFFIX}" could be an object of the platform's, which two Applications would then own and overwrite; give the workloads a namespace of their own, such as apps`);
  } else if (SYSTEM_NAMESPACES.includes(ns)) {
    issue(['apps', 'namespace'], `"${ns}" is Kubernetes' own namespace; give the workloads a namespace of their own, such as apps`);
  }

  // A workload with a host gets a Certificate <name>-secret in the gateway's namespace (istio.namespace),
  // where the ingress gateway reads it: it must not be a secret something other than an endpoint fills there
  // (two endpoints on one secret, or on one host, are refused from the tree: lib/tls-endpoint.ts endpointProblems).
  const gatewayNs = (c.istio as { namespace: string } | undefined)?.namespace;
  if (gatewayNs === undefined) return; // no mesh: the composition refuses the workloads (they need istio)
  const taken = new Map<string, string>([
    ['docker-config-secret', 'the Harbor image pull secret (REGISTRY_CREDENTIALS of lib/secrets.ts)'],
    ['istio-ca-secret', 'istiod\'s self-signed root CA, which signs every certificate of the mesh'],
  ]);

  const reserved = [...ISTIO_SIDECAR_PORTS.keys()].join(', ');
  for (const name of Object.keys(c.apps.workloads).sort()) {
    const w = c.apps.workloads[name];
    const at = ['apps', 'workloads', name];
    if (w.subdomain !== undefined) {
      const secret = `${name}-secret`;
      if (taken.has(secret)) {
        issue(at, `the workload's TLS secret "${secret}" in ${gatewayNs} (where the ingress gateway reads it) is already ${taken.get(secret)}; its Certificate would overwrite it; rename the workload`);
      }
    }
    for (const field of ['port', 'metricsPort'] as const) {
      const port = w[field];
      const use = port === undefined ? undefined : ISTIO_SIDECAR_PORTS.get(port);
      if (use) {
        issue([...at, field], `${port} is a port of the Istio sidecar (${use}), which runs in every workload pod (sidecar.istio.io/inject) and holds ${reserved}; use another port`);
      }
    }
  }
}

/** The typed platform config, as read from one file. */
export type PlatformConfig = z.infer<typeof configSchema> & {
  /** The environment's name: the config file's base name, and the folder gitops/<environment>/. */
  readonly environment: string;
  /** The file the config was read from, for messages. */
  readonly file: string;
};

/**
 * One section of the config, present: what a component receives. A component's section may be absent from
 * an environment's file, and then the component is off there (charts/platform.ts builds it only if present).
 */
export type Section<K extends keyof PlatformConfig> = NonNullable<PlatformConfig[K]>;

/** The cluster Argo CD itself runs in, as Argo CD names it. */
export const IN_CLUSTER = 'https://kubernetes.default.svc';

/**
 * Whether the environment runs in the cluster of the Argo CD that deploys it (its own Argo CD), rather than
 * in another cluster a hub's Argo CD deploys it to (`cluster.destination`).
 */
export function runsItsOwnArgoCd(cluster: { readonly destination?: { readonly server: string } | { readonly name: string } }): boolean {
  const d = cluster.destination;
  return !d || ('server' in d && d.server === IN_CLUSTER);
}

/**
 * The Slack channel an environment's notifications go to, for the components that post them (its Argo CD,
 * Argo Rollouts): a config that runs either and names none is refused when parsed.
 */
export function notificationChannel(config: PlatformConfig): string {
  const channel = config.argocd.slackChannel;
  if (channel === undefined) throw new ConfigError(config.file, ['argocd.slackChannel: is required where the environment runs its Argo CD or Argo Rollouts; give a Slack channel name without "#", such as devops']);
  return channel;
}

/** Whether an environment may leave out config section `name` (its component is then off there). */
export function isOptionalSection(name: string): boolean {
  const field = (configSchema as unknown as { shape: Record<string, z.ZodType | undefined> }).shape[name];
  return field !== undefined && field.safeParse(undefined).success;
}

/** A dotted path for messages, with keys that contain dots quoted: a.b[".dockerconfigjson"]. */
export function configPath(segments: readonly (string | number)[]): string {
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

/**
 * What a wrong value is, never the value itself: a config may hold secrets (sealed-secrets ciphertext, or
 * plaintext pasted where ciphertext belongs, a token in a URL), and messages end up in CI logs.
 */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  const n = (count: number, what: string) => `${count} ${what}${count === 1 ? '' : 's'}`;
  if (typeof value === 'string') return `a string of ${n(value.length, 'character')}; value not shown`;
  if (Array.isArray(value)) return `a list of ${n(value.length, 'item')}`;
  if (typeof value === 'object') return `a mapping of ${n(Object.keys(value).length, 'key')}`;
  return `a ${typeof value}; value not shown`;
}

/**
 * A credential in a git URL: a password in its user info, a credential parameter of its query or fragment
 * (`?access_token=...`, `&password=...`; urlCredentials finds both), or any user info of an https URL (a token).
 */
function carriesCredential(url: string): boolean {
  return urlCredentials(url).length > 0 || /^https:\/\/[^/?#]*@/i.test(url);
}

function at(root: unknown, p: readonly PropertyKey[]): unknown {
  return p.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as any)[k as any] : undefined), root);
}

// `schema` is walked through its definition untyped; typing it z.ZodType made tsc compare the whole config
// schema's type with ZodType structurally, which took seconds of every cold type check.
function shapeKeys(schema: unknown, p: readonly PropertyKey[]): string[] {
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
  const problem = environmentNameProblem(environment);
  if (problem) throw new ConfigError(file, [`file name: the environment name "${environment}" (the file's base name) ${problem}; rename the file`]);
  const raw = loadYaml(text, file);
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
    // Messages name fields. Checks across fields quote names (an issuer), and keys are quoted: a value that
    // failed its own field's check is masked wherever it appears, and so is whatever a secret scanner
    // recognises (tokens, webhooks, URL passwords), before it reaches a terminal or a CI log.
    const failed = result.error.issues.filter((i) => i.code !== 'custom').map((i) => at(raw, i.path))
      .filter((v): v is string => typeof v === 'string' && v.length > 0);
    const masked = problems.map((p) => failed.reduce((m, v) => m.split(`"${v}"`).join('"<redacted>"'), p));
    throw new ConfigError(file, redactSecrets(masked.join('\n\u0000\n'), failed.filter((v) => v.length >= 8)).split('\n\u0000\n'));
  }
  return deepFreeze({ ...result.data, environment, file });
}

/** Reads one config file. */
export function loadConfig(file: string): PlatformConfig {
  return parseConfig(readConfigText(file), file);
}

/** For a relative path, which directory it was looked up in. */
function where(file: string): string {
  return path.isAbsolute(file) ? '' : `, looked up in ${process.cwd()}`;
}

/**
 * The bytes of a config file, refusing what is not a regular file (a FIFO or /dev/zero would never end)
 * and files over MAX_CONFIG_BYTES, which are read no further than that.
 */
export function readConfigBytes(file: string): Buffer {
  const fail = (problem: string): never => { throw new ConfigError(file, [problem]); };
  let fd: number | undefined;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) fail(`the path is a directory${where(file)}; pass a config file such as config/lab.yaml`);
    if (!st.isFile()) fail(`the path is not a regular file${where(file)}; pass a config file such as config/lab.yaml`);
    if (st.size > MAX_CONFIG_BYTES) fail(tooLarge(st.size));
    fd = fs.openSync(file, 'r');
    // Read at most one byte more than allowed, whatever stat said: the file may have grown meanwhile.
    const buffer = Buffer.allocUnsafe(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (let n; length < buffer.length && (n = fs.readSync(fd, buffer, length, buffer.length - length, null)) > 0;) length += n;
    if (length > MAX_CONFIG_BYTES) fail(tooLarge(length));
    return Buffer.from(buffer.subarray(0, length));
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    return fail(`cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})${where(file)}; pass an existing config file`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The text of a config file (see readConfigBytes). */
export function readConfigText(file: string): string {
  return readConfigBytes(file).toString('utf8');
}

function tooLarge(bytes: number): string {
  return `the file is ${bytes > MAX_CONFIG_BYTES ? `over ${MAX_CONFIG_BYTES}` : bytes} bytes; a config file may have at most ${MAX_CONFIG_BYTES} (1 MiB): is it the right file?`;
}

/** What is wrong with an environment name, or undefined. */
function environmentNameProblem(environment: string): string | undefined {
  if (!ENVIRONMENT_NAME.test(environment)) return 'must be lower-case letters, digits and "-", starting and ending with a letter or digit';
  if (environment.length > MAX_ENVIRONMENT_NAME) {
    return `is ${environment.length} characters; use at most ${MAX_ENVIRONMENT_NAME}, so that the root Application "platform-<environment>" fits the 63 characters of a label value`;
  }
  return undefined;
}
const ENVIRONMENT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** The longest environment name: the root Application `platform-<environment>` stays a valid label value. */
export const MAX_ENVIRONMENT_NAME = 63 - 'platform-'.length;

/**
 * The config files of every environment, sorted: `<dir>/<environment>.yaml` (or .yml) where the base name is
 * a valid environment name, and a regular file (or a link to one). Editor and hidden files (`.#lab.yaml`,
 * `.lab.yaml.swp`, `lab.yaml~`, `#lab.yaml#`) and staged copies (`.lab.yaml.new-*`) do not count.
 */
export function configFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return entries
    .filter((f) => {
      const m = /^(.*)\.ya?ml$/.exec(f);
      if (!m || environmentNameProblem(m[1])) return false;
      // An environment's file that exists but cannot be read (a broken link, a folder, a FIFO) is an error,
      // not a file to skip: skipping it would remove that environment's gitops/ folder as if it were gone.
      const file = path.join(dir, f);
      let why: string | undefined;
      try {
        const st = fs.statSync(file);
        if (st.isFile()) return true;
        why = st.isDirectory() ? 'it is a folder' : 'it is not a regular file';
      } catch (e) {
        const link = fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink();
        why = `it cannot be read (${(e as NodeJS.ErrnoException).code}${link ? ', a link whose target is missing' : ''})`;
      }
      throw new ConfigError(file, [`${why}; make it a readable config file, or remove it (then its environment's gitops/ folder goes too); nothing was changed`]);
    })
    .sort()
    .map((f) => path.join(dir, f));
}

/**
 * Parses config YAML, bounded: at most MAX_CONFIG_BYTES, MAX_CONFIG_ALIASES aliases, MAX_CONFIG_DEPTH
 * levels, and at most MAX_ALIAS_EXPANSION values added by aliases (a "billion laughs" file is refused in
 * milliseconds, before anything walks it as a tree); a collection that contains itself through an alias is
 * refused too.
 */
function loadYaml(text: string, file: string): unknown {
  if (text.length > MAX_CONFIG_BYTES || Buffer.byteLength(text, 'utf8') > MAX_CONFIG_BYTES) {
    throw new ConfigError(file, [tooLarge(Buffer.byteLength(text, 'utf8'))]);
  }
  let raw: unknown;
  try {
    raw = yaml.load(text, { filename: file, maxAliases: MAX_CONFIG_ALIASES, maxDepth: MAX_CONFIG_DEPTH });
  } catch (e) {
    const err = e as { reason?: string; mark?: { line: number; column: number }; message: string };
    const where = err.mark ? ` at line ${err.mark.line + 1}, column ${err.mark.column + 1}` : '';
    const reason = err.reason ?? err.message.split('\n')[0];
    const fix = /maxAliases|maxDepth/.test(reason)
      ? (/maxAliases/.test(reason) ? `a config needs few aliases (*name); write the values out` : `a config nests about 7 levels deep; flatten it`)
      : 'fix the syntax there';
    throw new ConfigError(file, [`not valid YAML${where}: ${reason}; ${fix}`]);
  }
  const expansion = aliasExpansion(raw);
  if (expansion === 'cycle') {
    throw new ConfigError(file, ['not valid config YAML: an alias (*name) refers to a collection that contains the alias itself; write the values out']);
  }
  if (expansion > MAX_ALIAS_EXPANSION) {
    throw new ConfigError(file, [`not valid config YAML: its aliases (*name) expand to more than ${MAX_ALIAS_EXPANSION} values beyond the file's own (a "billion laughs" file); write the values out or use fewer aliases`]);
  }
  return raw;
}

/**
 * How many values aliases add to a parsed document when it is read as a tree: js-yaml shares one object
 * per anchor, so the document itself stays small, but everything that walks it (the schema, freezing,
 * messages) walks every path. Counted per shared object once, so it costs the size of the document.
 */
function aliasExpansion(root: unknown): number | 'cycle' {
  const size = new Map<object, number>();
  const open = new Set<object>();
  let distinct = 0;
  let cycle = false;
  const visit = (v: unknown): number => {
    if (v === null || typeof v !== 'object') return 1;
    const known = size.get(v);
    if (known !== undefined) return known;
    if (open.has(v)) {
      cycle = true;
      return 1;
    }
    open.add(v);
    let n = 1;
    distinct += 1;
    for (const child of Object.values(v)) {
      if (child === null || typeof child !== 'object') distinct += 1;
      n += visit(child);
    }
    open.delete(v);
    size.set(v, n);
    return n;
  };
  const total = visit(root);
  return cycle ? 'cycle' : total - distinct;
}

