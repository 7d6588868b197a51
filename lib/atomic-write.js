// The one write-aside-and-rename of the project. Plain JavaScript, because bin/app.js uses it before the
// TypeScript app exists (to keep the bundle it builds) and the app uses it for every other file (caches,
// the transaction's journal, set-image's config file): see atomic-write.d.ts for the typed view.
//
// A file is written to `.<name>.new-<pid>-<time>-<random>` beside itself and renamed over it, so no reader
// ever sees half of it; a staged copy a crash leaves has the shape lib/transaction.ts's recovery (and the
// cache cleanups) recognise and remove.
'use strict';
const fs = require('fs');
const path = require('path');

/** A suffix no other process or call uses: `<pid>-<time>-<random>`. */
function unique() {
  return `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** The name of a staging or old copy (`.<name>.new-<unique>`, `.<name>.old-<unique>`). */
const LEFTOVER = /^\..+\.(new|old)-\d+-[0-9a-z]+-[0-9a-z]+$/;

/** Whether a file name is a staging or old copy that a crash may have left. */
function isLeftover(name) {
  return LEFTOVER.test(name);
}

/**
 * Writes `file` whole or not at all (its folder is created). Options: `mode` (set exactly, umask aside;
 * default: a new file's mode under the umask), `uid`/`gid` (kept where the process may give the file away),
 * `durable` (fsync the file and then its folder before returning).
 */
function writeFileAtomic(file, data, options = {}) {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const staged = path.join(dir, `.${path.basename(file)}.new-${unique()}`);
  let fd;
  try {
    fd = fs.openSync(staged, 'wx', options.mode ?? 0o666);
    fs.writeFileSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    if (options.mode !== undefined) fs.fchmodSync(fd, options.mode);
    if (options.uid !== undefined && options.gid !== undefined && (options.uid !== process.getuid?.() || options.gid !== process.getgid?.())) {
      try {
        fs.fchownSync(fd, options.uid, options.gid);
      } catch {
        // Only root may give a file away: the new content is then owned by whoever writes it.
      }
    }
    if (options.durable) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(staged, file);
  } catch (e) {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* already failing */ }
    }
    fs.rmSync(staged, { force: true });
    throw e;
  }
  if (!options.durable) return;
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // Not every file system syncs a folder; the rename itself is atomic.
  }
}

module.exports = { isLeftover, unique, writeFileAtomic };
