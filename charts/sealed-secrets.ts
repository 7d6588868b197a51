// Sealed Secrets controller: decrypts the SealedSecrets of the platform with a key that never leaves the
// cluster. Chosen instead of External Secrets with `secrets.backend: sealed-secrets`.
import { Construct } from 'constructs';
import { SecretsConfig } from '../lib/config';
import { HelmComponent } from '../lib/component';

/** The few values of the sealed-secrets chart we set (no upstream defaults file is vendored for it). */
export interface SealedSecretsValues {
  /** kubeseal looks for a controller named sealed-secrets-controller by default. */
  readonly fullnameOverride?: string;
}

export class SealedSecretsChart extends HelmComponent<SealedSecretsValues> {
  constructor(scope: Construct, props: { readonly config: Extract<SecretsConfig, { backend: 'sealed-secrets' }> }) {
    const { config } = props;
    super(scope, 'sealed-secrets', {
      namespace: config.namespace,
      source: { chartKey: 'sealed-secrets', chartVersion: config.chartVersion },
      values: { fullnameOverride: 'sealed-secrets-controller' },
    });
  }
}
