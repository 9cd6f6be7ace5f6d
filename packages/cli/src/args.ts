import { parseArgs, type ParseArgsConfig } from 'node:util';

/** An error in how the CLI was called: printed without a stack trace, exit code 2. */
export class CliError extends Error {}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

type HelpOption = { help: { type: 'boolean'; short: 'h' } };

/** Strict option parsing with errors that name the flag and the command's usage. */
export function parseCommandArgs<O extends OptionSpec>(
  command: string,
  argv: string[],
  options: O,
  help: string,
): ReturnType<typeof parseArgs<{ args: string[]; options: O & HelpOption; strict: true; allowPositionals: true }>> {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } } as O & HelpOption,
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    throw new CliError(`${command}: ${(e as Error).message}\n\n${help}`);
  }
}
