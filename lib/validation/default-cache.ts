// The schema cache of validations given none (lib/validation/index.ts validateManifests): unset, so every
// object is checked, unless a caller sets one. The tests set one holding what the run's first synth and the
// test files of earlier runs found valid (test/setup-schema-cache.ts), so that the many validations of nearly
// the same objects check each object against its schema once, rather than once per test. A key names the bundle and the object,
// so a cached key is valid whoever checked it. In a module of its own, without imports, so that setting it
// does not load the validation (each jest test file loads its modules anew).
import type { SchemaCache } from './types';

let cache: SchemaCache | undefined;

export function setDefaultSchemaCache(c: SchemaCache | undefined): void {
  cache = c;
}

export function defaultSchemaCache(): SchemaCache | undefined {
  return cache;
}
