// The one leak scan (lib/leaks.ts): every place a secret can reach gitops/, through the paths that put it
// there (config -> synth, a hand edit -> `npm run validate`, the cdk8s plugin), and no message that shows
// the secret it found. Every token below is assembled at run time, so the repo itself holds none.
import { composePlatform } from '../charts/platform';
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ConfigError, parseConfig } from '../lib/config';
import { findLeaks, LeakError, LeakInput, leakViolations, withoutSecrets } from '../lib/leaks';
import { buildPlatform, renderFiles } from '../lib/platform';
import { MessagePort } from 'worker_threads';
import { usedSecrets } from '../lib/secrets';
import { renderPlatformFiles, validateCdk8sManifests } from '../lib/synth';
import { Violation } from '../lib/validation';
import { labConfig, labPlatform, labRaw, render, tempDir } from './helpers';
import { run, synthesizedGitops } from './commands';

const ROOT = path.join(__dirname, '..');
// Every scan in this file is a real one: no clean object is taken from dist/leak-cache.json.
let leakCacheSetting: string | undefined;
beforeAll(() => {
  leakCacheSetting = process.env.PLATFORM_LEAK_CACHE;
  process.env.PLATFORM_LEAK_CACHE = 'off';
});
afterAll(() => {
  if (leakCacheSetting === undefined) delete process.env.PLATFORM_LEAK_CACHE;
  else process.env.PLATFORM_LEAK_CACHE = leakCacheSetting;
});

const GITHUB_TOKEN = ['ghp', 'R7nQ2xLp9KmW4vT8sY3bZ6cH1jF5dG0aE2uI'].join('_');
const SLACK_WEBHOOK = ['https://hooks.slack.com/services', 'T04ZK8QW2', 'B05HJ3L7M9P', 'Xq7vK2mN9pR4sT6wY8zA1bC3'].join('/');
const PASSWORD = 'hunter2-Hunter2-xyzzy';
const URL_PASSWORD = 'Tr0ub4dor-and-3';
const URL_WITH_PASSWORD = `https://deploy:${URL_PASSWORD}@github.com/kangbock/msa_deploy.git`;
const QUERY_TOKEN = ['S3cr3t', 'Pa55wd', 'q7Lm'].join('');
const SHORT_PASSWORD = ['letmein', 'now'].join('-');
const WORDY_BEARER = ['opensesame', 'letmein'].join('-');
const BASIC_CREDENTIAL = Buffer.from(`admin:${PASSWORD}`).toString('base64');
const BEARER_TOKEN = ['a8f5f167f44f', '4964e6c998de', 'e827110cQx'].join('');
/** Every secret planted in this file: none may ever show in a message. */
const PLANTED = [GITHUB_TOKEN, SLACK_WEBHOOK, PASSWORD, URL_PASSWORD, 'xyzzy-plaintext-S3cret', QUERY_TOKEN, SHORT_PASSWORD, WORDY_BEARER, BASIC_CREDENTIAL, BEARER_TOKEN];

function expectNoSecretIn(text: string): void {
  for (const s of PLANTED) expect(text).not.toContain(s);
  // Not a part of a planted secret either (a message cut at 60 characters would still show one).
  for (const s of PLANTED) expect(text).not.toContain(s.slice(0, 12));
}

const messagesOf = (vs: readonly Violation[]) => vs.map((v) => `${v.file} ${v.object} ${v.field} ${v.message} ${v.fix}`).join('\n');

const application = (source: Record<string, unknown>): LeakInput => ({
  path: 'apps/application-x.yaml',
  manifest: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'x', namespace: 'argocd' }, spec: { source } },
});
const values = (v: unknown) => application({ repoURL: 'https://charts.example.com', chart: 'x', targetRevision: '1.0.0', helm: { valuesObject: v } });
const fields = (leaks: { field: string }[]) => leaks.map((l) => l.field).sort();

/** The error synth raises for a config, before anything is written. */
function synthError(change: (raw: any) => void): Error {
  const platform = buildPlatform(composePlatform(labConfig(change)));
  try {
    renderPlatformFiles(platform);
  } catch (e) {
    return e as Error;
  }
  throw new Error('synth accepted the config');
}

/** The error config gives for `url` as deployRepo.url, or undefined when it accepts it. */
function deployRepoError(url: string): Error | undefined {
  try {
    labConfig((raw) => { raw.deployRepo.url = url; });
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

describe('leak places', () => {
  test('annotations: a password, a token and a webhook in pod and Service annotations stop synth', () => {
    const e = synthError((raw) => {
      raw.apps.workloads.nginx.podAnnotations = { 'db-password': PASSWORD, 'example.com/notify': SLACK_WEBHOOK };
      raw.apps.workloads['login-js'].serviceAnnotations = { 'example.com/deploy-token-for-ci': GITHUB_TOKEN };
    });
    expect(e).toBeInstanceOf(LeakError);
    const leaks = (e as LeakError).leaks.map((l) => `${l.object} ${l.field}`).sort();
    expect(leaks).toEqual([
      'Deployment default/nginx (lab/workloads/deployment-nginx.yaml) spec.template.metadata.annotations.db-password',
      'Deployment default/nginx (lab/workloads/deployment-nginx.yaml) spec.template.metadata.annotations["example.com/notify"]',
      'Service default/login-js-service (lab/workloads/service-login-js-service.yaml) metadata.annotations["example.com/deploy-token-for-ci"]',
    ]);
    const reason = (suffix: string) => (e as LeakError).leaks.find((l) => l.field.endsWith(suffix))!.reason;
    expect(reason('.db-password')).toMatch(/literal value under an annotation that names a credential \("db-password"\)/);
    expect(reason('["example.com/notify"]')).toMatch(/secretlint reports as IncomingWebhook \(rule slack\)/);
    expect(reason('["example.com/deploy-token-for-ci"]')).toMatch(/GITHUB_TOKEN \(rule github\)/);
    expect(e.message).toMatch(/refusing to write secret material to gitops\/: 3 leaks \(values not shown\)/);
    expect(e.message).toContain('fix: ');
    expectNoSecretIn(e.message);
  });

  test('annotations that name a Secret, and harmless ones, are not leaks', () => {
    expect(findLeaks([{
      path: 'x/ingress-a.yaml',
      manifest: {
        apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'a', namespace: 'x', annotations: {
          'nginx.ingress.kubernetes.io/auth-secret': 'monitoring-basic-auth',
          'nginx.ingress.kubernetes.io/auth-tls-secret': 'x/ca-secret',
          'sealedsecrets.bitnami.com/managed': 'true',
          'prometheus.io/scrape': 'true',
        } },
      },
    }])).toEqual([]);
  });

  test('labels: a literal under a credential key and a token as a label value', () => {
    const leaks = findLeaks([{
      path: 'x/configmap-c.yaml',
      manifest: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'x', labels: { 'api-token': 'x9Kq2LmP7wZ', build: GITHUB_TOKEN, app: 'c' } } },
    }]);
    expect(fields(leaks)).toEqual(['metadata.labels.api-token', 'metadata.labels.build']);
    expect(leaks.find((l) => l.field.endsWith('api-token'))!.reason).toMatch(/under a label that names a credential/);
    expectNoSecretIn(JSON.stringify(leaks));
  });

  test('URL user info: config refuses a credential in deployRepo.url, and names the field only', () => {
    for (const url of [URL_WITH_PASSWORD, `https://${GITHUB_TOKEN}@github.com/kangbock/msa_deploy.git`, `ssh://git:${URL_PASSWORD}@github.com/kangbock/msa_deploy.git`]) {
      const error = deployRepoError(url);
      expect(error).toBeInstanceOf(ConfigError);
      expect(error!.message).toMatch(/deployRepo\.url: must not carry a credential/);
      expect(error!.message).toContain('argocd repo add');
      expectNoSecretIn(error!.message);
    }
    // A user name alone is no credential: ssh's `git@`.
    expect(labConfig((raw) => { raw.deployRepo.url = 'ssh://git@github.com/kangbock/msa_deploy.git'; }).deployRepo.url).toBe('ssh://git@github.com/kangbock/msa_deploy.git');
    expect(labConfig((raw) => { raw.deployRepo.url = 'git@github.com:kangbock/msa_deploy.git'; }).deployRepo.url).toBe('git@github.com:kangbock/msa_deploy.git');
  });

  test('URL user info: a password in any URL of any object or text file, whatever its scheme and alphabet', () => {
    const leaks = findLeaks([
      application({ repoURL: URL_WITH_PASSWORD, path: 'gitops/lab', targetRevision: 'main' }),
      { path: 'x/configmap-db.yaml', manifest: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'db', namespace: 'x' }, data: { DATABASE_URL: `postgres://app:${URL_PASSWORD}%21@db.example.com:5432/app` } } },
      { path: 'README.md', text: `# Environment\n\n| repo | ${URL_WITH_PASSWORD} |\n` },
    ]);
    expect(leaks.map((l) => `${l.file} ${l.field}`).sort()).toEqual([
      'README.md line 3',
      'apps/application-x.yaml spec.source.repoURL',
      'x/configmap-db.yaml data.DATABASE_URL',
    ]);
    expect(leaks.every((l) => /password in the user info of a URL/.test(l.reason))).toBe(true);
    expectNoSecretIn(JSON.stringify(leaks));
    // References and placeholders are not credentials.
    expect(findLeaks([values({ url: 'https://$(USER):$(PASSWORD)@example.com/x', other: 'ssh://git@github.com/x.git', plain: 'https://github.com/x.git' })])).toEqual([]);
  });

  test('URL query: a credential parameter is refused in deployRepo.url and found in any URL of any object or text file', () => {
    for (const url of [`https://github.com/kangbock/msa_deploy.git?access_token=${QUERY_TOKEN}`, `git@github.com:kangbock/msa_deploy.git?password=${QUERY_TOKEN}`]) {
      const error = deployRepoError(url);
      expect(error).toBeInstanceOf(ConfigError);
      expect(error!.message).toMatch(/deployRepo\.url: must not carry a credential/);
      expectNoSecretIn(error!.message);
    }
    const leaks = findLeaks([
      application({ repoURL: `https://github.com/kangbock/msa_deploy.git?ref=main&access_token=${QUERY_TOKEN}`, path: 'gitops/lab', targetRevision: 'main' }),
      { path: 'x/configmap-q.yaml', manifest: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'q', namespace: 'x' }, data: { BLOB: `https://acct.blob.core.windows.net/c?sv=2022-11-02&X-Amz-Signature=${QUERY_TOKEN}` } } },
      { path: 'README.md', text: `# Environment\n\nsee <https://api.example.com/v1/x?api_key=${QUERY_TOKEN}>\n` },
    ]);
    expect(leaks.map((l) => `${l.file} ${l.field}`).sort()).toEqual([
      'README.md line 3',
      'apps/application-x.yaml spec.source.repoURL',
      'x/configmap-q.yaml data.BLOB',
    ]);
    expect(leaks.find((l) => l.file === 'README.md')!.reason).toMatch(/a credential in the query of a URL \(parameter "api_key"\)/);
    expect(leaks.every((l) => /credential in the query of a URL/.test(l.reason))).toBe(true);
    expectNoSecretIn(JSON.stringify(leaks));
    // References, placeholders, empty values and parameters that are no credential.
    expect(findLeaks([values({ a: 'https://x.example.com/y?token=${TOKEN}&key=', b: 'https://x.example.com/y?page_token=abc123&ref=main', c: 'https://x.example.com/y?auth=true&sig={signature}' })])).toEqual([]);
  });

  test('credential keys: dbPass, example.com/pw and an auth that holds Bearer are literals; auth-type and auth-secret are not', () => {
    const e = synthError((raw) => {
      raw.apps.workloads.nginx.podAnnotations = {
        dbPass: PASSWORD,
        'example.com/pw': SHORT_PASSWORD,
        'example.com/auth': `Bearer ${WORDY_BEARER}`,
        'nginx.ingress.kubernetes.io/auth-type': 'basic',
        'nginx.ingress.kubernetes.io/auth-secret': 'monitoring-basic-auth',
        'nginx.ingress.kubernetes.io/auth-realm': 'Authentication Required',
        'example.com/bypass': 'cache-layer',
        'example.com/two-pass': 'enabled',
      };
    });
    expect(e).toBeInstanceOf(LeakError);
    expect((e as LeakError).leaks.map((l) => l.field).sort()).toEqual([
      'spec.template.metadata.annotations.dbPass',
      'spec.template.metadata.annotations["example.com/auth"]',
      'spec.template.metadata.annotations["example.com/pw"]',
    ]);
    expect((e as LeakError).leaks.find((l) => l.field.endsWith('dbPass'))!.reason).toMatch(/literal value under an annotation that names a credential \("dbPass"\)/);
    expectNoSecretIn(e.message);
  });

  test('embedded text: a shell script, an INI file and a YAML string anywhere are read for credential keys', () => {
    const leaks = findLeaks([
      {
        path: 'x/configmap-e.yaml',
        manifest: {
          apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'e', namespace: 'x' },
          data: {
            'setup.sh': `#!/bin/sh\nset -e\nexport DB_PASSWORD=${PASSWORD}\nexport DB_PASSWORD_FILE=/run/secrets/db\nexport API_TOKEN="$(cat /run/secrets/token)"\nexec app\n`,
            'db.ini': `[database]\nhost = db\npassword = ${SHORT_PASSWORD} ; the app's\nsecret_name = db-credentials\n`,
          },
        },
      },
      {
        path: 'x/deployment-e.yaml',
        manifest: {
          apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'e', namespace: 'x', annotations: { 'example.com/config': `db:\n  user: app\n  password: ${PASSWORD}\n` } },
          spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'APP_CONFIG', value: `db:\n  user: app\n  password: ${SHORT_PASSWORD}\n` }] }] } } },
        },
      },
    ]);
    expect(leaks.map((l) => `${l.file} ${l.field}`).sort()).toEqual([
      'x/configmap-e.yaml data["db.ini"] > password',
      'x/configmap-e.yaml data["setup.sh"] > DB_PASSWORD',
      'x/deployment-e.yaml metadata.annotations["example.com/config"] > db.password',
      'x/deployment-e.yaml spec.template.spec.containers[0].env[0].value > db.password',
    ]);
    expect(leaks.every((l) => /names a credential \("(DB_PASSWORD|password)"\) in an embedded file/.test(l.reason))).toBe(true);
    expectNoSecretIn(JSON.stringify(leaks));
  });

  test('HTTP Authorization: a Basic or Bearer credential in any string or text file, never a mention of one', () => {
    const leaks = findLeaks([
      {
        path: 'x/deployment-a.yaml',
        manifest: {
          apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'a', namespace: 'x' },
          spec: { template: { spec: { containers: [{ name: 'probe', args: ['-c', `curl -fsS -H "Authorization: Basic ${BASIC_CREDENTIAL}" http://grafana/api/health`] }] } } },
        },
      },
      values({ probe: { headers: [`Authorization: Bearer ${BEARER_TOKEN}`] } }),
      { path: 'README.md', text: `# Environment\n\n    curl -H 'Authorization: Bearer ${BEARER_TOKEN}' https://x\n` },
    ]);
    expect(leaks.map((l) => `${l.file} ${l.field}`).sort()).toEqual([
      'README.md line 3',
      'apps/application-x.yaml spec.source.helm.valuesObject.probe.headers[0]',
      'x/deployment-a.yaml spec.template.spec.containers[0].args[1]',
    ]);
    expect(leaks.find((l) => l.file === 'x/deployment-a.yaml')!.reason).toMatch(/an HTTP Authorization credential \("Basic <user:password in base64>"\)/);
    expectNoSecretIn(JSON.stringify(leaks));
    expect(findLeaks([values({
      a: 'basic auth protects the UI; Bearer tokens are read from /var/run/secrets/token',
      b: 'Authorization: Bearer $TOKEN', c: 'Authorization: Bearer ${TOKEN}', d: 'Authorization: Basic {{ .Values.auth }}',
      'auth-type': 'basic', authorization: 'bearer',
    })])).toEqual([]);
  });

  test('ConfigMap data: a credential key, a file that holds one, a token in a file', () => {
    const leaks = findLeaks([{
      path: 'monitoring/configmap-c.yaml',
      manifest: {
        apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'monitoring' },
        data: {
          DB_PASSWORD: PASSWORD,
          'alertmanager.yaml': `global:\n  resolve_timeout: 5m\n  smtp_auth_password: ${PASSWORD}\nreceivers:\n  - name: slack\n    slack_configs:\n      - api_url_file: /etc/alertmanager/secrets/alertmanager-slack/webhook-url\n`,
          'settings.json': JSON.stringify({ notify: { url: SLACK_WEBHOOK } }),
          'grafana.ini': '[security]\nadmin_password = $__file{/etc/secrets/admin-password}\n',
        },
      },
    }]);
    expect(fields(leaks)).toEqual(['data.DB_PASSWORD', 'data["alertmanager.yaml"] > global.smtp_auth_password', 'data["settings.json"]']);
    expect(leaks.find((l) => l.field === 'data.DB_PASSWORD')!.reason).toMatch(/under a ConfigMap key that names a credential/);
    expect(leaks.find((l) => l.field === 'data["settings.json"]')!.reason).toMatch(/IncomingWebhook/);
    expectNoSecretIn(JSON.stringify(leaks));
  });

  test('Helm value keys: literals under credential keys, also in annotations and env lists inside values', () => {
    const leaks = findLeaks([values({
      grafana: { adminPassword: PASSWORD },
      podAnnotations: { 'db-password': PASSWORD },
      extraEnv: [{ name: 'GF_SECURITY_ADMIN_PASSWORD', value: PASSWORD }, { name: 'GF_LOG_LEVEL', value: 'info' }],
      // References are not leaks.
      existingSecretAdminPassword: 'harbor-secrets',
      admin: { existingSecret: 'grafana-admin', passwordKey: 'admin-password' },
      storage: { accountKey: '${STORAGE_ACCOUNT_ACCESS_KEY}' },
      login_token: { signing_key: 'secret:kiali-login-signing-key:key' },
      alertmanagerSpec: { secrets: ['alertmanager-slack'] },
    })]);
    expect(fields(leaks)).toEqual([
      'spec.source.helm.valuesObject.extraEnv[0].value',
      'spec.source.helm.valuesObject.grafana.adminPassword',
      'spec.source.helm.valuesObject.podAnnotations.db-password',
    ]);
    expect(leaks[0].object).toBe('Application argocd/x (apps/application-x.yaml)');
    expectNoSecretIn(JSON.stringify(leaks));
  });

  test('Helm value strings: a token inside any string, and a values file given as text', () => {
    const leaks = findLeaks([
      values({ controller: { extraArgs: [`--github-token=${GITHUB_TOKEN}`] }, description: `ping ${SLACK_WEBHOOK} on failure` }),
      { ...application({ repoURL: 'https://charts.example.com', chart: 'y', targetRevision: '1.0.0', helm: { values: `auth:\n  password: ${PASSWORD}\n` } }), path: 'apps/application-y.yaml' },
    ]);
    expect(leaks.map((l) => `${l.file} ${l.field}`).sort()).toEqual([
      'apps/application-x.yaml spec.source.helm.valuesObject.controller.extraArgs[0]',
      'apps/application-x.yaml spec.source.helm.valuesObject.description',
      'apps/application-y.yaml spec.source.helm.values > auth.password',
    ]);
    expectNoSecretIn(JSON.stringify(leaks));
  });

  test('bootstrap/argo-cd/install.yaml: every document of the multi-document file is scanned', () => {
    const lab = render();
    const install = lab.files.filter((f) => f.path === 'bootstrap/argo-cd/install.yaml');
    expect(install.length).toBeGreaterThan(20);
    const tampered: LeakInput[] = lab.files.map((f) => {
      const m = f.manifest as any;
      if (f.path !== 'bootstrap/argo-cd/install.yaml') return f;
      if (m.kind === 'ConfigMap' && m.metadata.name === 'argocd-cm') return { path: f.path, manifest: { ...m, data: { ...m.data, 'admin.password': PASSWORD } } };
      if (m.kind === 'Secret' && m.metadata.name === 'argocd-secret') return { path: f.path, manifest: { ...m, stringData: { 'server.secretkey': PASSWORD } } };
      return f;
    });
    const leaks = findLeaks(tampered);
    expect(leaks.map((l) => `${l.file} ${l.object.replace(/ \(.*/, '')} ${l.field}`).sort()).toEqual([
      'bootstrap/argo-cd/install.yaml ConfigMap argocd/argocd-cm data["admin.password"]',
      'bootstrap/argo-cd/install.yaml Secret argocd/argocd-secret stringData',
    ]);
    expectNoSecretIn(JSON.stringify(leaks));
  });

  test('a key that is itself a credential is named without showing it', () => {
    const leaks = findLeaks([{ path: 'x/configmap-k.yaml', manifest: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'k', namespace: 'x', annotations: { [GITHUB_TOKEN]: 'x' } } } }]);
    expect(leaks).toHaveLength(1);
    expect(leaks[0].field).toBe('metadata.annotations["<redacted>"]');
    expect(leaks[0].reason).toMatch(/a key that is a credential secretlint reports as GITHUB_TOKEN/);
    expectNoSecretIn(JSON.stringify(leaks));
  });
});

describe('hostile input stays cheap and is still scanned', () => {
  const configMap = (data: Record<string, string>): LeakInput => ({ path: 'x/configmap-h.yaml', manifest: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'h', namespace: 'x' }, data } });

  test('an embedded "billion laughs" file is walked once per node, and its keys checked', () => {
    const levels = Array.from({ length: 9 }, (_, i) => `l${i + 1}: &l${i + 1} [${Array(9).fill(`*l${i}`).join(', ')}]`);
    const bomb = ['l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]', ...levels, `password: ${PASSWORD}`, ''].join('\n');
    const started = Date.now();
    expect(fields(findLeaks([configMap({ 'bomb.yaml': bomb })]))).toEqual(['data["bomb.yaml"] > password']);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('nesting deeper than any Kubernetes object neither overflows the stack nor hides a secret', () => {
    let deep: any = { password: PASSWORD, note: `see ${URL_WITH_PASSWORD}` };
    for (let i = 0; i < 20000; i++) deep = { a: deep };
    const leaks = findLeaks([values(deep), configMap({ 'deep.json': `${'['.repeat(20000)}"x"${']'.repeat(20000)}` })]);
    expect(leaks.map((l) => l.reason).join('\n')).toMatch(/"password"\), nested too deep to name its field/);
    expect(leaks.map((l) => l.reason).join('\n')).toMatch(/password in the user info of a URL/);
    expectNoSecretIn(JSON.stringify(leaks));
  });
});

describe('one scan for synth, npm run validate and the cdk8s plugin', () => {
  /** A fresh synth into a temporary folder, optionally under `cdk8s synth`. */
  async function synthInto(env: Record<string, string> = {}): Promise<string> {
    const out = tempDir();
    // The lab only: the scan is what is under test, and the other environments would only repeat it.
    const r = await run('synth', ['--config', path.join(ROOT, 'config', 'lab.yaml'), '--outdir', path.join(out, 'gitops'), '-q'], { env });
    // (stderr may say that it waited for another command's lock.)
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: expect.not.stringMatching(/error|failed/i) });
    return out;
  }

  /** Plants a secret into three written files: an annotation, an Application's URL, install.yaml. */
  function tamper(dir: string): void {
    const edit = (rel: string, change: (docs: any[]) => void) => {
      const file = path.join(dir, rel);
      const docs = yaml.loadAll(fs.readFileSync(file, 'utf8')) as any[];
      change(docs);
      fs.writeFileSync(file, docs.map((d) => yaml.dump(d, { lineWidth: -1 })).join('---\n'));
    };
    edit('workloads/deployment-nginx.yaml', ([d]) => { d.spec.template.metadata.annotations['db-password'] = PASSWORD; });
    edit('apps/application-workloads-lab.yaml', ([d]) => { d.spec.source.repoURL = URL_WITH_PASSWORD; });
    edit('bootstrap/argo-cd/install.yaml', (docs) => {
      const cm = docs.find((d) => d?.kind === 'ConfigMap' && d.metadata.name === 'argocd-notifications-cm');
      cm.data['service.slack'] = `token: ${GITHUB_TOKEN}\n`;
    });
  }

  test('npm run validate reports a leak in each edited file and never shows the value', async () => {
    // gitops/ as synth wrote it (test/global-setup.ts); the validate runs scan it for real here.
    const out = tempDir();
    synthesizedGitops(path.join(out, 'gitops'));
    const lab = path.join(out, 'gitops', 'lab');
    const validateLab = () => run('validate', ['--config', path.join(ROOT, 'config', 'lab.yaml'), '--outdir', path.join(out, 'gitops')]);
    const clean = await validateLab();
    expect(clean.status).toBe(0);
    tamper(lab);
    const r = await validateLab();
    expect(r.status).toBe(1);
    const output = r.stdout + r.stderr;
    expect(output).toMatch(/Deployment default\/nginx {2}spec\.template\.metadata\.annotations\.db-password {2}\[no-secret-data\]/);
    expect(output).toMatch(/Application argocd\/workloads-lab {2}spec\.source\.repoURL {2}\[no-secret-data\]/);
    expect(output).toMatch(/ConfigMap argocd\/argocd-notifications-cm {2}data\["service\.slack"\] {2}\[no-secret-data\]/);
    expectNoSecretIn(output);
  });

  test('the cdk8s plugin reports the same leaks in a manifest changed after synth', async () => {
    const cdk8sOut = path.join(tempDir(), 'cdk8s.out');
    await synthInto({ CDK8S_OUTDIR: cdk8sOut });
    const file = path.join(cdk8sOut, 'lab.k8s.yaml');
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('https://github.com/kangbock/msa_deploy.git');
    fs.writeFileSync(file, text.split('https://github.com/kangbock/msa_deploy.git').join(URL_WITH_PASSWORD));
    const cwd = process.cwd();
    process.chdir(ROOT);
    try {
      const r = validateCdk8sManifests(composePlatform, [file]);
      expect(r.revalidated).toBe(r.objects);
      const leaks = r.violations.filter((v) => v.rule === 'no-secret-data');
      expect(leaks.map((v) => v.file)).toEqual(expect.arrayContaining(['lab/apps/application-workloads-lab.yaml', 'lab/bootstrap/appproject-platform-lab.yaml']));
      expect(leaks.every((v) => /password in the user info of a URL/.test(v.message))).toBe(true);
      expectNoSecretIn(messagesOf(leaks));
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('no message shows a secret', () => {
  test('a sealed-secrets plaintext is refused by field, without echoing it', () => {
    const plaintext = 'xyzzy-plaintext-S3cret';
    let error: Error | undefined;
    try {
      labConfig((raw) => {
        const encryptedData: any = {};
        for (const d of usedSecrets(composePlatform(labConfig()).app)) {
          encryptedData[d.name] = Object.fromEntries(d.namespaces.map((ns) => [ns, Object.fromEntries(Object.keys(d.keys).map((k) => [k, `Ag${'B'.repeat(300)}`]))]));
        }
        encryptedData['grafana-admin'].monitoring['admin-password'] = plaintext;
        raw.secrets = { backend: 'sealed-secrets', namespace: 'kube-system', chartVersion: '2.18.0', encryptedData };
      });
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toMatch(/secrets\.encryptedData\.grafana-admin\.monitoring\.admin-password: must be ciphertext made by `kubeseal --raw`.*\(got a string of 22 characters; value not shown\)/);
    expectNoSecretIn(error!.message);
  });

  /** Every leaf of the lab config, as a path. */
  function leaves(o: any, at: (string | number)[] = []): (string | number)[][] {
    if (o === null || typeof o !== 'object') return [at];
    return Object.entries(o).flatMap(([k, v]) => leaves(v, [...at, Array.isArray(o) ? Number(k) : k]));
  }

  test.each([
    ['a token', GITHUB_TOKEN],
    ['a password', PASSWORD],
    ['a URL with a password', URL_WITH_PASSWORD],
  ])('a config error on any field never shows the value (%s)', (_, secret) => {
    const paths = leaves(labRaw());
    expect(paths.length).toBeGreaterThan(60);
    let refused = 0;
    for (const p of paths) {
      const raw = labRaw();
      let o = raw;
      for (const k of p.slice(0, -1)) o = o[k];
      o[p[p.length - 1]] = secret;
      try {
        parseConfig(yaml.dump(raw), 'config/lab.yaml');
      } catch (e) {
        refused++;
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as Error).message).toContain(p.slice(0, 2).join('.'));
        expectNoSecretIn((e as Error).message);
      }
    }
    // Most fields refuse such a value; the test would be empty if none did.
    expect(refused).toBeGreaterThan(paths.length / 2);
  });

  test('a token as a key of the config is masked in the error', () => {
    let error: Error | undefined;
    try {
      labConfig((raw) => { raw.harbor[GITHUB_TOKEN] = 'x'; });
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toMatch(/harbor: unknown field "<redacted>"/);
    expectNoSecretIn(error!.message);
  });

  test('other rules\' messages are masked where they quote a found value', () => {
    const files = [values({ prometheus: { url: `http://admin:${URL_PASSWORD}@prometheus:9090` }, grafana: { adminPassword: PASSWORD } })];
    const quoting: Violation[] = [
      { rule: 'service-reference', file: 'apps/application-x.yaml', object: 'Application argocd/x', field: 'spec.source.helm.valuesObject.prometheus.url', message: `URL http://admin:${URL_PASSWORD}@prometheus:9090 names no Service`, fix: 'point it at a Service' },
      { rule: 'schema', file: 'apps/application-x.yaml', object: 'Application argocd/x', field: 'spec.x', message: `"${PASSWORD}" is not an allowed value; nor is ${GITHUB_TOKEN}`, fix: 'use one of: a, b' },
    ];
    const masked = withoutSecrets([...quoting, ...leakViolations(files)], files);
    expect(masked).toHaveLength(4);
    expect(masked[0].message).toBe('URL http://admin:<redacted>@prometheus:9090 names no Service');
    expect(masked[1].message).toBe('"<redacted>" is not an allowed value; nor is <redacted>');
    expectNoSecretIn(messagesOf(masked));
  });
});

describe('the current lab', () => {
  test('passes: every object and text file synth writes', () => {
    const lab = render();
    expect(findLeaks(lab.files)).toEqual([]);
    const written = renderPlatformFiles(labPlatform());
    expect(findLeaks([...written].map(([p, text]) => ({ path: p, text })))).toEqual([]);
  });

  test('passes as written in gitops/lab/ (every file as text, every YAML document as objects)', () => {
    const dir = path.join(ROOT, 'gitops', 'lab');
    const inputs: LeakInput[] = [];
    const visit = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) visit(p);
        else {
          const text = fs.readFileSync(p, 'utf8');
          inputs.push({ path: path.relative(dir, p), text });
          if (p.endsWith('.yaml')) for (const doc of yaml.loadAll(text)) if (doc) inputs.push({ path: path.relative(dir, p), manifest: doc });
        }
      }
    };
    visit(dir);
    expect(inputs.length).toBeGreaterThan(100);
    expect(findLeaks(inputs)).toEqual([]);
  });
});

describe('the cache of clean objects', () => {
  test('a clean object is not scanned again; a leaky one always is', () => {
    const file = path.join(tempDir(), 'leak-cache.json');
    process.env.PLATFORM_LEAK_CACHE = file;
    // Each scan is one text sent to secretlint's worker (lib/secret-scan.ts: `{ text }`), through a MessagePort;
    // other messages (a worker's start, structuredClone on Node 20) are not scans.
    const spy = jest.spyOn(MessagePort.prototype, 'postMessage');
    const scans = () => spy.mock.calls.filter(([m]) => typeof (m as { text?: unknown } | undefined)?.text === 'string').length;
    try {
      const lab = renderFiles(labPlatform());
      expect(findLeaks(lab)).toEqual([]);
      expect(scans()).toBe(1);
      expect(JSON.parse(fs.readFileSync(file, 'utf8')).clean.length).toBeGreaterThan(50);
      // Warm: nothing is scanned.
      expect(findLeaks(lab)).toEqual([]);
      expect(scans()).toBe(1);
      // A changed object is scanned, and its leak is found every time.
      const leaky = values({ adminPassword: PASSWORD });
      for (let i = 0; i < 2; i++) expect(fields(findLeaks([...lab, leaky]))).toEqual(['spec.source.helm.valuesObject.adminPassword']);
      expect(scans()).toBe(3);
    } finally {
      spy.mockRestore();
      process.env.PLATFORM_LEAK_CACHE = 'off';
    }
  });
});
