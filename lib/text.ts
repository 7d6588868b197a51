// Ordering that is the same on every machine. String.prototype.localeCompare follows the process's locale
// (LANG, LC_ALL): under Czech "ch" sorts after "h", under Danish "aa" after "z", so output sorted with it
// would differ between a developer's machine and CI. gitops/ must be byte-identical everywhere.

/** Compares by UTF-16 code units, as Array.prototype.sort does by default. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
