#!/usr/bin/env node
// The long fuzz run: every *.fuzz.test.ts in the workspace with many more cases than the seed-pinned test run.
//   node tools/fuzz-long.mjs [--runs N] [--seed S] [package ...]     (npm run fuzz -w @kdasr/base)
// KDASR_FUZZ_RUNS / KDASR_FUZZ_SEED reach each test; the seed is printed so a failure can be replayed with
// `KDASR_FUZZ_SEED=S KDASR_FUZZ_RUNS=N npx vitest run src/x.fuzz.test.ts` in that package.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({ options: { runs: { type: 'string', default: '1000' }, seed: { type: 'string' } }, allowPositionals: true });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`fuzz-long: --runs must be a positive integer, got ${values.runs}`);
const seed = values.seed ?? String(Math.floor(Math.random() * 2 ** 31));

function* fuzzFiles(dir) {
  for (const e of readdirSync(dir)) {
    if (e === 'node_modules' || e === 'dist' || e.startsWith('.')) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) yield* fuzzFiles(p);
    else if (e.endsWith('.fuzz.test.ts')) yield p;
  }
}

const packages = readdirSync(join(root, 'packages')).filter((p) => existsSync(join(root, 'packages', p, 'package.json')) && (positionals.length === 0 || positionals.includes(p)));
let failed = 0;
console.log(`fuzz-long: ${runs} runs per property, seed ${seed}`);
for (const p of packages) {
  const dir = join(root, 'packages', p);
  const files = [...fuzzFiles(join(dir, 'src'))].map((f) => relative(dir, f));
  if (files.length === 0) continue;
  const t0 = Date.now();
  const r = spawnSync('npx', ['vitest', 'run', ...files], { cwd: dir, stdio: 'inherit', env: { ...process.env, KDASR_FUZZ_RUNS: String(runs), KDASR_FUZZ_SEED: seed } });
  console.log(`fuzz-long: ${p}: ${files.length} file(s), ${r.status === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (r.status !== 0) failed++;
}
if (failed) {
  console.error(`fuzz-long: ${failed} package(s) failed; replay with --seed ${seed} --runs ${runs}`);
  process.exit(1);
}
