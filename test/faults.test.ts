// Fault injection: synth and set-image are killed, run out of disk space or hit a read-only path at each step
// of their write (PLATFORM_FAILPOINT, lib/transaction.ts), and the promise is checked each time: gitops/ and
// the config hold the previous or the new content, never a missing or mixed one, once the next command ran
// (which finishes or removes what the crash left); the message says truthfully what changed; no leftovers.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tempDir } from './helpers';

const ROOT = path.join(__dirname, '..');
const LAB = fs.readFileSync(path.join(ROOT, 'config', 'lab.yaml'), 'utf8');

/** Every file under `dir`, relative path -> content ('' for a folder), dot entries included. */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!fs.existsSync(dir)) return out;
  for (const rel of (fs.readdirSync(dir, { recursive: true }) as string[]).sort()) {
    const p = path.join(dir, rel);
    out.set(rel, fs.statSync(p).isDirectory() ? '' : fs.readFileSync(p, 'utf8'));
  }
  return out;
}

const same = (a: Map<string, string>, b: Map<string, string>) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

function node(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PLATFORM_FAILPOINT: '', ...env } });
}

/** A work folder with config/ (one or more environments) and a gitops/ synthesized from it. */
function workspace(envs: Record<string, string> = { lab: LAB }) {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'config'));
  for (const [env, text] of Object.entries(envs)) fs.writeFileSync(path.join(dir, 'config', `${env}.yaml`), text);
  const configs = Object.keys(envs).flatMap((env) => ['--config', path.join(dir, 'config', `${env}.yaml`)]);
  const gitops = path.join(dir, 'gitops');
  const synth = (env: Record<string, string> = {}) => node(['bin/synth.js', ...configs, '--outdir', gitops, '--quiet'], env);
  const r = synth();
  if (r.status !== 0) throw new Error(r.stderr);
  return { dir, gitops, synth, config: (env = 'lab') => path.join(dir, 'config', `${env}.yaml`) };
}

const bumped = (text: string, tag: string) => text.replace(/(repository: harbor\.k-tech\.cloud\/msa\/nginx\n\s+tag: )"2"/, `$1"${tag}"`);

describe('synth, killed or failing at each step of its write', () => {
  const ws = workspace();
  const before = tree(ws.gitops);
  const previous = path.join(ws.dir, 'previous');
  fs.cpSync(ws.gitops, previous, { recursive: true });
  fs.writeFileSync(ws.config(), bumped(LAB, '3'));
  if (ws.synth().status !== 0) throw new Error('synth of the bumped config failed');
  const expected = tree(ws.gitops);
  const reset = () => {
    fs.rmSync(ws.gitops, { recursive: true, force: true });
    fs.cpSync(previous, ws.gitops, { recursive: true });
  };

  test('the bump changes the tree (the cases below can tell old from new)', () => {
    expect(same(before, expected)).toBe(false);
  });

  test.each(['stage-1-write-1', 'stage-1-write-40', 'before-journal', 'journal', 'swap-1-old', 'swap-1-new', 'swapped'])(
    'killed at %s: the next synth leaves exactly the new tree, and nothing else', (step) => {
      reset();
      const killed = ws.synth({ PLATFORM_FAILPOINT: step });
      expect(killed.signal).toBe('SIGKILL');
      const now = tree(path.join(ws.gitops, 'lab'));
      const journal = fs.existsSync(path.join(ws.gitops, '.platform-transaction.json'));
      // Right after the crash: the previous or the new folder, or (between the two renames) a journal that
      // says how to finish.
      const whole = same(now, new Map([...before].filter(([k]) => k.startsWith('lab/')).map(([k, v]) => [k.slice(4), v])))
        || same(now, new Map([...expected].filter(([k]) => k.startsWith('lab/')).map(([k, v]) => [k.slice(4), v])));
      expect(whole || journal).toBe(true);
      const next = ws.synth();
      expect(next.status).toBe(0);
      expect(same(tree(ws.gitops), expected)).toBe(true);
    });

  test.each([['stage-1-write-3', 'enospc'], ['stage-1-write-3', 'erofs'], ['before-journal', 'eacces'], ['swap-1-old', 'erofs'], ['swap-1-new', 'enospc']])(
    'failing at %s with %s: exit 1, "left as it was", and it was', (step, code) => {
      reset();
      const r = ws.synth({ PLATFORM_FAILPOINT: `${step}:${code}` });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('was left as it was');
      expect(r.stderr).toContain(code.toUpperCase());
      expect(same(tree(ws.gitops), before)).toBe(true);
    });
});

describe('several environments: all land or none', () => {
  const other = LAB;
  const ws = workspace({ lab: LAB, other });
  const before = tree(ws.gitops);

  test('the disk fills while the second environment is written: neither changes', () => {
    fs.writeFileSync(ws.config('lab'), bumped(LAB, '4'));
    fs.writeFileSync(ws.config('other'), bumped(other, '4'));
    const r = ws.synth({ PLATFORM_FAILPOINT: 'stage-2-write-10:enospc' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/synth failed; .*gitops\/ was left as it was/);
    expect(same(tree(ws.gitops), before)).toBe(true);
  });

  test('killed between the two environments\' swaps: the next synth finishes both', () => {
    const r = ws.synth({ PLATFORM_FAILPOINT: 'swap-2-old' });
    expect(r.signal).toBe('SIGKILL');
    expect(ws.synth().status).toBe(0);
    for (const env of ['lab', 'other']) {
      expect(fs.readFileSync(path.join(ws.gitops, env, 'workloads', 'deployment-nginx.yaml'), 'utf8')).toContain('msa/nginx:4');
    }
    expect([...tree(ws.gitops).keys()].filter((k) => k.startsWith('.'))).toEqual([]);
  });
});

describe('set-image: the config line and the image line change together', () => {
  const setImage = (ws: ReturnType<typeof workspace>, tag: string, env: Record<string, string> = {}) =>
    node(['bin/set-image.js', 'nginx', tag, '--config', ws.config(), '--outdir', ws.gitops, '--quiet'], env);
  const image = (ws: ReturnType<typeof workspace>) => fs.readFileSync(path.join(ws.gitops, 'lab', 'workloads', 'deployment-nginx.yaml'), 'utf8').match(/msa\/nginx:(\S+)/)![1];
  const tag = (ws: ReturnType<typeof workspace>) => fs.readFileSync(ws.config(), 'utf8').match(/msa\/nginx\n\s+tag: "(\S+)"/)![1];

  test.each(['stage-file', 'journal', 'swap-1-old', 'swap-2-old', 'swap-2-new'])('killed at %s: config and gitops agree after the next command', (step) => {
    const ws = workspace();
    const r = setImage(ws, '7', { PLATFORM_FAILPOINT: step });
    expect(r.signal).toBe('SIGKILL');
    expect(ws.synth().status).toBe(0);
    expect(image(ws)).toBe(tag(ws));
    expect(['2', '7']).toContain(tag(ws));
  });

  test('the disk fills while the config is written: nothing changed, and the message says so', () => {
    const ws = workspace();
    const configBefore = fs.readFileSync(ws.config(), 'utf8');
    const gitopsBefore = tree(ws.gitops);
    const r = setImage(ws, '8', { PLATFORM_FAILPOINT: 'stage-file:enospc' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('set-image failed; nothing was changed.');
    expect(fs.readFileSync(ws.config(), 'utf8')).toBe(configBefore);
    expect(same(tree(ws.gitops), gitopsBefore)).toBe(true);
  });

  test('two bumps at once: both land, one after the other (the lock)', async () => {
    const ws = workspace();
    const run = (workload: string, t: string) => new Promise<number>((resolve) => {
      const p = spawn(process.execPath, ['bin/set-image.js', workload, t, '--config', ws.config(), '--outdir', ws.gitops, '--quiet'], { cwd: ROOT, stdio: 'ignore' });
      p.on('exit', (code) => resolve(code ?? -1));
    });
    const codes = await Promise.all([run('nginx', '11'), run('login-js', '12')]);
    expect(codes).toEqual([0, 0]);
    const config = fs.readFileSync(ws.config(), 'utf8');
    expect(config).toMatch(/msa\/nginx\n\s+tag: "11"/);
    expect(config).toMatch(/msa\/login_js\n\s+tag: "12"/);
    expect(image(ws)).toBe('11');
  }, 60_000);
});

describe('leftovers', () => {
  test('plan never reads a staging folder, and the next command removes it', () => {
    const ws = workspace();
    const stray = path.join(ws.gitops, '.lab.new-123-abc-def');
    fs.cpSync(path.join(ws.gitops, 'lab'), stray, { recursive: true });
    const { treeOnDisk } = require('../lib/plan') as typeof import('../lib/plan');
    expect([...treeOnDisk(ws.gitops).keys()].some((k) => k.startsWith('.'))).toBe(false);
    expect(ws.synth().status).toBe(0);
    expect(fs.existsSync(stray)).toBe(false);
  });
});

describe('what the next command reads', () => {
  test('set-image killed while its config is swapped: the next set-image finishes that change before reading the file', () => {
    const ws = workspace();
    const killed = node(['bin/set-image.js', 'nginx', '21', '--config', ws.config(), '--outdir', ws.gitops, '--quiet'], { PLATFORM_FAILPOINT: 'swap-2-old' });
    expect(killed.signal).toBe('SIGKILL');
    expect(fs.existsSync(ws.config())).toBe(false); // between the two renames
    const next = node(['bin/set-image.js', 'login-js', '22', '--config', ws.config(), '--outdir', ws.gitops, '--quiet']);
    expect(next.status).toBe(0);
    const config = fs.readFileSync(ws.config(), 'utf8');
    expect(config).toMatch(/msa\/nginx\n\s+tag: "21"/);
    expect(config).toMatch(/msa\/login_js\n\s+tag: "22"/);
    expect(fs.readFileSync(path.join(ws.gitops, 'lab', 'workloads', 'deployment-nginx.yaml'), 'utf8')).toContain('msa/nginx:21');
  });

  test('a config/<env>.yaml that cannot be read (a broken link) is an error, not an environment to remove', () => {
    const dir = path.join(tempDir(), 'config');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '..', 'shared.yaml'), LAB);
    fs.symlinkSync(path.join(dir, '..', 'shared.yaml'), path.join(dir, 'lab.yaml'));
    const { configFiles } = require('../lib/config') as typeof import('../lib/config');
    expect(configFiles(dir)).toEqual([path.join(dir, 'lab.yaml')]);
    fs.renameSync(path.join(dir, '..', 'shared.yaml'), path.join(dir, '..', 'shared.yaml.off'));
    expect(() => configFiles(dir)).toThrow(/lab\.yaml.*a link whose target is missing.*nothing was changed/s);
    // Editor files and other names are still skipped quietly.
    fs.writeFileSync(path.join(dir, '.#lab.yaml'), 'x');
    fs.mkdirSync(path.join(dir, 'Notes.yaml'));
    fs.rmSync(path.join(dir, 'lab.yaml'));
    expect(configFiles(dir)).toEqual([]);
  });
});
