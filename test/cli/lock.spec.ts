// The checkout's lock (lib/lock.ts), across real processes: one holder at a time, also when several
// commands find the same dead holder's lock at once.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tempDir } from '../helpers';
import { lockHolder } from '../commands';

/** The most holders at once, from the log's enter/exit lines. */
function maxHolders(log: string): number {
  const events = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')).map(([e, t]) => ({ e, t: BigInt(t) }))
    .sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
  let now = 0;
  let max = 0;
  for (const { e } of events) {
    now += e === 'enter' ? 1 : -1;
    max = Math.max(max, now);
  }
  return max;
}

test('six commands that find the same dead holder\'s lock take it one at a time', async () => {
  const dir = tempDir();
  const hold = lockHolder(dir);
  const root = fs.mkdtempSync(path.join(dir, 'root-'));
  const log = path.join(root, 'log');
  // A lock left by a process that no longer runs.
  fs.writeFileSync(path.join(root, '.platform.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: require('os').hostname(), command: 'npm run synth', since: 'then' }));
  await Promise.all(Array.from({ length: 6 }, () => new Promise<void>((resolve, reject) => {
    const p = spawn(process.execPath, [hold, root, log, '50'], { stdio: 'ignore' });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
  })));
  expect(fs.readFileSync(log, 'utf8').match(/enter/g)).toHaveLength(6);
  expect(maxHolders(log)).toBe(1);
  expect(fs.existsSync(path.join(root, '.platform.lock'))).toBe(false);
}, 60_000);
