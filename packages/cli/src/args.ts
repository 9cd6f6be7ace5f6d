import { parseArgs, type ParseArgsConfig } from 'node:util';
import { didYouMean } from './suggest.js';

/** An error in how the CLI was called: printed without a stack trace, exit code 2. */
export class CliError extends Error {}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

type HelpOption = { help: { type: 'boolean'; short: 'h' } };

/** Every (command, flags, help) parseCommandArgs saw in this process: lets a test check help texts against specs. */
export const parsedSpecs: { command: string; options: OptionSpec; help: string }[] = [];

/** Strict option parsing with errors that name the flag, suggest the closest known one, and show the usage. */
export function parseCommandArgs<O extends OptionSpec>(
  command: string,
  argv: string[],
  options: O,
  help: string,
): ReturnType<typeof parseArgs<{ args: string[]; options: O & HelpOption; strict: true; allowPositionals: true }>> {
  parsedSpecs.push({ command, options, help });
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } } as O & HelpOption,
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    const message = (e as Error).message;
    // node:util's message for an unknown flag: Unknown option '--exp-dir'. ...
    const unknown = /Unknown option '(--?[^']+)'/.exec(message);
    const hint = unknown && unknown[1].startsWith('--') ? didYouMean(unknown[1].slice(2), [...Object.keys(options), 'help'], (s) => `--${s}`) : '';
    // Node's wording, without its advice on positionals starting with '-' (not what a mistyped flag needs).
    const what = unknown ? `Unknown option '${unknown[1]}'.` : message;
    throw new CliError(`${command}: ${what}${hint}\n\n${help}`);
  }
}
