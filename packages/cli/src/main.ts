import { commandLoaders } from './commands/registry.js';
import { CliError } from './args.js';

function usage(): string {
  const lines = ['usage: kdasr <command> [options]', '', 'commands:'];
  const width = Math.max(...Object.keys(commandLoaders).map((n) => n.length));
  for (const [name, c] of Object.entries(commandLoaders)) lines.push(`  ${name.padEnd(width)}  ${c.summary}`);
  lines.push('', 'Run `kdasr <command> --help` for a command\'s options.');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const entry = commandLoaders[name];
  if (!entry) {
    console.error(`kdasr: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const command = await entry.load();
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof CliError) {
      console.error(`kdasr: ${e.message}`);
      process.exit(2);
    }
    console.error(e instanceof Error ? `kdasr: ${e.message}` : e);
    if (process.env.KDASR_DEBUG && e instanceof Error) console.error(e.stack);
    process.exit(1);
  },
);
