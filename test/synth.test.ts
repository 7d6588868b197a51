// The synth command as users run it: bin/synth.js in a child process.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { labRaw, snapshotTree, tempDir } from './helpers';

const ROOT = path.join(__dirname, '..');

function synth(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'synth.js'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function writeConfig(dir: string, name: string, change?: (raw: any) => void): string {
  const raw = labRaw();
  change?.(raw);
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, yaml.dump(raw));
  return file;
}

describe('synth', () => {
  test('two synths are byte-identical', () => {
    const out = tempDir();
    expect(synth('--outdir', out, '--quiet').code).toBe(0);
    const first = snapshotTree(out);
    expect(synth('--outdir', out, '--quiet').code).toBe(0);
    expect(snapshotTree(out)).toEqual(first);
    expect(Object.keys(first)).toContain('lab/bootstrap/application-platform-lab.yaml');
  });

  test('each config file synthesizes to its own folder, and other folders are kept', () => {
    const dir = tempDir();
    const out = path.join(dir, 'gitops');
    const prod = writeConfig(dir, 'prod', (r) => { r.domain = 'example.com'; });
    expect(synth('--outdir', out, '--quiet').code).toBe(0);
    expect(synth('--outdir', out, '--config', prod, '--quiet').code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['lab', 'prod']);
    expect(fs.readFileSync(path.join(out, 'prod/harbor/certificate-harbor-secret.yaml'), 'utf8')).toContain('harbor.example.com');
  });

  test.each([
    ['a missing domain', (r: any) => { delete r.domain; }, /domain: is required/],
    ['a malformed e-mail', (r: any) => { r.certManager.acmeEmail = 'nobody'; }, /certManager\.acmeEmail: must be an e-mail address/],
    ['an unknown issuer', (r: any) => { r.certManager.ingressIssuer = 'letsencrypt-prod'; }, /certManager\.ingressIssuer: names issuer "letsencrypt-prod"/],
    ['an unknown key', (r: any) => { r.harbor.replicas = 2; }, /harbor: unknown field "replicas"/],
  ])('%s fails with a clear message, exit 1, and gitops/ unchanged', (_name, change, message) => {
    const dir = tempDir();
    const out = path.join(dir, 'gitops');
    expect(synth('--outdir', out, '--quiet').code).toBe(0);
    const before = snapshotTree(out);
    const bad = writeConfig(dir, 'lab', change);
    const r = synth('--outdir', out, '--config', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(bad);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(`${out}/ was left as it was`);
    expect(snapshotTree(out)).toEqual(before);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.gitops'))).toEqual([]);
  });

  test('unparsable YAML fails and leaves gitops/ unchanged', () => {
    const dir = tempDir();
    const out = path.join(dir, 'gitops');
    expect(synth('--outdir', out, '--quiet').code).toBe(0);
    const before = snapshotTree(out);
    const bad = path.join(dir, 'lab.yaml');
    fs.writeFileSync(bad, 'domain: k-tech.cloud\n  ingressClass: [nginx\n');
    const r = synth('--outdir', out, '--config', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not valid YAML at line \d+/);
    expect(snapshotTree(out)).toEqual(before);
  });

  test('an unknown flag fails with exit 2 and the usage', () => {
    const r = synth('--outdri', 'x');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Unknown option '--outdri'");
    expect(r.stderr).toContain('Usage: npm run synth');
  });

  test('--help explains the command', () => {
    const r = synth('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--config <file>');
    expect(r.stdout).toContain('gitops/');
  });
});

describe('what synth may touch in --outdir', () => {
  test('only environment folders: other files stay; a generated folder without its config goes', () => {
    const out = path.join(tempDir(), 'out');
    fs.mkdirSync(path.join(out, 'notes'), { recursive: true });
    fs.writeFileSync(path.join(out, 'notes', 'keep.txt'), 'mine');
    // A folder an earlier synth wrote for an environment whose config has since been deleted.
    fs.mkdirSync(path.join(out, 'old', 'bootstrap'), { recursive: true });
    fs.writeFileSync(path.join(out, 'old', 'README.md'), '# Environment `old`\n');
    const r = synth('--outdir', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no config/old.yaml any more');
    expect(fs.readdirSync(out).sort()).toEqual(['lab', 'notes']);
    expect(fs.readFileSync(path.join(out, 'notes', 'keep.txt'), 'utf8')).toBe('mine');
    expect(fs.statSync(path.join(out, 'lab')).mode & 0o777).toBe(0o755);
  });
});

test('the output does not depend on the locale (Czech sorts "ch" after "h")', () => {
  const dir = tempDir();
  const file = writeConfig(dir, 'lab', (r) => {
    r.apps.workloads.chat = { ...r.apps.workloads.nginx, subdomain: 'chat' };
    r.apps.workloads.hub = { ...r.apps.workloads.nginx, subdomain: 'hub' };
    delete r.apps.workloads.chat.autoscaling;
    delete r.apps.workloads.hub.autoscaling;
  });
  const run = (locale: string, out: string) => spawnSync(process.execPath, [path.join(ROOT, 'bin', 'synth.js'), '--config', file, '--outdir', out, '-q'],
    { cwd: ROOT, env: { ...process.env, LC_ALL: locale, LANG: locale } }).status;
  expect(run('C', path.join(dir, 'c'))).toBe(0);
  expect(run('cs_CZ.UTF-8', path.join(dir, 'cs'))).toBe(0);
  expect(snapshotTree(path.join(dir, 'cs'))).toEqual(snapshotTree(path.join(dir, 'c')));
});
