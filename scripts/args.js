// Command-line handling for the scripts in this folder (plain JavaScript, run without the app's bundle):
// --help prints the usage, an unknown flag prints it and exits 2, a missing input names the file and how
// to get it and exits 1. lib/cli.ts does the same for the app's commands.
'use strict';
const fs = require('fs');
const { parseArgs } = require('util');

/** Parses process.argv; `usage` is printed by --help and after a bad flag. */
function parseScriptArgs(usage, options = {}, { positionals = false } = {}) {
  let parsed;
  try {
    parsed = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: positionals, strict: true });
  } catch (e) {
    process.stderr.write(`error: ${e.message}\n\n${usage}`);
    process.exit(2);
  }
  if (parsed.values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  return parsed;
}

/** Exits 1 with one line when an input file or folder is missing. */
function requireInput(file, what) {
  if (fs.existsSync(file)) return;
  process.stderr.write(`error: ${what} not found at ${file}; it ships in ../shared beside this repo, or pass its path (see --help)\n`);
  process.exit(1);
}

module.exports = { parseScriptArgs, requireInput };
