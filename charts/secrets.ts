// The secrets of the platform, as the configured backend delivers them: ExternalSecrets reading one
// ClusterSecretStore (Azure Key Vault, or Secrets created with kubectl in one namespace of the cluster), or
// SealedSecrets carrying kubeseal ciphertext. Either way no value is in git. Each consumer passes its declaration to `use()`, which orders the consumer after us; once every
// component is built, `writeSecrets()` writes each used secret into the namespaces it is used in.
import { Construct } from 'constructs';
import { ConfigError, configPath, SecretsConfig } from '../lib/config';
import { Component, ManifestComponent } from '../lib/component';
import { SecretConsumer, SecretDeclaration, usedSecrets } from '../lib/secrets';
import {
  ClusterSecretStore,
  ClusterSecretStoreSpecProviderAzurekvAuthType,
  ClusterSecretStoreSpecProviderKubernetesServerCaProviderType,
  ExternalSecret,
  ExternalSecretSpecSecretStoreRefKind,
  ExternalSecretSpecTargetCreationPolicy,
} from '../imports/external-secrets.io';
import { SealedSecret } from '../imports/bitnami.com';
import * as k8s from '../imports/k8s';

/** The ClusterSecretStore every ExternalSecret reads, named after the store's kind. */
export const CLUSTER_SECRET_STORES = { 'azure-key-vault': 'azure-key-vault', kubernetes: 'kubernetes-secrets' } as const;
/**
 * With the `kubernetes` store, the key of each source Secret that holds its value: one Secret per remote key
 * (`kubectl create secret generic <remote key> --from-literal=value=...`), as a Key Vault holds one value per name.
 */
export const KUBERNETES_STORE_VALUE_KEY = 'value';
/** With the `kubernetes` store, the ServiceAccount the operator reads the source Secrets as. */
export const KUBERNETES_STORE_READER = 'external-secrets-reader';
/** The operator's service account; the managed identity is federated with it. */
export const EXTERNAL_SECRETS_SERVICE_ACCOUNT = 'external-secrets';

/** A declared secret in one namespace, as a consumer refers to it. */
export interface UsedSecret {
  readonly name: string;
  readonly namespace: string;
  readonly type: string;
  /** The key's name, checked against the declaration. */
  key(key: string): string;
}

export class SecretsChart extends ManifestComponent {
  public readonly backend: SecretsConfig['backend'];
  private readonly config: SecretsConfig;
  private readonly file: string;
  private written = false;

  constructor(scope: Construct, props: { readonly config: SecretsConfig; readonly file: string; readonly backend: Component }) {
    const { config, backend: backendComponent } = props;
    super(scope, 'secrets', { namespace: config.namespace, dependsOn: [backendComponent] });
    this.config = config;
    this.file = props.file;
    this.backend = config.backend;
    if (config.backend === 'external-secrets') {
      const store = config.store;
      if (store.kind === 'azure-key-vault') {
        new ClusterSecretStore(this, 'store', {
          metadata: { name: CLUSTER_SECRET_STORES[store.kind] },
          spec: {
            provider: {
              azurekv: {
                authType: ClusterSecretStoreSpecProviderAzurekvAuthType.WORKLOAD_IDENTITY,
                vaultUrl: store.url,
                tenantId: store.tenantId,
                serviceAccountRef: { name: EXTERNAL_SECRETS_SERVICE_ACCOUNT, namespace: config.namespace },
              },
            },
          },
        });
      } else {
        this.kubernetesStore(store.namespace);
      }
    }
  }

  /** `declaration` for `consumer` in `namespace`; the consumer is synced after the secrets. */
  public use(consumer: Component, declaration: SecretDeclaration, namespace: string): UsedSecret {
    if (this.written) throw new Error(`${consumer.name} uses secret "${declaration.name}" after the secrets were written; build every component before SecretsChart.writeSecrets()`);
    if (consumer !== this) consumer.dependOn(this);
    SecretConsumer.record(consumer, declaration, namespace);
    return {
      name: declaration.name,
      namespace,
      type: declaration.type,
      key: (key: string) => {
        if (!(key in declaration.keys)) throw new Error(`${consumer.name} uses key "${key}" of secret ${declaration.name}, which has only ${Object.keys(declaration.keys).join(', ')}`);
        return key;
      },
    };
  }

  /**
   * Writes every secret the components under `scope` use, in each namespace they use it in: call once,
   * after every consumer is built. With Sealed Secrets, each must have its ciphertext in config.
   */
  public writeSecrets(scope: Construct): void {
    this.written = true;
    const used = usedSecrets(scope);
    const backend = this.config;
    if (backend.backend === 'external-secrets') {
      for (const d of used) for (const ns of d.namespaces) this.externalSecret(d, ns, backend.store.kind);
      return;
    }
    const missing: string[] = [];
    for (const d of used) {
      for (const ns of d.namespaces) {
        const data = backend.encryptedData[d.name]?.[ns] ?? {};
        const absent = Object.keys(d.keys).filter((k) => !data[k]);
        const extra = Object.keys(data).filter((k) => !(k in d.keys));
        const at = (k: string) => configPath(['secrets', 'encryptedData', d.name, ns, k]);
        absent.forEach((k) => missing.push(`${at(k)}: missing; seal it with \`kubeseal --raw --namespace ${ns} --name ${d.name}\``));
        extra.forEach((k) => missing.push(`${at(k)}: ${d.name} has no key ${k}; declared keys: ${Object.keys(d.keys).join(', ')}`));
        if (absent.length === 0 && extra.length === 0) this.sealedSecret(d, ns, data);
      }
    }
    const declared = new Set(used.map((d) => d.name));
    Object.keys(backend.encryptedData).filter((n) => !declared.has(n))
      .forEach((n) => missing.push(`${configPath(['secrets', 'encryptedData', n])}: no component of this environment uses such a secret; in use: ${[...declared].join(', ')}`));
    if (missing.length > 0) throw new ConfigError(this.file, missing);
  }

  /** An ExternalSecret reading `d` from the ClusterSecretStore of `store`'s kind. */
  private externalSecret(d: SecretDeclaration, namespace: string, store: keyof typeof CLUSTER_SECRET_STORES): void {
    new ExternalSecret(this, `${d.name}-${namespace}`, {
      metadata: { name: d.name, namespace },
      spec: {
        refreshInterval: '1h',
        secretStoreRef: { kind: ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE, name: CLUSTER_SECRET_STORES[store] },
        target: {
          name: d.name,
          creationPolicy: ExternalSecretSpecTargetCreationPolicy.OWNER,
          ...(d.type === 'Opaque' && !d.labels ? {} : {
            template: {
              ...(d.type === 'Opaque' ? {} : { type: d.type }),
              ...(d.labels ? { metadata: { labels: { ...d.labels } } } : {}),
            },
          }),
        },
        data: Object.entries(d.keys).map(([secretKey, remoteKey]) => ({
          secretKey,
          remoteRef: store === 'kubernetes' ? { key: remoteKey, property: KUBERNETES_STORE_VALUE_KEY } : { key: remoteKey },
        })),
      },
    });
  }

  /**
   * External Secrets' Kubernetes provider reading the Secrets a person created in `namespace`: a
   * ServiceAccount there that may only get, list and watch the Secrets of that namespace (the operator
   * requests its tokens), and the ClusterSecretStore that reads them as it, trusting the API server's CA
   * from the namespace's kube-root-ca.crt.
   */
  private kubernetesStore(namespace: string): void {
    new k8s.KubeServiceAccount(this, 'store-reader', { metadata: { name: KUBERNETES_STORE_READER, namespace } });
    new k8s.KubeRole(this, 'store-reader-role', {
      metadata: { name: KUBERNETES_STORE_READER, namespace },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }],
    });
    new k8s.KubeRoleBinding(this, 'store-reader-binding', {
      metadata: { name: KUBERNETES_STORE_READER, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: KUBERNETES_STORE_READER },
      subjects: [{ kind: 'ServiceAccount', name: KUBERNETES_STORE_READER, namespace }],
    });
    new ClusterSecretStore(this, 'store', {
      metadata: { name: CLUSTER_SECRET_STORES.kubernetes },
      spec: {
        provider: {
          kubernetes: {
            remoteNamespace: namespace,
            server: {
              caProvider: {
                type: ClusterSecretStoreSpecProviderKubernetesServerCaProviderType.CONFIG_MAP,
                name: 'kube-root-ca.crt',
                key: 'ca.crt',
                namespace,
              },
            },
            auth: { serviceAccount: { name: KUBERNETES_STORE_READER, namespace } },
          },
        },
      },
    });
  }

  private sealedSecret(d: SecretDeclaration, namespace: string, encryptedData: Record<string, string>): void {
    new SealedSecret(this, `${d.name}-${namespace}`, {
      metadata: { name: d.name, namespace },
      spec: {
        encryptedData: Object.fromEntries(Object.keys(d.keys).map((k) => [k, encryptedData[k]])),
        template: { metadata: { name: d.name, namespace, ...(d.labels ? { labels: { ...d.labels } } : {}) }, type: d.type },
      },
    });
  }
}
