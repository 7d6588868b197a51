// Runs before each test file (jest setupFiles), in its module registry: every validation that is given no
// schema cache uses one seeded with the objects the run's first synth found valid against their schema
// (test/global-setup.ts keeps that synth's dist/schema-cache.json aside as PLATFORM_TEST_SCHEMA_CACHE), and
// remembers what the file itself finds valid. A key is a digest of the schema bundle and of the object, so
// an object is skipped only when exactly that object passed exactly that schema; one that fails is never
// in the cache and is checked every time. Tests of the cache itself pass their own (validation/schema.spec.ts).
import * as fs from 'fs';
import type { SchemaCache } from '../lib/validation';
import { setDefaultSchemaCache } from '../lib/validation/default-cache';

class SeededSchemaCache implements SchemaCache {
  /** Tests edit objects and validate them again: keys are digests of each object as it is then. */
  readonly objectsMayChange = true;
  private known?: Set<string>;

  constructor(private readonly file: string | undefined) {}

  has(key: string): boolean {
    return this.keys().has(key);
  }

  add(key: string): void {
    this.keys().add(key);
  }

  /** Read on first use: most test files never validate. */
  private keys(): Set<string> {
    if (!this.known) {
      let keys: unknown = [];
      try {
        if (this.file) keys = JSON.parse(fs.readFileSync(this.file, 'utf8'));
      } catch {
        // No seed: the cache starts empty and fills as the file validates.
      }
      this.known = new Set(Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : []);
    }
    return this.known;
  }
}

setDefaultSchemaCache(new SeededSchemaCache(process.env.PLATFORM_TEST_SCHEMA_CACHE));
