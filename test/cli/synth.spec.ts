// The synth command as users run it: `npm run synth` (main.ts `main`, as bin/synth.js calls it, in this
// process; test/commands.ts), and bin/synth.js itself in a child process where only a process shows it.
import { configFiles } from '../../lib/config';
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { labRaw, snapshotTree, tempDir } from '../helpers';
import { node, run, synthesizedGitops } from '../commands';

const synth = async (...args: string[]) => {
  const r = await run('synth', args);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

function writeConfig(dir: string, name: string, change?: (raw: any) => void): string {
  const raw = labRaw();
  change?.(raw);
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, yaml.dump(raw));
  return file;
}

/** The environments of the repo's config/ (the lab, and whatever a user adds next to it). */
function repoEnvironments(): string[] {
  return configFiles(path.join(__dirname, '..', '..', 'config')).map((f) => path.basename(f, '.yaml'));
}

describe('synth', () => {
  test('two synths are byte-identical', async () => {
    // The first is the run's own (test/global-setup.ts), in another process: the gitops/ the other tests copy.
    const out = tempDir();
    expect((await synth('--outdir', out, '--quiet')).code).toBe(0);
    const second = snapshotTree(out);
    expect(Object.keys(second)).toContain('lab/bootstrap/application-platform-lab.yaml');
    expect(snapshotTree(synthesizedGitops())).toEqual(second);
  });

  test('each config file synthesizes to its own folder, and other folders are kept', async () => {
    const dir = tempDir();
    const out = synthesizedGitops(path.join(dir, 'gitops'));
    // The lab's settings under another name, and a tag of its own (no chart's values change, so its charts'
    // renders are the lab's, from the cache).
    const qa = writeConfig(dir, 'qa', (r) => { r.apps.workloads.nginx.image.tag = '97'; });
    const before = snapshotTree(out);
    expect((await synth('--outdir', out, '--config', qa, '--quiet')).code).toBe(0);
    // Every environment of config/ (lab, and any other a user adds) plus the new one.
    expect(fs.readdirSync(out).sort()).toEqual(['README.md', ...repoEnvironments(), 'qa'].sort());
    // The overview now sets qa beside the others; the other environments' folders are as they were.
    expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toContain('| `qa` |');
    const after = snapshotTree(out);
    for (const env of repoEnvironments()) {
      const folder = (tree: Record<string, string>) => Object.entries(tree).filter(([p]) => p.startsWith(`${env}/`));
      expect(folder(after)).toEqual(folder(before));
    }
    expect(fs.readFileSync(path.join(out, 'qa/bootstrap/application-platform-qa.yaml'), 'utf8')).toContain('path: gitops/qa/apps');
    expect(fs.readFileSync(path.join(out, 'qa/workloads/deployment-nginx.yaml'), 'utf8')).toContain('msa/nginx:97');
  });

  test.each([
    ['a missing domain', (r: any) => { delete r.domain; }, /domain: is required/],
    ['a malformed e-mail', (r: any) => { r.certManager.acmeEmail = 'nobody'; }, /certManager\.acmeEmail: must be an e-mail address/],
    ['an unknown issuer', (r: any) => { r.certManager.ingressIssuer = 'letsencrypt-prod'; }, /certManager\.ingressIssuer: names issuer "letsencrypt-prod"/],
    ['an unknown key', (r: any) => { r.harbor.replicas = 2; }, /harbor: unknown field "replicas"/],
  ])('%s fails with a clear message, exit 1, and gitops/ unchanged', async (_name, change, message) => {
    const dir = tempDir();
    const out = synthesizedGitops(path.join(dir, 'gitops'));
    const before = snapshotTree(out);
    const bad = writeConfig(dir, 'lab', change);
    const r = await synth('--outdir', out, '--config', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(bad);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(`${out}/ was left as it was`);
    expect(snapshotTree(out)).toEqual(before);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.gitops'))).toEqual([]);
  });

  test('unparsable YAML fails and leaves gitops/ unchanged', async () => {
    const dir = tempDir();
    const out = synthesizedGitops(path.join(dir, 'gitops'));
    const before = snapshotTree(out);
    const bad = path.join(dir, 'lab.yaml');
    fs.writeFileSync(bad, 'domain: k-tech.cloud\n  ingressClass: [nginx\n');
    const r = await synth('--outdir', out, '--config', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not valid YAML at line \d+/);
    expect(snapshotTree(out)).toEqual(before);
  });

  test('an unknown flag fails with exit 2 and the usage', async () => {
    const r = await synth('--outdri', 'x');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Unknown option '--outdri'");
    expect(r.stderr).toContain('Usage: npm run synth');
  });

  test('--help explains the command', async () => {
    // (bin/synth.js itself runs in a child process below, for the locale.)
    const r = await run('synth', ['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--config <file>');
    expect(r.stdout).toContain('gitops/');
  });
});

describe('what synth may touch in --outdir', () => {
  test('only environment folders: other files stay; a generated folder without its config goes', async () => {
    const out = path.join(tempDir(), 'out');
    fs.mkdirSync(path.join(out, 'notes'), { recursive: true });
    fs.writeFileSync(path.join(out, 'notes', 'keep.txt'), 'mine');
    // A folder an earlier synth wrote for an environment whose config has since been deleted.
    fs.mkdirSync(path.join(out, 'old', 'bootstrap'), { recursive: true });
    fs.writeFileSync(path.join(out, 'old', 'README.md'), '# Environment `old`\n');
    const r = await synth('--outdir', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no config/old.yaml any more');
    // (README.md: the environments side by side.)
    expect(fs.readdirSync(out).sort()).toEqual(['README.md', ...repoEnvironments(), 'notes'].sort());
    expect(fs.readFileSync(path.join(out, 'notes', 'keep.txt'), 'utf8')).toBe('mine');
    expect(fs.statSync(path.join(out, 'lab')).mode & 0o777).toBe(0o755);
  });
});

test('the output does not depend on the locale (Czech sorts "ch" after "h")', async () => {
  const dir = tempDir();
  const file = writeConfig(dir, 'lab', (r) => {
    r.apps.workloads.chat = { ...r.apps.workloads.nginx, subdomain: 'chat' };
    r.apps.workloads.hub = { ...r.apps.workloads.nginx, subdomain: 'hub' };
    delete r.apps.workloads.chat.autoscaling;
    delete r.apps.workloads.hub.autoscaling;
  });
  // The locale is read when a process starts: this process's is not Czech, and a child process runs in cs_CZ.
  expect(new Intl.Collator().resolvedOptions().locale).not.toMatch(/^cs/);
  expect((await synth('--config', file, '--outdir', path.join(dir, 'here'), '-q')).code).toBe(0);
  const czech = node([path.join('bin', 'synth.js'), '--config', file, '--outdir', path.join(dir, 'cs'), '-q'], { env: { LC_ALL: 'cs_CZ.UTF-8', LANG: 'cs_CZ.UTF-8' } });
  expect(czech.status).toBe(0);
  expect(snapshotTree(path.join(dir, 'cs'))).toEqual(snapshotTree(path.join(dir, 'here')));
});
