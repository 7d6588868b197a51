// One command at a time per checkout: synth, set-image, promote, plan and validate hold `.platform.lock` in the
// project root while they read config and write gitops/. A second command waits for the first (saying so)
// and fails with a clear message after PLATFORM_LOCK_TIMEOUT seconds; a lock whose process is gone (killed,
// crashed) is taken over.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const LOCK_FILE = '.platform.lock';
const DEFAULT_TIMEOUT_S = 120;
/** How often a waiting command tries again: soon after the holder is done (a try creates the lock file or reads the holder's, and asks whether its process lives). */
const POLL_MS = 20;

interface Holder {
  readonly pid: number;
  readonly host: string;
  readonly command: string;
  readonly since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): Holder | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Holder;
  } catch {
    return undefined;
  }
}

/**
 * Removes a stale lock, one taker at a time: several commands may find the same dead holder, and without
 * this each would remove the lock the first one has just taken. The taker holds `<lock>.takeover` (made
 * exclusively), checks that the lock still names the same dead holder, and only then removes it. A takeover
 * file older than 10 s is itself left over from a crash and is removed.
 */
function takeOver(file: string, holder: Holder | undefined): boolean {
  const mutex = `${file}.takeover`;
  try {
    fs.writeFileSync(mutex, String(process.pid), { flag: 'wx' });
  } catch {
    const age = Date.now() - (fs.statSync(mutex, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > 10_000) fs.rmSync(mutex, { force: true });
    return false;
  }
  try {
    const now = readHolder(file);
    const same = holder ? now?.pid === holder.pid && now?.since === holder.since : now === undefined;
    if (!same) return false;
    fs.rmSync(file, { force: true });
    return true;
  } finally {
    fs.rmSync(mutex, { force: true });
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A lock held by this process: release() gives it back (also on exit). */
export interface Lock {
  release(): void;
}

/**
 * Takes the checkout's lock for `command`, waiting while another live command holds it. Throws when it
 * cannot be had within the timeout, naming the holder.
 */
export function acquireLock(root: string, command: string, log: (line: string) => void = () => undefined): Lock {
  const file = path.join(root, LOCK_FILE);
  const me: Holder = { pid: process.pid, host: os.hostname(), command, since: new Date().toISOString() };
  const timeout = Number(process.env.PLATFORM_LOCK_TIMEOUT ?? DEFAULT_TIMEOUT_S) * 1000;
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      fs.writeFileSync(file, JSON.stringify(me), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new Error(`cannot take the lock ${file} (${(e as NodeJS.ErrnoException).code}); nothing was changed`);
      }
    }
    const holder = readHolder(file);
    // A holder on this machine whose process is gone, or a lock file nobody could read for a while: stale.
    const stale = holder
      ? holder.host === me.host && !alive(holder.pid)
      : Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0) > 10_000;
    if (stale) {
      // A lock left by a crashed command is taken over quietly: there is nothing the user must do.
      takeOver(file, holder);
      continue;
    }
    const who = holder ? `\`${holder.command}\` (pid ${holder.pid} on ${holder.host}, since ${holder.since})` : 'another command';
    if (Date.now() - started >= timeout) {
      throw new Error(`${who} holds ${file}; gave up waiting after ${Math.round(timeout / 1000)} s, nothing was changed. ` +
        'Wait for it to finish and run again (PLATFORM_LOCK_TIMEOUT sets the wait in seconds)');
    }
    // Said once, and only when the wait is noticeable.
    if (!told && Date.now() - started >= 1000) {
      log(`waiting for ${who} to finish (${LOCK_FILE})`);
      told = true;
    }
    sleep(POLL_MS);
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    if (readHolder(file)?.pid === process.pid) fs.rmSync(file, { force: true });
    process.removeListener('exit', release);
  };
  process.on('exit', release);
  return { release };
}
