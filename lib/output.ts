// Writing gitops/ safely: everything is rendered in memory first, then written into a temporary folder
// beside the target and swapped in with renames, so a failed synth never leaves gitops/ half-written.
import * as fs from 'fs';
import * as path from 'path';

/** Replaces `target` with a folder holding exactly `files` (relative path -> content). */
export function replaceFolder(target: string, files: ReadonlyMap<string, string>): void {
  const parent = path.dirname(path.resolve(target));
  fs.mkdirSync(parent, { recursive: true });
  const base = path.basename(target);
  const staging = fs.mkdtempSync(path.join(parent, `.${base}.new-`));
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
