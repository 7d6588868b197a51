// Fault injection: synth and set-image are killed, run out of disk space or hit a read-only path at each step
// of their write (PLATFORM_FAILPOINT, lib/transaction.ts), and the promise is checked each time: gitops/ and
// the config hold the previous or the new content, never a missing or mixed one, once the next command ran
// (which finishes or removes what the crash left); the message says truthfully what changed; no leftovers.
//
// The commands run in this process (test/commands.ts). A kill is simulated exactly: at the failpoint the work
// folder is copied as the kill would leave it (lib/transaction.ts simulateCrashes), and after the command
// returns that copy replaces whatever its error handling did next. Real processes remain for one kill by
// SIGKILL and for a command holding the lock while set-image waits for it. What is under test is the write and the recovery, so
// each distinct config is rendered once and its files reused by the next synth of the same config
// (lib/synth.ts environmentRenderer; rendering is deterministic: cli/synth.spec.ts checks two synths agree).
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PlatformConfig } from '../../lib/config';
import { environmentRenderer } from '../../lib/synth';
import { simulateCrashes } from '../../lib/transaction';
import { lockHolder, node, ROOT, run, Run } from '../commands';
import { synthesizedGitops, tempDir } from '../helpers';

const LAB = fs.readFileSync(path.join(ROOT, 'config', 'lab.yaml'), 'utf8');

const rendered = new Map<string, Map<string, string>>();
const render = environmentRenderer.render;
beforeAll(() => {
  jest.spyOn(environmentRenderer, 'render').mockImplementation(async (compose, config: PlatformConfig, ...rest) => {
    // `file` is only used in messages (lib/config.ts), and every workspace has its own.
    const key = JSON.stringify({ ...config, file: undefined });
    // The first synth of each config renders it for real.
    if (!rendered.has(key)) {
      rendered.set(key, await render(compose, config, ...rest));
    }
    return new Map(rendered.get(key)!);
  });
});
afterAll(() => jest.restoreAllMocks());

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

/**
 * Runs `command` with PLATFORM_FAILPOINT=`step` as if the process were killed there: `dir` (the work folder,
 * config and gitops) is left exactly as it was at that instant. Returns whether the step was reached (a child
 * process would have died of SIGKILL).
 */
async function killedAt(dir: string, step: string, command: (env: Record<string, string>) => Promise<Run>): Promise<boolean> {
  const frozen = `${dir}.killed`;
  let killed = false;
  simulateCrashes(() => {
    fs.cpSync(dir, frozen, { recursive: true, verbatimSymlinks: true });
    killed = true;
  });
  try {
    await command({ PLATFORM_FAILPOINT: step });
  } finally {
    simulateCrashes(undefined);
  }
  if (killed) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(frozen, dir);
  }
  return killed;
}

/** A work folder with config/ (one or more environments) and a gitops/ synthesized from it. */
async function workspace(envs: Record<string, string> = { lab: LAB }) {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'config'));
  for (const [env, text] of Object.entries(envs)) fs.writeFileSync(path.join(dir, 'config', `${env}.yaml`), text);
  const configs = Object.keys(envs).flatMap((env) => ['--config', path.join(dir, 'config', `${env}.yaml`)]);
  const gitops = path.join(dir, 'gitops');
  const synth = (env: Record<string, string> = {}) => run('synth', [...configs, '--outdir', gitops, '--quiet'], { env });
  if (Object.keys(envs).join() === 'lab' && envs.lab === LAB) {
    // The lab's gitops/, as the synth of config/ wrote it once for the run (test/global-setup.ts), without
    // the folders of the environments this config/ does not hold (every kill below copies the work folder).
    synthesizedGitops(gitops);
    for (const env of fs.readdirSync(gitops)) if (env !== 'lab' && fs.statSync(path.join(gitops, env)).isDirectory()) fs.rmSync(path.join(gitops, env), { recursive: true });
  } else {
    const r = await synth();
    if (r.status !== 0) throw new Error(r.stderr);
  }
  return { dir, gitops, configs, synth, config: (env = 'lab') => path.join(dir, 'config', `${env}.yaml`) };
}

const bumped = (text: string, tag: string) => text.replace(/(repository: harbor\.k-tech\.cloud\/msa\/nginx\n\s+tag: )"2"/, `$1"${tag}"`);

type Workspace = Awaited<ReturnType<typeof workspace>>;

describe('synth, killed or failing at each step of its write', () => {
  let ws: Workspace;
  let before: Map<string, string>;
  let expected: Map<string, string>;
  let previous: string;
  beforeAll(async () => {
    ws = await workspace();
    before = tree(ws.gitops);
    // Outside the work folder, which a simulated kill copies.
    previous = path.join(tempDir(), 'previous');
    fs.cpSync(ws.gitops, previous, { recursive: true });
    fs.writeFileSync(ws.config(), bumped(LAB, '3'));
    if ((await ws.synth()).status !== 0) throw new Error('synth of the bumped config failed');
    expected = tree(ws.gitops);
  });
  const reset = () => {
    fs.rmSync(ws.gitops, { recursive: true, force: true });
    fs.cpSync(previous, ws.gitops, { recursive: true });
  };
  /** Right after the crash: the previous or the new folder, or (between the two renames) a journal that says how to finish. */
  const wholeOrJournal = () => {
    const now = tree(path.join(ws.gitops, 'lab'));
    const journal = fs.existsSync(path.join(ws.gitops, '.platform-transaction.json'));
    const whole = same(now, new Map([...before].filter(([k]) => k.startsWith('lab/')).map(([k, v]) => [k.slice(4), v])))
      || same(now, new Map([...expected].filter(([k]) => k.startsWith('lab/')).map(([k, v]) => [k.slice(4), v])));
    return whole || journal;
  };

  test('the bump changes the tree (the cases below can tell old from new)', () => {
    expect(same(before, expected)).toBe(false);
  });

  test.each(['stage-1-write-1', 'stage-1-write-40', 'before-journal', 'journal', 'swap-1-old', 'swap-1-new', 'swapped'])(
    'killed at %s: the next synth leaves exactly the new tree, and nothing else', async (step) => {
      reset();
      expect(await killedAt(ws.dir, step, (env) => ws.synth(env))).toBe(true);
      expect(wholeOrJournal()).toBe(true);
      const next = await ws.synth();
      expect(next.status).toBe(0);
      expect(same(tree(ws.gitops), expected)).toBe(true);
    });

  test('killed at swap-1-old by a real SIGKILL (bin/synth.js in a child process): the next synth leaves exactly the new tree', async () => {
    reset();
    const killed = node(['bin/synth.js', ...ws.configs, '--outdir', ws.gitops, '--quiet'], { env: { PLATFORM_FAILPOINT: 'swap-1-old' } });
    expect(killed.signal).toBe('SIGKILL');
    expect(fs.existsSync(path.join(ws.gitops, '.platform-transaction.json'))).toBe(true);
    expect(wholeOrJournal()).toBe(true);
    expect((await ws.synth()).status).toBe(0);
    expect(same(tree(ws.gitops), expected)).toBe(true);
  });

  test.each([['stage-1-write-3', 'enospc'], ['stage-1-write-3', 'erofs'], ['before-journal', 'eacces'], ['swap-1-old', 'erofs'], ['swap-1-new', 'enospc']])(
    'failing at %s with %s: exit 1, "left as it was", and it was', async (step, code) => {
      reset();
      const r = await ws.synth({ PLATFORM_FAILPOINT: `${step}:${code}` });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('was left as it was');
      expect(r.stderr).toContain(code.toUpperCase());
      expect(same(tree(ws.gitops), before)).toBe(true);
    });
});

describe('several environments: all land or none', () => {
  const other = LAB;
  let ws: Workspace;
  let before: Map<string, string>;
  beforeAll(async () => {
    ws = await workspace({ lab: LAB, other });
    before = tree(ws.gitops);
  });

  test('the disk fills while the second environment is written: neither changes', async () => {
    fs.writeFileSync(ws.config('lab'), bumped(LAB, '4'));
    fs.writeFileSync(ws.config('other'), bumped(other, '4'));
    const r = await ws.synth({ PLATFORM_FAILPOINT: 'stage-2-write-10:enospc' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/synth failed; .*gitops\/ was left as it was/);
    expect(same(tree(ws.gitops), before)).toBe(true);
  });

  test('killed between the two environments\' swaps: the next synth finishes both', async () => {
    expect(await killedAt(ws.dir, 'swap-2-old', (env) => ws.synth(env))).toBe(true);
    expect((await ws.synth()).status).toBe(0);
    for (const env of ['lab', 'other']) {
      expect(fs.readFileSync(path.join(ws.gitops, env, 'workloads', 'deployment-nginx.yaml'), 'utf8')).toContain('msa/nginx:4');
    }
    expect([...tree(ws.gitops).keys()].filter((k) => k.startsWith('.'))).toEqual([]);
  });
});

describe('set-image: the config line and the image line change together', () => {
  const setImage = (ws: Workspace, tag: string, env: Record<string, string> = {}) =>
    run('set-image', ['nginx', tag, '--config', ws.config(), '--outdir', ws.gitops, '--quiet'], { env });
  const image = (ws: Workspace) => fs.readFileSync(path.join(ws.gitops, 'lab', 'workloads', 'deployment-nginx.yaml'), 'utf8').match(/msa\/nginx:(\S+)/)![1];
  const tag = (ws: Workspace) => fs.readFileSync(ws.config(), 'utf8').match(/msa\/nginx\n\s+tag: "(\S+)"/)![1];

  test.each(['stage-file', 'journal', 'swap-1-old', 'swap-2-old', 'swap-2-new'])('killed at %s: config and gitops agree after the next command', async (step) => {
    const ws = await workspace();
    expect(await killedAt(ws.dir, step, (env) => setImage(ws, '7', env))).toBe(true);
    expect((await ws.synth()).status).toBe(0);
    expect(image(ws)).toBe(tag(ws));
    expect(['2', '7']).toContain(tag(ws));
  });

  test('the disk fills while the config is written: nothing changed, and the message says so', async () => {
    const ws = await workspace();
    const configBefore = fs.readFileSync(ws.config(), 'utf8');
    const gitopsBefore = tree(ws.gitops);
    const r = await setImage(ws, '8', { PLATFORM_FAILPOINT: 'stage-file:enospc' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('set-image failed; nothing was changed.');
    expect(fs.readFileSync(ws.config(), 'utf8')).toBe(configBefore);
    expect(same(tree(ws.gitops), gitopsBefore)).toBe(true);
  });

  test('set-image takes the lock before it reads the config: what the holder wrote meanwhile is kept (no lost bump)', async () => {
    const ws = await workspace();
    const dir = tempDir();
    const log = path.join(dir, 'log');
    const line = fs.readFileSync(ws.config(), 'utf8').match(/msa\/login_js\n\s+tag: "\S+"/)![0];
    // Another command (a real process) holds the lock a little, and bumps login-js at its end, as a command
    // writes: a set-image that read the config before taking the lock would then write over that bump.
    const holder = spawn(process.execPath, [lockHolder(dir), ROOT, log, '300', ws.config(), line, line.replace(/"\S+"$/, '"12"')], { stdio: 'ignore' });
    let code: number | null | undefined;
    const exited = new Promise<number | null>((resolve) => holder.on('exit', (c) => resolve((code = c))));
    // Until it holds the lock (or, failing, exits).
    while (!fs.existsSync(log) && code === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(fs.existsSync(log)).toBe(true);
    expect((await setImage(ws, '11')).status).toBe(0);
    expect(await exited).toBe(0);
    const config = fs.readFileSync(ws.config(), 'utf8');
    expect(config).toMatch(/msa\/nginx\n\s+tag: "11"/);
    expect(config).toMatch(/msa\/login_js\n\s+tag: "12"/);
    expect(image(ws)).toBe('11');
    expect(fs.readFileSync(path.join(ws.gitops, 'lab', 'workloads', 'deployment-login-js.yaml'), 'utf8')).toContain('msa/login_js:12');
  });
});

describe('leftovers', () => {
  test('plan never reads a staging folder, and the next command removes it', async () => {
    const ws = await workspace();
    const stray = path.join(ws.gitops, '.lab.new-123-abc-def');
    fs.cpSync(path.join(ws.gitops, 'lab'), stray, { recursive: true });
    const { treeOnDisk } = require('../../lib/plan') as typeof import('../../lib/plan');
    expect([...treeOnDisk(ws.gitops).keys()].some((k) => k.startsWith('.'))).toBe(false);
    expect((await ws.synth()).status).toBe(0);
    expect(fs.existsSync(stray)).toBe(false);
  });
});

describe('what the next command reads', () => {
  test('set-image killed while its config is swapped: the next set-image finishes that change before reading the file', async () => {
    const ws = await workspace();
    const setImage = (workload: string, t: string, env: Record<string, string> = {}) =>
      run('set-image', [workload, t, '--config', ws.config(), '--outdir', ws.gitops, '--quiet'], { env });
    expect(await killedAt(ws.dir, 'swap-2-old', (env) => setImage('nginx', '21', env))).toBe(true);
    expect(fs.existsSync(ws.config())).toBe(false); // between the two renames
    const next = await setImage('login-js', '22');
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
    const { configFiles } = require('../../lib/config') as typeof import('../../lib/config');
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
