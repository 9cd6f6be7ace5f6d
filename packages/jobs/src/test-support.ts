/** Shared by this package's tests: a temp artifact root with an input file, and the fixture kinds. */
import { mkdtempSync, readdirSync, writeFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobSpec } from './kind.js';

export const FIXTURE_KINDS = fileURLToPath(new URL('./__fixtures__/kinds.ts', import.meta.url));

export function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'kdasr-jobs-'));
  mkdirSync(join(root, 'in'));
  writeFileSync(join(root, 'in', 'seed.txt'), 'the artifact root holds every input and output\n');
  return root;
}

export function digestJobs(n: number, o: { steps?: number; delayMs?: number; prefix?: string } = {}): JobSpec[] {
  return Array.from({ length: n }, (_, i) => ({ kind: 'digest', payload: { input: 'in/seed.txt', output: `${o.prefix ?? 'out'}/d-${i}`, steps: (o.steps ?? 100) + i, delayMs: o.delayMs ?? 0 } }));
}

/** Every output's digest, and anything left that is not a complete output (temp dirs). */
export function snapshot(root: string, dir = 'out'): { digests: Record<string, string>; leftovers: string[] } {
  const digests: Record<string, string> = {};
  const leftovers: string[] = [];
  const d = join(root, dir);
  if (!existsSync(d)) return { digests, leftovers };
  for (const e of readdirSync(d)) {
    if (e.startsWith('.')) leftovers.push(e);
    else digests[e] = readFileSync(join(d, e, 'digest.txt'), 'utf8').trim();
  }
  return { digests, leftovers };
}

export function runsLog(root: string): string[] {
  const f = join(root, 'runs.log');
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').filter(Boolean) : [];
}
