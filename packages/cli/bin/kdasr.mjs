#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx) with the @kdasr/source export condition, so the CLI never
// runs a stale build. Re-executes node once with the right flags when they are missing.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const main = join(here, '..', 'src', 'main.ts');
const require = createRequire(import.meta.url);
const tsx = require.resolve('tsx');
const flags = ['--conditions=@kdasr/source', '--import', tsx, '--no-warnings=ExperimentalWarning'];
const r = spawnSync(process.execPath, [...flags, main, ...process.argv.slice(2)], { stdio: 'inherit' });
if (r.error) {
  console.error(`kdasr: cannot start node: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? (r.signal ? 128 + 1 : 1));
