// Before any test file runs: render every environment's charts once, in parallel, so that the tests (which
// build platforms synchronously, one chart at a time on a miss) find them in dist/render-cache. On a fresh
// clone this is the one cold render of the test run. Then synthesize config/ once, with the synth command
// itself, into a temporary gitops/ that tests copy (test/commands.ts: synthesizedGitops) instead of each
// running a synth of their own; test/global-teardown.ts removes it.
import * as fs from 'fs';
import * as os from 'os';
import { composePlatform } from '../charts/platform';
import * as path from 'path';
import { configFiles, loadConfig } from '../lib/config';
import { buildPlatformAsync } from '../lib/platform';
import { main } from '../main';

export default async function globalSetup(): Promise<void> {
  const root = path.join(__dirname, '..');
  for (const file of configFiles(path.join(root, 'config'))) await buildPlatformAsync(composePlatform(loadConfig(file)));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'platform-test-gitops-'));
  const out = path.join(dir, 'gitops');
  const cwd = process.cwd();
  const code = await main(['--outdir', out, '--quiet']);
  process.chdir(cwd);
  if (code !== 0) throw new Error(`the synth of config/ for the tests failed (exit ${code}); see above`);
  // Workers start after this, and inherit the variable.
  process.env.PLATFORM_TEST_GITOPS = out;
}
