// Every secret the platform needs, declared once: its name, namespaces, type, keys, and where each key
// comes from. Values never pass through this repo: the External Secrets backend fetches them from Azure
// Key Vault (the `remoteKey` of each key), the Sealed Secrets backend decrypts kubeseal ciphertext.
// Consumers obtain a secret through `SecretsChart.use()`, so they cannot name a secret not declared here.
import { Construct } from 'constructs';
import { PlatformConfig, usesCanary } from './config';
import { componentOf } from './component';
import { compareText } from './text';

export type SecretType = 'Opaque' | 'kubernetes.io/dockerconfigjson' | 'kubernetes.io/tls';

export interface SecretDeclaration {
  readonly name: string;
  readonly namespaces: readonly string[];
  readonly type: SecretType;
  /** Key in the Kubernetes Secret -> name of the Key Vault secret that holds its value. */
  readonly keys: Readonly<Record<string, string>>;
  /** What the secret is for, for operators and the inventory. */
  readonly purpose: string;
  /**
   * Labels of the Secret itself (e.g. Argo CD resolves `$secret:key` references only in Secrets labelled
   * app.kubernetes.io/part-of: argocd).
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The secrets of the platform for one environment. */
export function platformSecrets(config: PlatformConfig): SecretDeclaration[] {
  const harbor = config.harbor.namespace;
  const optional: SecretDeclaration[] = [];
  if (config.argocd.githubSso) {
    optional.push({
      name: 'argocd-dex-github',
      namespaces: [config.argocd.namespace],
      type: 'Opaque',
      keys: { clientSecret: 'argocd-github-oauth-client-secret' },
      purpose: 'the GitHub OAuth app\'s client secret Dex logs Argo CD users in with',
      labels: { 'app.kubernetes.io/part-of': 'argocd' },
    });
  }
  if (usesCanary(config)) {
    optional.push({
      // The name the Argo Rollouts controller reads its notification tokens from (fixed by the controller).
      name: 'argo-rollouts-notification-secret',
      namespaces: [config.argoRollouts.namespace],
      type: 'Opaque',
      // The same Slack bot as Argo CD's notifications, posting to the same channel.
      keys: { 'slack-token': 'argocd-notifications-slack-token' },
      purpose: 'Argo Rollouts notifications (canary steps, aborts, failed analyses) posting to Slack (bot token)',
      labels: { 'app.kubernetes.io/component': 'rollouts-controller' },
    });
  }
  return [
    {
      name: 'docker-config-secret',
      namespaces: [...new Set([config.apps.namespace, config.jenkins.namespace, config.istio.namespace])],
      type: 'kubernetes.io/dockerconfigjson',
      keys: { '.dockerconfigjson': 'harbor-dockerconfigjson' },
      purpose: 'pull from and push to Harbor (image builds in Jenkins agents, workload image pulls)',
    },
    {
      name: 'jenkins-metrics-basic-auth',
      namespaces: [config.kubePrometheusStack.namespace],
      type: 'Opaque',
      keys: { username: 'jenkins-metrics-username', password: 'jenkins-metrics-api-token' },
      purpose: 'Prometheus scraping Jenkins /prometheus with a Jenkins API token',
    },
    {
      name: 'tempo-azure-credentials',
      namespaces: [config.tempo.namespace],
      type: 'Opaque',
      keys: { STORAGE_ACCOUNT_ACCESS_KEY: 'tempo-storage-account-key' },
      purpose: 'Tempo writing traces to the Azure storage account',
    },
    {
      name: 'argocd-notifications-secret',
      namespaces: [config.argocd.namespace],
      type: 'Opaque',
      keys: { 'slack-token': 'argocd-notifications-slack-token' },
      purpose: 'Argo CD notifications posting to Slack (bot token)',
    },
    {
      name: 'alertmanager-slack',
      namespaces: [config.kubePrometheusStack.namespace],
      type: 'Opaque',
      keys: { 'webhook-url': 'alertmanager-slack-webhook-url' },
      purpose: 'Alertmanager posting to Slack (incoming webhook URL, mounted as a file)',
    },
    // Only ingress-nginx asks for it; with the Gateway API, Prometheus and Alertmanager are not published.
    ...(config.exposure.kind === 'ingress' ? [{
      name: 'monitoring-basic-auth',
      namespaces: [config.kubePrometheusStack.namespace],
      type: 'Opaque' as const,
      keys: { auth: 'monitoring-htpasswd' },
      purpose: 'htpasswd lines (bcrypt) of who may open prometheus.<domain> and alertmanager.<domain>',
    }] : []),
    {
      name: 'grafana-admin',
      namespaces: [config.kubePrometheusStack.namespace],
      type: 'Opaque',
      keys: { 'admin-user': 'grafana-admin-user', 'admin-password': 'grafana-admin-password' },
      purpose: 'Grafana admin login (the chart would otherwise generate one on every render)',
    },
    {
      name: 'harbor-secrets',
      namespaces: [harbor],
      type: 'Opaque',
      keys: {
        HARBOR_ADMIN_PASSWORD: 'harbor-admin-password',
        secretKey: 'harbor-secret-key',
        secret: 'harbor-core-secret',
        CSRF_KEY: 'harbor-csrf-key',
        JOBSERVICE_SECRET: 'harbor-jobservice-secret',
        REGISTRY_HTTP_SECRET: 'harbor-registry-http-secret',
        REGISTRY_PASSWD: 'harbor-registry-password',
        REGISTRY_HTPASSWD: 'harbor-registry-htpasswd',
        password: 'harbor-database-password',
      },
      purpose: 'Harbor admin password, its internal database\'s password, and the internal secrets the chart would otherwise generate on every render',
    },
    {
      name: 'kiali-login-signing-key',
      namespaces: [config.kiali.namespace],
      type: 'Opaque',
      keys: { key: 'kiali-signing-key' },
      purpose: 'key Kiali signs login sessions with (32 characters; otherwise regenerated on every render)',
    },
    {
      name: 'harbor-core-token',
      namespaces: [harbor],
      type: 'kubernetes.io/tls',
      keys: { 'tls.crt': 'harbor-core-token-crt', 'tls.key': 'harbor-core-token-key' },
      purpose: 'key pair Harbor core signs registry tokens with (otherwise regenerated on every render)',
    },
    ...optional,
  ];
}

/**
 * A component's use of a declared secret in one namespace: a child of the consumer, so that who uses
 * which secret is read off the construct tree (the inventory's Secrets table).
 */
export class SecretConsumer extends Construct {
  constructor(scope: Construct, id: string, readonly secret: string, readonly namespace: string) {
    super(scope, id);
  }

  /** Marks that `consumer` uses `secret` in `namespace` (once per pair). */
  static record(consumer: Construct, secret: string, namespace: string): void {
    const id = `uses-secret-${secret}-${namespace}`;
    if (!consumer.node.tryFindChild(id)) new SecretConsumer(consumer, id, secret, namespace);
  }
}

/** Who uses which secret where, from the tree under `scope`, sorted. */
export function secretConsumers(scope: Construct): { secret: string; namespace: string; consumer: string }[] {
  return scope.node.findAll().filter((c): c is SecretConsumer => c instanceof SecretConsumer)
    .map((c) => ({ secret: c.secret, namespace: c.namespace, consumer: componentOf(c)?.name ?? c.node.scope!.node.id }))
    .sort((a, b) => compareText(`${a.secret}/${a.namespace}/${a.consumer}`, `${b.secret}/${b.namespace}/${b.consumer}`));
}
