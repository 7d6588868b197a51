#!/usr/bin/env node
// `npm test`: the type check (tsc, incremental: dist/.tsbuildinfo; see tscMode) and the jest tests, at the same time, on
// two cores rather than one after the other. jest's output streams; tsc's is printed when it is done, after
// jest's, so the two never interleave. Exits non-zero when either fails (tsc's code first, else jest's);
// both always run to the end, so one run reports every type error and every failing test.
// Arguments go to jest (`npm test -- test/promote.test.ts`; a spec, `npm test -- test/cli/synth.spec.ts`, as jestArgs says).
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const { parseScriptArgs } = require('./args');
const { runnerOf, specName } = require('../test/runners');

/** What the type check reads besides node_modules: tsconfig.json's `include` folders (JSON imports too) and files. */
const TSC_INPUTS = ['main.ts', 'tsconfig.json', 'package.json', 'lib', 'charts', 'imports', 'test', 'bin'];

/**
 * The jest arguments for `npm test -- <args>`: a spec named by its path (`test/harbor.spec.ts`) runs inside the
 * test file that runs it with the others (test/runners.js: test/specs.test.ts, or test/cli.test.ts for
 * test/cli/), by its describe block, so the path becomes that file and a test name pattern
 * (`-t '^(harbor) '`). Other arguments pass unchanged; with -t given too, specs are left as they are (jest
 * then finds no such test file, and says so).
 */
function jestArgs(args) {
  const specs = args.filter((a) => a.endsWith('.spec.ts'));
  if (specs.length === 0 || args.some((a) => a === '-t' || a.startsWith('--testNamePattern'))) return args;
  const testDir = path.join(root, 'test');
  const missing = specs.filter((a) => !fs.existsSync(path.resolve(root, a)) || !path.resolve(root, a).startsWith(testDir + path.sep));
  if (missing.length > 0) throw new UsageError(`no such spec under test/: ${missing.join(', ')} (give its path from the project root, e.g. test/harbor.spec.ts)`);
  const others = args.filter((a) => a.endsWith('.test.ts'));
  if (others.length > 0) throw new UsageError(`run specs and test files apart: the specs' name filter would skip every test of ${others.join(', ')}`);
  const underTest = specs.map((a) => path.relative(testDir, path.resolve(root, a)));
  const runners = [...new Set(underTest.map(runnerOf))].sort().map((r) => path.join('test', r));
  const escaped = underTest.map(specName).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return [...args.filter((a) => !a.endsWith('.spec.ts')), ...runners, '-t', `^(${escaped.join('|')}) `];
}

class UsageError extends Error {}

if (require.main !== module) {
  module.exports = { jestArgs, tscMode, UsageError };
  return;
}

let jestArguments;
try {
  jestArguments = jestArgs(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`error: ${e.message}; nothing was run\n`);
  process.exit(2);
}

if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
  parseScriptArgs(`Usage: npm test [-- <jest arguments>]

Type-checks the project (tsc, incremental: -b when nothing changed since the last check, else -p) and
runs the jest tests, concurrently. Exits 0 only when both pass. Arguments are passed to jest, e.g. a test
file or -t <name>; a spec (test/harbor.spec.ts, test/cli/faults.spec.ts) runs inside the test file that
runs it with the others (test/specs.test.ts or test/cli.test.ts).
`);
}

const started = Date.now();
const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

/**
 * tsc's mode. Build mode (-b) first asks whether anything changed since the last check (dist/.tsbuildinfo,
 * which records errors too): when nothing did, it is done in ~0.3 s, where -p builds the whole program again
 * (~4 s of CPU) to find the same; otherwise it checks incrementally, as -p does. Its question goes by the
 * modification times of the project's own sources only, so -p checks (it compares the content of every file
 * it reads) when the answer could be wrong: after an install (npm's node_modules/.package-lock.json newer
 * than the build info), or when a file of TSC_INPUTS changed (modified or created: its status change time,
 * which a copy or move that keeps an old modification time sets too) after the build info's time, which is
 * set to the start of the check that wrote it (a file saved during a check is newer).
 */
function tscMode(dir = root) {
  const stat = (file) => fs.statSync(file, { throwIfNoEntry: false });
  const checked = stat(path.join(dir, 'dist', '.tsbuildinfo'))?.mtimeMs;
  const installed = stat(path.join(dir, 'node_modules', '.package-lock.json'))?.mtimeMs;
  if (checked === undefined || installed === undefined || installed >= checked) return '-p';
  const changedSince = (file) => {
    const st = stat(file);
    if (!st) return false;
    if (Math.max(st.mtimeMs, st.ctimeMs) >= checked) return true;
    return st.isDirectory() && fs.readdirSync(file).some((name) => changedSince(path.join(file, name)));
  };
  return TSC_INPUTS.some((input) => changedSince(path.join(dir, input))) ? '-p' : '-b';
}

const tscOutput = [];
const tscStarted = new Date();
const tsc = spawn(process.execPath, [require.resolve('typescript/bin/tsc'), tscMode(), root, '--pretty', String(process.stdout.isTTY === true)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
tsc.stdout.on('data', (d) => tscOutput.push(d));
tsc.stderr.on('data', (d) => tscOutput.push(d));
const tscDone = new Promise((resolve) => tsc.on('close', (code, signal) => {
  // A passed check covers the sources as they were when it started: the build info says so (see tscMode).
  if (code === 0) {
    try {
      fs.utimesSync(path.join(root, 'dist', '.tsbuildinfo'), tscStarted, tscStarted);
    } catch {
      // No build info: the next check is a full one.
    }
  }
  resolve({ code: code ?? 1, signal, time: seconds() });
}));

// A larger young generation for jest and its workers (they inherit node's flags): the tests allocate much
// short-lived data (parsed renders, validation contexts), and V8's default 16 MB semi-space made them collect
// it about twice as often; CPU time down by 5-10% in A/B runs here. Nothing else changes.
const jestRun = spawn(process.execPath, ['--max-semi-space-size=32', require.resolve('jest/bin/jest'), ...jestArguments], { cwd: root, stdio: 'inherit' });
const jestDone = new Promise((resolve) => jestRun.on('close', (code, signal) => resolve({ code: code ?? 1, signal })));

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    tsc.kill(signal);
    jestRun.kill(signal);
  });
}

Promise.all([tscDone, jestDone]).then(([t, j]) => {
  const text = Buffer.concat(tscOutput).toString('utf8');
  if (t.code === 0) {
    process.stdout.write(`\ntsc: no type errors (${t.time})\n`);
  } else {
    process.stdout.write(`\n${text}${text.endsWith('\n') || text === '' ? '' : '\n'}tsc: failed (exit ${t.signal ?? t.code}, ${t.time})\n`);
  }
  process.stdout.write(`npm test: ${t.code === 0 && j.code === 0 ? 'passed' : 'FAILED'} in ${seconds()}\n`);
  process.exitCode = t.code !== 0 ? t.code : j.code;
});
