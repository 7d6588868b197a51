// Types of lib/args.js (plain JavaScript: the scripts in scripts/ use it without the app's bundle).
import type { ParseArgsConfig } from 'util';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Parsed<O extends Options> = {
  values: ReturnType<typeof import('util').parseArgs<{ options: O; allowPositionals: true; strict: true }>>['values'];
  positionals: string[];
};

export interface CommandLine<O extends Options> {
  /** The usage text, printed by --help and after a bad flag. */
  readonly help: string;
  readonly options: O;
  /** The names of the positional arguments; a name ending in "?" is optional. @default - none */
  readonly positionals?: readonly string[];
}

/** The parsed arguments, or the exit code (0 after --help, 2 after a usage error) when there is nothing to run. */
export function parseCommandLine<O extends Options>(argv: string[], command: CommandLine<O>): Parsed<O> | number;
