// Removes the run's temporary folder (test/global-setup.ts): the gitops/ it synthesized, its schema cache,
// and whatever a test left in the temporary folder.
import * as fs from 'fs';
import * as path from 'path';

export default async function globalTeardown(): Promise<void> {
  const tmp = process.env.PLATFORM_TEST_TMP;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  const out = process.env.PLATFORM_TEST_GITOPS;
  if (out && !(tmp && out.startsWith(`${tmp}${path.sep}`))) fs.rmSync(path.dirname(out), { recursive: true, force: true });
}
