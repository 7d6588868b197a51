// The seed of the tests' schema cache (test/setup-schema-cache.ts): what the run's first synth found valid
// (its dist/schema-cache.json), and the keys the test files of earlier runs used, which each test file
// leaves in TEST_SCHEMA_CACHE_DIR when it is done. Written by test/global-setup.ts, read by every test file.
//
// A key vouches for an object against a schema bundle, not for the code that checks it: the test files' keys
// are kept under a stamp of that code (lib/validation/ and the validator packages), and a change to it drops
// them, so that a stricter check is not skipped for objects an older one passed.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../lib/atomic-write';
import { readSchemaCacheKeys } from '../lib/validation/cache-file';

const ROOT = path.join(__dirname, '..');

/** Where each test file leaves the keys it found valid or reused (one file per test file). */
export const TEST_SCHEMA_CACHE_DIR = path.join(ROOT, 'dist', 'test-schema-cache');

/** Keys kept per test file: about three full runs' worth (a run of the specs uses ~3,000). */
const MAX_KEYS_PER_FILE = 10_000;

/** The packages whose code checks objects besides lib/validation/. */
const VALIDATOR_PACKAGES = ['ajv', 'ajv-formats', '@bufbuild/cel'];

let stamp: string | undefined;

/** A digest of the code that checks objects against their schemas and rules. */
export function validatorStamp(): string {
  if (stamp === undefined) {
    const hash = createHash('sha256');
    const dir = path.join(ROOT, 'lib', 'validation');
    for (const f of fs.readdirSync(dir).sort()) hash.update(f).update('\0').update(fs.readFileSync(path.join(dir, f))).update('\0');
    for (const p of VALIDATOR_PACKAGES) hash.update(`${p}@${(JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', p, 'package.json'), 'utf8')) as { version: string }).version}\0`);
    stamp = hash.digest('base64url');
  }
  return stamp;
}

interface KeysFile {
  readonly stamp: string;
  readonly keys: readonly string[];
}

/** The keys of a test file's cache file, if it was written under the current stamp. */
function keysOf(file: string): readonly string[] {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<KeysFile>;
    if (parsed.stamp !== validatorStamp() || !Array.isArray(parsed.keys)) return [];
    return parsed.keys.filter((k): k is string => typeof k === 'string');
  } catch {
    return [];
  }
}

/**
 * Keeps a test file's keys for the next runs: those it used first, then those the file held before (a run of
 * one spec must not drop the others'), up to MAX_KEYS_PER_FILE. Only a cache: a failed write costs time.
 */
export function saveKeys(testFile: string, used: ReadonlySet<string>, dir = TEST_SCHEMA_CACHE_DIR): void {
  if (used.size === 0) return;
  const file = path.join(dir, `${testFile}.json`);
  const current = validatorStamp();
  const keys = new Set(used);
  for (const k of keysOf(file)) {
    if (keys.size >= MAX_KEYS_PER_FILE) break;
    keys.add(k);
  }
  try {
    writeFileAtomic(file, JSON.stringify({ stamp: current, keys: [...keys].slice(0, MAX_KEYS_PER_FILE) } satisfies KeysFile));
  } catch {
    // dist/ may be read-only.
  }
}

/** Writes to `seed` the keys of `synthCache` and those every test file left in `dir` under the current stamp. */
export function writeSeed(synthCache: string, seed: string, dir = TEST_SCHEMA_CACHE_DIR): void {
  const keys = new Set(readSchemaCacheKeys(synthCache));
  let files: string[] = [];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    // No test file has left keys yet.
  }
  for (const f of files) for (const k of keysOf(path.join(dir, f))) keys.add(k);
  fs.writeFileSync(seed, JSON.stringify([...keys]));
}
