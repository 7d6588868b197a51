// The secrets of the platform, as the configured backend delivers them: ExternalSecrets reading one
// ClusterSecretStore (Azure Key Vault, or Secrets created with kubectl in one namespace of the cluster), or
// SealedSecrets carrying kubeseal ciphertext. Either way no value is in git. Consumers call `use()`, which refuses undeclared secrets and orders the consumer after us.
import { Construct } from 'constructs';
import { ConfigError, configPath, PlatformConfig, SecretsConfig } from '../lib/config';
import { Component, ManifestComponent } from '../lib/component';
import { platformSecrets, SecretConsumer, SecretDeclaration } from '../lib/secrets';
import * as k8s from '../imports/k8s';
import {
  ClusterSecretStore,
  ClusterSecretStoreSpecProviderAzurekvAuthType,
  ClusterSecretStoreSpecProviderKubernetesServerCaProviderType,
  ExternalSecret,
  ExternalSecretSpecSecretStoreRefKind,
  ExternalSecretSpecTargetCreationPolicy,
} from '../imports/external-secrets.io';
import { SealedSecret } from '../imports/bitnami.com';

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
  public readonly declarations: readonly SecretDeclaration[];
  public readonly backend: SecretsConfig['backend'];
  /** The ClusterSecretStore the ExternalSecrets read (external-secrets backend only). */
  private storeName: string = CLUSTER_SECRET_STORES['azure-key-vault'];
  private storeKind: 'azure-key-vault' | 'kubernetes' = 'azure-key-vault';

  /** `config`: the whole config, since lib/secrets.ts places each secret in its consumers' namespaces. */
  constructor(scope: Construct, props: { readonly config: PlatformConfig; readonly backend: Component }) {
    const { config, backend: backendComponent } = props;
    super(scope, 'secrets', { namespace: config.secrets.namespace, dependsOn: [backendComponent] });
    this.declarations = platformSecrets(config);
    this.backend = config.secrets.backend;
    const backend = config.secrets;
    if (backend.backend === 'external-secrets') {
      const store = backend.store;
      this.storeName = CLUSTER_SECRET_STORES[store.kind];
      this.storeKind = store.kind;
      if (store.kind === 'azure-key-vault') {
        new ClusterSecretStore(this, 'store', {
          metadata: { name: this.storeName },
          spec: {
            provider: {
              azurekv: {
                authType: ClusterSecretStoreSpecProviderAzurekvAuthType.WORKLOAD_IDENTITY,
                vaultUrl: store.url,
                tenantId: store.tenantId,
                serviceAccountRef: { name: EXTERNAL_SECRETS_SERVICE_ACCOUNT, namespace: backend.namespace },
              },
            },
          },
        });
      } else {
        this.kubernetesStore(store.namespace);
      }
      for (const d of this.declarations) for (const ns of d.namespaces) this.externalSecret(d, ns);
    } else {
      const missing: string[] = [];
      for (const d of this.declarations) {
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
      const declared = new Set(this.declarations.map((d) => d.name));
      Object.keys(backend.encryptedData).filter((n) => !declared.has(n))
        .forEach((n) => missing.push(`${configPath(['secrets', 'encryptedData', n])}: no such secret is declared; declared: ${[...declared].join(', ')}`));
      if (missing.length > 0) throw new ConfigError(config.file, missing);
    }
  }

  /** A declared secret for `consumer` in `namespace`; the consumer is synced after the secrets. */
  public use(consumer: Component, name: string, namespace: string): UsedSecret {
    const d = this.declarations.find((x) => x.name === name);
    if (!d) throw new Error(`${consumer.name} uses secret "${name}", which is not declared in lib/secrets.ts; declared: ${this.declarations.map((x) => x.name).join(', ')}`);
    if (!d.namespaces.includes(namespace)) {
      throw new Error(`${consumer.name} uses secret "${name}" in namespace ${namespace}, but it is declared only in ${d.namespaces.join(', ')}; add the namespace to its declaration`);
    }
    if (consumer !== this) consumer.dependOn(this);
    SecretConsumer.record(consumer, name, namespace);
    return {
      name,
      namespace,
      type: d.type,
      key: (key: string) => {
        if (!(key in d.keys)) throw new Error(`${consumer.name} uses key "${key}" of secret ${name}, which has only ${Object.keys(d.keys).join(', ')}`);
        return key;
      },
    };
  }

  private externalSecret(d: SecretDeclaration, namespace: string): void {
    new ExternalSecret(this, `${d.name}-${namespace}`, {
      metadata: { name: d.name, namespace },
      spec: {
        refreshInterval: '1h',
        secretStoreRef: { kind: ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE, name: this.storeName },
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
          remoteRef: this.storeKind === 'kubernetes' ? { key: remoteKey, property: KUBERNETES_STORE_VALUE_KEY } : { key: remoteKey },
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
      metadata: { name: this.storeName },
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
