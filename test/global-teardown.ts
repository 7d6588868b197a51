// Removes the gitops/ that test/global-setup.ts synthesized for the run.
import * as fs from 'fs';
import * as path from 'path';

export default async function globalTeardown(): Promise<void> {
  const out = process.env.PLATFORM_TEST_GITOPS;
  if (out) fs.rmSync(path.dirname(out), { recursive: true, force: true });
}
