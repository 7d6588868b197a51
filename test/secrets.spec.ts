import { composePlatform } from '../charts/platform';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdk8s';
import { SecretsChart } from '../charts/secrets';
import { HelmComponent, ManifestComponent } from '../lib/component';
import { ConfigError } from '../lib/config';
import { findLeaks } from '../lib/leaks';
import { REGISTRY_CREDENTIALS, secretConsumers, usedSecrets } from '../lib/secrets';
import { GRAFANA_ADMIN } from '../charts/kube-prometheus-stack';
import { Composition } from '../lib/platform';
import { componentsOf } from '../lib/component';
import { labConfig, render, Rendered, synthesizedGitops } from './helpers';

const ROOT = path.join(__dirname, '..');
const lab = render();
const config = labConfig();
/** Obviously fake kubeseal-shaped ciphertext: "Ag" and a run of one letter. */
const FAKE_SEALED = `Ag${'B'.repeat(300)}`;

function sealedConfig(change?: (encrypted: any) => void) {
  return labConfig((r) => {
    const encryptedData: any = {};
    for (const d of usedSecrets(lab.platform!.app)) {
      encryptedData[d.name] = Object.fromEntries(d.namespaces.map((ns) => [ns, Object.fromEntries(Object.keys(d.keys).map((k) => [k, FAKE_SEALED]))]));
    }
    change?.(encryptedData);
    r.secrets = { backend: 'sealed-secrets', namespace: 'kube-system', chartVersion: '2.18.0', encryptedData };
  });
}

describe('declared secrets, External Secrets backend (default)', () => {
  test('every secret of the guide is written in the namespaces that use it, and only there', () => {
    const byName = Object.fromEntries(usedSecrets(lab.platform!.app).map((d) => [d.name, d]));
    // Jenkins pushes with it, the workloads pull with it; nothing in istio-system pulls from Harbor.
    expect(byName['docker-config-secret'].namespaces).toEqual(['default', 'devops-tools']);
    expect(byName['docker-config-secret'].type).toBe('kubernetes.io/dockerconfigjson');
    expect(byName['jenkins-metrics-basic-auth'].namespaces).toEqual(['monitoring']);
    expect(byName['tempo-azure-credentials'].namespaces).toEqual(['observability']);
    expect(byName['argocd-notifications-secret'].namespaces).toEqual(['argocd']);
    expect(byName['alertmanager-slack'].namespaces).toEqual(['monitoring']);
    expect(byName['grafana-admin'].namespaces).toEqual(['monitoring']);
    expect(Object.keys(byName['harbor-secrets'].keys)).toContain('HARBOR_ADMIN_PASSWORD');
  });

  test('one ExternalSecret per secret and namespace, behind the Key Vault ClusterSecretStore', () => {
    const expected = usedSecrets(lab.platform!.app).flatMap((d) => d.namespaces.map((ns) => `${ns}/${d.name}`)).sort();
    const actual = lab.all('ExternalSecret').map((m) => `${m.metadata.namespace}/${m.metadata.name}`).sort();
    expect(actual).toEqual(expected);
    for (const m of lab.all('ExternalSecret') as any[]) {
      expect(m.apiVersion).toBe('external-secrets.io/v1');
      expect(m.spec.secretStoreRef).toEqual({ kind: 'ClusterSecretStore', name: 'azure-key-vault' });
      expect(m.spec.target.name).toBe(m.metadata.name);
    }
  });

  test('the registry credential is a dockerconfigjson Secret', () => {
    const es = lab.get('ExternalSecret', 'docker-config-secret', 'devops-tools');
    expect(es.spec.target.template).toEqual({ type: 'kubernetes.io/dockerconfigjson' });
    expect(es.spec.data).toEqual([{ secretKey: '.dockerconfigjson', remoteRef: { key: 'harbor-dockerconfigjson' } }]);
  });

  test('the store reads Key Vault with workload identity, as config says', () => {
    const store = lab.get('ClusterSecretStore', 'azure-key-vault');
    expect(store.spec.provider.azurekv).toEqual({
      authType: 'WorkloadIdentity',
      vaultUrl: 'https://kv-k-tech-platform.vault.azure.net/',
      tenantId: '00000000-0000-0000-0000-000000000000',
      serviceAccountRef: { name: 'external-secrets', namespace: 'external-secrets' },
    });
    const values = lab.values('external-secrets');
    expect(values.serviceAccount).toEqual({ name: 'external-secrets', annotations: { 'azure.workload.identity/client-id': '00000000-0000-0000-0000-000000000000' } });
    expect(values.podLabels).toEqual({ 'azure.workload.identity/use': 'true' });
  });

  test('the operator comes before the secrets, the secrets before their consumers', () => {
    expect(lab.wave('secrets')).toBeGreaterThan(lab.wave('external-secrets'));
    expect(lab.wave('secrets')).toBeGreaterThan(lab.wave('namespaces'));
    expect(lab.wave('harbor')).toBeGreaterThan(lab.wave('secrets'));
  });

  test('Harbor reads its admin password and generated secrets from declared secrets', () => {
    const v = lab.values('harbor');
    expect(v.harborAdminPassword).toBeUndefined();
    expect(v.existingSecretAdminPassword).toBe('harbor-secrets');
    expect(v.core.secretName).toBe('harbor-core-token');
    for (const name of [v.existingSecretAdminPassword, v.existingSecretSecretKey, v.core.existingSecret, v.jobservice.existingSecret, v.registry.existingSecret, v.registry.credentials.existingSecret, v.core.secretName]) {
      expect(lab.get('ExternalSecret', name, 'devops-tools').spec.target.name).toBe(name);
    }
  });

  test('no Secret object with a value, and no secret value, is rendered', () => {
    // The only Secret written is the empty argocd-secret of Argo CD's bootstrap installation (Argo CD fills it).
    const secrets = lab.files.filter((f) => f.manifest.kind === 'Secret');
    expect(secrets.map((f) => `${f.path} ${f.manifest.metadata.name}`)).toEqual(['bootstrap/argo-cd/install.yaml argocd-secret']);
    for (const f of secrets) expect(Object.keys(f.manifest).filter((k) => ['data', 'stringData'].includes(k))).toEqual([]);
    expect(findLeaks(lab.files)).toEqual([]);
  });
});

/**
 * A composed, unrendered platform's own files (what its folder components write). The sealed-secrets chart
 * is named by no config/*.yaml, so it is not vendored and cannot be rendered offline (`npm run vendor`
 * fetches it once an environment uses it); what these tests check needs no render.
 */
function composed(c: Composition): Rendered {
  // AuthorizationPolicies are left out: a public workload's names the ingress gateway's principal, which is
  // read from the gateway chart's render (charts/mesh-security.ts).
  return new Rendered(componentsOf(c.app).filter((x) => x.kind === 'manifests')
    .flatMap((x) => x.apiObjects.filter((o) => o.kind !== 'AuthorizationPolicy').map((o) => ({ path: `${x.name}/${o.kind.toLowerCase()}-${o.metadata.name}.yaml`, manifest: o.toJson() }))));
}

describe('Sealed Secrets backend', () => {
  const composition = composePlatform(sealedConfig());
  const sealed = composed(composition);

  test('switching the backend switches every secret', () => {
    expect(sealed.all('ExternalSecret')).toEqual([]);
    expect(sealed.all('ClusterSecretStore')).toEqual([]);
    expect(sealed.all('SealedSecret').length).toBe(lab.all('ExternalSecret').length);
    const names = componentsOf(composition.app).map((c) => c.name);
    expect(names).not.toContain('external-secrets');
    const controller = componentsOf(composition.app).find((c) => c.name === 'sealed-secrets') as HelmComponent<object>;
    expect(controller.kind).toBe('helm');
    expect(controller.source).toEqual({ repoURL: 'https://bitnami-labs.github.io/sealed-secrets', chart: 'sealed-secrets', version: '2.18.0' });
    expect(controller.targetNamespace).toBe('kube-system');
    // The secrets are synced after the controller that decrypts them.
    expect(componentsOf(composition.app).find((c) => c.name === 'secrets')!.declaredDependencies).toContain(controller);
  });

  test('a SealedSecret carries ciphertext and the target type', () => {
    const s = sealed.get('SealedSecret', 'docker-config-secret', 'devops-tools');
    expect(s.spec.encryptedData).toEqual({ '.dockerconfigjson': FAKE_SEALED });
    expect(s.spec.template).toEqual({ metadata: { name: 'docker-config-secret', namespace: 'devops-tools' }, type: 'kubernetes.io/dockerconfigjson' });
  });

  test('plaintext is refused', () => {
    expect(() => sealedConfig((e) => { e['grafana-admin'].monitoring['admin-password'] = 'hunter2-hunter2'; }))
      .toThrow(/secrets\.encryptedData\.grafana-admin\.monitoring\.admin-password: must be ciphertext made by `kubeseal --raw`/);
  });

  test('a missing ciphertext names the secret, namespace and key, and how to make it', () => {
    const c = sealedConfig((e) => { delete e['tempo-azure-credentials']; });
    expect(() => composePlatform(c)).toThrow(/secrets\.encryptedData\.tempo-azure-credentials\.observability\.STORAGE_ACCOUNT_ACCESS_KEY: missing; seal it with `kubeseal --raw --namespace observability --name tempo-azure-credentials`/);
  });

  test('a sealed-secrets problem is a config error naming the file, and quotes keys with dots', () => {
    const c = sealedConfig((e) => { delete e['docker-config-secret'].default['.dockerconfigjson']; });
    expect(() => composePlatform(c)).toThrow(ConfigError);
    expect(() => composePlatform(c)).toThrow(/^config\/lab\.yaml: invalid platform config\n  - secrets\.encryptedData\.docker-config-secret\.default\["\.dockerconfigjson"\]: missing/);
  });

  test('ciphertext for an undeclared secret is refused', () => {
    const c = sealedConfig((e) => { e.stray = { default: { x: FAKE_SEALED } }; });
    expect(() => composePlatform(c)).toThrow(/secrets\.encryptedData\.stray: no component of this environment uses such a secret/);
  });
});

describe('consumers', () => {
  function chart() {
    const app = new App();
    const backend = new ManifestComponent(app, 'backend', { namespace: 'external-secrets' });
    return { app, secrets: new SecretsChart(app, { config: config.secrets, file: config.file, backend }) };
  }

  test('a secret is written only where it is used, once per namespace', () => {
    const { app, secrets } = chart();
    const web = new ManifestComponent(app, 'web', { namespace: 'web' });
    const api = new ManifestComponent(app, 'api', { namespace: 'api' });
    secrets.use(web, REGISTRY_CREDENTIALS, 'web');
    secrets.use(api, REGISTRY_CREDENTIALS, 'api');
    secrets.use(api, REGISTRY_CREDENTIALS, 'api');
    secrets.writeSecrets(app);
    const written = secrets.apiObjects.filter((o) => o.kind === 'ExternalSecret').map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    expect(written.sort()).toEqual(['api/docker-config-secret', 'web/docker-config-secret']);
  });

  test('an unused secret is not written; one name declared two ways is refused', () => {
    const { app, secrets } = chart();
    const web = new ManifestComponent(app, 'web', { namespace: 'web' });
    secrets.use(web, REGISTRY_CREDENTIALS, 'web');
    secrets.use(web, { ...REGISTRY_CREDENTIALS, keys: { token: 'other' } }, 'web2');
    expect(() => secrets.writeSecrets(app)).toThrow(/secret "docker-config-secret" is declared differently by web and web/);
  });

  test('a use after the secrets were written is refused', () => {
    const { app, secrets } = chart();
    secrets.writeSecrets(app);
    const late = new ManifestComponent(app, 'late', { namespace: 'late' });
    expect(() => secrets.use(late, REGISTRY_CREDENTIALS, 'late')).toThrow(/late uses secret "docker-config-secret" after the secrets were written/);
  });

  test('an unknown key is refused; a use orders the consumer after the secrets', () => {
    const { app, secrets } = chart();
    const consumer = new ManifestComponent(app, 'grafana', { namespace: 'monitoring' });
    const ref = secrets.use(consumer, GRAFANA_ADMIN, 'monitoring');
    expect(ref.key('admin-password')).toBe('admin-password');
    expect(() => ref.key('password')).toThrow(/has only admin-user, admin-password/);
    expect(consumer.declaredDependencies).toContain(secrets);
    expect(secretConsumers(app)).toEqual([{ secret: 'grafana-admin', namespace: 'monitoring', consumer: 'grafana' }]);
  });
});

describe('synth refuses leaks', () => {
  const app = (values: unknown) => ({ path: 'apps/application-x.yaml', manifest: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'x', namespace: 'argocd' }, spec: { source: { helm: { valuesObject: values } } } } as any });

  test('a Secret with data', () => {
    const leaks = findLeaks([{ path: 'x/secret-db.yaml', manifest: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'x' }, data: { password: 'aHVudGVyMg==' } } as any }]);
    expect(leaks).toEqual([{ file: 'x/secret-db.yaml', object: 'Secret x/db (x/secret-db.yaml)', field: 'data', reason: expect.stringContaining('declare it where its component uses it (SecretsChart.use()) instead') }]);
  });

  test('a Helm value under a credential key', () => {
    const leaks = findLeaks([app({ harborAdminPassword: 'Harbor12345', core: { secret: 'abcdefghijklmnop' }, grafana: { adminPassword: 'prom-operator' } })]);
    expect(leaks.map((l) => l.field)).toEqual([
      'spec.source.helm.valuesObject.harborAdminPassword',
      'spec.source.helm.valuesObject.core.secret',
      'spec.source.helm.valuesObject.grafana.adminPassword',
    ]);
    expect(leaks[0].object).toBe('Application argocd/x (apps/application-x.yaml)');
  });

  test('a Slack webhook or token anywhere', () => {
    const webhook = `https://hooks.slack.com/services/${'T0'.repeat(4)}/${'B0'.repeat(4)}/${'x'.repeat(24)}`;
    const leaks = findLeaks([
      app({ alertmanager: { config: { global: { slack_api_url: webhook } } } }),
      { path: 'm/configmap-c.yaml', manifest: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { url: webhook } } as any },
    ]);
    expect(leaks.map((l) => l.reason)).toEqual([expect.stringContaining('IncomingWebhook (rule slack)'), expect.stringContaining('IncomingWebhook (rule slack)')]);
  });

  test('references are not leaks', () => {
    expect(findLeaks([app({
      existingSecretAdminPassword: 'harbor-secrets',
      existingSecretAdminPasswordKey: 'HARBOR_ADMIN_PASSWORD',
      admin: { existingSecret: 'grafana-admin', userKey: 'admin-user', passwordKey: 'admin-password' },
      slack_configs: [{ api_url_file: '/etc/alertmanager/secrets/alertmanager-slack/webhook-url' }],
      storage: { accountKey: '${STORAGE_ACCOUNT_ACCESS_KEY}' },
      notifications: { secret: { create: false, name: 'argocd-notifications-secret' } },
    })])).toEqual([]);
  });
});

describe('gitops/ scanned by secretlint', () => {
  function secretlint(dir: string, ...options: string[]) {
    return spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'secretlint', 'bin', 'secretlint.js'), '--secretlintrc', path.join(ROOT, '.secretlintrc.json'), ...options, `${dir}/**/*`], { cwd: ROOT, encoding: 'utf8' });
  }

  test('a fresh synth holds no secret, and a credential planted beside it is found', () => {
    // gitops/ as synth wrote it (test/global-setup.ts), scanned by the secretlint CLI as CI runs it, in one
    // run with a planted credential, so that a scan finding nothing at all cannot pass.
    const out = synthesizedGitops();
    const planted = path.join(out, 'planted', 'leak.yaml');
    fs.mkdirSync(path.dirname(planted));
    // Assembled at run time so the repo itself holds no token-shaped string.
    fs.writeFileSync(planted, `token: ${['xoxb', '123456789012', '1234567890123', 'AbCdEfGhIjKlMnOpQrStUvWx'].join('-')}\n`);
    // The unix format: a line per finding, `<file>:<line>:<column>: [<id>] ...`, never coloured (the default
    // format underlines file names when the terminal has colours).
    const r = secretlint(out, '--format', 'unix');
    expect(r.stderr).toBe('');
    expect(r.status).not.toBe(0);
    const findings = r.stdout.split('\n').filter((l) => l.startsWith(`${out}${path.sep}`)).map((l) => l.replace(/:\d+:\d+: \[(\w+)\].*$/, ' $1'));
    expect(findings).toEqual([`${planted} SLACK_TOKEN`]);
  });
});

test('ConfigError is what a bad sealed config raises', () => {
  expect(() => sealedConfig((e) => { e['grafana-admin'].monitoring['admin-password'] = 'x'; })).toThrow(ConfigError);
});
