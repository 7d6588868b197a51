// Argo CD managing itself: the argo-cd chart, with the guide's Slack notifications (the token comes from
// the declared argocd-notifications-secret, never from values), the Application health check that makes
// the app of apps wait wave by wave, and the Certificate and Ingress of argocd.<domain>.
import * as yaml from 'js-yaml';
import { Construct } from 'constructs';
import { Section } from '../lib/config';
import { ClusterSize, requests } from '../lib/sizing';
import { HelmComponent } from '../lib/component';
import { MonitoringStack, PodScrape } from '../lib/monitoring';
import { ArgoCdValues } from '../lib/helm-values';
import { Exposure } from '../lib/exposure';
import { ClusterIssuerRef, TlsEndpoint } from '../lib/tls-endpoint';
import { SecretsChart } from './secrets';
import { SecretDeclaration } from '../lib/secrets';

export const NOTIFICATIONS_SECRET: SecretDeclaration = {
  name: 'argocd-notifications-secret',
  type: 'Opaque',
  keys: { 'slack-token': 'argocd-notifications-slack-token' },
  purpose: 'Argo CD notifications posting to Slack (bot token)',
};

export const DEX_GITHUB_SECRET: SecretDeclaration = {
  name: 'argocd-dex-github',
  type: 'Opaque',
  keys: { clientSecret: 'argocd-github-oauth-client-secret' },
  purpose: 'the GitHub OAuth app\'s client secret Dex logs Argo CD users in with',
  labels: { 'app.kubernetes.io/part-of': 'argocd' },
};

/** The guide's release name: the chart then names its objects argocd-server, argocd-cm, ... */
export const ARGOCD_RELEASE = 'argocd';
export const ARGOCD_SERVER_SERVICE = 'argocd-server';
/** argocd-server's Service port that serves HTTPS (named https; the chart's default). */
export const ARGOCD_SERVER_HTTPS_PORT = 443;
/** argocd-server serves TLS with the certificate in this secret when it exists. */
export const ARGOCD_SERVER_TLS = 'argocd-server-tls';

/**
 * Argo CD's own health check for Application resources was removed in 1.8, so a parent Application is
 * Healthy as soon as its children exist. With this check a child counts as healthy only when its own
 * resources are, and the root Application waits for each sync wave to be healthy before the next.
 * (Argo CD docs, "Argo CD App of Apps health".)
 */
export const APPLICATION_HEALTH_LUA = `hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil then
  if obj.status.health ~= nil then
    hs.status = obj.status.health.status
    if obj.status.health.message ~= nil then
      hs.message = obj.status.health.message
    end
  end
end
return hs
`;

/**
 * istiod writes the webhooks' caBundle and turns the validating webhook's failurePolicy to Fail once it
 * serves, and cert-manager's cainjector fills caBundles too; without this Argo CD reports those objects
 * OutOfSync forever and self-heal would undo the controllers' work. Only webhook configurations have
 * `.webhooks`, so the `all` key is as narrow as per-kind keys (whose names the leak check would take for
 * webhook URLs).
 */
const WEBHOOK_IGNORE_DIFFERENCES = "jqPathExpressions:\n- '.webhooks[]?.clientConfig.caBundle'\n- '.webhooks[]?.failurePolicy'\n";

/**
 * argocd-cm keys the chart's values.yaml does not list; the chart copies `configs.cm` into argocd-cm as
 * is, and these are documented argocd-cm settings.
 */
type ArgoCdCm = NonNullable<NonNullable<ArgoCdValues['configs']>['cm']> & {
  readonly [key: `resource.customizations.${string}`]: string;
  /** Dex's connectors, as YAML text (argocd-cm's dex.config). */
  readonly 'dex.config'?: string;
};

interface SlackField {
  readonly title: string;
  /** A Go template, as the notifications controller renders it. */
  readonly value: string;
  readonly short: boolean;
}

/**
 * A Slack notification template: one attachment with a headline and fields. Built as text, not with
 * JSON.stringify: the Go templates inside hold double quotes (`default "Unknown"`) that must reach the
 * template engine unescaped; the attachment is valid JSON only after rendering.
 */
function slackTemplate(color: string, headline: string, fields: readonly SlackField[]): string {
  const rendered = fields.map((f) => `  { "title": "${f.title}", "value": "${f.value}", "short": ${f.short} }`).join(',\n');
  return [
    'slack:',
    '  attachments: |-',
    '    [{',
    `      "color": "${color}",`,
    `      "text": "${headline}",`,
    '      "fields": [',
    ...rendered.split('\n').map((l) => `      ${l}`),
    '      ]',
    '    }]',
    '',
  ].join('\n');
}

const APP = '*{{ .app.metadata.name }}*';
const LINK: SlackField = { title: 'Argo CD', value: '<{{ .context.argocdUrl }}/applications/{{ .app.metadata.name }}?operation=true>', short: false };
const REPO: SlackField = { title: 'Repository', value: '{{ .app.spec.source.repoURL }}', short: false };
const HEALTH: SlackField = { title: 'Health', value: '{{ .app.status.health.status | default "Unknown" }}', short: true };

/** The guide's four templates, under its names, with messages of our own carrying the same fields. */
export const NOTIFICATION_TEMPLATES: Readonly<Record<string, string>> = {
  'template.app-health-degraded': slackTemplate('danger', `<!channel> :rotating_light: ${APP} is Degraded.`, [
    { title: 'Sync Status', value: '{{ .app.status.sync.status | default "Unknown" }}', short: true },
    HEALTH, REPO, LINK,
  ]),
  'template.app-sync-running': slackTemplate('#439FE0', `:hourglass_flowing_sand: ${APP} is syncing (started {{ .app.status.operationState.startedAt }}).`, [
    { title: 'Sync Status', value: '{{ .app.status.sync.status | default "Unknown" }}', short: true },
    { ...REPO, short: true }, LINK,
  ]),
  'template.app-sync-succeeded': slackTemplate('good', `:white_check_mark: ${APP} synced (finished {{ .app.status.operationState.finishedAt }}).`, [
    { title: 'Sync Status', value: '{{ .app.status.sync.status | default "Synced" }}', short: true },
    HEALTH, REPO,
    { title: 'Revision', value: '{{ .app.status.sync.revision | default "-" }}', short: false },
    LINK,
  ]),
  'template.app-sync-failed': slackTemplate('danger', `<!channel> :x: ${APP} failed to sync (finished {{ .app.status.operationState.finishedAt }}).`, [
    { title: 'Phase', value: '{{ .app.status.operationState.phase | default "Error" }}', short: true },
    HEALTH, REPO,
    { title: 'Message', value: '{{ .app.status.operationState.message | default "N/A" }}', short: false },
    LINK,
  ]),
};

/** The guide's triggers: trigger name -> condition and template. */
const TRIGGERS: Readonly<Record<string, { when: string; send: string }>> = {
  'on-health-degraded': { when: "app.status.health.status == 'Degraded'", send: 'app-health-degraded' },
  'on-sync-running': { when: "app.status.operationState.phase == 'Running'", send: 'app-sync-running' },
  'on-sync-succeeded': { when: "app.status.operationState.phase == 'Succeeded' && app.status.health.status == 'Healthy'", send: 'app-sync-succeeded' },
  'on-sync-failed': { when: "app.status.operationState.phase in ['Error','Failed']", send: 'app-sync-failed' },
};

export interface ArgoCdProps {
  readonly config: Section<'argocd'>;
  /** The Slack channel (without "#") every Application's sync and health notifications go to. */
  readonly slackChannel: string;
  /** Argo CD's host is argocd.<domain>. */
  readonly domain: string;
  /** How the environment serves its endpoints (an Ingress, or a TLSRoute on the shared Gateway). */
  readonly exposure: Exposure;
  /** Issues argocd.<domain>'s certificate; must answer HTTP-01 through the exposure's class or Gateway. */
  readonly issuer: ClusterIssuerRef;
  readonly secrets: SecretsChart;
  /** The Prometheus that scrapes Argo CD's controllers. */
  readonly monitoring: MonitoringStack;
  /** How large the component runs (config `cluster.size`). @default 'standard' */
  readonly size?: ClusterSize;
}

/** Argo CD's servers that expose metrics: pod label app.kubernetes.io/name -> metrics port (Argo CD 2.x and 3.x). */
const METRICS_PORTS: Readonly<Record<string, number>> = {
  'argocd-application-controller': 8082,
  // The guide notes the port may be 8085 in other installs; 8080 is the controller's metrics port in Argo CD 2.x/3.x.
  'argocd-applicationset-controller': 8080,
  'argocd-repo-server': 8084,
  'argocd-server': 8083,
};

/**
 * Argo CD, which manages itself once bootstrap/ installed it: the chart; argocd.<domain> (the Certificate
 * argocd-server serves itself, and an Ingress that passes TLS through); and the PodMonitors of its servers.
 */
export class ArgoCdChart extends HelmComponent<ArgoCdValues> {
  public readonly host: string;
  public readonly endpoint: TlsEndpoint;

  constructor(scope: Construct, props: ArgoCdProps) {
    const { config, secrets } = props;
    const host = `argocd.${props.domain}`;
    const cm: ArgoCdCm = {
      'resource.customizations.health.argoproj.io_Application': APPLICATION_HEALTH_LUA,
      'resource.customizations.ignoreDifferences.all': WEBHOOK_IGNORE_DIFFERENCES,
    };
    const rbac = config.rbac;
    super(scope, 'argo-cd', {
      namespace: config.namespace,
      runtimeObjects: [{
        kind: 'Secret', namespace: config.namespace, name: 'argocd-redis', keys: ['auth'],
        createdBy: 'Job argocd-redis-secret-init (argocd admin redis-initial-password), read as REDIS_PASSWORD',
      }],
      source: { chartKey: 'argo-cd', chartVersion: config.chartVersion },
      // The release name of the installation bootstrap/ presupposes (`helm install argocd ...` in the
      // guide), so the Application adopts the running Argo CD's objects instead of creating a second set.
      releaseName: ARGOCD_RELEASE,
      values: {
        global: { domain: host },
        configs: {
          cm,
          ...(rbac ? { rbac: { 'policy.default': rbac.defaultPolicy, 'policy.csv': `${rbac.policyCsv.join('\n')}\n` } } : {}),
        },
      },
    });
    this.host = host;

    const slack = secrets.use(this, NOTIFICATIONS_SECRET, config.namespace);
    const triggerNames = Object.keys(TRIGGERS);
    this.addValues({
      notifications: {
        enabled: true,
        argocdUrl: `https://${host}`,
        // The secret comes from the secrets component; the chart must neither create it nor hold its value.
        secret: { create: false, name: slack.name },
        notifiers: { 'service.slack': `token: $${slack.key('slack-token')}` },
        templates: { ...NOTIFICATION_TEMPLATES },
        triggers: Object.fromEntries(Object.entries(TRIGGERS).map(([name, t]) =>
          [`trigger.${name}`, `- when: ${t.when}\n  send: [${t.send}]`])),
        subscriptions: [{ recipients: [`slack:${props.slackChannel}`], triggers: triggerNames }],
      },
    });

    const sso = config.githubSso;
    if (sso) {
      // Dex reads `$<secret>:<key>` from a Secret labelled part-of argocd (the declaration carries the label).
      const github = secrets.use(this, DEX_GITHUB_SECRET, config.namespace);
      const dex = {
        connectors: [{
          type: 'github',
          id: 'github',
          name: 'GitHub',
          config: { clientID: sso.clientId, clientSecret: `$${github.name}:${github.key('clientSecret')}`, orgs: sso.orgs.map((name) => ({ name })) },
        }],
      };
      const cm: ArgoCdCm = { 'dex.config': yaml.dump(dex, { lineWidth: -1 }) };
      this.addValues({ configs: { cm } });
    }

    const ns = config.namespace;
    this.endpoint = new TlsEndpoint(this, 'endpoint', {
      host,
      namespace: ns,
      secretName: ARGOCD_SERVER_TLS,
      issuer: props.issuer,
      // argocd-server serves its own certificate (gRPC for the CLI and the UI on one port): the front
      // passes TLS through instead of terminating it.
      route: {
        exposure: props.exposure,
        name: 'argocd',
        backend: { service: ARGOCD_SERVER_SERVICE, port: 'https', portNumber: ARGOCD_SERVER_HTTPS_PORT },
        tls: 'passthrough',
      },
    });
    if (props.size === 'small') {
      this.addValues({
        controller: { resources: requests('50m', '192Mi') },
        repoServer: { resources: requests('20m', '96Mi'), copyutil: { resources: requests('5m', '16Mi') } },
        server: { resources: requests('10m', '64Mi') },
        redis: { resources: requests('10m', '32Mi') },
        dex: { resources: requests('5m', '32Mi'), initImage: { resources: requests('5m', '16Mi') } },
        notifications: { resources: requests('5m', '32Mi') },
        applicationSet: { resources: requests('5m', '48Mi') },
      });
    }
    for (const [name, port] of Object.entries(METRICS_PORTS)) {
      new PodScrape(this, `scrape-${name}`, {
        stack: props.monitoring,
        name,
        podNamespace: ns,
        matchLabels: { 'app.kubernetes.io/name': name },
        jobLabel: 'app.kubernetes.io/name',
        port,
        path: '/metrics',
      });
    }
  }
}
