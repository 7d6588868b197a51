// The tests' schema cache across runs (test/schema-seed.ts): what a test file leaves is seeded into the next
// run beside the synth's keys, a run of one spec keeps the others' keys, and keys left under another stamp of
// the checking code are dropped.
import * as fs from 'fs';
import * as path from 'path';
import { saveKeys, validatorStamp, writeSeed } from './schema-seed';
import { tempDir } from './helpers';

const seedOf = (dir: string, synthKeys: string[]) => {
  const synthCache = path.join(dir, 'synth-cache.json');
  fs.writeFileSync(synthCache, JSON.stringify(synthKeys));
  const seed = path.join(dir, 'seed.json');
  writeSeed(synthCache, seed, path.join(dir, 'left'));
  return (JSON.parse(fs.readFileSync(seed, 'utf8')) as string[]).sort();
};

test('a test file\'s keys seed the next run, beside the synth\'s; a later run of part of it keeps the rest', () => {
  const dir = tempDir();
  const left = path.join(dir, 'left');
  saveKeys('specs.test.ts', new Set(['a', 'b']), left);
  saveKeys('cli.test.ts', new Set(['c']), left);
  expect(seedOf(dir, ['s'])).toEqual(['a', 'b', 'c', 's']);
  // One spec ran: it used only "a" and found "d"; "b" stays.
  saveKeys('specs.test.ts', new Set(['a', 'd']), left);
  expect(seedOf(dir, ['s'])).toEqual(['a', 'b', 'c', 'd', 's']);
  // A file that used nothing writes nothing.
  saveKeys('promote.test.ts', new Set(), left);
  expect(fs.readdirSync(left).sort()).toEqual(['cli.test.ts.json', 'specs.test.ts.json']);
});

test('keys left under another stamp of the checking code are not seeded', () => {
  const dir = tempDir();
  const left = path.join(dir, 'left');
  fs.mkdirSync(left);
  fs.writeFileSync(path.join(left, 'specs.test.ts.json'), JSON.stringify({ stamp: `${validatorStamp()}-older`, keys: ['stale'] }));
  fs.writeFileSync(path.join(left, 'cli.test.ts.json'), JSON.stringify({ stamp: validatorStamp(), keys: ['fresh'] }));
  fs.writeFileSync(path.join(left, 'other.json'), 'not json');
  expect(seedOf(dir, [])).toEqual(['fresh']);
  // Saving under the current stamp drops the stale keys rather than carrying them on.
  saveKeys('specs.test.ts', new Set(['new']), left);
  expect(JSON.parse(fs.readFileSync(path.join(left, 'specs.test.ts.json'), 'utf8'))).toEqual({ stamp: validatorStamp(), keys: ['new'] });
});
