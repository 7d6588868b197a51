// What every command line of the project does the same way: parse the flags (lib/args.js, node's util.parseArgs),
// answer --help, print usage and exit 2 on a bad flag, and turn a failure into one clear message and
// exit 1 (the stack only with PLATFORM_DEBUG=1, since the errors are about the input, not the code).
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { Options, Parsed, parseCommandLine } from './args';
import { redactSecrets } from './secret-scan';
import { projectRoot } from './helm';

export interface Command<O extends Options> {
  /** The usage text, printed by --help and after a bad flag. */
  readonly help: string;
  readonly options: O;
  /** How many positional arguments the command takes. @default 0 */
  readonly positionals?: readonly string[];
  /**
   * The first line printed when `run` throws, e.g. "synth failed; gitops/ was left as it was.". It must be
   * true: a function gets the error too, to say what a failed write did change (`WriteError.changed`).
   */
  readonly failure: string | ((values: Parsed<O>['values'], error: unknown) => string);
  /** Does the work; returns the exit code. */
  run(values: Parsed<O>['values'], positionals: string[]): number;
}

/** A command whose work is asynchronous (it fetches, or runs processes); see `runCommandAsync`. */
export interface AsyncCommand<O extends Options> extends Omit<Command<O>, 'run'> {
  run(values: Parsed<O>['values'], positionals: string[]): Promise<number>;
}

/** Prints the one message of a failed run and returns exit code 1. */
function reportFailure<O extends Options>(e: unknown, command: Omit<Command<O>, 'run'>, values: Parsed<O>['values']): number {
  const err = e as Error;
  const failure = typeof command.failure === 'function' ? command.failure(values, e) : command.failure;
  // A last safety net: whatever an error quotes, a credential the leak scan recognises is masked.
  process.stderr.write(`${failure}\n${redactSecrets(process.env.PLATFORM_DEBUG ? err.stack ?? err.message : err.message)}\n`);
  return 1;
}

export function runCommand<O extends Options>(argv: string[], command: Command<O>): number {
  const args = parseCommandLine(argv, command);
  if (typeof args === 'number') return args;
  enterProjectRoot(args.values as Record<string, unknown>, givenOptions(argv, command.options));
  try {
    return command.run(args.values, args.positionals);
  } catch (e) {
    return reportFailure(e, command, args.values);
  }
}

/** `runCommand` for a command whose `run` returns a promise: the same parsing, usage and failure message. */
export async function runCommandAsync<O extends Options>(argv: string[], command: AsyncCommand<O>): Promise<number> {
  const args = parseCommandLine(argv, command);
  if (typeof args === 'number') return args;
  enterProjectRoot(args.values as Record<string, unknown>, givenOptions(argv, command.options));
  try {
    return await command.run(args.values, args.positionals);
  } catch (e) {
    return reportFailure(e, command, args.values);
  }
}

/** Options whose values are paths (or, for --mirror, a path or a URL). */
const PATH_OPTIONS = ['config', 'config-dir', 'outdir', 'mirror'];

/** The names of the options given on the command line (not defaulted). argv was already parsed once. */
function givenOptions(argv: string[], options: Options): Set<string> {
  const { tokens } = parseArgs({
    args: argv,
    options: { ...options, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  return new Set(tokens.filter((t) => t.kind === 'option').map((t) => (t as { name: string }).name));
}

/**
 * Started anywhere inside the project (gitops/lab/, test/, ...), a command runs from the project root, as
 * `npm run` does: its defaults (config/, config/lab.yaml, gitops/) name the project's folders, and the
 * paths the user gave keep meaning what they meant where the user typed them (they are rewritten relative
 * to the root). Outside the project the current folder is kept, and config/ and gitops/ are both read
 * there. Returns the directory the command runs in.
 */
export function enterProjectRoot(values: Record<string, unknown>, given: ReadonlySet<string>, root: string = projectRoot()): string {
  const cwd = process.cwd();
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(root);
  } catch {
    return cwd;
  }
  const inside = path.relative(realRoot, cwd);
  // Outside the project, the current folder is the work folder (its config/ and gitops/, consistently).
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside) || !fs.existsSync(path.join(realRoot, 'package.json'))) return cwd;
  const rebase = (name: string, p: string): string => {
    if (path.isAbsolute(p) || (name === 'mirror' && /^[a-z][a-z0-9+.-]*:/i.test(p))) return p;
    const rel = path.relative(realRoot, path.resolve(cwd, p));
    return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? path.resolve(cwd, p) : rel;
  };
  for (const name of PATH_OPTIONS) {
    if (!given.has(name)) continue;
    const v = values[name];
    if (typeof v === 'string') values[name] = rebase(name, v);
    else if (Array.isArray(v)) values[name] = v.map((x) => (typeof x === 'string' ? rebase(name, x) : x));
  }
  process.chdir(realRoot);
  return realRoot;
}
