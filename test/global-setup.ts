// Before any test file runs: render every environment's charts once, in parallel, so that the tests (which
// build platforms synchronously, one chart at a time on a miss) find them in dist/render-cache. On a fresh
// clone this is the one cold render of the test run.
import { composePlatform } from '../charts/platform';
import * as path from 'path';
import { configFiles, loadConfig } from '../lib/config';
import { buildPlatformAsync } from '../lib/platform';

export default async function globalSetup(): Promise<void> {
  for (const file of configFiles(path.join(__dirname, '..', 'config'))) await buildPlatformAsync(composePlatform(loadConfig(file)));
}
