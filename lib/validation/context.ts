// The object set as the cross-reference rules see it: each object with its effective namespace, and
// the indexes the rules share (Services, TLS secrets, declared secrets, issuers), built on first use.
import { fieldPath } from './schema';
import { RuleName, ValidationOptions, Violation } from './types';

/** A plain JSON value as read from a manifest. */
export type Json = any;

export interface KObject {
  readonly file: string;
  readonly manifest: Json;
  readonly apiVersion: string;
  readonly kind: string;
  /** The API group: '' for the core group. */
  readonly group: string;
  readonly name: string;
  /** The effective namespace; undefined for a cluster-scoped object. */
  readonly namespace: string | undefined;
  /** `Kind namespace/name` or `Kind name`. */
  readonly label: string;
  /** The Argo CD Application that applies it, when known (ManifestFile.application). */
  readonly application?: string;
  /** True for an object a Helm chart renders. */
  readonly rendered?: boolean;
}

export interface ServicePorts {
  /** Undefined: any port is accepted (an external service declared without ports). */
  readonly ports?: readonly { readonly name?: string; readonly port: number }[];
  /** The file that declares it, for messages. */
  readonly source: string;
}

export type Path = (string | number)[];

export function isObject(x: unknown): x is Record<string, Json> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

export function list(x: unknown): Json[] {
  return Array.isArray(x) ? x : [];
}

export function str(x: unknown): string | undefined {
  return typeof x === 'string' && x !== '' ? x : undefined;
}

const jsonTexts = new WeakMap<object, string>();

/**
 * `JSON.stringify` of an object, computed once per object: the size, digest and comparison checks of the
 * same (large) rendered objects share it. Objects must not be changed after their first call.
 */
export function jsonOf(o: object): string {
  let text = jsonTexts.get(o);
  if (text === undefined) jsonTexts.set(o, (text = JSON.stringify(o)));
  return text;
}

export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
}

const key = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

export class Context {
  public readonly violations: Violation[] = [];
  /** What could not be checked (see Warning); reported beside the violations, failing nothing. */
  public readonly warnings: Violation[] = [];
  private readonly byKind = new Map<string, KObject[]>();
  private serviceIndex?: Map<string, ServicePorts>;
  private certIndex?: Map<string, KObject[]>;
  private secretIndex?: Map<string, string>;

  constructor(public readonly objects: readonly KObject[], public readonly options: ValidationOptions) {
    for (const o of objects) {
      const k = `${o.group}/${o.kind}`;
      let l = this.byKind.get(k);
      if (!l) this.byKind.set(k, (l = []));
      l.push(o);
    }
  }

  public report(rule: RuleName, o: KObject, field: Path | string, message: string, fix: string): void {
    this.violations.push({ rule, file: o.file, object: o.label, field: typeof field === 'string' ? field : fieldPath(field), message, fix });
  }

  /** Records something that could not be checked: shown, failing nothing, never taken for a pass. */
  public warn(rule: RuleName, o: KObject, field: Path | string, message: string, fix: string): void {
    this.warnings.push({ rule, file: o.file, object: o.label, field: typeof field === 'string' ? field : fieldPath(field), message, fix });
  }

  /** The objects of an API group and kind (any version). */
  public of(group: string, kind: string): readonly KObject[] {
    return this.byKind.get(`${group}/${kind}`) ?? [];
  }

  /** Services of the set (ours and the ones charts render), by `namespace/name`. */
  public services(): Map<string, ServicePorts> {
    if (!this.serviceIndex) {
      const index = new Map<string, ServicePorts>();
      for (const s of this.of('', 'Service')) {
        const ports = list(s.manifest.spec?.ports).filter(isObject).map((p) => ({ name: str(p.name), port: Number(p.port) }));
        const externalName = s.manifest.spec?.type === 'ExternalName' && ports.length === 0;
        index.set(key(s.namespace, s.name), { ports: externalName ? undefined : ports, source: s.file });
      }
      this.serviceIndex = index;
    }
    return this.serviceIndex;
  }

  /** The names of the Services of a namespace, for messages. */
  public serviceNames(namespace: string): string[] {
    const prefix = `${namespace}/`;
    return [...this.services().keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)).sort();
  }

  /** cert-manager Certificates by `namespace/spec.secretName`. */
  public certificatesBySecret(): Map<string, KObject[]> {
    if (!this.certIndex) {
      const index = new Map<string, KObject[]>();
      for (const c of this.of('cert-manager.io', 'Certificate')) {
        const secret = str(c.manifest.spec?.secretName);
        if (!secret) continue;
        const k = key(c.namespace, secret);
        index.set(k, [...(index.get(k) ?? []), c]);
      }
      this.certIndex = index;
    }
    return this.certIndex;
  }

  /** Certificates that fill a secret of this name in any namespace, for messages. */
  public certificatesNamed(secret: string): KObject[] {
    const out: KObject[] = [];
    for (const [k, certs] of this.certificatesBySecret()) if (k.endsWith(`/${secret}`)) out.push(...certs);
    return out;
  }

  /**
   * Whether a controller creates this Secret at run time: options.runtimeObjects, which the platform fills
   * from what each component declares (its `runtimeObjects`).
   */
  public isRuntimeSecret(namespace: string | undefined, name: string): boolean {
    const objects = Array.isArray(this.options.runtimeObjects) ? this.options.runtimeObjects : [];
    return objects.some((r) => r.kind === 'Secret' && r.name === name && (r.namespace === undefined || r.namespace === (namespace ?? 'default')));
  }

  /**
   * Every secret the set declares, by `namespace/name`, with what declares it: Secret objects,
   * ExternalSecret targets, SealedSecrets, Certificate secrets (see also isRuntimeSecret).
   */
  public declaredSecrets(): Map<string, string> {
    if (!this.secretIndex) {
      const index = new Map<string, string>();
      for (const s of this.of('', 'Secret')) index.set(key(s.namespace, s.name), s.file);
      for (const e of this.of('external-secrets.io', 'ExternalSecret')) {
        index.set(key(e.namespace, str(e.manifest.spec?.target?.name) ?? e.name), e.file);
      }
      for (const s of this.of('bitnami.com', 'SealedSecret')) {
        index.set(key(s.namespace, str(s.manifest.spec?.template?.metadata?.name) ?? s.name), s.file);
      }
      for (const [k, certs] of this.certificatesBySecret()) index.set(k, certs[0].file);
      this.secretIndex = index;
    }
    return this.secretIndex;
  }

  /** The namespaces other than `namespace` where a secret of this name is declared, for messages. */
  public secretElsewhere(namespace: string | undefined, name: string): string[] {
    const out: string[] = [];
    for (const k of this.declaredSecrets().keys()) {
      const i = k.indexOf('/');
      if (k.slice(i + 1) === name && k.slice(0, i) !== (namespace ?? '')) out.push(k.slice(0, i));
    }
    return out.sort();
  }
}

export function describePorts(ports: ServicePorts['ports']): string {
  if (!ports) return 'any port';
  if (ports.length === 0) return 'no ports';
  return ports.map((p) => (p.name ? `${p.name}=${p.port}` : String(p.port))).join(', ');
}

export { key as namespacedName };
