// `npm run promote` (lib/promote.ts promoteMain, in this process: test/commands.ts): an image tag or a chart
// version copied from one environment to another as one config line, and every refusal changing nothing.
// The environments are config/lab.yaml and a "prod" made from it here (another registry for nginx, an older
// nginx tag, no register-js), so that a change to lab.yaml shows up in these tests instead of a stale copy.
import * as fs from 'fs';
import * as path from 'path';
import { parseConfig, PlatformConfig } from '../lib/config';
import { bumpImage } from '../lib/set-image';
import { chartPromotion, imagePromotion } from '../lib/promote';
import { loadVersions } from '../lib/versions';
import { labConfig, LAB_FILE, snapshotTree, tempDir } from './helpers';
import { node, run, withoutLockWait } from './commands';

// versions.yaml lists one version per chart; chart promotion needs more. These tests see it with two more
// Istio versions (not vendored: a synth that needs one fails, which a test uses). Every function of
// lib/versions.ts that reads versions.yaml by default reads this one instead (the factory runs before this
// file's constants exist, so the versions are written in it).
jest.mock('../lib/versions', () => {
  const actual = jest.requireActual('../lib/versions');
  let versions: any;
  const fixture = () => {
    if (versions) return versions;
    versions = JSON.parse(JSON.stringify(actual.loadVersions()));
    for (const chart of ['istio-base', 'istiod', 'istio-gateway']) {
      for (const v of ['1.29.1', '1.30.3']) versions.charts[chart].versions[v] = {};
    }
    return versions;
  };
  return {
    ...actual,
    loadVersions: () => fixture(),
    supportedVersions: (key: string, v?: unknown) => actual.supportedVersions(key, v ?? fixture()),
    chartSource: (key: string, override?: string, v?: unknown) => actual.chartSource(key, override, v ?? fixture()),
    chartsOfConfig: (section: string, backend?: string, v?: unknown) => actual.chartsOfConfig(section, backend, v ?? fixture()),
    overrideProblem: (section: string, value: string, backend?: string, v?: unknown) => actual.overrideProblem(section, value, backend, v ?? fixture()),
    vendoredSources: (v?: unknown) => actual.vendoredSources(v ?? fixture()),
  };
});

const LAB = fs.readFileSync(LAB_FILE, 'utf8');
const ISTIO_SECTION = 'istio:\n  namespace: istio-system\n';

/** `text` with each replacement made, failing when one finds nothing (lab.yaml changed under the test). */
function replaced(text: string, ...pairs: [string | RegExp, string][]): string {
  return pairs.reduce((t, [from, to]) => {
    const next = t.replace(from, to);
    if (next === t) throw new Error(`the test's config lacks ${String(from)}: update test/promote.test.ts to lab.yaml`);
    return next;
  }, text);
}

/** prod: nginx from another registry at an older tag, and no register-js. */
const PROD = replaced(LAB,
  ['repository: harbor.k-tech.cloud/msa/nginx\n        tag: "2"', 'repository: registry.prod.example.com/msa/nginx\n        tag: "1"'],
  [/\n {4}register-js:\n[\s\S]*?\n(?=\njenkins:)/, '\n'],
  ['# The lab cluster of the guide', '# A production-like copy of the lab for test/promote.test.ts'],
);

interface Workspace {
  readonly dir: string;
  readonly configDir: string;
  readonly lab: string;
  readonly prod: string;
  readonly out: string;
}

/** A folder with config/lab.yaml and config/prod.yaml (as given), and an out/ with one file in it. */
function workspace(lab = LAB, prod = PROD): Workspace {
  const dir = tempDir();
  const configDir = path.join(dir, 'config');
  fs.mkdirSync(configDir);
  fs.writeFileSync(path.join(configDir, 'lab.yaml'), lab);
  fs.writeFileSync(path.join(configDir, 'prod.yaml'), prod);
  const out = path.join(dir, 'out');
  fs.mkdirSync(path.join(out, 'prod'), { recursive: true });
  fs.writeFileSync(path.join(out, 'prod', 'README.md'), '# Environment `prod`\n');
  return { dir, configDir, lab: path.join(configDir, 'lab.yaml'), prod: path.join(configDir, 'prod.yaml'), out };
}

function promote(ws: Workspace, ...args: string[]) {
  return run('promote', [...args, '--config-dir', ws.configDir, '--outdir', ws.out]);
}

/** The lines of `after` that differ from `before`: [removed, added] (one edit: at most one of each). */
function lineChange(before: string, after: string): [string[], string[]] {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && a[start] === b[start]) start++;
  let ea = a.length;
  let eb = b.length;
  while (ea > start && eb > start && a[ea - 1] === b[eb - 1]) { ea--; eb--; }
  return [a.slice(start, ea), b.slice(start, eb)];
}

test('the derived prod is a valid environment of its own', () => {
  const prod = parseConfig(PROD, 'config/prod.yaml');
  expect(prod.apps.workloads.nginx.image).toEqual({ repository: 'registry.prod.example.com/msa/nginx', tag: '1' });
  expect(Object.keys(prod.apps.workloads).sort()).toEqual(['login-js', 'nginx']);
});

describe('npm run promote <workload>', () => {
  test('copies the tag as set-image would, synthesizes the target, and a second run has nothing to do', async () => {
    const ws = workspace();
    const r = await promote(ws, 'nginx', '--from', 'lab', '--to', 'prod');
    expect(withoutLockWait(r.stderr)).toBe('');
    expect(r.status).toBe(0);

    const after = fs.readFileSync(ws.prod, 'utf8');
    // Byte for byte what `npm run set-image -- nginx 2 --config config/prod.yaml` writes.
    expect(after).toBe(bumpImage(PROD, ws.prod, 'nginx', '2').text);
    expect(lineChange(PROD, after)).toEqual([['        tag: "1"'], ['        tag: "2"']]);
    expect(fs.readFileSync(ws.lab, 'utf8')).toBe(LAB);
    const line = after.split('\n').indexOf('        tag: "2"') + 1;
    expect(r.stdout).toContain(`${ws.prod}:${line}: apps.workloads.nginx.image.tag: 1 -> 2 (as in lab)\n  -        tag: "1"\n  +        tag: "2"\n`);
    // Each environment keeps its registry: said, not refused.
    expect(r.stdout).toContain('note: prod pulls registry.prod.example.com/msa/nginx, lab harbor.k-tech.cloud/msa/nginx: only the tag is promoted');
    expect(fs.readFileSync(path.join(ws.out, 'prod', 'workloads', 'deployment-nginx.yaml'), 'utf8'))
      .toContain('- image: registry.prod.example.com/msa/nginx:2\n');

    const outBefore = snapshotTree(ws.out);
    const again = await promote(ws, 'nginx', '--from', 'lab', '--to', 'prod');
    expect(again.status).toBe(0);
    expect(again.stdout).toBe(`nothing to do: apps.workloads.nginx.image.tag is 2 in ${ws.prod} already, as in lab\n`);
    expect(fs.readFileSync(ws.prod, 'utf8')).toBe(after);
    expect(snapshotTree(ws.out)).toEqual(outBefore);
  });

  test('--dry-run prints the change and writes nothing; --no-synth writes the config line only', async () => {
    const ws = workspace();
    const outBefore = snapshotTree(ws.out);
    const dry = await promote(ws, 'nginx', '--from', 'lab', '--to', 'prod', '--dry-run');
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(/prod\.yaml:\d+: apps\.workloads\.nginx\.image\.tag: 1 -> 2 \(as in lab\)\n {2}- {8}tag: "1"\n {2}\+ {8}tag: "2"\n/);
    expect(dry.stdout).toMatch(/dry run: nothing was written\n$/);
    expect(fs.readFileSync(ws.prod, 'utf8')).toBe(PROD);
    expect(fs.readdirSync(ws.configDir).sort()).toEqual(['lab.yaml', 'prod.yaml']);
    expect(snapshotTree(ws.out)).toEqual(outBefore);

    const noSynth = await promote(ws, 'nginx', '--from', 'lab', '--to', 'prod', '--no-synth');
    expect(noSynth.status).toBe(0);
    expect(lineChange(PROD, fs.readFileSync(ws.prod, 'utf8'))).toEqual([['        tag: "1"'], ['        tag: "2"']]);
    expect(noSynth.stdout).toContain(`${path.join(ws.out, 'prod')}/ was not synthesized (--no-synth)`);
    expect(snapshotTree(ws.out)).toEqual(outBefore);
    expect(fs.readdirSync(ws.configDir).sort()).toEqual(['lab.yaml', 'prod.yaml']);
  });
});

/** A canary nginx in lab (Argo Rollouts runs there), none in prod. */
const LAB_CANARY = replaced(LAB, ['      version: v1            #', '      canary: { steps: [{ setWeight: 20 }, { pause: {} }] }\n      version: v1            #']);
const withIstio = (text: string, version: string, comment = '') => replaced(text, [ISTIO_SECTION, `${ISTIO_SECTION}${comment}  chartVersion: ${version}\n`]);

describe('refusals: exit 1, a message naming the file, the field and the fix, and nothing changed', () => {
  // Every row has its four entries: jest would take a missing last argument for a `done` callback.
  test.each<[string, string[], RegExp, [string, string] | undefined]>([
    ['an unknown environment', ['nginx', '--from', 'staging', '--to', 'prod'], /config\/staging\.yaml: --from staging: no such environment \(environments in .*config\/: lab, prod\); name one of those/, undefined],
    ['the same environment twice', ['nginx', '--from', 'prod', '--to', 'prod'], /--from and --to are both prod; name two environments/, undefined],
    ['an unknown workload', ['nginxx', '--from', 'lab', '--to', 'prod'], /lab\.yaml: apps\.workloads: no workload "nginxx" in lab \(configured: login-js, nginx, register-js\)/, undefined],
    ['a workload the target does not run', ['register-js', '--from', 'lab', '--to', 'prod'], /prod\.yaml: apps\.workloads: no workload "register-js": it does not run in prod \(configured: login-js, nginx\); add it there first/, undefined],
    ['a floating tag in the source (its config refuses it)', ['nginx', '--from', 'lab', '--to', 'prod'], /lab\.yaml: invalid platform config\n {2}- apps\.workloads\.nginx\.image\.tag: must be an exact tag/,
      [replaced(LAB, ['        tag: "2"', '        tag: latest']), PROD]],
    ['a tag the target shares with another workload through an anchor', ['nginx', '--from', 'lab', '--to', 'prod'],
      /prod\.yaml: apps\.workloads\.nginx\.image\.tag: the value is shared through the YAML anchor &t with workload "login-js";.* then run promote again/,
      [LAB, replaced(PROD, ['        tag: "1"\n      port: 80', '        tag: &t "1"\n      port: 80'], [/(login_js\n {8})tag: "1"/, '$1tag: *t'])]],
    ['an unknown chart', ['--chart', 'nginx-ingress', '--from', 'lab', '--to', 'prod'], /versions\.yaml: charts: no chart "nginx-ingress"; promotable: alloy, argo-cd, argo-rollouts, cert-manager, /, undefined],
    ['a subchart', ['--chart', 'grafana', '--from', 'lab', '--to', 'prod'], /charts\.grafana: is packaged inside kube-prometheus-stack's archive.*promote --chart kube-prometheus-stack/, undefined],
    ['a component the target does not run', ['--chart', 'argo-rollouts', '--from', 'lab', '--to', 'prod'],
      /prod\.yaml: argoRollouts: the component does not run in prod \(no workload there is a canary\); turn it on there first/, [LAB_CANARY, PROD]],
    ['a chart version versions.yaml does not list', ['--chart', 'istiod', '--from', 'lab', '--to', 'prod'],
      /lab\.yaml: invalid platform config\n {2}- istio\.chartVersion: 9\.9\.9 is not a version versions\.yaml lists/, [withIstio(LAB, '9.9.9'), PROD]],
    ['a chart the target runs no version of (another secrets backend)', ['--chart', 'external-secrets', '--from', 'lab', '--to', 'prod'],
      /prod\.yaml: secrets\.backend: prod runs sealed-secrets, not external-secrets; promote --chart sealed-secrets/,
      [LAB, replaced(PROD, [/\nsecrets:\n[\s\S]*$/, '\nsecrets:\n  backend: sealed-secrets\n  namespace: kube-system\n  encryptedData: {}\n'])]],
    ['a target config that is already invalid', ['nginx', '--from', 'lab', '--to', 'prod'], /prod\.yaml: invalid platform config\n {2}- istio\.tracingSamplingPercentage/,
      [LAB, replaced(PROD, ['tracingSamplingPercentage: 100', 'tracingSamplingPercentage: 1000'])]],
  ])('%s', async (_, args, message, files) => {
    const ws = workspace(...(files ?? []));
    const before = { config: snapshotTree(ws.configDir), out: snapshotTree(ws.out) };
    const r = await promote(ws, ...args);
    expect(withoutLockWait(r.stderr)).toMatch(/^promote failed; nothing was changed\.\n/);
    expect(r.stderr).toMatch(message);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect({ config: snapshotTree(ws.configDir), out: snapshotTree(ws.out) }).toEqual(before);
  });

  test('usage errors exit 2; --help exits 0 and shows both forms', async () => {
    const ws = workspace();
    expect((await promote(ws, '--from', 'lab', '--to', 'prod')).stderr).toMatch(/^error: name a workload, or a chart with --chart <chart>/);
    expect((await promote(ws, 'nginx', '--chart', 'istiod', '--from', 'lab', '--to', 'prod')).status).toBe(2);
    expect((await promote(ws, 'nginx', '--from', 'lab')).stderr).toMatch(/^error: --from <env> and --to <env> are both required/);
    expect((await promote(ws, 'nginx', 'login-js', '--from', 'lab', '--to', 'prod')).status).toBe(2);
    const help = await run('promote', ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('npm run promote -- <workload> --from <env> --to <env>');
    expect(help.stdout).toContain('npm run promote -- --chart <chart> --from <env> --to <env>');
    expect(fs.readFileSync(ws.prod, 'utf8')).toBe(PROD);
  });
});

describe('npm run promote --chart', () => {
  test('the source\'s override is written into the target as one added line (the Istio charts share it)', async () => {
    const ws = workspace(withIstio(LAB, '1.30.3'));
    const r = await promote(ws, '--chart', 'istiod', '--from', 'lab', '--to', 'prod', '--no-synth');
    expect(withoutLockWait(r.stderr)).toBe('');
    expect(r.status).toBe(0);
    const after = fs.readFileSync(ws.prod, 'utf8');
    expect(after).toBe(withIstio(PROD, '1.30.3'));
    const line = after.split('\n').indexOf('  chartVersion: 1.30.3') + 1;
    expect(r.stdout).toContain(`${ws.prod}:${line}: istio.chartVersion: 1.24.2 -> 1.30.3 (as in lab; line added)\n  +  chartVersion: 1.30.3\n`);
    expect(r.stdout).toContain('note: istio.chartVersion sets istio-base, istiod, istio-gateway together');
  });

  test('another override is replaced in place; the section name works as well as a chart name', async () => {
    const ws = workspace(withIstio(LAB, '1.30.3'), withIstio(PROD, '1.29.1'));
    const r = await promote(ws, '--chart', 'istio', '--from', 'lab', '--to', 'prod', '--no-synth');
    expect(r.status).toBe(0);
    expect(lineChange(withIstio(PROD, '1.29.1'), fs.readFileSync(ws.prod, 'utf8'))).toEqual([['  chartVersion: 1.29.1'], ['  chartVersion: 1.30.3']]);
    expect(r.stdout).toMatch(/prod\.yaml:\d+: istio\.chartVersion: 1\.29\.1 -> 1\.30\.3 \(as in lab\)\n {2}- {2}chartVersion: 1\.29\.1\n {2}\+ {2}chartVersion: 1\.30\.3\n/);
  });

  test('a source on versions.yaml\'s default removes the target\'s override line, and synthesizes it', async () => {
    const prod = withIstio(PROD, '1.30.3', '  # 1.30 for the Gateway API\n');
    const ws = workspace(LAB, prod);
    const r = await promote(ws, '--chart', 'istio-gateway', '--from', 'lab', '--to', 'prod');
    expect(withoutLockWait(r.stderr)).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(ws.prod, 'utf8')).toBe(replaced(PROD, [ISTIO_SECTION, `${ISTIO_SECTION}  # 1.30 for the Gateway API\n`]));
    expect(r.stdout).toMatch(/prod\.yaml:\d+: istio\.chartVersion: 1\.30\.3 -> 1\.24\.2 \(as in lab; line removed: versions\.yaml's default\)\n {2}- {2}chartVersion: 1\.30\.3\n/);
    expect(r.stdout).toContain('note: the comment above the removed line stays (# 1.30 for the Gateway API)');
    expect(fs.readFileSync(path.join(ws.out, 'prod', 'apps', 'application-istiod-prod.yaml'), 'utf8')).toMatch(/targetRevision: 1\.24\.2\n/);
  });

  test('the same version on both sides is nothing to do', async () => {
    const ws = workspace(withIstio(LAB, '1.30.3'), withIstio(PROD, '1.30.3'));
    const r = await promote(ws, '--chart', 'istiod', '--from', 'lab', '--to', 'prod');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`nothing to do: istio.chartVersion is 1.30.3 in ${ws.prod} already, as in lab\n`);
    expect(fs.readFileSync(ws.prod, 'utf8')).toBe(withIstio(PROD, '1.30.3'));
  });

  test('a synth that fails (a version whose values nothing checked) leaves the config and gitops/ as they were', async () => {
    // 1.29.1 is listed by this file's versions.yaml only: charts/istio.ts checks no values against it.
    const ws = workspace(withIstio(LAB, '1.29.1'));
    const before = { config: snapshotTree(ws.configDir), out: snapshotTree(ws.out) };
    const r = await promote(ws, '--chart', 'istiod', '--from', 'lab', '--to', 'prod');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^promote failed; nothing was changed\.\n.*base 1\.29\.1 is listed in versions\.yaml, but charts\/istio\.ts checks its values against 1\.24\.2, 1\.30\.3 only/);
    expect({ config: snapshotTree(ws.configDir), out: snapshotTree(ws.out) }).toEqual(before);
  });
});

describe('chartPromotion and imagePromotion', () => {
  const lab = labConfig();
  const versions = loadVersions();
  /** lab without a component's section: the component is off there (config sections are optional per environment). */
  const without = (section: string): PlatformConfig => ({ ...lab, [section]: undefined, environment: 'prod', file: 'config/prod.yaml' }) as PlatformConfig;

  test('a component the target leaves out, or the source leaves out, is refused naming the file', () => {
    expect(() => chartPromotion(lab, without('kiali'), 'kiali-server', versions))
      .toThrow('config/prod.yaml: kiali: the component does not run in prod (config/prod.yaml has no kiali section); turn it on there first (a promotion changes one line, not a whole component)');
    expect(() => chartPromotion(without('kiali'), lab, 'kiali-server', versions)).toThrow(/config\/prod\.yaml: kiali: the component does not run in prod .*promote from an environment that runs it/);
  });

  test('a source with extra versions or a canary target says what is and is not promoted', () => {
    const source = labConfig((raw) => {
      raw.apps.workloads.nginx.image.tag = '7';
      raw.apps.workloads.nginx.traffic = { versions: { v2: { tag: '8' } } };
    });
    const target = labConfig((raw) => { raw.apps.workloads.nginx.canary = { steps: [{ setWeight: 20 }] }; }, 'config/prod.yaml');
    const plan = imagePromotion(source, target, 'nginx');
    expect(plan.change).toEqual({ keys: ['apps', 'workloads', 'nginx', 'image', 'tag'], value: '7' });
    expect(plan.notes).toEqual([
      'lab also runs nginx v2 (traffic.versions) at tags of their own: not promoted; those are edited by hand',
      'prod delivers nginx as a canary: its Rollout moves to 7 step by step (canary.steps)',
    ]);
  });
});

test('bin/promote.js runs the command (one real process)', () => {
  const ws = workspace();
  const r = node(['bin/promote.js', 'nginx', '--from', 'lab', '--to', 'prod', '--config-dir', ws.configDir, '--dry-run']);
  expect(r.stderr.replace(/^waiting for .*\n/m, '')).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/apps\.workloads\.nginx\.image\.tag: 1 -> 2 \(as in lab\)[\s\S]*dry run: nothing was written\n$/);
  expect(fs.readFileSync(ws.prod, 'utf8')).toBe(PROD);
});
