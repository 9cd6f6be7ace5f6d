/**
 * The speech recipe's ensemble stage through every runner: in-process, local child processes, two BullMQ workers
 * (`kdasr worker` processes on a real redis-server, one killed with -9 while it trains a member) and a single-node
 * Slurm. With the same seeds and the tfjs cpu backend, every member's weights are byte-identical to in-process.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime } from '@kdasr/core';
import { EspeakUnavailableError, getEspeak } from '@kdasr/corpus';
import { asrPreset, runAsrExperiment, type StageJobs } from '@kdasr/experiments';
import { BullRunner, LocalRunner, SlurmRunner, jobsStatus, formatJobsStatus, redisUnavailable, slurmUnavailable, spawnWatched, startRedis, startSlurm, type RedisServer, type WatchedProcess } from '@kdasr/jobs';
import { JOB_KINDS_MODULE, ensembleMemberJob } from '@kdasr/experiments';

const repo = resolve(import.meta.dirname, '..', '..');
let why = '';
try {
  getEspeak();
} catch (e) {
  if (!(e instanceof EspeakUnavailableError)) throw e;
  why = `libespeak-ng is unavailable (${e.message})`;
}
if (why) console.warn(`fan-out tests skipped: ${why}`);
const noRedis = redisUnavailable();
const noSlurm = slurmUnavailable();
if (noRedis) console.warn(`fan-out BullMQ test skipped: ${noRedis}`);
if (noSlurm) console.warn(`fan-out Slurm test skipped: ${noSlurm}`);

type Proc = WatchedProcess;

/** `kdasr worker ...` in its own process group (kill -9 of the group takes its sandboxed job process too). */
function kdasr(args: string[]): Proc {
  return spawnWatched(process.execPath, [join(repo, 'packages/cli/bin/kdasr.mjs'), ...args], { env: { ...process.env, OPENBLAS_NUM_THREADS: '1' }, defaultTimeoutMs: 120_000 });
}
const killGroup = (pr: Proc, signal: NodeJS.Signals = 'SIGKILL') => {
  try {
    process.kill(-pr.p.pid!, signal);
  } catch {
    /* gone */
  }
};

describe.skipIf(!!why)('ensemble stage as jobs (smoke preset, tfjs cpu)', () => {
  const root = mkdtempSync(join(tmpdir(), 'kdasr-fanout-'));
  const config = asrPreset('smoke', { engine: 'tfjs' });
  const log = () => {};
  const procs: Proc[] = [];
  let redis: RedisServer | undefined;
  const copies = ['inline', 'local', 'bullmq', 'cli', 'slurm'];
  beforeAll(async () => {
    await initRuntime({ backend: 'cpu' });
    await runAsrExperiment({ config, expDir: join(root, 'data-only'), stopStage: 'labels', log });
    for (const c of copies) cpSync(join(root, 'data-only'), join(root, c), { recursive: true });
    await runAsrExperiment({ config, expDir: join(root, 'inline'), stage: 'ensemble', stopStage: 'ensemble', log });
  }, 300_000);
  afterEach(async () => {
    for (const pr of procs.splice(0)) killGroup(pr);
    await redis?.stop();
    redis = undefined;
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const ensemble = (dir: string, jobs: StageJobs) => runAsrExperiment({ config, expDir: join(root, dir), stage: 'ensemble', stopStage: 'ensemble', log, jobs });
  /** Every member's weight files (bytes) and training curve (without wall times); dot-entries are leftovers. */
  const members = (dir: string) => {
    const models = join(root, dir, 'models');
    const entries = readdirSync(models).sort();
    const out: Record<string, unknown> = { entries };
    for (const m of entries.filter((e) => !e.startsWith('.'))) {
      const md = join(models, m, 'model');
      for (const f of readdirSync(md).filter((f) => f.endsWith('.bin'))) out[`${m}/${f}`] = readFileSync(join(md, f)).toString('base64');
      const rec = JSON.parse(readFileSync(join(models, m, 'train.json'), 'utf8'));
      out[`${m}/history`] = rec.history.map((h: { seconds?: number }) => ({ ...h, seconds: undefined }));
    }
    return out;
  };

  it('in-process writes one member directory per member, each with its job sidecar', () => {
    const m = members('inline');
    expect(m.entries).toEqual(['member-0', 'member-1']);
    expect(existsSync(join(root, 'inline/models/member-0/job.json'))).toBe(true);
    expect(Object.keys(m).filter((k) => k.endsWith('.bin')).length).toBeGreaterThanOrEqual(2);
  });

  it('local runner (2 child processes) trains byte-identical members', async () => {
    const r = await ensemble('local', { runner: new LocalRunner({ root, kindsModule: JOB_KINDS_MODULE, concurrency: 2, env: { OPENBLAS_NUM_THREADS: '1' } }), root });
    expect(r.outcomes.find((o) => o.name === 'ensemble')!.status).toBe('ran');
    expect(members('local')).toEqual(members('inline'));
  }, 300_000);

  it.skipIf(!!noRedis)('bullmq: 2 `kdasr worker` processes, one killed -9 mid-member; the stalled job is finished by the other, members identical', async () => {
    redis = await startRedis();
    const args = ['worker', '--redis', redis.url, '--artifacts', root, '--lock-duration-ms', '2000', '--stalled-interval-ms', '1000'];
    const a = kdasr(args);
    const b = kdasr(args);
    procs.push(a, b);
    await Promise.all([a, b].map((w) => w.waitFor(/queue "kdasr" on redis/)));
    const runner = new BullRunner({ redis: redis.url, pollMs: 200 });
    const done = ensemble('bullmq', { runner, root });
    // Kill A once its sandboxed process has begun the member (executeJob made the member's scratch dir).
    const started = await a.waitFor(/\] start asr-ensemble-member-/);
    const victim = /start (asr-ensemble-member-\w+)/.exec(started)![1];
    const models = join(root, 'bullmq', 'models');
    for (let t = 0; !(existsSync(models) && readdirSync(models).some((e) => e.endsWith('.scratch'))); t++) {
      if (t > 1200) throw new Error('the member job never started in worker A');
      await new Promise((r) => setTimeout(r, 50));
    }
    killGroup(a);
    await done;
    await runner.close();
    expect(members('bullmq')).toEqual(members('inline'));
    expect(b.out.join('\n')).toMatch(new RegExp(`stalled job ${victim} .*moved back to waiting`));
    const status = await jobsStatus({ redis: redis.url });
    expect(status.counts.completed).toBe(config.ensemble.members);
    expect(formatJobsStatus(status)).toMatch(new RegExp(`completed ${victim} .*recovered after 1 stall`));
    // A second submitter of the same jobs reattaches to the finished ones: nothing is trained again.
    const doneLines = () => [a, b].flatMap((w) => w.out.filter((l) => /\] done asr-ensemble-member-/.test(l))).length;
    const before = doneLines();
    const again = new BullRunner({ redis: redis.url, pollMs: 200 });
    const lines: string[] = [];
    const jobs = Array.from({ length: config.ensemble.members }, (_, i) => ensembleMemberJob(config, 'bullmq', i));
    const out = await again.run(jobs, { log: (l) => lines.push(l) });
    await again.close();
    expect(lines.filter((l) => /already queued \(completed\); reattached/.test(l))).toHaveLength(config.ensemble.members);
    expect(out.map((o) => o.status)).toEqual(['ran', 'ran']);
    await new Promise((r) => setTimeout(r, 500));
    expect(doneLines()).toBe(before);
  }, 300_000);

  it.skipIf(!!noRedis)('kdasr experiment asr --runner bullmq: killing the submitter and rerunning it reattaches; nothing is trained twice', async () => {
    redis = await startRedis();
    const workers = [0, 1].map(() => kdasr(['worker', '--redis', redis!.url, '--artifacts', root]));
    procs.push(...workers);
    await Promise.all(workers.map((w) => w.waitFor(/queue "kdasr" on redis/)));
    const argv = ['experiment', 'asr', '--preset', 'smoke', '--engine', 'tfjs', '--backend', 'cpu', '--out', join(root, 'cli'), '--stop-stage', 'ensemble', '--runner', 'bullmq', '--redis', redis.url, '--artifacts', root];
    const first = kdasr(argv);
    procs.push(first);
    await first.waitFor(/submitted 2 job\(s\) to queue "kdasr"/);
    killGroup(first);
    const second = kdasr(argv);
    procs.push(second);
    const code = await new Promise<number | null>((r) => second.p.once('exit', (c) => r(c)));
    expect(code, second.out.join('\n')).toBe(0);
    const text = second.out.join('\n');
    expect(text).toMatch(/stage 3 \(ensemble\): .*\[resuming an interrupted run\]/);
    expect(text.match(/already queued \((waiting|active|completed)\); reattached/g)).toHaveLength(2);
    expect(text).toMatch(/job 2\/2 done/);
    expect(members('cli')).toEqual(members('inline'));
    const done = workers.flatMap((w) => w.out.filter((l) => /\] done asr-ensemble-member-/.test(l)));
    expect(done).toHaveLength(2);
  }, 300_000);

  it.skipIf(!!noSlurm)('slurm runner (sbatch array on a single-node Slurm) trains byte-identical members', async () => {
    const slurm = await startSlurm();
    try {
      await ensemble('slurm', { runner: new SlurmRunner({ root, kindsModule: JOB_KINDS_MODULE, env: { ...slurm.env, OPENBLAS_NUM_THREADS: '1' }, pollMs: 500 }), root });
      expect(members('slurm')).toEqual(members('inline'));
    } finally {
      await slurm.stop();
    }
  }, 300_000);
});
