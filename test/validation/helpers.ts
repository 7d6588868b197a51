// Small builders for validation tests: minimal, valid objects that a test then breaks one way.
import { ManifestFile, RuleName, validateManifests, ValidationOptions, Violation } from '../../lib/validation';
import { Context, groupOf, KObject } from '../../lib/validation/context';

export type M = Record<string, any>;

export function file(path: string, manifest: M): ManifestFile {
  return { path, manifest };
}

/** The violations of one rule. */
export function only(rule: RuleName, files: ManifestFile[], options: ValidationOptions = {}): Violation[] {
  return validateManifests(files, options).filter((v) => v.rule === rule);
}

export function clusterIssuer(name: string, ingressClass = 'nginx'): M {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'ClusterIssuer',
    metadata: { name },
    spec: {
      acme: {
        server: 'https://acme-v02.api.letsencrypt.org/directory',
        email: 'platform@example.com',
        privateKeySecretRef: { name },
        solvers: [{ http01: { ingress: { class: ingressClass, podTemplate: { spec: { nodeSelector: { 'kubernetes.io/os': 'linux' } } } } } }],
      },
    },
  };
}

export function certificate(namespace: string, secretName: string, issuer = 'letsencrypt', host = `${secretName}.example.com`): M {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: secretName, namespace },
    spec: {
      secretName,
      privateKey: { rotationPolicy: 'Always' },
      commonName: host,
      dnsNames: [host],
      usages: ['digital signature', 'key encipherment', 'server auth'],
      issuerRef: { name: issuer, kind: 'ClusterIssuer' },
    },
  };
}

export function service(namespace: string, name: string, ports: { name?: string; port: number }[]): M {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: { app: name }, ports: ports.map((p) => ({ ...p, protocol: 'TCP', targetPort: p.port })) },
  };
}

export function ingress(namespace: string, name: string, opts: {
  host?: string; secretName?: string; annotations?: Record<string, string>;
  paths?: { path: string; service: string; port: number | string }[];
}): M {
  const host = opts.host ?? `${name}.example.com`;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: {
      ingressClassName: 'nginx',
      ...(opts.secretName ? { tls: [{ hosts: [host], secretName: opts.secretName }] } : {}),
      rules: [{
        host,
        http: {
          paths: (opts.paths ?? []).map((p) => ({
            path: p.path,
            pathType: 'Prefix',
            backend: { service: { name: p.service, port: typeof p.port === 'number' ? { number: p.port } : { name: p.port } } },
          })),
        },
      }],
    },
  };
}

export function deployment(namespace: string, name: string, podSpec: M): M {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: podSpec },
    },
  };
}

export function externalSecret(namespace: string, name: string, targetName?: string): M {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name, namespace },
    spec: {
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault' },
      ...(targetName ? { target: { name: targetName } } : {}),
      data: [{ secretKey: 'password', remoteRef: { key: name } }],
    },
  };
}

/** `rule field` of each violation: a compact thing to compare in tests. */
export function brief(violations: Violation[]): string[] {
  return violations.map((v) => `${v.rule} ${v.object} ${v.field}`);
}

const CLUSTER_SCOPED = new Set(['Namespace', 'MutatingWebhookConfiguration']);

/** A Context of hand-built objects, for calling one rule function directly (namespace 'default' when unset). */
export function contextOf(files: readonly ManifestFile[], options: ValidationOptions = {}): Context {
  return new Context(files.map((f): KObject => {
    const m = f.manifest as M;
    const namespace = CLUSTER_SCOPED.has(m.kind) ? undefined : m.metadata?.namespace ?? 'default';
    return {
      file: f.path, manifest: m, apiVersion: m.apiVersion, kind: m.kind, group: groupOf(m.apiVersion), name: m.metadata?.name ?? '', namespace,
      label: `${m.kind} ${namespace === undefined ? '' : `${namespace}/`}${m.metadata?.name}`, application: f.application, rendered: f.rendered,
    };
  }), options);
}
