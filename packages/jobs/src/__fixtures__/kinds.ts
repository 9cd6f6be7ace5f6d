/**
 * Job kinds for the runner tests: small but real work with a checkable, deterministic result. `digest` hashes its
 * input repeatedly (steps × delay sets how long it holds a worker, so a test can kill one mid-job) and appends a line
 * to runs.log under the root each time it starts, so a test can count executions. `flaky` fails its first start.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { defineJobKind } from '../kind.js';

const digest = defineJobKind({
  name: 'digest',
  description: 'iterated sha256 of an input file',
  payload: z.strictObject({ input: z.string(), output: z.string(), steps: z.number().int().positive(), delayMs: z.number().int().min(0).default(0) }),
  inputs: (p) => [p.input],
  output: (p) => p.output,
  async run(p, ctx) {
    appendFileSync(join(ctx.root, 'runs.log'), `${p.output} ${process.pid}\n`);
    let h = readFileSync(ctx.path(p.input));
    for (let i = 0; i < p.steps; i++) {
      h = createHash('sha256').update(h).digest();
      ctx.progress((i + 1) / p.steps);
      if (p.delayMs) await new Promise((r) => setTimeout(r, p.delayMs));
    }
    writeFileSync(join(ctx.outDir, 'digest.txt'), h.toString('hex') + '\n');
    return { digest: h.toString('hex') };
  },
});

const flaky = defineJobKind({
  name: 'flaky',
  description: 'fails on its first start, succeeds on the next',
  payload: z.strictObject({ output: z.string() }),
  inputs: () => [],
  output: (p) => p.output,
  async run(p, ctx) {
    const marker = join(ctx.scratchDir, 'tried');
    if (!existsSync(marker)) {
      writeFileSync(marker, '1');
      throw new Error('flaky: first start fails on purpose');
    }
    writeFileSync(join(ctx.outDir, 'ok.txt'), 'ok\n');
    return { ok: true };
  },
});

export const jobKinds = [digest, flaky];
