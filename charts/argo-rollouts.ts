// Argo Rollouts: the controller (chart) that runs the canary Rollouts of charts/canary.ts, moving the
// weights of their VirtualService routes step by step and running their analyses. Built only when a
// workload of the environment sets `canary` (charts/platform.ts): an idle controller with five CRDs would
// be noise in every other environment. Its notifications post each Rollout's progress to the platform's
// Slack channel (argocd.slackChannel) with the bot token of the declared argo-rollouts-notification-secret.
import { Construct } from 'constructs';
import { Section } from '../lib/config';
import { HelmComponent } from '../lib/component';
import { ArgoRolloutsValues } from '../lib/helm-values';
import { SecretsChart } from './secrets';
import { SecretDeclaration } from '../lib/secrets';

export const ROLLOUTS_NOTIFICATION_SECRET: SecretDeclaration = {
  // The name the Argo Rollouts controller reads its notification tokens from (fixed by the controller).
  name: 'argo-rollouts-notification-secret',
  type: 'Opaque',
  // The same Slack bot as Argo CD's notifications, posting to the same channel.
  keys: { 'slack-token': 'argocd-notifications-slack-token' },
  purpose: 'Argo Rollouts notifications (canary steps, aborts, failed analyses) posting to Slack (bot token)',
  labels: { 'app.kubernetes.io/component': 'rollouts-controller' },
};

/** The controller's built-in triggers the channel is subscribed to: a step done, a pause, an abort, a failed analysis, the end. */
export const ROLLOUT_TRIGGERS = [
  'on-rollout-step-completed',
  'on-rollout-paused',
  'on-rollout-aborted',
  'on-analysis-run-failed',
  'on-rollout-completed',
] as const;

export interface ArgoRolloutsProps {
  readonly config: Section<'argoRollouts'>;
  /** The Slack channel (without "#") the Rollouts' notifications go to: the platform's. */
  readonly slackChannel: string;
  readonly secrets: SecretsChart;
}

export class ArgoRolloutsChart extends HelmComponent<ArgoRolloutsValues> {
  constructor(scope: Construct, props: ArgoRolloutsProps) {
    const { config } = props;
    super(scope, 'argo-rollouts', {
      namespace: config.namespace,
      source: { chartKey: 'argo-rollouts', chartVersion: config.chartVersion },
      values: {},
    });
    const slack = props.secrets.use(this, ROLLOUTS_NOTIFICATION_SECRET, config.namespace);
    this.addValues({
      // Istio traffic routing needs no provider RBAC beyond the chart's default (VirtualServices, DestinationRules).
      notifications: {
        // The secret comes from the secrets component; the chart must neither create it nor hold its value.
        secret: { create: false },
        notifiers: { 'service.slack': `token: $${slack.key('slack-token')}` },
        subscriptions: [{ recipients: [`slack:${props.slackChannel}`], triggers: [...ROLLOUT_TRIGGERS] }],
      },
    });
  }
}
