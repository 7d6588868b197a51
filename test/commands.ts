// The command lines, run in this process: the functions bin/*.js call (main.ts: main, validateMain,
// planMain, setImageMain, promoteMain) with the same arguments, their exit code and what they print captured. A child
// process per command cost ~2 s each; the few tests that need a real process (a real kill, concurrent
// commands, a missing installation, the locale) still start one with `node()`.
import { spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { main, planMain, promoteMain, setImageMain, validateMain } from '../main';
export { synthesizedGitops } from './helpers';

export const ROOT = path.join(__dirname, '..');

const COMMANDS = {
  synth: main,
  validate: validateMain,
  plan: planMain,
  'set-image': setImageMain,
  promote: promoteMain,
} as const;

let running: string | undefined;

export interface Run {
  /** The exit code bin/<command>.js would exit with. */
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Variables set for the run (undefined: unset), restored afterwards. */
  readonly env?: Record<string, string | undefined>;
  /** The working directory of the run (the project root by default, as `npm run` has it). */
  readonly cwd?: string;
}

/**
 * Runs `npm run <command> -- <argv>` in this process. The working directory, the environment and
 * process.stdout/stderr are restored afterwards (the commands chdir to the project root, as in a process).
 */
export async function run(command: keyof typeof COMMANDS, argv: string[], options: RunOptions = {}): Promise<Run> {
  // One at a time: a second command would wait for the checkout's lock, held by this same process, and its
  // wait blocks the event loop the first one needs to finish (say, after a test timed out on it).
  if (running) throw new Error(`\`npm run ${running}\` is still running in this process; commands run here one at a time`);
  running = command;
  const cwd = process.cwd();
  const saved = new Map<string, string | undefined>();
  const out: string[] = [];
  const err: string[] = [];
  const write = { out: process.stdout.write, err: process.stderr.write };
  const capture = (into: string[]) => ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    done?.();
    return true;
  }) as typeof process.stdout.write;
  try {
    // Like a fresh process: no failpoint unless asked, and no lock wait longer than a child would have.
    for (const [k, v] of Object.entries({ PLATFORM_FAILPOINT: undefined, ...options.env })) {
      saved.set(k, process.env[k]);
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    process.chdir(options.cwd ?? ROOT);
    process.stdout.write = capture(out);
    process.stderr.write = capture(err);
    const status = await COMMANDS[command](argv);
    return { status, stdout: out.join(''), stderr: err.join('') };
  } finally {
    running = undefined;
    process.stdout.write = write.out;
    process.stderr.write = write.err;
    process.chdir(cwd);
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** `node <script> <args>` in a child process (for what only a real process shows). */
export function node(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, args, {
    cwd: options.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, PLATFORM_FAILPOINT: '', ...options.env },
  });
}

/**
 * A script that takes the checkout's lock (lib/lock.ts, bundled into `dir`) in a real process:
 * `node <script> <root> <log> <ms> [<file> <from> <to>]` takes the lock in `root`, appends "enter <t>" to
 * `log`, holds the lock `ms`, replaces `from` with `to` in `file` when given (as a command writes under the
 * lock, at its end), appends "exit <t>" and releases it.
 */
export function lockHolder(dir: string): string {
  const bundle = path.join(dir, 'lock.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('esbuild').buildSync({ entryPoints: [path.join(ROOT, 'lib', 'lock.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'error' });
  const file = path.join(dir, 'hold.js');
  fs.writeFileSync(file, `
const fs = require('fs');
const { acquireLock } = require(${JSON.stringify(bundle)});
const [root, log, ms, edit, from, to] = process.argv.slice(2);
const lock = acquireLock(root, 'test');
fs.appendFileSync(log, 'enter ' + process.hrtime.bigint() + '\\n');
// Held without burning a core (the test shares the machine with the other test file).
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(ms));
if (edit) fs.writeFileSync(edit, fs.readFileSync(edit, 'utf8').replace(from, to));
fs.appendFileSync(log, 'exit ' + process.hrtime.bigint() + '\\n');
lock.release();
`);
  return file;
}

/**
 * A command's stderr without the one line it prints when it waited for the checkout's lock (lib/lock.ts):
 * other test files run commands at the same time, in other jest workers.
 */
export function withoutLockWait(stderr: string): string {
  return stderr.replace(/^waiting for `[^`]+` \(pid \d+ on [^)]*\) to finish \(\.platform\.lock\)\n/m, '');
}
