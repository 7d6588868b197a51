// The one command-line parser of the project, for the app's commands (lib/cli.ts) and the scripts in
// scripts/ (plain JavaScript, run by node before the app can be built): node's util.parseArgs, strict,
// plus --help/-h. --help prints the usage and means exit 0; an unknown flag or a wrong number of
// arguments prints the error and the usage and means exit 2. See args.d.ts for the typed view.
'use strict';
const { parseArgs } = require('util');

/**
 * Parses `argv` for a command: `{ values, positionals }`, or the exit code when there is nothing to run
 * (after printing the usage or the error). `positionals` names the arguments; a name ending in "?" is
 * optional (only after the required ones).
 */
function parseCommandLine(argv, { help, options = {}, positionals = [] }) {
  let args;
  try {
    args = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h', default: false } }, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`error: ${e.message}\n\n${help}`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(help);
    return 0;
  }
  const required = positionals.filter((p) => !p.endsWith('?')).length;
  if (args.positionals.length < required || args.positionals.length > positionals.length) {
    const what = positionals.length === 0 ? 'no arguments' : positionals.map((p) => (p.endsWith('?') ? `[<${p.slice(0, -1)}>]` : `<${p}>`)).join(' ');
    process.stderr.write(`error: expected ${what}, got ${args.positionals.length} argument(s)\n\n${help}`);
    return 2;
  }
  return args;
}

module.exports = { parseCommandLine };
