// Start-up time of a process that reads a model sidecar, through @kdasr/core (loads tfjs: the only way before
// the base split) against @kdasr/base (no tfjs). Each sample is a fresh `node` running from sources the way the
// CLI and job workers do (tsx, @kdasr/source condition), spawned alternately so that load on the machine hits
// both alike. Reports medians, the ratio, and a bare `node + tsx` process as the floor.
//   npm run bench -w @kdasr/base            (KDASR_BENCH_RUNS=N, default 15)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSidecar, SIDECAR_FILE } from '../src/index.js';

const runs = Number(process.env.KDASR_BENCH_RUNS ?? 15);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`KDASR_BENCH_RUNS must be a positive integer, got ${process.env.KDASR_BENCH_RUNS}`);
const tsx = createRequire(import.meta.url).resolve('tsx');
const dir = mkdtempSync(join(tmpdir(), 'kdasr-startup-'));
writeFileSync(join(dir, SIDECAR_FILE), JSON.stringify(makeSidecar('bench-model', { hidden: [256, 256] }, 1)));

const scripts: Record<string, string> = {
  'node + tsx (floor)': `process.stdout.write('ok')`,
  '@kdasr/core': `const { readSidecar } = await import('@kdasr/core'); process.stdout.write(readSidecar(${JSON.stringify(dir)}).kind)`,
  '@kdasr/base': `const { readSidecar } = await import('@kdasr/base'); process.stdout.write(readSidecar(${JSON.stringify(dir)}).kind)`,
};

function once(code: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--conditions=@kdasr/source', '--import', tsx, '--input-type=module', '-e', code], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 || !['ok', 'bench-model'].includes(r.stdout)) throw new Error(`bench child failed (${r.status}): ${r.stderr}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

try {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(scripts).map((k) => [k, []]));
  for (const code of Object.values(scripts)) once(code); // warm tsx's transform cache and the page cache
  for (let i = 0; i < runs; i++) for (const [name, code] of Object.entries(scripts)) times[name].push(once(code));
  console.log(`start-up of a process that reads ${SIDECAR_FILE}, median of ${runs} runs each (node ${process.versions.node})`);
  for (const [name, t] of Object.entries(times))
    console.log(`  ${name.padEnd(20)} ${median(t).toFixed(0).padStart(6)} ms   (min ${Math.min(...t).toFixed(0)}, max ${Math.max(...t).toFixed(0)})`);
  const core = median(times['@kdasr/core']);
  const base = median(times['@kdasr/base']);
  const floor = median(times['node + tsx (floor)']);
  console.log(`  ratio core / base: ${(core / base).toFixed(2)}x; above the floor: core ${(core - floor).toFixed(0)} ms, base ${(base - floor).toFixed(0)} ms`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
