// One command-line parser (lib/args.js) for the app's commands (lib/cli.ts) and the scripts: the same
// --help, the same usage errors with exit 2. And what npm test (scripts/test.js) makes of its arguments.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseCommandLine } from '../../lib/args';
import { tempDir } from '../helpers';

const ROOT = path.join(__dirname, '..', '..');
const run = (file: string, args: string[]) => spawnSync(process.execPath, [path.join(ROOT, file), ...args], { cwd: ROOT, encoding: 'utf8' });

describe('parseCommandLine', () => {
  const quiet = <T>(f: () => T): T => {
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      return f();
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  };
  const command = { help: 'Usage: x <a> [<b>]\n', options: { flag: { type: 'string' as const } }, positionals: ['a', 'b?'] };

  test('parses flags and positionals; --help is 0, usage errors are 2', () => {
    const parsed = quiet(() => parseCommandLine(['--flag', 'v', 'one'], command));
    expect(parsed).toEqual({ values: { flag: 'v', help: false }, positionals: ['one'] });
    expect(quiet(() => parseCommandLine(['-h'], command))).toBe(0);
    expect(quiet(() => parseCommandLine(['--nope', 'one'], command))).toBe(2);
    expect(quiet(() => parseCommandLine([], command))).toBe(2);
    expect(quiet(() => parseCommandLine(['1', '2', '3'], command))).toBe(2);
  });
});

test.each([
  // (The app's commands, bin/*.js, parse with lib/cli.ts: their --help and usage errors are tested in this process.)
  ['scripts/gen-helm-values.js'], ['scripts/gen-schemas.js'], ['scripts/import-k8s.js'], ['scripts/bench.js'],
])('%s: --help exits 0 with the usage (the scripts\' parser, scripts/args.js)', (file) => {
  const help = run(file, ['--help']);
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^Usage: /);
});

test('a script given an unknown flag exits 2 with the error and the usage (one script: they share the parser)', () => {
  const bad = run('scripts/bench.js', ['--no-such-flag']);
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/^error: Unknown option '--no-such-flag'[^]*\n\nUsage: /);
});

describe('npm test with a spec', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { jestArgs } = require('../../scripts/test.js') as { jestArgs: (args: string[]) => string[] };

  test('a spec path runs inside test/specs.test.ts, by the describe block named after it', () => {
    expect(jestArgs(['test/harbor.spec.ts', 'test/validation/cel.spec.ts', '--verbose']))
      .toEqual(['--verbose', path.join('test', 'specs.test.ts'), '-t', '^(harbor|validation/cel) ']);
  });

  test('a spec under test/cli/ runs inside test/cli.test.ts; specs of both run in both files', () => {
    expect(jestArgs(['test/cli/faults.spec.ts'])).toEqual([path.join('test', 'cli.test.ts'), '-t', '^(cli/faults) ']);
    expect(jestArgs(['test/cli/synth.spec.ts', 'test/harbor.spec.ts']))
      .toEqual([path.join('test', 'cli.test.ts'), path.join('test', 'specs.test.ts'), '-t', '^(cli/synth|harbor) ']);
  });

  test('a spec that is not there, or specs mixed with test files, are refused before anything runs', () => {
    // Not refused, `-t` would match no test, and jest would pass with nothing run.
    expect(() => jestArgs(['harbor.spec.ts'])).toThrow(/no such spec under test\/: harbor\.spec\.ts \(give its path from the project root/);
    expect(() => jestArgs(['test/harbour.spec.ts'])).toThrow(/no such spec under test\/: test\/harbour\.spec\.ts/);
    expect(() => jestArgs(['test/harbor.spec.ts', 'test/promote.test.ts'])).toThrow(/run specs and test files apart: .* test\/promote\.test\.ts/);
  });

  test('other arguments pass unchanged, and so does a spec given with its own -t', () => {
    expect(jestArgs(['test/promote.test.ts', '-t', 'locale'])).toEqual(['test/promote.test.ts', '-t', 'locale']);
    expect(jestArgs(['test/harbor.spec.ts', '-t', 'x'])).toEqual(['test/harbor.spec.ts', '-t', 'x']);
  });
});

describe('npm test\'s type check', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { tscMode } = require('../../scripts/test.js') as { tscMode: (dir: string) => string };
  const now = Date.now() / 1000;
  /** A project of these files, each with this modification time (seconds from now); made now. */
  const project = (files: Record<string, number>) => {
    const dir = tempDir();
    for (const [file, seconds] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), '');
      fs.utimesSync(path.join(dir, file), now + seconds, now + seconds);
    }
    return dir;
  };

  test('build mode (-b, which skips an unchanged project) only when nothing changed since the last check', () => {
    // Checked after the install, and every source older than the check.
    expect(tscMode(project({ 'node_modules/.package-lock.json': -3600, 'lib/a.ts': -1800, 'dist/.tsbuildinfo': 3600 }))).toBe('-b');
    // An install since: build mode would not see changed types in node_modules.
    expect(tscMode(project({ 'node_modules/.package-lock.json': -60, 'dist/.tsbuildinfo': -120 }))).toBe('-p');
    // A source saved since (or during) the last check.
    expect(tscMode(project({ 'node_modules/.package-lock.json': -3600, 'dist/.tsbuildinfo': -60, 'lib/a.ts': 0 }))).toBe('-p');
    // A file copied in with an old modification time: its status change time is now.
    expect(tscMode(project({ 'node_modules/.package-lock.json': -3600, 'dist/.tsbuildinfo': -60, 'charts/dashboards/x.json': -7200 }))).toBe('-p');
    // No check yet, or no npm install.
    expect(tscMode(project({ 'node_modules/.package-lock.json': -3600 }))).toBe('-p');
    expect(tscMode(project({ 'dist/.tsbuildinfo': -60 }))).toBe('-p');
  });
});
