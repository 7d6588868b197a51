// Reading a schema cache file (a JSON list of keys): synth's dist/schema-cache.json (lib/validate-platform.ts)
// and the tests' seed (test/setup-schema-cache.ts). In a module of its own, without the validation, so that
// the tests' setup of every test file does not load it.
import * as fs from 'fs';

/** The keys of a schema cache file; none when it is missing or unreadable (then everything is validated). */
export function readSchemaCacheKeys(file: string): string[] {
  try {
    const keys: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : [];
  } catch {
    return [];
  }
}
