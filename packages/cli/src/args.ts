import { parseArgs, type ParseArgsConfig } from 'node:util';

/** An error in how the CLI was called: printed without a stack trace, exit code 2. */
export class CliError extends Error {}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Strict option parsing with errors that name the flag and the command's usage. */
export function parseCommandArgs<O extends OptionSpec>(command: string, argv: string[], options: O, help: string) {
  try {
    const parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
    return parsed;
  } catch (e) {
    throw new CliError(`${command}: ${(e as Error).message}\n\n${help}`);
  }
}
