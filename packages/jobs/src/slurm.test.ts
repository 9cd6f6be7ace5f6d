import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry } from './execute.js';
import { InlineRunner } from './inline.js';
import { SLURM_DIR, SlurmRunner } from './slurm.js';
import { slurmUnavailable, startSlurm, type SlurmCluster } from './services.js';
import { FIXTURE_KINDS, digestJobs, runsLog, snapshot, tempRoot } from './test-support.js';

const why = slurmUnavailable();
if (why) console.warn(`Slurm runner tests skipped: ${why}`);

describe.skipIf(!!why)('Slurm runner on a single-node Slurm', () => {
  let slurm: SlurmCluster;
  const roots: string[] = [];
  beforeAll(async () => {
    slurm = await startSlurm();
  }, 60_000);
  afterAll(async () => {
    await slurm?.stop();
    roots.forEach((r) => rmSync(r, { recursive: true, force: true }));
  });
  const root = () => {
    const r = tempRoot();
    roots.push(r);
    return r;
  };

  it('an sbatch array matches the in-process outputs, with a log and a status file per task; a rerun resubmits nothing', async () => {
    const a = root();
    const b = root();
    const jobs = digestJobs(3, { steps: 500 });
    await new InlineRunner({ root: a, registry: await loadRegistry(FIXTURE_KINDS) }).run(jobs);
    const lines: string[] = [];
    const runner = new SlurmRunner({ root: b, kindsModule: FIXTURE_KINDS, env: slurm.env, pollMs: 300 });
    const out = await runner.run(jobs, { log: (l) => lines.push(l) });
    expect(snapshot(b)).toEqual(snapshot(a));
    expect(out.map((o) => o.status)).toEqual(['ran', 'ran', 'ran']);
    expect(lines[0]).toMatch(/slurm array \d+: 3 task\(s\) \(round 1\)/);
    const batch = join(b, SLURM_DIR, lines[0].match(/logs in jobs\/slurm\/(\w+)\/logs/)![1]);
    for (const i of [0, 1, 2]) {
      expect(readFileSync(join(batch, 'logs', `task-${i}.log`), 'utf8')).toMatch(/: ran in/);
      expect(JSON.parse(readFileSync(join(batch, 'status', `${i}.json`), 'utf8'))).toMatchObject({ index: i, exitCode: 0 });
    }
    const again: string[] = [];
    expect((await runner.run(jobs, { log: (l) => again.push(l) })).map((o) => o.status)).toEqual(['ran', 'ran', 'ran']);
    expect(again).toEqual([]);
    expect(runsLog(b)).toHaveLength(3);
  }, 180_000);

  it('resubmits a failed task, and gives up after the limit naming the task log', async () => {
    const r = root();
    const lines: string[] = [];
    const runner = new SlurmRunner({ root: r, kindsModule: FIXTURE_KINDS, env: slurm.env, pollMs: 300, maxResubmits: 1 });
    const out = await runner.run([{ kind: 'flaky', payload: { output: 'out/f' } }, ...digestJobs(1, { steps: 3 })], { log: (l) => lines.push(l) });
    expect(out.map((o) => o.status)).toEqual(['ran', 'ran']);
    expect(lines.join('\n')).toMatch(/1 task\(s\) failed; resubmitting: flaky-\w+[\s\S]*slurm array \d+: 1 task\(s\) \(round 2\)/);
    const bad = await new SlurmRunner({ root: r, kindsModule: FIXTURE_KINDS, env: slurm.env, pollMs: 300, maxResubmits: 1 })
      .run([{ kind: 'digest', payload: { input: 'in/missing.txt', output: 'out/m', steps: 1 } }])
      .catch((e) => e);
    expect(bad.message).toMatch(/1\/1 job\(s\) failed on the slurm runner:\n  digest-\w+: Error: .*input "in\/missing.txt" does not exist .*\(log: jobs\/slurm\/\w+\/logs\/task-0\.log\)/);
  }, 180_000);
});
