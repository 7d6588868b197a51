// What every command line of the project does the same way: parse the flags (node's util.parseArgs),
// answer --help, print usage and exit 2 on a bad flag, and turn a failure into one clear message and
// exit 1 (the stack only with PLATFORM_DEBUG=1, since the errors are about the input, not the code).
import { parseArgs, ParseArgsConfig } from 'util';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>;

export interface Command<O extends Options> {
  /** The usage text, printed by --help and after a bad flag. */
  readonly help: string;
  readonly options: O;
  /** How many positional arguments the command takes. @default 0 */
  readonly positionals?: readonly string[];
  /** The first line printed when `run` throws, e.g. "synth failed; gitops/ was left as it was." */
  readonly failure: string | ((values: Parsed<O>['values']) => string);
  /** Does the work; returns the exit code. */
  run(values: Parsed<O>['values'], positionals: string[]): number;
}

/** A command whose work is asynchronous (it fetches, or runs processes); see `runCommandAsync`. */
export interface AsyncCommand<O extends Options> extends Omit<Command<O>, 'run'> {
  run(values: Parsed<O>['values'], positionals: string[]): Promise<number>;
}

/** Parses argv for `command`: the parsed arguments, or the exit code when there is nothing to run. */
function parseCommandLine<O extends Options>(argv: string[], command: Omit<Command<O>, 'run'>): Parsed<O> | number {
  let args: Parsed<O>;
  try {
    args = parseArgs({
      args: argv,
      options: { ...command.options, help: { type: 'boolean', short: 'h', default: false } } as O,
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n\n${command.help}`);
    return 2;
  }
  if ((args.values as { help?: boolean }).help) {
    process.stdout.write(command.help);
    return 0;
  }
  const expected = command.positionals ?? [];
  if (args.positionals.length !== expected.length) {
    const what = expected.length === 0 ? 'no arguments' : expected.map((p) => `<${p}>`).join(' ');
    process.stderr.write(`error: expected ${what}, got ${args.positionals.length} argument(s)\n\n${command.help}`);
    return 2;
  }
  return args;
}

/** Prints the one message of a failed run and returns exit code 1. */
function reportFailure<O extends Options>(e: unknown, command: Omit<Command<O>, 'run'>, values: Parsed<O>['values']): number {
  const err = e as Error;
  const failure = typeof command.failure === 'function' ? command.failure(values) : command.failure;
  process.stderr.write(`${failure}\n${process.env.PLATFORM_DEBUG ? err.stack ?? err.message : err.message}\n`);
  return 1;
}

export function runCommand<O extends Options>(argv: string[], command: Command<O>): number {
  const args = parseCommandLine(argv, command);
  if (typeof args === 'number') return args;
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
  try {
    return await command.run(args.values, args.positionals);
  } catch (e) {
    return reportFailure(e, command, args.values);
  }
}
