// The validation as the synth, the cdk8s plugin and `npm run validate` run it on the platform.
import { composePlatform } from '../../charts/platform';
import * as fs from 'fs';
import * as path from 'path';
import * as k8s from '../../imports/k8s';
import { renderPlatformFiles, validateCdk8sManifests, validateTree } from '../../lib/synth';
import { buildPlatform } from '../../lib/platform';
import { Component, componentsOf } from '../../lib/component';
import { FileSchemaCache, ValidationError } from '../../lib/validate-platform';
import { defaultSchemaCache, setDefaultSchemaCache } from '../../lib/validation/default-cache';
import * as yaml from 'js-yaml';
import { ApiObject } from 'cdk8s';
import { labConfig, labRaw, tempDir } from '../helpers';
import { ROOT, run, synthesizedGitops, withoutLockWait } from '../commands';

/** The lab's config: these tests are about one environment's files; the others would only repeat them. */
const LAB = path.join(ROOT, 'config', 'lab.yaml');

describe('validation of the platform', () => {
  /** The lab's composition with `add` run on its jenkins component, built: objects are added before the build. */
  const labWithJenkins = (add: (jenkins: Component) => void) => {
    const composition = composePlatform(labConfig());
    add(componentsOf(composition.app).find((c) => c.name === 'jenkins')!);
    return buildPlatform(composition);
  };

  test('synth refuses the guide\'s two broken references, naming each', () => {
    // The guide's jenkins-ingress.yaml with argocd-ingress.yaml's issuer annotation.
    const platform = labWithJenkins((jenkins) => new k8s.KubeIngress(jenkins, 'guide-ingress', {
      metadata: { name: 'jenkins-guide', namespace: 'devops-tools', annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt-prod' } },
      spec: {
        ingressClassName: 'nginx',
        tls: [{ hosts: ['jenkins.k-tech.cloud'], secretName: 'jenkins-secret' }],
        rules: [{ host: 'jenkins.k-tech.cloud', http: { paths: [
          { path: '/', pathType: 'Prefix', backend: { service: { name: 'jenkins-service', port: { number: 8080 } } } },
          { path: '/agents', pathType: 'Prefix', backend: { service: { name: 'jenkins-svc', port: { name: 'agents' } } } },
        ] } }],
      },
    }));
    let error: ValidationError | undefined;
    try {
      renderPlatformFiles(platform);
    } catch (e) {
      error = e as ValidationError;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect(error!.violations.map((v) => `${v.rule} ${v.object} ${v.field}`).sort()).toEqual([
      // Two Ingresses now serve jenkins.<domain>: ingress-nginx would merge them.
      'duplicate-host Ingress devops-tools/jenkins spec.rules[0].host',
      'ingress-backend Ingress devops-tools/jenkins-guide spec.rules[0].http.paths[1].backend.service.name',
      // The annotation would also make cert-manager issue jenkins-secret a second time, next to its Certificate.
      'ingress-tls-certificate Ingress devops-tools/jenkins-guide metadata.annotations["cert-manager.io/cluster-issuer"]',
      'issuer-exists Ingress devops-tools/jenkins-guide metadata.annotations["cert-manager.io/cluster-issuer"]',
    ]);
    expect(error!.message).toContain('jenkins/ingress-jenkins-guide.yaml');
    expect(error!.message).toContain('letsencrypt-prod');
    expect(error!.message).toContain('jenkins-svc');
  });

  test('synth hands on the CEL counts, and a CEL rule it cannot evaluate as a warning, and still writes', () => {
    const platform = labWithJenkins((jenkins) => new ApiObject(jenkins, 'dr', {
      apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'jenkins', namespace: 'devops-tools' },
      spec: { host: 'jenkins-service.devops-tools.svc.cluster.local', trafficPolicy: { connectionPool: { http: { idleTimeout: 'soon' } } } },
    }));
    const notes: [string, string][] = [];
    const files = renderPlatformFiles(platform, undefined, (text, kind) => notes.push([kind, text]));
    expect(files.has('jenkins/destinationrule-jenkins.yaml')).toBe(true);
    expect(notes.map(([kind]) => kind)).toEqual(['counts', 'warnings']);
    // The run's schema cache holds every other object of the lab: their rules are not counted again, and the line says so.
    expect(notes[0][1]).toMatch(/^lab: CEL rules of CRDs, in the objects checked: \d+ evaluated, .* 1 not evaluated \(see the warnings\); \d+ objects unchanged since they last passed were not checked again \(dist\/schema-cache\.json\)$/);
    expect(notes[1][1]).toContain('DestinationRule devops-tools/jenkins  spec.trafficPolicy.connectionPool.http.idleTimeout  [cel]');
    expect(notes[1][1]).toContain("duration(self) >= duration('1ms')");
  });
});

describe('the schema cache between synths (dist/schema-cache.json)', () => {
  test('the counts line says how many objects the cache spared a check, and counts their CEL rules only when checked', () => {
    const keys = new Set<string>();
    const cache = { has: (k: string) => keys.has(k), add: (k: string) => { keys.add(k); } };
    const counts = () => {
      const notes: string[] = [];
      renderPlatformFiles(buildPlatform(composePlatform(labConfig())), cache, (text, kind) => { if (kind === 'counts') notes.push(text); });
      return notes[0];
    };
    // Without the run's cache (test/setup-schema-cache.ts), which holds the lab's objects already.
    const runCache = defaultSchemaCache();
    setDefaultSchemaCache(undefined);
    try {
      // The first check evaluates the rules; an object identical to one checked before it in the same run is
      // not checked twice.
      const first = /^lab: CEL rules of CRDs, in the objects checked: ([1-9]\d*) evaluated, 0 transition rules \(oldSelf\) not applicable to creation, 0 not evaluated(?:; (\d+) objects unchanged since they last passed were not checked again \(dist\/schema-cache\.json\))?$/.exec(counts());
      expect(first).not.toBeNull();
      // The second reuses every object, and counts no rule.
      const second = /^lab: CEL rules of CRDs, in the objects checked: 0 evaluated, 0 transition rules \(oldSelf\) not applicable to creation, 0 not evaluated; (\d+) objects unchanged since they last passed were not checked again \(dist\/schema-cache\.json\)$/.exec(counts());
      expect(second).not.toBeNull();
      expect(Number(second![1])).toBe(Number(first![2] ?? 0) + keys.size);
    } finally {
      setDefaultSchemaCache(runCache);
    }
  });

  test('a synth keeps what it used first, then what the file held before (another environment\'s objects), up to its limit', () => {
    const file = path.join(tempDir(), 'schema-cache.json');
    fs.writeFileSync(file, JSON.stringify(['lab-1', 'lab-2', 'prod-1', 'prod-2']));
    // A synth of prod alone: it reuses prod-2 and checks a changed object, prod-3.
    const prodOnly = new FileSchemaCache(file);
    expect([prodOnly.has('prod-2'), prodOnly.has('prod-3')]).toEqual([true, false]);
    prodOnly.add('prod-3');
    prodOnly.save();
    // The next synth of every environment still finds the lab's objects.
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(['prod-2', 'prod-3', 'lab-1', 'lab-2', 'prod-1']);
    // When the file is full, what was used longest ago goes first.
    const small = new FileSchemaCache(file, 3);
    expect(small.has('lab-2')).toBe(true);
    small.save();
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(['lab-2', 'prod-2', 'prod-3']);
  });
});

describe('the cdk8s plugin\'s check', () => {
  /** One synth under `cdk8s synth` (CDK8S_OUTDIR set), for both tests; each gets its own copy of the manifest. */
  let synthesized: string | undefined;
  async function synthUnderCdk8s() {
    if (!synthesized) {
      const out = tempDir();
      const cdk8sOut = path.join(out, 'cdk8s.out');
      const r = await run('synth', ['--config', LAB, '--outdir', path.join(out, 'gitops'), '-q'], { env: { CDK8S_OUTDIR: cdk8sOut } });
      expect(r.status).toBe(0);
      synthesized = cdk8sOut;
    }
    const copy = path.join(tempDir(), 'cdk8s.out');
    fs.cpSync(synthesized, copy, { recursive: true });
    return path.join(copy, 'lab.k8s.yaml');
  }

  test('manifests the synth validated are not validated twice', async () => {
    const file = await synthUnderCdk8s();
    const r = validateCdk8sManifests(composePlatform, [file]);
    expect(r.objects).toBeGreaterThan(90);
    expect(r.revalidated).toBe(0);
    expect(r.violations).toEqual([]);
  });

  test('a manifest changed after the synth is validated in full, and its defect reported', async () => {
    const file = await synthUnderCdk8s();
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/image: jenkins\/jenkins:[^\n]+/, 'image: jenkins/jenkins:lts'));
    const cwd = process.cwd();
    process.chdir(ROOT);
    try {
      const r = validateCdk8sManifests(composePlatform, [file]);
      expect(r.revalidated).toBe(r.objects);
      expect(r.violations.map((v) => [v.rule, v.file, v.object])).toEqual([['image-pinned', 'lab/jenkins/statefulset-jenkins.yaml', 'StatefulSet devops-tools/jenkins']]);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('npm run validate', () => {
  const validate = (...args: string[]) => run('validate', args);

  test('passes on a fresh synth and fails on an edited one, naming object, field and fix', async () => {
    const out = synthesizedGitops();
    const ok = await validate('--config', LAB, '--outdir', out);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/lab: \d+ objects valid/);

    const cert = path.join(out, 'lab', 'harbor', 'certificate-harbor-secret.yaml');
    fs.writeFileSync(cert, fs.readFileSync(cert, 'utf8').replace('secretName: harbor-secret', 'secretName: harbor-secret\n  renewBeforePercent: 200\n  colour: blue'));
    const bad = await validate('--config', LAB, '--outdir', out);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('harbor/certificate-harbor-secret.yaml');
    expect(bad.stdout).toContain('Certificate devops-tools/harbor-secret');
    expect(bad.stdout).toMatch(/spec\.colour/);
  });

  test('--help says what is checked; an unknown flag exits 2 with the usage', async () => {
    const r = await validate('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('cluster.kubernetesVersion');
    expect(r.stdout).toContain('render (from vendor/)');
    const bad = await validate('--no-such-flag');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^error: Unknown option '--no-such-flag'[^]*\n\nUsage: npm run validate/);
  });
});

test('npm run validate also refuses secret material in gitops/ on disk', async () => {
  const out = synthesizedGitops();
  const app = path.join(out, 'lab', 'apps', 'application-argo-cd-lab.yaml');
  // A token-shaped value assembled here, so the repo itself holds none.
  const token = ['xoxb', '123456789012', '1234567890123', 'AbCdEfGhIjKlMnOpQrStUvWx'].join('-');
  fs.writeFileSync(app, fs.readFileSync(app, 'utf8').replace('token: $slack-token', `token: ${token}`));
  const r = await run('validate', ['--config', LAB, '--outdir', out]);
  expect(r.status).toBe(1);
  expect(r.stdout).toContain('apps/application-argo-cd-lab.yaml');
  expect(r.stdout).toContain('SLACK_TOKEN (rule slack)');
  expect(r.stdout).toContain('[no-secret-data]');
});

test('npm run validate reports a hand-written Secret with data exactly once (one rule, one fix)', () => {
  const out = tempDir();
  fs.cpSync(path.join(ROOT, 'gitops', 'lab'), path.join(out, 'lab'), { recursive: true });
  fs.writeFileSync(path.join(out, 'lab', 'workloads', 'secret-db.yaml'),
    'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: default\ntype: Opaque\ndata:\n  password: eA==\n');
  const [lab] = validateTree(composePlatform, [LAB], out);
  const found = lab.violations.filter((v) => v.file === 'workloads/secret-db.yaml');
  expect(found.map((v) => `${v.rule} ${v.object} ${v.field}`)).toEqual(['no-secret-data Secret default/db data']);
  expect(found[0].message).toContain('data keys: password');
  expect(found[0].fix).toContain('SecretsChart.use()');
});

test('Istio in another namespace (istio.namespace: mesh-system) synthesizes and validates with no violation', async () => {
  // The gateway's credentials are looked up where the rendered ingress gateway Deployment runs, not in a
  // hard-coded istio-system. A copy of the lab config, in a temp dir: config/ and gitops/ are not touched.
  const dir = tempDir();
  const raw = labRaw();
  raw.istio.namespace = 'mesh-system';
  raw.kiali.namespace = 'mesh-system';
  const config = path.join(dir, 'mesh.yaml');
  fs.writeFileSync(config, yaml.dump(raw));
  const out = path.join(dir, 'gitops');
  const r = await run('synth', ['--config', config, '--outdir', out, '-q']);
  expect(withoutLockWait(r.stderr)).toBe('');
  expect(r.status).toBe(0);
  expect(fs.readFileSync(path.join(out, 'mesh', 'workloads', 'certificate-nginx-secret.yaml'), 'utf8')).toContain('namespace: mesh-system');
  const [mesh] = validateTree(composePlatform, [config], out);
  expect(mesh.environment).toBe('mesh');
  expect(mesh.violations).toEqual([]);
});

test('npm run validate shows a CEL rule it cannot evaluate as a warning (not failing), and refuses an object a CEL rule refuses', async () => {
  const out = tempDir();
  fs.cpSync(path.join(ROOT, 'gitops', 'lab'), path.join(out, 'lab'), { recursive: true });
  // Istio's `duration(self) >= duration('1ms')` errs on a value that is no duration: the rule is not evaluated.
  fs.writeFileSync(path.join(out, 'lab', 'workloads', 'destinationrule-nginx.yaml'), yaml.dump({
    apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'nginx', namespace: 'default' },
    spec: { host: 'nginx-service.default.svc.cluster.local', trafficPolicy: { connectionPool: { http: { idleTimeout: 'soon' } } } },
  }));
  const warned = await run('validate', ['--outdir', out, '--config', LAB]);
  expect(warned.stdout).toContain('1 warning (not checked, so not passed) in 1 file');
  expect(warned.stdout).toMatch(/DestinationRule default\/nginx {2}spec\.trafficPolicy\.connectionPool\.http\.idleTimeout {2}\[cel\]\n {4}a rule of CRD destinationrules\.networking\.istio\.io was not evaluated/);
  expect(warned.stdout).toMatch(/lab: CEL rules of CRDs, in the objects checked: \d+ evaluated, 0 transition rules \(oldSelf\) not applicable to creation, 1 not evaluated/);
  expect(warned.status).toBe(0);

  fs.writeFileSync(path.join(out, 'lab', 'workloads', 'serviceentry-db.yaml'), yaml.dump({
    apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'db', namespace: 'default' },
    spec: { hosts: ['db.example.com'], location: 'MESH_EXTERNAL', ports: [{ number: 5432, name: 'tcp-pg', protocol: 'TCP' }], endpoints: [{ address: '10.0.0.5' }] },
  }));
  const refused = await run('validate', ['--outdir', out, '--config', LAB]);
  expect(refused.status).toBe(1);
  expect(refused.stdout).toMatch(/ServiceEntry default\/db {2}spec {2}\[cel\]\n {4}NONE mode cannot set endpoints/);
});

test('a YAML syntax error in gitops/ on disk names the file and the line', async () => {
  const out = tempDir();
  fs.cpSync(path.join(ROOT, 'gitops', 'lab'), path.join(out, 'lab'), { recursive: true });
  fs.writeFileSync(path.join(out, 'lab', 'jenkins', 'service-jenkins-service.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: [unclosed\n');
  const r = await run('validate', ['--outdir', out]);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(`${out}/lab/jenkins/service-jenkins-service.yaml: not valid YAML at line`);
});
