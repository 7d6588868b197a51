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
    expect(fs.readFileSync(path.join(out, 'prod/harbor-certificate/certificate-harbor-secret.yaml'), 'utf8')).toContain('harbor.example.com');
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
    expect(r.stderr).toContain('gitops/ was left as it was');
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
