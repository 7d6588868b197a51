// Helm values: every key an Application gives its chart is read by that chart version (unread-value),
// and no Secret or Helm value carries a chart's well-known default password (default-credential).
import * as yaml from 'js-yaml';
import { suggestValueKey, unreadValues } from '../chart-values';
import { Context, isObject, Json, KObject, list, Path, str } from './context';

/** A Helm chart source of an Application, as given to the archive lookup. */
export interface ChartSourceRef {
  readonly repoURL: string;
  readonly chart: string;
  /** The Application's targetRevision: the chart version. */
  readonly version: string;
}

interface HelmSource {
  readonly app: KObject;
  readonly source: Json;
  readonly at: Path;
}

/** The Helm chart sources of the Argo CD Applications of the set (spec.source and spec.sources[]). */
function helmSources(ctx: Context): HelmSource[] {
  const out: HelmSource[] = [];
  for (const app of ctx.of('argoproj.io', 'Application')) {
    const spec = app.manifest.spec ?? {};
    if (isObject(spec.source) && str(spec.source.chart)) out.push({ app, source: spec.source, at: ['spec', 'source'] });
    list(spec.sources).forEach((s, i) => {
      if (isObject(s) && str(s.chart)) out.push({ app, source: s, at: ['spec', 'sources', i] });
    });
  }
  return out;
}

/** The values of a Helm source: helm.valuesObject, and helm.values (a YAML string) when it parses to a map. */
function helmValues(source: Json): { values: Record<string, Json>; field: 'valuesObject' | 'values' }[] {
  const helm = source.helm;
  if (!isObject(helm)) return [];
  const out: { values: Record<string, Json>; field: 'valuesObject' | 'values' }[] = [];
  if (isObject(helm.valuesObject)) out.push({ values: helm.valuesObject, field: 'valuesObject' });
  if (typeof helm.values === 'string' && helm.values.trim() !== '') {
    try {
      const v = yaml.load(helm.values);
      if (isObject(v)) out.push({ values: v, field: 'values' });
    } catch {
      // an unparsable values string is the schema's business
    }
  }
  return out;
}

function chartLabel(source: Json): string {
  return `${source.chart} ${source.targetRevision ?? '(no version)'}`;
}

// ---------------------------------------------------------------------------------------------
// unread-value

/**
 * unread-value: for every Helm chart source of an Application, the keys of its values that the chart
 * (at that version, with its subcharts) never reads; see lib/chart-values.ts for what "reads" means.
 * `lookup` maps a source to the path of its chart archive (.tgz), e.g. the vendored copy; it returns
 * undefined to skip a source, and a lookup that throws is reported (the values cannot be checked).
 */
export function unreadValueRule(lookup: (source: ChartSourceRef) => string | undefined): (ctx: Context) => void {
  return (ctx: Context) => {
    for (const { app, source, at } of helmSources(ctx)) {
      const sets = helmValues(source);
      if (sets.length === 0) continue;
      const ref: ChartSourceRef = { repoURL: str(source.repoURL) ?? '', chart: source.chart, version: String(source.targetRevision ?? '') };
      let archive: string | undefined;
      let unread: ReturnType<typeof unreadValues>[] = [];
      try {
        archive = lookup(ref);
        if (archive === undefined) continue;
        unread = sets.map((s) => unreadValues(archive!, s.values));
      } catch (e) {
        ctx.report('unread-value', app, [...at, 'chart'],
          `cannot check the values given to chart ${chartLabel(source)}: ${(e as Error).message.split('\n')[0]}`,
          `vendor the chart archive (${ref.chart}-${ref.version}.tgz from ${ref.repoURL || 'its repository'}), or fix the chart name and version`);
        continue;
      }
      sets.forEach((set, i) => {
        for (const u of unread[i]) {
          const similar = suggestValueKey(archive!, u.segments);
          const field: Path = set.field === 'valuesObject' ? [...at, 'helm', 'valuesObject', ...u.segments] : [...at, 'helm', 'values'];
          ctx.report('unread-value', app, field,
            `${set.field === 'values' ? `value ${u.path}: ` : ''}chart ${chartLabel(source)} never reads it: ${u.reason}`,
            `remove ${u.path} from the values of Application ${app.name} (its chart class in charts/)` +
            (similar
              ? `, or, if it meant a setting the chart has, use ${similar} (the nearest key of ${chartLabel(source)}; check its meaning in the chart's values.yaml)`
              : `; ${chartLabel(source)} has no similarly named key (see the chart's values.yaml for its settings)`));
        }
      });
    }
  };
}

// ---------------------------------------------------------------------------------------------
// default-credential

/** A password a chart ships as its default, or one that tools commonly do. */
export interface WellKnownCredential {
  /** The chart that ships it; '*' for a value many tools ship (only matched under a password-like key). */
  readonly chart: string;
  /** The value of the chart where it is the default (or, for '*', what it is). */
  readonly key: string;
  /** The password itself. Never printed: messages name `key` and `chart` only. */
  readonly value: string;
  /** The Secret data keys the chart renders it into. */
  readonly secretKeys: readonly string[];
  /**
   * Distinctive enough to flag under any key; otherwise only under a password-like key (one ending
   * in password, passwd, pwd or pass) or one of `secretKeys`.
   */
  readonly anyKey: boolean;
  /** How to take it from a declared secret (lib/secrets.ts) instead. */
  readonly fix: string;
}

const DECLARED = 'declare the secret in lib/secrets.ts (Key Vault or Sealed Secrets) and use it through SecretsChart.use()';

/**
 * The well-known default passwords, as data: the chart that ships each, the value it is the default
 * of, the Secret keys the chart renders it into, and how to replace it. Sources: each chart's
 * values.yaml at the pinned version (harbor 1.19.1, loki 7.3.0, tempo-distributed 1.61.3) or, for
 * kube-prometheus-stack, its releases before Grafana's admin password became random (88.5.3 no longer
 * sets grafana.adminPassword).
 */
export const WELL_KNOWN_CREDENTIALS: readonly WellKnownCredential[] = [
  {
    chart: 'harbor', key: 'harborAdminPassword', value: 'Harbor12345', secretKeys: ['HARBOR_ADMIN_PASSWORD'], anyKey: true,
    fix: `set existingSecretAdminPassword to a declared secret holding the key named by existingSecretAdminPasswordKey (default HARBOR_ADMIN_PASSWORD) and leave harborAdminPassword unset; ${DECLARED}. Harbor only reads it on first start: change an existing admin password in the portal`,
  },
  {
    chart: 'harbor', key: 'database.internal.password', value: 'changeit', secretKeys: ['POSTGRES_PASSWORD', 'POSTGRESQL_PASSWORD', 'HARBOR_DATABASE_PASSWORD'], anyKey: true,
    fix: 'harbor (1.19.1) has no Secret option for the internal database password, so take it from a declared secret by hand: ' +
      'database.external.existingSecret naming a declared secret whose key "password" holds it (core, its pre-upgrade job and the exporter ' +
      'read it from there whatever database.type is), database.internal.password left empty, and database.internal.extraEnvVars setting ' +
      `POSTGRES_PASSWORD from the same secret (it takes precedence over the chart's Secret) - as charts/harbor.ts does; ${DECLARED}`,
  },
  {
    chart: 'harbor', key: 'registry.credentials.password', value: 'harbor_registry_password', secretKeys: ['REGISTRY_PASSWD', 'REGISTRY_CREDENTIAL_PASSWORD'], anyKey: true,
    fix: `set registry.credentials.existingSecret to a declared secret with keys REGISTRY_PASSWD and REGISTRY_HTPASSWD; ${DECLARED}`,
  },
  {
    chart: 'harbor', key: 'secretKey', value: 'not-a-secure-key', secretKeys: ['secretKey'], anyKey: true,
    fix: `set existingSecretSecretKey to a declared secret with key secretKey (16 characters); ${DECLARED}`,
  },
  {
    chart: 'kube-prometheus-stack', key: 'grafana.adminPassword', value: 'prom-operator', secretKeys: ['admin-password'], anyKey: true,
    fix: `set grafana.admin.existingSecret (with grafana.admin.userKey and grafana.admin.passwordKey) to a declared secret and leave grafana.adminPassword unset; ${DECLARED}`,
  },
  {
    chart: 'loki', key: 'minio.rootPassword', value: 'supersecretpassword', secretKeys: ['rootPassword'], anyKey: true,
    fix: `use object storage with a declared secret instead of the bundled MinIO (minio.enabled: false), or set minio.existingSecret to a declared secret with rootUser and rootPassword; ${DECLARED}`,
  },
  {
    chart: 'tempo-distributed', key: 'minio.rootPassword', value: 'supersecret', secretKeys: ['rootPassword'], anyKey: false,
    fix: `use object storage with a declared secret instead of the bundled MinIO (minio.enabled: false), or set minio.existingSecret to a declared secret with rootUser and rootPassword; ${DECLARED}`,
  },
  {
    chart: 'minio', key: 'users[].secretKey', value: 'console123', secretKeys: ['secretKey'], anyKey: true,
    fix: `give MinIO users from a declared secret (users[].existingSecret and existingSecretKey) or disable the bundled MinIO; ${DECLARED}`,
  },
  ...['admin', 'password', 'changeme', 'secret', 'root', 'passw0rd', 'admin123', '123456', '12345678'].map((value): WellKnownCredential => ({
    chart: '*', key: 'a common default password', value, secretKeys: [], anyKey: false,
    fix: `take it from a declared secret (most charts have an existingSecret option next to the value); ${DECLARED}`,
  })),
];

/** A key that names a password (adminPassword, POSTGRES_PASSWORD, admin-password, REGISTRY_PASSWD, rootPass). */
export function isPasswordKey(key: string): boolean {
  return /(?:password|passwd|pwd|pass)$/.test(key.toLowerCase().replace(/[-_.\s]/g, ''));
}

/** The well-known credential a value is, if any: chart-specific ones first (the given chart's first). */
function wellKnown(key: string, path: string | undefined, value: string, chart: string | undefined): WellKnownCredential | undefined {
  const v = value.trim();
  const candidates = WELL_KNOWN_CREDENTIALS.filter((c) => c.value === v && (
    c.anyKey || isPasswordKey(key) || c.secretKeys.includes(key) || (path !== undefined && path === c.key)));
  const rank = (c: WellKnownCredential) => (c.chart === chart ? 0 : c.chart !== '*' ? 1 : 2);
  return candidates.sort((a, b) => rank(a) - rank(b))[0];
}

function describe(c: WellKnownCredential, key: string): string {
  return c.chart === '*'
    ? `holds a well-known default password (one many tools ship) under password key ${key}`
    : `holds the chart's well-known default password for ${c.key} (chart ${c.chart})`;
}

function decodeBase64(s: unknown): string | undefined {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/=\s]*$/.test(s)) return undefined;
  return Buffer.from(s, 'base64').toString('utf8');
}

/**
 * default-credential: every Secret of the set (ours, and the ones a chart renders) whose data or
 * stringData, and every Helm value of an Application, is a well-known default password
 * (WELL_KNOWN_CREDENTIALS). The message names the key and the chart, never the password.
 */
export function defaultCredentials(ctx: Context): void {
  const chartOfApp = new Map<string, string>();
  for (const { app, source } of helmSources(ctx)) chartOfApp.set(app.name, source.chart);

  for (const s of ctx.of('', 'Secret')) {
    const chart = s.application ? chartOfApp.get(s.application) : undefined;
    const by = s.rendered ? ` (rendered by ${chart ? `chart ${chart} of ` : ''}Application ${s.application ?? '?'})` : '';
    for (const field of ['data', 'stringData'] as const) {
      const entries = s.manifest[field];
      if (!isObject(entries)) continue;
      for (const [k, raw] of Object.entries(entries)) {
        const value = field === 'data' ? decodeBase64(raw) : typeof raw === 'string' ? raw : undefined;
        if (value === undefined) continue;
        const c = wellKnown(k, undefined, value, chart);
        if (!c) continue;
        ctx.report('default-credential', s, [field, k], `${field}.${k} ${describe(c, k)}${by}`, c.fix);
      }
    }
  }

  for (const { app, source, at } of helmSources(ctx)) {
    for (const set of helmValues(source)) {
      const walk = (v: Json, p: Path, key: string | undefined) => {
        if (typeof v === 'string' && key !== undefined) {
          const dotted = p.map((x) => (typeof x === 'number' ? '[]' : x)).join('.').replace(/\.\[\]/g, '[]');
          const c = wellKnown(key, dotted, v, source.chart);
          if (!c) return;
          const field: Path = set.field === 'valuesObject' ? [...at, 'helm', 'valuesObject', ...p] : [...at, 'helm', 'values'];
          ctx.report('default-credential', app, field,
            `${set.field === 'values' ? `value ${dotted} ` : ''}${describe(c, key)}, given to chart ${chartLabel(source)}`,
            c.fix);
        } else if (Array.isArray(v)) {
          v.forEach((x, i) => walk(x, [...p, i], key));
        } else if (isObject(v)) {
          for (const [k, x] of Object.entries(v)) walk(x, [...p, k], k);
        }
      };
      walk(set.values, [], undefined);
    }
  }
}
