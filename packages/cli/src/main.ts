import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandLoaders } from './commands/registry.js';
import { CliError } from './args.js';
import { didYouMean } from './suggest.js';

const GLOBAL_HELP = `global options (before or after the command):
  --quiet       only warnings and errors on stderr (no progress, no info lines)
  --log-json    stderr as one JSON object per line (info, warn, progress events), for machines
  -V, --version print kdasr's version and git commit`;

function usage(): string {
  const lines = ['usage: kdasr [--version] [--quiet] [--log-json] <command> [options]', '', 'commands:'];
  const width = Math.max(...Object.keys(commandLoaders).map((n) => n.length));
  for (const [name, c] of Object.entries(commandLoaders)) lines.push(`  ${name.padEnd(width)}  ${c.summary}`);
  lines.push('', GLOBAL_HELP, '', 'Run `kdasr <command> --help` for a command\'s options.');
  return lines.join('\n');
}

/** `kdasr 0.1.0 (git abc1234)`: the root package.json version and, in a git checkout, its commit (+dirty). */
export function versionLine(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    // A copy without the root package.json still prints the commit.
  }
  let commit = '';
  try {
    const git = (args: string[]) => execFileSync('git', args, { cwd: here, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    commit = git(['rev-parse', '--short=12', 'HEAD']);
    if (git(['status', '--porcelain', '--untracked-files=no'])) commit += '-dirty';
  } catch {
    // Not a git checkout (an npm pack, a copied tree): the version alone.
  }
  return `kdasr ${version}${commit ? ` (git ${commit})` : ''}`;
}

/** Take the global flags out of argv (up to a `--`), wherever they stand. */
function globalFlags(argv: string[]): { rest: string[]; quiet: boolean; json: boolean } {
  const end = argv.indexOf('--');
  const head = end < 0 ? argv : argv.slice(0, end);
  const tail = end < 0 ? [] : argv.slice(end);
  return { rest: [...head.filter((a) => a !== '--quiet' && a !== '--log-json'), ...tail], quiet: head.includes('--quiet'), json: head.includes('--log-json') };
}

async function main(argv: string[]): Promise<number> {
  const { rest: args, quiet, json } = globalFlags(argv);
  // Read by @kdasr/core's Logger (and inherited by worker processes); set before any command module loads.
  if (quiet) process.env.KDASR_QUIET = '1';
  if (json) process.env.KDASR_LOG_JSON = '1';
  const [name, ...rest] = args;
  if (name === '--version' || name === '-V') {
    console.log(versionLine());
    return 0;
  }
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const entry = commandLoaders[name];
  if (!entry) {
    const hint = name.startsWith('-') ? didYouMean(name.replace(/^-+/, ''), ['version', 'help', 'quiet', 'log-json'], (s) => `--${s}`) : didYouMean(name, Object.keys(commandLoaders));
    console.error(`kdasr: unknown ${name.startsWith('-') ? 'option' : 'command'} "${name}".${hint}\n\n${usage()}`);
    return 2;
  }
  const command = await entry.load();
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    // CliError: a bad flag; an error with exitCode 2 (the libraries' InputError): a bad input file or setting.
    if (e instanceof CliError || (e instanceof Error && (e as { exitCode?: unknown }).exitCode === 2)) {
      console.error(`kdasr: ${(e as Error).message}`);
      if (process.env.KDASR_DEBUG) console.error((e as Error).stack);
      process.exit(2);
    }
    console.error(e instanceof Error ? `kdasr: ${e.message}` : e);
    if (process.env.KDASR_DEBUG && e instanceof Error) console.error(e.stack);
    process.exit(1);
  },
);
