// Writing gitops/ safely: everything is rendered in memory first, then written into a temporary folder
// beside the target and swapped in with renames, so a failed synth never leaves gitops/ half-written.
import * as fs from 'fs';
import * as path from 'path';

/** Whether `dir` holds exactly `files`, byte for byte (reading is far cheaper than rewriting). */
function holdsExactly(dir: string, files: ReadonlyMap<string, string>): boolean {
  if (!fs.existsSync(dir)) return false;
  const present = (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? (e as any).path, e.name)).split(path.sep).join('/'));
  if (present.length !== files.size) return false;
  return present.every((rel) => files.get(rel) === fs.readFileSync(path.join(dir, rel), 'utf8'));
}

/**
 * Replaces `target` with a folder holding exactly `files` (relative path -> content). A folder that
 * already holds exactly those files is left alone, so an unchanged synth writes nothing.
 */
export function replaceFolder(target: string, files: ReadonlyMap<string, string>): void {
  if (holdsExactly(target, files)) return;
  const parent = path.dirname(path.resolve(target));
  fs.mkdirSync(parent, { recursive: true });
  const base = path.basename(target);
  const staging = fs.mkdtempSync(path.join(parent, `.${base}.new-`));
  // mkdtemp makes the folder private (0700); the folder it replaces is an ordinary one.
  fs.chmodSync(staging, 0o755);
  try {
    const dirs = new Set<string>();
    for (const rel of files.keys()) dirs.add(path.dirname(path.join(staging, rel)));
    for (const d of [...dirs].sort()) fs.mkdirSync(d, { recursive: true });
    for (const [rel, content] of files) fs.writeFileSync(path.join(staging, rel), content);
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  swap(staging, target);
}

function swap(staging: string, target: string): void {
  if (!fs.existsSync(target)) {
    fs.renameSync(staging, target);
    return;
  }
  const old = `${staging}.old`;
  fs.renameSync(target, old);
  try {
    fs.renameSync(staging, target);
  } catch (e) {
    fs.renameSync(old, target);
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  fs.rmSync(old, { recursive: true, force: true });
}
