// Before any test file runs: synthesize config/ once, with the synth command itself, into a temporary gitops/
// that tests copy (test/commands.ts: synthesizedGitops) instead of each running a synth of their own, and keep
// its schema cache for test/setup-schema-cache.ts; test/global-teardown.ts removes both. The synth renders
// every environment's charts (one environment after another, each one's charts in parallel), so that the
// tests (which build platforms synchronously, one chart at a time on a miss) find them in dist/render-cache:
// on a fresh clone this is the one cold render of the test run.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../main';
import { SCHEMA_CACHE } from '../lib/synth';
import { writeSeed } from './schema-seed';

/**
 * One folder for every temporary file of the run (os.tmpdir() of this process and of the workers, which
 * inherit TMPDIR: tests' tempDir, Helm's renders, plan's checkouts), in memory (/dev/shm) where there is
 * one: the tests copy, write and delete thousands of small files (test/cli/faults.spec.ts alone ~9,000), and on
 * a disk other jobs use, each delete waited about a millisecond. test/global-teardown.ts removes it all.
 */
function runTempFolder(): string {
  let base = os.tmpdir();
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    if (fs.statSync('/dev/shm').isDirectory()) base = '/dev/shm';
  } catch {
    // No memory file system: the system's temporary folder.
  }
  return fs.mkdtempSync(path.join(base, 'platform-test-run-'));
}

export default async function globalSetup(): Promise<void> {
  const tmp = runTempFolder();
  process.env.TMPDIR = tmp;
  process.env.PLATFORM_TEST_TMP = tmp;
  const dir = fs.mkdtempSync(path.join(tmp, 'platform-test-gitops-'));
  const out = path.join(dir, 'gitops');
  const cwd = process.cwd();
  const code = await main(['--outdir', out, '--quiet']);
  process.chdir(cwd);
  if (code !== 0) throw new Error(`the synth of config/ for the tests failed (exit ${code}); see above`);
  // What that synth found valid against its schema (every object of every environment: it rewrites the
  // file with what it checked or reused), and what the test files of the run before did, aside from dist/,
  // which tests' own synths rewrite meanwhile.
  const schemaCache = path.join(dir, 'schema-cache.json');
  writeSeed(SCHEMA_CACHE, schemaCache);
  // Workers start after this, and inherit the variables.
  process.env.PLATFORM_TEST_GITOPS = out;
  process.env.PLATFORM_TEST_SCHEMA_CACHE = schemaCache;
}
