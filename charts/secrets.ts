// The secrets of the platform, as the configured backend delivers them: ExternalSecrets reading Azure Key
// Vault through one ClusterSecretStore, or SealedSecrets carrying kubeseal ciphertext. Either way no value
// is in git. Each consumer passes its declaration to `use()`, which orders the consumer after us; once every
// component is built, `writeSecrets()` writes each used secret into the namespaces it is used in.
import { Construct } from 'constructs';
import { ConfigError, configPath, SecretsConfig } from '../lib/config';
import { Component, ManifestComponent } from '../lib/component';
import { SecretConsumer, SecretDeclaration, usedSecrets } from '../lib/secrets';
import {
  ClusterSecretStore,
  ClusterSecretStoreSpecProviderAzurekvAuthType,
  ExternalSecret,
  ExternalSecretSpecSecretStoreRefKind,
  ExternalSecretSpecTargetCreationPolicy,
} from '../imports/external-secrets.io';
import { SealedSecret } from '../imports/bitnami.com';

export const CLUSTER_SECRET_STORE = 'azure-key-vault';
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
      new ClusterSecretStore(this, 'store', {
        metadata: { name: CLUSTER_SECRET_STORE },
        spec: {
          provider: {
            azurekv: {
              authType: ClusterSecretStoreSpecProviderAzurekvAuthType.WORKLOAD_IDENTITY,
              vaultUrl: config.keyVault.url,
              tenantId: config.keyVault.tenantId,
              serviceAccountRef: { name: EXTERNAL_SECRETS_SERVICE_ACCOUNT, namespace: config.namespace },
            },
          },
        },
      });
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
      for (const d of used) for (const ns of d.namespaces) this.externalSecret(d, ns);
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

  private externalSecret(d: SecretDeclaration, namespace: string): void {
    new ExternalSecret(this, `${d.name}-${namespace}`, {
      metadata: { name: d.name, namespace },
      spec: {
        refreshInterval: '1h',
        secretStoreRef: { kind: ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE, name: CLUSTER_SECRET_STORE },
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
        data: Object.entries(d.keys).map(([secretKey, remoteKey]) => ({ secretKey, remoteRef: { key: remoteKey } })),
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
