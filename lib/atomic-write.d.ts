// Types of lib/atomic-write.js (plain JavaScript: bin/app.js loads it before the app is built).

export interface AtomicWriteOptions {
  /** The file's mode, set exactly (umask aside). @default - a new file's mode under the umask */
  readonly mode?: number;
  /** The owner to keep, where the process may give the file away. */
  readonly uid?: number;
  readonly gid?: number;
  /** fsync the file and its folder before returning. @default false */
  readonly durable?: boolean;
}

/** Writes `file` aside (`.<name>.new-<unique>`) and renames it into place, so no reader ever sees half of it. */
export function writeFileAtomic(file: string, data: string | Uint8Array, options?: AtomicWriteOptions): void;

/** A suffix no other process or call uses: `<pid>-<time>-<random>`. */
export function unique(): string;

/** Whether a file name is a staging or old copy (`.<name>.new-<unique>`, `.<name>.old-<unique>`) a crash may have left. */
export function isLeftover(name: string): boolean;
