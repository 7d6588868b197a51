// The one write-aside-and-rename (lib/atomic-write.js), used by bin/app.js, the caches, the transaction's
// journal and set-image's config write.
import * as fs from 'fs';
import * as path from 'path';
import { isLeftover, writeFileAtomic } from '../lib/atomic-write';
import { recover } from '../lib/transaction';
import { tempDir } from './helpers';

test('writes whole files with the given mode, and leaves nothing beside them', () => {
  const dir = path.join(tempDir(), 'a', 'b');
  const file = path.join(dir, 'x.json');
  writeFileAtomic(file, '{}', { mode: 0o600, durable: true });
  writeFileAtomic(file, Buffer.from('[1]'));
  expect(fs.readFileSync(file, 'utf8')).toBe('[1]');
  expect(fs.readdirSync(dir)).toEqual(['x.json']);
  writeFileAtomic(path.join(dir, 'y'), 'y', { mode: 0o755 });
  expect(fs.statSync(path.join(dir, 'y')).mode & 0o777).toBe(0o755);
});

test('a failed write removes its staged copy; a crash\'s staged copy is a leftover recovery removes', () => {
  const dir = tempDir();
  expect(() => writeFileAtomic(path.join(dir, 'x'), 42 as unknown as string)).toThrow();
  expect(fs.readdirSync(dir)).toEqual([]);
  const staged = `.x.new-${process.pid}-abc-def`;
  expect(isLeftover(staged)).toBe(true);
  expect(isLeftover('x.json')).toBe(false);
  fs.writeFileSync(path.join(dir, staged), 'half');
  recover([dir]);
  expect(fs.readdirSync(dir)).toEqual([]);
});
