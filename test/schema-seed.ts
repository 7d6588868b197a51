// The seed of the tests' schema cache (test/setup-schema-cache.ts): what the run's first synth found valid
// (its dist/schema-cache.json), and the keys the test files of the run before used, which each test file
// leaves in TEST_SCHEMA_CACHE_DIR when it is done. Written by test/global-setup.ts, read by every test file.
import * as fs from 'fs';
import * as path from 'path';

/** Where each test file leaves the keys it found valid or reused (one file per test file). */
export const TEST_SCHEMA_CACHE_DIR = path.join(__dirname, '..', 'dist', 'test-schema-cache');

/** Writes to `seed` the keys of `synthCache` and of every file in TEST_SCHEMA_CACHE_DIR (unreadable ones left out). */
export function writeSeed(synthCache: string, seed: string): void {
  const keys = new Set<string>();
  const read = (file: string) => {
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (Array.isArray(parsed)) for (const k of parsed) if (typeof k === 'string') keys.add(k);
    } catch {
      // No such file, or not one of ours: nothing to seed from it.
    }
  };
  read(synthCache);
  let files: string[] = [];
  try {
    files = fs.readdirSync(TEST_SCHEMA_CACHE_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    // No test file has left keys yet.
  }
  for (const f of files) read(path.join(TEST_SCHEMA_CACHE_DIR, f));
  fs.writeFileSync(seed, JSON.stringify([...keys]));
}
