// Messages that tell the truth about the environment the commands run in: a missing installation says
// "run npm ci" (bin/app.js, in child processes: a copy of bin/ without node_modules), and a command started
// in a subdirectory runs from the project root (lib/cli.ts, run in this process from that directory), or
// names the directory it looked in.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tempDir } from '../helpers';
import { run, synthesizedGitops } from '../commands';
import { configFiles } from '../../lib/config';

const ROOT = path.join(__dirname, '..', '..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const node = (script: string, args: string[], cwd: string) =>
  spawnSync(process.execPath, [script, ...args], { cwd, encoding: 'utf8', env: { ...process.env, PLATFORM_DEBUG: '' } });

/** A copy of the project's entry points and package.json, without node_modules; `modules` fills one. */
function checkout(modules?: (dir: string) => void): string {
  const dir = tempDir();
  fs.cpSync(path.join(ROOT, 'bin'), path.join(dir, 'bin'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  fs.cpSync(path.join(ROOT, 'config'), path.join(dir, 'config'), { recursive: true });
  if (modules) {
    fs.mkdirSync(path.join(dir, 'node_modules'));
    modules(path.join(dir, 'node_modules'));
  }
  return dir;
}

/** Links every dependency of package.json into `modules`, but those in `except`. */
const linkDependencies = (except: string[]) => (modules: string) => {
  for (const name of Object.keys(PKG.dependencies)) {
    if (except.includes(name)) continue;
    fs.mkdirSync(path.dirname(path.join(modules, name)), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules', name), path.join(modules, name));
  }
};

describe('a missing installation says "run npm ci"', () => {
  test('no node_modules at all', () => {
    const dir = checkout();
    for (const script of ['synth.js', 'set-image.js', 'validate.js', 'plan.js', 'vendor.js']) {
      const r = node(path.join('bin', script), script === 'set-image.js' ? ['nginx', '1'] : [], dir);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`the dependencies are not installed (no node_modules/ in ${fs.realpathSync(dir)}).\nRun \`npm ci\` in ${fs.realpathSync(dir)}, then run the command again; nothing was written.\n`);
      expect(r.stderr).not.toContain('does not compile');
    }
  });

  test('one package missing is named', () => {
    const dir = checkout(linkDependencies(['zod']));
    const r = node(path.join('bin', 'synth.js'), [], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^not installed: zod\.\nRun `npm ci` in .*, then run the command again; nothing was written\.\n$/);
  });

  test('a package at another version than package.json pins is named', () => {
    const dir = checkout((modules) => {
      linkDependencies(['yaml'])(modules);
      fs.mkdirSync(path.join(modules, 'yaml'));
      fs.writeFileSync(path.join(modules, 'yaml', 'package.json'), JSON.stringify({ name: 'yaml', version: '1.0.0' }));
    });
    const r = node(path.join('bin', 'synth.js'), [], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`installed at another version: yaml 1.0.0 (package.json pins ${PKG.dependencies.yaml})`);
    expect(r.stderr).toContain('Run `npm ci`');
  });

  test('esbuild missing when the app must be built says so, not "does not compile"', () => {
    // Every run-time dependency, no esbuild, and no dist/main.js yet.
    const dir = checkout(linkDependencies([]));
    fs.copyFileSync(path.join(ROOT, 'main.ts'), path.join(dir, 'main.ts'));
    const r = node(path.join('bin', 'synth.js'), [], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^esbuild \(a dev dependency, which builds dist\/main\.js from the TypeScript\) is not installed: .*\nRun `npm ci` in /);
  });
});

describe('the working directory is found or named', () => {
  test('from a subdirectory, relative paths stay the user\'s, and validate uses the project\'s config/', async () => {
    // An outdir and a config given relative to the subdirectory: ../dist/<x> from test/ is dist/<x> of the
    // project, and would be a folder beside the project if it were read from the root.
    const name = `environment-test-${process.pid}`;
    const out = path.join(ROOT, 'dist', name);
    const wrong = path.join(ROOT, '..', 'dist', name);
    const sub = path.join(ROOT, 'test');
    const rel = path.join('..', 'dist', name);
    try {
      const synth = await run('synth', ['--quiet', '--outdir', rel, '--config', path.join('..', 'config', 'lab.yaml')], { cwd: sub });
      expect(synth.status).toBe(0);
      expect(fs.existsSync(path.join(out, 'lab', 'apps'))).toBe(true);
      expect(fs.existsSync(wrong)).toBe(false);

      // The other environments of config/, as the run's synth wrote them: validate without --config takes all.
      const others = configFiles(path.join(ROOT, 'config')).map((f) => path.basename(f, '.yaml')).filter((env) => env !== 'lab');
      const all = synthesizedGitops();
      for (const env of others) fs.cpSync(path.join(all, env), path.join(out, env), { recursive: true });

      const validate = await run('validate', ['--outdir', rel], { cwd: sub });
      expect(validate.status).toBe(0);
      // It validated the lab environment (before, from a subdirectory it found no config and said nothing).
      expect(validate.stdout).toMatch(new RegExp(`^dist/${name}/lab: \\d+ objects valid$`, 'm'));
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  test('from a subdirectory, set-image finds config/lab.yaml (and refuses the bad tag, changing nothing)', async () => {
    const before = fs.readFileSync(path.join(ROOT, 'config', 'lab.yaml'));
    const r = await run('set-image', ['nginx', 'latest', '--outdir', tempDir()], { cwd: path.join(ROOT, 'gitops', 'lab'), env: { PLATFORM_DEBUG: undefined } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('config/lab.yaml: apps.workloads.nginx.image.tag: tag "latest" floats');
    expect(r.stderr).not.toContain('ENOENT');
    expect(fs.readFileSync(path.join(ROOT, 'config', 'lab.yaml'))).toEqual(before);
  });

  test('outside the project, a relative config path that does not exist names the directory it was looked up in', async () => {
    const dir = tempDir();
    const r = await run('validate', ['--config', 'config/lab.yaml', '--outdir', dir], { cwd: dir, env: { PLATFORM_DEBUG: undefined } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`config/lab.yaml: invalid platform config\n  - cannot read the file (ENOENT), looked up in ${fs.realpathSync(dir)}; pass an existing config file`);
  });
});
