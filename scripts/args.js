// Command-line handling for the scripts in this folder (plain JavaScript, run without the app's bundle),
// with the one parser of the app's commands (lib/args.js): --help prints the usage, an unknown flag prints
// it and exits 2, a missing input names the file and how to get it and exits 1.
'use strict';
const fs = require('fs');
const { parseCommandLine } = require('../lib/args');

/**
 * Parses process.argv with the app's parser (lib/args.js); `usage` is printed by --help and after a bad
 * flag. `positionals` names the arguments ("name?" for an optional one).
 */
function parseScriptArgs(usage, options = {}, { positionals = [] } = {}) {
  const parsed = parseCommandLine(process.argv.slice(2), { help: usage, options, positionals });
  if (typeof parsed === 'number') process.exit(parsed);
  return parsed;
}

/** Exits 1 with one line when an input file or folder is missing. */
function requireInput(file, what) {
  if (fs.existsSync(file)) return;
  process.stderr.write(`error: ${what} not found at ${file}; it ships in ../shared beside this repo, or pass its path (see --help)\n`);
  process.exit(1);
}

module.exports = { parseScriptArgs, requireInput };
