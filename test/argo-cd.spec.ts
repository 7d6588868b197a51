import { composePlatform } from '../charts/platform';
import * as yaml from 'js-yaml';
import { buildPlatform, renderFiles } from '../lib/platform';
import { labConfig, labPlatform, render, unionViolations } from './helpers';

const lab = render();

describe('argo-cd', () => {
  const app = lab.app('argo-cd');
  const values = lab.values(app.metadata.name);

  test('Argo CD manages itself from the argo-helm chart, under the guide\'s release name', () => {
    expect(lab.chart(app.metadata.name)).toMatchObject({ repoURL: 'https://argoproj.github.io/argo-helm', chart: 'argo-cd', targetRevision: '10.1.1' });
    expect(lab.chart(app.metadata.name).helm.releaseName).toBe('argocd');
    expect(app.spec.destination.namespace).toBe('argocd');
    expect(values.global.domain).toBe('argocd.k-tech.cloud');
    expect(app.spec.syncPolicy.syncOptions).toContain('ServerSideApply=true');
  });

  test('the Application health check makes waves of child Applications wait for health', () => {
    const lua = values.configs.cm['resource.customizations.health.argoproj.io_Application'];
    expect(lua).toContain('hs.status = obj.status.health.status');
    expect(lua).toContain('return hs');
  });

  test('webhook caBundle and failurePolicy written by istiod are not drift', () => {
    const ignore: any = yaml.load(values.configs.cm['resource.customizations.ignoreDifferences.all']);
    expect(ignore.jqPathExpressions).toEqual(['.webhooks[]?.clientConfig.caBundle', '.webhooks[]?.failurePolicy']);
    for (const name of ['istio-base', 'istiod']) expect(lab.app(name).spec.syncPolicy.syncOptions).toContain('RespectIgnoreDifferences=true');
  });

  test('notifications: the guide\'s URL, templates, triggers and subscription; the token only by reference', () => {
    const n = values.notifications;
    expect(n.enabled).toBe(true);
    expect(n.argocdUrl).toBe('https://argocd.k-tech.cloud');
    expect(n.secret).toEqual({ create: false, name: 'argocd-notifications-secret' });
    expect(n.secret.items).toBeUndefined();
    expect(n.notifiers['service.slack']).toBe('token: $slack-token');
    expect(lab.get('ExternalSecret', 'argocd-notifications-secret', 'argocd').spec.data).toEqual([{ secretKey: 'slack-token', remoteRef: { key: 'argocd-notifications-slack-token' } }]);
    expect(lab.wave('argo-cd')).toBeGreaterThan(lab.wave('secrets'));

    expect(Object.keys(n.templates).sort()).toEqual(['template.app-health-degraded', 'template.app-sync-failed', 'template.app-sync-running', 'template.app-sync-succeeded']);
    expect(Object.keys(n.triggers).sort()).toEqual(['trigger.on-health-degraded', 'trigger.on-sync-failed', 'trigger.on-sync-running', 'trigger.on-sync-succeeded']);
    expect(yaml.load(n.triggers['trigger.on-sync-failed'])).toEqual([{ when: "app.status.operationState.phase in ['Error','Failed']", send: ['app-sync-failed'] }]);
    expect(yaml.load(n.triggers['trigger.on-sync-succeeded'])).toEqual([{ when: "app.status.operationState.phase == 'Succeeded' && app.status.health.status == 'Healthy'", send: ['app-sync-succeeded'] }]);
    // Every trigger sends a template that exists.
    for (const t of Object.values<string>(n.triggers)) {
      for (const rule of yaml.load(t) as any[]) for (const s of rule.send) expect(n.templates[`template.${s}`]).toBeDefined();
    }
    expect(n.subscriptions).toEqual([{ recipients: ['slack:devops'], triggers: ['on-health-degraded', 'on-sync-running', 'on-sync-succeeded', 'on-sync-failed'] }]);
  });

  test('each template carries the guide\'s fields and is a Slack attachment once rendered', () => {
    const fields = (name: string) => {
      const t: any = yaml.load(values.notifications.templates[`template.${name}`]);
      // The notifications controller renders Go templates first; emulate with a placeholder per action.
      const rendered = t.slack.attachments.replace(/\{\{[^}]*\}\}/g, 'x');
      return JSON.parse(rendered)[0].fields.map((f: any) => f.title);
    };
    expect(fields('app-health-degraded')).toEqual(['Sync Status', 'Health', 'Repository', 'Argo CD']);
    expect(fields('app-sync-running')).toEqual(['Sync Status', 'Repository', 'Argo CD']);
    expect(fields('app-sync-succeeded')).toEqual(['Sync Status', 'Health', 'Repository', 'Revision', 'Argo CD']);
    expect(fields('app-sync-failed')).toEqual(['Phase', 'Health', 'Repository', 'Message', 'Argo CD']);
    expect(values.notifications.templates['template.app-sync-failed']).toContain('{{ .app.status.operationState.message | default "N/A" }}');
  });

  test('argocd.<domain>: TLS passes through to argocd-server, which serves the Certificate\'s secret', () => {
    const ing = lab.get('Ingress', 'argocd', 'argocd');
    expect(ing.metadata.annotations).toEqual({
      'nginx.ingress.kubernetes.io/ssl-passthrough': 'true',
      'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS',
    });
    expect(JSON.stringify(ing)).not.toContain('letsencrypt-prod');
    expect(ing.spec.tls).toEqual([{ hosts: ['argocd.k-tech.cloud'], secretName: 'argocd-server-tls' }]);
    expect(ing.spec.rules[0].http.paths).toEqual([{ path: '/', pathType: 'Prefix', backend: { service: { name: 'argocd-server', port: { name: 'https' } } } }]);
    const cert = lab.get('Certificate', 'argocd-server-tls', 'argocd');
    expect(cert.spec).toMatchObject({ secretName: 'argocd-server-tls', dnsNames: ['argocd.k-tech.cloud'], issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } });
    // The endpoint is the argo-cd Application's own folder, synced after cert-manager (its CRD and issuers).
    expect(lab.in('argo-cd').map((f) => f.manifest.kind).sort()).toEqual(['Certificate', 'Ingress', 'PodMonitor', 'PodMonitor', 'PodMonitor', 'PodMonitor']);
    expect(lab.wave('argo-cd')).toBeGreaterThan(lab.wave('cert-manager'));
    // ingress-nginx ignores ssl-passthrough unless started with the flag.
    expect(lab.values('ingress-nginx').controller.extraArgs).toEqual({ 'enable-ssl-passthrough': 'true' });
    // The backend is the Service the argo-cd chart renders, port https included; the union checks it.
    const server = labPlatform().argoCd!.appliedManifests.find((m) => m.kind === 'Service' && m.metadata.name === 'argocd-server') as any;
    expect(server.spec.ports).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'https', port: 443 })]));
    expect(unionViolations().filter((v) => v.file.startsWith('argo-cd/'))).toEqual([]);
  });

  test('no component waits for Argo CD by accident: its CRDs are installed by bootstrap/, before any wave', () => {
    const platform = labPlatform();
    const argo = platform.argoCd!;
    // The chart does install CRDs (Application, AppProject, ApplicationSet) ...
    expect(argo.appliedManifests.filter((m) => m.kind === 'CustomResourceDefinition').map((m: any) => m.spec.names.kind).sort())
      .toEqual(['AppProject', 'Application', 'ApplicationSet']);
    // ... and bootstrap/argo-cd/install.yaml applies them by hand, so nothing is synced after argo-cd.
    expect(lab.in('bootstrap').filter((f) => f.manifest.kind === 'CustomResourceDefinition').map((f) => f.path))
      .toEqual(['bootstrap/argo-cd/install.yaml', 'bootstrap/argo-cd/install.yaml', 'bootstrap/argo-cd/install.yaml']);
    expect([...platform.dependencies].filter(([, deps]) => deps.includes(argo)).map(([c]) => c.name)).toEqual([]);
  });

  test('RBAC from config lands in argocd-rbac-cm values; none by default', () => {
    expect(values.configs.rbac).toBeUndefined();
    const files = renderFiles(buildPlatform(composePlatform(labConfig((raw) => {
      raw.argocd.rbac = { defaultPolicy: 'role:readonly', policyCsv: ['p, role:org-admin, applications, *, */*, allow'] };
    }))));
    const v: any = files.find((f) => f.path === 'apps/application-argo-cd-lab.yaml')!.manifest;
    expect(v.spec.sources[0].helm.valuesObject.configs.rbac).toEqual({ 'policy.default': 'role:readonly', 'policy.csv': 'p, role:org-admin, applications, *, */*, allow\n' });
    expect(() => labConfig((raw) => { raw.argocd.rbac = { defaultPolicy: 'role:readonly', policyCsv: ['allow everything'] }; })).toThrow(/argocd\.rbac\.policyCsv\.0/);
  });
});

describe('GitHub SSO (optional)', () => {
  const sso = render(labConfig((r) => { r.argocd.githubSso = { clientId: 'Ov23liExampleClient', orgs: ['k-tech'] }; }));

  test('off by default: no Dex connector and no client secret', () => {
    const cm = render().values('argo-cd').configs.cm;
    expect(cm['dex.config']).toBeUndefined();
    expect(() => render().get('ExternalSecret', 'argocd-dex-github', 'argocd')).toThrow();
  });

  test('Dex logs in members of the configured organizations; the client secret is only a reference', () => {
    const cm = sso.values('argo-cd').configs.cm;
    expect(yaml.load(cm['dex.config'])).toEqual({
      connectors: [{
        type: 'github', id: 'github', name: 'GitHub',
        config: { clientID: 'Ov23liExampleClient', clientSecret: '$argocd-dex-github:clientSecret', orgs: [{ name: 'k-tech' }] },
      }],
    });
    // Argo CD resolves $secret:key only in Secrets labelled part-of argocd.
    const es = sso.get('ExternalSecret', 'argocd-dex-github', 'argocd');
    expect(es.spec.target.template).toEqual({ metadata: { labels: { 'app.kubernetes.io/part-of': 'argocd' } } });
    expect(es.spec.data).toEqual([{ secretKey: 'clientSecret', remoteRef: { key: 'argocd-github-oauth-client-secret' } }]);
  });
});
