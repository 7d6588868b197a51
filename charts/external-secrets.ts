// External Secrets Operator: turns the platform's ExternalSecrets into Secrets, reading Azure Key Vault
// as a managed identity through AKS workload identity (no credential of its own anywhere), or Secrets of
// one namespace of the cluster (charts/secrets.ts makes that store and who may read it).
import { Construct } from 'constructs';
import { SecretsConfig } from '../lib/config';
import { HelmComponent } from '../lib/component';
import { ClusterSize, requests } from '../lib/sizing';
import { ExternalSecretsValues } from '../lib/helm-values';
import { EXTERNAL_SECRETS_SERVICE_ACCOUNT } from './secrets';

export class ExternalSecretsChart extends HelmComponent<ExternalSecretsValues> {
  /** `size`: config `cluster.size` (default standard). */
  constructor(scope: Construct, props: { readonly config: Extract<SecretsConfig, { backend: 'external-secrets' }>; readonly size?: ClusterSize }) {
    const { config } = props;
    super(scope, 'external-secrets', {
      namespace: config.namespace,
      source: { chartKey: 'external-secrets', chartVersion: config.chartVersion },
      values: {
        installCRDs: true,
        serviceAccount: {
          name: EXTERNAL_SECRETS_SERVICE_ACCOUNT,
          // Workload identity: the token of this service account is exchanged for the managed identity's.
          ...(config.store.kind === 'azure-key-vault' ? { annotations: { 'azure.workload.identity/client-id': config.store.clientId } } : {}),
        },
        ...(config.store.kind === 'azure-key-vault' ? { podLabels: { 'azure.workload.identity/use': 'true' } } : {}),
      },
    });
    if (props.size === 'small') {
      this.addValues({ resources: requests('10m', '48Mi'), webhook: { resources: requests('10m', '32Mi') }, certController: { resources: requests('10m', '48Mi') } });
    }
  }
}
