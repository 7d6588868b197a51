// Runs before each test file (jest setupFilesAfterEnv), in its module registry: every validation that is
// given no schema cache uses one seeded with the objects earlier validations found valid against their
// schema: those of the run's first synth (test/global-setup.ts keeps that synth's dist/schema-cache.json
// aside as PLATFORM_TEST_SCHEMA_CACHE) and those the test files of earlier runs found valid or reused
// (test/schema-seed.ts). It remembers what the file itself finds valid, and when the file is done keeps what
// it found valid or reused for the next runs, under a stamp of the checking code. A key is a digest of the schema bundle and of the object, so an object is skipped only
// when exactly that object passed exactly that schema; one that fails is never in the cache and is checked
// every time. Like synth's own cache, this one lives in dist/: a cold run (a fresh clone, CI) checks every
// object. Tests of the cache itself pass their own (validation/schema.spec.ts).
import * as path from 'path';
import type { SchemaCache } from '../lib/validation';
import { setDefaultSchemaCache } from '../lib/validation/default-cache';
import { readSchemaCacheKeys } from '../lib/validation/cache-file';
import { saveKeys } from './schema-seed';

class SeededSchemaCache implements SchemaCache {
  /** Tests edit objects and validate them again: keys are digests of each object as it is then. */
  readonly objectsMayChange = true;
  private known?: Set<string>;
  /** The keys this file found valid or reused: what the next run keeps. */
  private readonly used = new Set<string>();

  constructor(private readonly file: string | undefined) {}

  has(key: string): boolean {
    const known = this.keys().has(key);
    if (known) this.used.add(key);
    return known;
  }

  add(key: string): void {
    this.keys().add(key);
    this.used.add(key);
  }

  /** Keeps the keys this file used for the next runs (test/schema-seed.ts). */
  save(testFile: string): void {
    saveKeys(testFile, this.used);
  }

  /** Read on first use: most test files never validate. */
  private keys(): Set<string> {
    // No seed: the cache starts empty and fills as the file validates.
    this.known ??= new Set(this.file ? readSchemaCacheKeys(this.file) : []);
    return this.known;
  }
}

const cache = new SeededSchemaCache(process.env.PLATFORM_TEST_SCHEMA_CACHE);
setDefaultSchemaCache(cache);
// By its path under test/ (the runners are test/cli.test.ts, test/specs.test.ts, test/promote.test.ts).
const testFile = path.relative(__dirname, expect.getState().testPath ?? 'unnamed').split(path.sep).join('_');
afterAll(() => cache.save(testFile));
