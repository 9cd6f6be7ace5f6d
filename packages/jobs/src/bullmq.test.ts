import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BullRunner, jobsStatus, formatJobsStatus } from './bullmq.js';
import { loadRegistry } from './execute.js';
import { InlineRunner } from './inline.js';
import { jobId } from './kind.js';
import { tsNodeArgs } from './node-args.js';
import { redisUnavailable, spawnWatched, startRedis, type RedisServer, type WatchedProcess } from './services.js';
import { FIXTURE_KINDS, digestJobs, runsLog, snapshot, tempRoot } from './test-support.js';

const why = redisUnavailable();
if (why) console.warn(`BullMQ runner tests skipped: ${why}`);

const fixture = (f: string) => fileURLToPath(new URL(`./__fixtures__/${f}`, import.meta.url));

type Proc = WatchedProcess;

/** A node process in its own process group (so kill -9 of the group takes its sandboxed children too). */
function start(file: string, args: string[]): Proc {
  return spawnWatched(process.execPath, [...tsNodeArgs(), fixture(file), ...args]);
}

const procs: Proc[] = [];
const killGroup = (pr: Proc, signal: NodeJS.Signals = 'SIGKILL') => {
  try {
    process.kill(-pr.p.pid!, signal);
  } catch {
    /* gone */
  }
};
const exited = (pr: Proc) => new Promise<void>((r) => (pr.p.exitCode !== null || pr.p.signalCode !== null ? r() : pr.p.once('exit', () => r())));

describe.skipIf(!!why)('BullMQ runner on a real Redis', () => {
  let redis: RedisServer | undefined;
  const roots: string[] = [];
  afterEach(async () => {
    for (const pr of procs.splice(0)) {
      killGroup(pr, 'SIGTERM');
      await Promise.race([exited(pr), new Promise((r) => setTimeout(r, 3000))]);
      killGroup(pr);
    }
    await redis?.stop();
    redis = undefined;
  });
  afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
  const root = () => {
    const r = tempRoot();
    roots.push(r);
    return r;
  };
  const inlineResult = async (jobs: ReturnType<typeof digestJobs>) => {
    const r = root();
    await new InlineRunner({ root: r, registry: await loadRegistry(FIXTURE_KINDS) }).run(jobs);
    return snapshot(r);
  };

  it('2 worker processes give the same outputs as in-process; jobs status lists them; a malformed payload fails with its reason', async () => {
    redis = await startRedis();
    const r = root();
    const workers = [start('worker.ts', [redis.url, r]), start('worker.ts', [redis.url, r])];
    procs.push(...workers);
    await Promise.all(workers.map((w) => w.waitFor(/worker ready/)));
    const jobs = digestJobs(4, { steps: 50, delayMs: 20 });
    const runner = new BullRunner({ redis: redis.url, pollMs: 100 });
    const lines: string[] = [];
    const out = await runner.run(jobs, { onProgress: (p) => lines.push(p.line) });
    expect(snapshot(r)).toEqual(await inlineResult(jobs));
    expect(out.map((o) => o.id)).toEqual(jobs.map(jobId));
    expect(lines.at(-1)).toMatch(/^job 4\/4 done/);
    expect(lines.some((l) => /ETA \d/.test(l))).toBe(true);
    // Both workers took jobs.
    for (const w of workers) expect(w.out.some((l) => /\] done digest-/.test(l))).toBe(true);
    const bad = await runner.run([{ kind: 'digest', payload: { input: 'in/seed.txt', output: '../../outside', steps: 1 } }]).catch((e) => e);
    expect(bad.message).toMatch(/1\/1 job\(s\) failed on the bullmq runner:\n  digest-\w+: JobPathError: .*outside the artifact root .*\(after 1 attempt\(s\)\)/);
    await runner.close();
    const status = await jobsStatus({ redis: redis.url });
    expect(status.counts.completed).toBe(4);
    expect(status.counts.failed).toBe(1);
    const text = formatJobsStatus(status);
    expect(text).toMatch(/queue "kdasr": 0 active, 0 waiting, 0 delayed, 0 prioritized, 1 failed, 4 completed/);
    expect(text).toMatch(/failed +digest-\w+ 1 attempt\(s\); .*reason: JobPathError/);
  }, 120_000);

  it('kill -9 of a worker holding a job: the job is recovered as stalled and finished by the other worker, nothing lost, duplicated or half-written', async () => {
    redis = await startRedis();
    const r = root();
    // Short lock and stalled check so the test sees the recovery in seconds (production: 60 s / 30 s).
    const a = start('worker.ts', [redis.url, r, '2000', '1000']);
    const b = start('worker.ts', [redis.url, r, '2000', '1000']);
    procs.push(a, b);
    await Promise.all([a, b].map((w) => w.waitFor(/worker ready/)));
    const jobs = digestJobs(3, { steps: 40, delayMs: 100 });
    const runner = new BullRunner({ redis: redis.url, pollMs: 100 });
    const done = runner.run(jobs);
    const started = await a.waitFor(/\] start digest-/);
    const victim = /start (digest-\w+)/.exec(started)![1];
    const victimOut = (jobs.find((j) => jobId(j) === victim)!.payload as { output: string }).output;
    // Once the job is running in A's sandbox (its start is logged in runs.log), take A and its sandbox down at once.
    for (let t = 0; !runsLog(r).some((l) => l.startsWith(victimOut + ' ')); t++) {
      if (t > 600) throw new Error(`job ${victim} never started in worker A`);
      await new Promise((res) => setTimeout(res, 50));
    }
    await new Promise((res) => setTimeout(res, 300));
    killGroup(a);
    const out = await done;
    await runner.close();
    expect(out.map((o) => o.id)).toEqual(jobs.map(jobId));
    expect(snapshot(r)).toEqual({ ...(await inlineResult(jobs)), leftovers: [] });
    // The victim started twice (killed, then recovered); every other job once.
    const starts = runsLog(r).map((l) => l.split(' ')[0]);
    expect(starts.filter((o) => o === victimOut)).toHaveLength(2);
    expect(starts).toHaveLength(jobs.length + 1);
    expect(b.out.join('\n')).toMatch(new RegExp(`stalled job ${victim} .*moved back to waiting`));
    const status = await jobsStatus({ redis: redis.url });
    expect(status.jobs.find((j) => j.id === victim)).toMatchObject({ state: 'completed' });
    expect(formatJobsStatus(status)).toMatch(new RegExp(`completed ${victim} .*recovered after 1 stall\\(s\\)`));
  }, 120_000);

  it('killing the submitter and rerunning it reattaches to the queued and finished jobs: nothing runs twice', async () => {
    redis = await startRedis();
    const r = root();
    const w = start('worker.ts', [redis.url, r]);
    procs.push(w);
    await w.waitFor(/worker ready/);
    const jobs = digestJobs(3, { steps: 20, delayMs: 100 });
    const sub = start('submit.ts', [redis.url, JSON.stringify(jobs)]);
    procs.push(sub);
    await sub.waitFor(/submitted 3 job\(s\)/);
    await w.waitFor(/\] done digest-/);
    killGroup(sub);
    await exited(sub);
    const lines: string[] = [];
    const runner = new BullRunner({ redis: redis.url, pollMs: 100 });
    const out = await runner.run(jobs, { log: (l) => lines.push(l) });
    await runner.close();
    expect(lines.filter((l) => /already queued \((completed|active|waiting)\); reattached/.test(l))).toHaveLength(3);
    expect(out.map((o) => o.status)).toEqual(['ran', 'ran', 'ran']);
    expect(runsLog(r)).toHaveLength(3);
    expect(snapshot(r)).toEqual(await inlineResult(jobs));
  }, 120_000);

  it('an unreachable Redis and a missing password give errors that say what to fix', async () => {
    await expect(new BullRunner({ redis: 'redis://127.0.0.1:1' }).run(digestJobs(1))).rejects.toThrow(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(.*ECONNREFUSED.*\); start redis-server there .*or fix --redis/);
    await expect(new BullRunner({ redis: 'http://127.0.0.1:1' }).run([])).rejects.toThrow(/scheme http: is not redis: or rediss:/);
    redis = await startRedis({ password: 's3cret' });
    const noPass = redis.url.replace(':s3cret@', '');
    const e = await jobsStatus({ redis: noPass }).catch((x) => x);
    expect(e.message).toMatch(/NOAUTH.*put the password in the URL/);
    const wrong = await jobsStatus({ redis: redis.url.replace('s3cret', 'nope') }).catch((x) => x);
    expect(wrong.message).not.toMatch(/nope/);
    expect((await jobsStatus({ redis: redis.url })).counts.waiting).toBe(0);
  }, 60_000);
});
