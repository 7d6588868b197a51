// Writes that are whole or not at all, across every environment folder and the config file of one command.
//
// A command stages everything it will write beside its target (`.<name>.new-<id>`), and only when every
// byte is on disk does it commit: it writes a journal (`.platform-transaction.json` in the output folder,
// e.g. gitops/, itself written aside and renamed), then swaps each target with two renames (target -> `.<name>.old-<id>`,
// staged -> target), then deletes the old copies and the journal. A failure before the journal leaves
// everything as it was (the staged copies are removed). A failure during the swaps is rolled back. A crash
// at any instant is finished by the next command, which reads the journal first (`recover`): once the
// journal exists the change is decided, and recovery rolls it forward; without a journal, leftovers are
// only staging and are removed. Commands read the tree only after recovery, and never read dot-folders.
//
// Failpoints (`PLATFORM_FAILPOINT=<step>`) let the fault-injection tests kill the process or fail a write
// at each step; they do nothing otherwise.
import * as fs from 'fs';
import * as path from 'path';
import { isLeftover, unique, writeFileAtomic } from './atomic-write';

export const JOURNAL = '.platform-transaction.json';

/** One replacement: `target` (a folder or a file) gets `staged`; the previous copy goes to `old`. */
interface Swap {
  readonly target: string;
  /** The staged copy, or undefined to remove the target. */
  readonly staged?: string;
  readonly old: string;
}

interface Journal {
  readonly swaps: readonly Swap[];
}

/** An error that says what the failed command changed, so that the message can tell the truth. */
export class WriteError extends Error {
  constructor(message: string, readonly changed: readonly string[]) {
    super(message);
    this.name = 'WriteError';
  }
}

/** Thrown at a failpoint instead of the kill when a test simulates crashes in its own process (`simulateCrashes`). */
export class SimulatedCrash extends Error {
  constructor(readonly step: string) {
    super(`simulated crash at ${step}`);
    this.name = 'SimulatedCrash';
  }
}

let crashHook: ((step: string) => void) | undefined;

/**
 * For tests that run the commands in their own process: a failpoint that would kill the process calls
 * `hook` instead, which records the disk as the kill would leave it (a copy of the work folder), and then
 * throws a SimulatedCrash. Whatever the command does after that (its error handling) happens on a disk the
 * test throws away. `undefined` restores the kill.
 */
export function simulateCrashes(hook: ((step: string) => void) | undefined): void {
  crashHook = hook;
}

/**
 * Runs a failpoint: with PLATFORM_FAILPOINT=`name` the process is killed there (SIGKILL, as a crash), with
 * `name:enospc`, `name:erofs` or `name:eacces` the step fails with that error. Names are the steps below.
 */
export function failpoint(name: string): void {
  const wanted = process.env.PLATFORM_FAILPOINT;
  if (!wanted) return;
  if (wanted === name) {
    if (crashHook) {
      crashHook(name);
      throw new SimulatedCrash(name);
    }
    process.kill(process.pid, 'SIGKILL');
  }
  const [step, code] = wanted.split(':');
  if (step === name && code) {
    const err = new Error(`${code.toUpperCase()}: injected failure at ${name}`) as NodeJS.ErrnoException;
    err.code = code.toUpperCase();
    throw err;
  }
}

/** The error, naming the target being written when it names nothing (a failed write has no path). */
function named(e: unknown, target: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err === 'object' && !err.path) err.path = target;
  return e;
}

function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function removeQuietly(p: string): string | undefined {
  try {
    fs.rmSync(p, { recursive: true, force: true });
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
}

/** Whether `dir` holds exactly `files`, byte for byte (reading is far cheaper than rewriting). */
function holdsExactly(dir: string, files: ReadonlyMap<string, string>): boolean {
  let entries: fs.Dirent[];
  try {
    if (!fs.statSync(dir).isDirectory()) return false;
    entries = fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[];
  } catch {
    return false;
  }
  const present = entries.filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? (e as any).path, e.name)).split(path.sep).join('/'));
  if (present.length !== files.size) return false;
  return present.every((rel) => files.get(rel) === fs.readFileSync(path.join(dir, rel), 'utf8'));
}

export class Transaction {
  private readonly swaps: Swap[] = [];
  private readonly journalFile: string;
  private folders = 0;

  /** `journalDir`: where the journal lives, the output folder (gitops/): the next command looks there. */
  constructor(journalDir: string) {
    fs.mkdirSync(journalDir, { recursive: true });
    this.journalFile = path.join(path.resolve(journalDir), JOURNAL);
  }

  /** What the commit will change (targets), for messages. */
  public get targets(): string[] {
    return this.swaps.map((s) => s.target);
  }

  /**
   * Stages `target` as a folder holding exactly `files` (relative path -> content). Nothing is staged when
   * it already holds exactly those files: an unchanged synth writes nothing.
   */
  public stageFolder(target: string, files: ReadonlyMap<string, string>): void {
    if (holdsExactly(target, files)) return;
    const parent = path.dirname(path.resolve(target));
    fs.mkdirSync(parent, { recursive: true });
    const staged = path.join(parent, `.${path.basename(target)}.new-${unique()}`);
    // Recorded first, so that abort() removes a half-written staging folder too.
    this.swaps.push({ target: path.resolve(target), staged, old: path.join(parent, `.${path.basename(target)}.old-${unique()}`) });
    fs.mkdirSync(staged, { mode: 0o755 });
    const dirs = new Set<string>();
    for (const rel of files.keys()) dirs.add(path.dirname(path.join(staged, rel)));
    for (const d of [...dirs].sort()) fs.mkdirSync(d, { recursive: true });
    const folder = ++this.folders;
    let n = 0;
    for (const [rel, content] of files) {
      try {
        failpoint(`stage-${folder}-write-${++n}`);
        fs.writeFileSync(path.join(staged, rel), content);
      } catch (e) {
        throw named(e, target);
      }
    }
  }

  /**
   * Stages `target` as a file with `content`. A symlink is written through (its target file is replaced,
   * the link stays), and the file keeps its mode.
   */
  public stageFile(target: string, content: string | Buffer): void {
    const real = exists(target) ? fs.realpathSync(target) : path.resolve(target);
    const st = exists(real) ? fs.statSync(real) : undefined;
    const mode = st ? st.mode & 0o7777 : 0o644;
    const staged = path.join(path.dirname(real), `.${path.basename(real)}.new-${unique()}`);
    this.swaps.push({ target: real, staged, old: path.join(path.dirname(real), `.${path.basename(real)}.old-${unique()}`) });
    try {
      failpoint('stage-file');
      fs.writeFileSync(staged, content, { mode });
      fs.chmodSync(staged, mode);
      // The file keeps its owner too (a command run as root must not hand a user's config to root).
      if (st && process.getuid?.() === 0) fs.chownSync(staged, st.uid, st.gid);
    } catch (e) {
      throw named(e, real);
    }
  }

  /** Removes `target` (a folder) in the commit. */
  public remove(target: string): void {
    const parent = path.dirname(path.resolve(target));
    this.swaps.push({ target: path.resolve(target), old: path.join(parent, `.${path.basename(target)}.old-${unique()}`) });
  }

  /** Removes every staged copy; nothing changes. */
  public abort(): void {
    for (const s of this.swaps) if (s.staged) removeQuietly(s.staged);
    this.swaps.length = 0;
  }

  /**
   * Applies every staged change. Throws a WriteError that says what changed: nothing (rolled back), or,
   * if even the rollback failed, exactly what is left and that the next command finishes it.
   * Returns the targets that changed.
   */
  public commit(): string[] {
    if (this.swaps.length === 0) return [];
    try {
      failpoint('before-journal');
      writeFileAtomic(this.journalFile, `${JSON.stringify({ swaps: this.swaps } satisfies Journal, null, 2)}\n`);
    } catch (e) {
      this.abort();
      throw new WriteError(`cannot write the journal ${this.journalFile} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); nothing was changed`, []);
    }
    failpoint('journal');
    const done: Swap[] = [];
    try {
      this.swaps.forEach((s, i) => {
        swapIn(s, i + 1);
        done.push(s);
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      const failed = this.swaps[done.length];
      try {
        // Back out in reverse: the half-done swap first, then every finished one.
        rollBack(failed);
        for (const s of [...done].reverse()) rollBack(s);
        fs.rmSync(this.journalFile, { force: true });
        this.abort();
      } catch (e2) {
        throw new WriteError(
          `cannot replace ${failed.target} (${code}), and undoing the change failed too (${(e2 as NodeJS.ErrnoException).code ?? (e2 as Error).message}); ` +
          `${done.map((s) => s.target).join(', ') || 'no target'} already hold the new content. The journal ${this.journalFile} remains: ` +
          'the next synth, plan or set-image finishes the change once the cause is fixed', done.map((s) => s.target));
      }
      throw new WriteError(`cannot replace ${failed.target} (${code}); the change was undone, nothing was changed`, []);
    }
    failpoint('swapped');
    const leftovers = cleanUp(this.swaps);
    fs.rmSync(this.journalFile, { force: true });
    const changed = this.swaps.map((s) => s.target);
    this.swaps.length = 0;
    if (leftovers.length > 0) {
      throw new WriteError(`${changed.join(', ')} ${changed.length === 1 ? 'was' : 'were'} replaced, but the previous copies could not all be removed (${leftovers.join('; ')}); remove them by hand`, changed);
    }
    return changed;
  }
}

function swapIn(s: Swap, n: number): void {
  if (exists(s.target)) {
    fs.renameSync(s.target, s.old);
    failpoint(`swap-${n}-old`);
  }
  if (s.staged) {
    failpoint(`swap-${n}-new`);
    fs.renameSync(s.staged, s.target);
  }
}

function rollBack(s: Swap | undefined): void {
  if (!s) return;
  if (s.staged && exists(s.target) && !exists(s.staged) && exists(s.old)) fs.renameSync(s.target, s.staged);
  if (exists(s.old) && !exists(s.target)) fs.renameSync(s.old, s.target);
}

/** Deletes the previous copies; returns what could not be deleted. */
function cleanUp(swaps: readonly Swap[]): string[] {
  const left: string[] = [];
  for (const s of swaps) {
    const err = removeQuietly(s.old);
    if (err) left.push(`${s.old}: ${err}`);
  }
  return left;
}

/**
 * Finishes what a crashed command left: rolls the journaled change of an output folder forward, and removes
 * staging and old copies (`.<name>.new-*`, `.<name>.old-*`) in the given folders. `folders[0]` is the output
 * folder, whose journal is read. Returns one line per action, for the log.
 */
export function recover(folders: readonly string[]): string[] {
  const log: string[] = [];
  if (folders.length > 0) log.push(...rollForward(path.join(path.resolve(folders[0]), JOURNAL)));
  for (const dir of new Set(folders.map((f) => path.resolve(f)))) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!isLeftover(name)) continue;
      const err = removeQuietly(path.join(dir, name));
      log.push(err ? `could not remove leftover ${path.join(dir, name)} (${err})` : `removed leftover ${path.join(dir, name)}`);
    }
  }
  return log;
}

function rollForward(journalFile: string): string[] {
  const log: string[] = [];
  let journal: Journal | undefined;
  try {
    journal = JSON.parse(fs.readFileSync(journalFile, 'utf8')) as Journal;
  } catch {
    return log;
  }
  if (journal && Array.isArray(journal.swaps)) {
    for (const s of journal.swaps) {
      if (s.staged && exists(s.staged)) {
        if (exists(s.target)) fs.renameSync(s.target, s.old);
        fs.renameSync(s.staged, s.target);
      } else if (!s.staged && exists(s.target)) {
        fs.renameSync(s.target, s.old);
      }
    }
    for (const left of cleanUp(journal.swaps)) log.push(`could not remove ${left}`);
    fs.rmSync(journalFile, { force: true });
    log.push(`finished an interrupted change: ${journal.swaps.map((s) => s.target).join(', ')}`);
  }
  return log;
}

/**
 * The first line of a failed command's message, true to what happened: "<command> failed; <nothing>" when
 * nothing changed, else what the failed write did change.
 */
export function failureLine(command: string, nothing: string, error: unknown): string {
  const changed = error instanceof WriteError ? error.changed : [];
  if (changed.length === 0) return `${command} failed; ${nothing}`;
  return `${command} failed after it changed ${changed.map((t) => path.relative(process.cwd(), t) || t).join(', ')}.`;
}
