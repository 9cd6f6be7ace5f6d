import { mkdirSync, readFileSync, rmSync, symlinkSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { executeJob, loadRegistry, JOB_SIDECAR } from './execute.js';
import { InlineRunner } from './inline.js';
import { LocalRunner } from './local.js';
import { jobHash, jobId } from './kind.js';
import { JobPathError, resolveInRoot } from './paths.js';
import { FIXTURE_KINDS, digestJobs, runsLog, snapshot, tempRoot } from './test-support.js';

const roots: string[] = [];
const root = () => {
  const r = tempRoot();
  roots.push(r);
  return r;
};
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

describe('resolveInRoot', () => {
  it('accepts paths inside the root and rejects .., absolute paths and symlinks that leave it', () => {
    const r = root();
    expect(resolveInRoot(r, 'a/b/../c')).toBe(join(r, 'a/c'));
    expect(() => resolveInRoot(r, '../x', 'output')).toThrow(/job payload output: "\.\.\/x" resolves to .* outside the artifact root .*; give paths relative to the artifact root/);
    expect(() => resolveInRoot(r, 'a/../../x')).toThrow(JobPathError);
    expect(() => resolveInRoot(r, '/etc/passwd')).toThrow(/"\/etc\/passwd" is absolute/);
    symlinkSync(tmpdir(), join(r, 'escape'));
    expect(() => resolveInRoot(r, 'escape/y/z')).toThrow(/follows a symlink to .* outside the artifact root/);
    mkdirSync(join(r, 'real'));
    symlinkSync(join(r, 'real'), join(r, 'inside'));
    expect(resolveInRoot(r, 'inside/z')).toBe(join(r, 'inside/z'));
  });
});

describe('executeJob', () => {
  it('writes the output atomically with the config hash in job.json, then skips the same job', async () => {
    const r = root();
    const reg = await loadRegistry(FIXTURE_KINDS);
    const [spec] = digestJobs(1);
    const first = await executeJob(reg, r, spec);
    expect(first.status).toBe('ran');
    const side = JSON.parse(readFileSync(join(r, 'out/d-0', JOB_SIDECAR), 'utf8'));
    expect(side).toMatchObject({ format: 'kdasr-job', id: jobId(spec), hash: jobHash(spec), kind: 'digest', payload: spec.payload });
    expect(side.provenance.gitCommit).toBeTruthy();
    const again = await executeJob(reg, r, spec);
    expect(again).toMatchObject({ status: 'skipped', summary: first.summary });
    expect(runsLog(r)).toHaveLength(1);
    // A changed payload is another job: rerun and replaced.
    const changed = { ...spec, payload: { ...(spec.payload as object), steps: 7 } };
    expect((await executeJob(reg, r, changed)).status).toBe('ran');
    expect(snapshot(r).leftovers).toEqual([]);
    expect(readdirSync(join(r, 'out'))).toEqual(['d-0']);
  });

  it('leaves no half-written output when the job throws', async () => {
    const r = root();
    const reg = await loadRegistry(FIXTURE_KINDS);
    await expect(executeJob(reg, r, { kind: 'flaky', payload: { output: 'out/f' } })).rejects.toThrow(/first start fails on purpose/);
    expect(existsSync(join(r, 'out/f'))).toBe(false);
    expect(readdirSync(join(r, 'out'))).toEqual(['.f.scratch']);
    expect((await executeJob(reg, r, { kind: 'flaky', payload: { output: 'out/f' } })).status).toBe('ran');
    expect(readdirSync(join(r, 'out'))).toEqual(['f']);
  });

  it('rejects a malformed payload, an unknown kind, a missing input and a path outside the root, naming the fix', async () => {
    const r = root();
    const reg = await loadRegistry(FIXTURE_KINDS);
    await expect(executeJob(reg, r, { kind: 'digest', payload: { input: 'in/seed.txt', output: 'out/x', steps: -1 } })).rejects.toThrow(
      /job digest-[0-9a-f]+: malformed digest payload: steps: .*; fix the code or config that submitted it/,
    );
    await expect(executeJob(reg, r, { kind: 'digest', payload: { input: 'in/seed.txt', output: 'out/x', steps: 1, extra: 1 } })).rejects.toThrow(/malformed digest payload: \(root\): Unrecognized key/);
    await expect(executeJob(reg, r, { kind: 'train-anything', payload: {} })).rejects.toThrow(/unknown job kind "train-anything"; this worker knows digest, flaky/);
    await expect(executeJob(reg, r, { kind: 'digest', payload: { input: 'in/none.txt', output: 'out/x', steps: 1 } })).rejects.toThrow(/input "in\/none.txt" does not exist under the artifact root/);
    await expect(executeJob(reg, r, { kind: 'digest', payload: { input: '../../etc/passwd', output: 'out/x', steps: 1 } })).rejects.toThrow(
      /job digest-[0-9a-f]+ \(digest\): job payload input 0: "\.\.\/\.\.\/etc\/passwd" resolves to \/etc\/passwd, outside the artifact root/,
    );
    await expect(executeJob(reg, r, { kind: 'digest', payload: { input: 'in/seed.txt', output: '/tmp/elsewhere', steps: 1 } })).rejects.toThrow(JobPathError);
    expect(runsLog(r)).toEqual([]);
  });
});

describe('local runner', () => {
  it('runs jobs in 2 child processes with the same outputs as in-process, and skips them on a rerun', async () => {
    const a = root();
    const b = root();
    const jobs = digestJobs(3, { steps: 2000 });
    const progress: string[] = [];
    const inline = await new InlineRunner({ root: a, registry: await loadRegistry(FIXTURE_KINDS) }).run(jobs);
    const local = await new LocalRunner({ root: b, kindsModule: FIXTURE_KINDS, concurrency: 2 }).run(jobs, { onProgress: (p) => progress.push(p.line) });
    expect(local.map((o) => o.summary)).toEqual(inline.map((o) => o.summary));
    expect(snapshot(b)).toEqual(snapshot(a));
    expect(new Set(runsLog(b).map((l) => l.split(' ')[1])).size).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toMatch(/^job 3\/3 done/);
    expect(existsSync(join(b, 'jobs/logs', `${jobId(jobs[0])}.log`))).toBe(true);
    const again = await new LocalRunner({ root: b, kindsModule: FIXTURE_KINDS, concurrency: 2 }).run(jobs);
    expect(again.map((o) => o.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(runsLog(b)).toHaveLength(3);
  });

  it('reports a failed child with its reason and log', async () => {
    const r = root();
    const err = await new LocalRunner({ root: r, kindsModule: FIXTURE_KINDS }).run([{ kind: 'digest', payload: { input: 'in/seed.txt', output: '../out', steps: 1 } }]).catch((e) => e);
    expect(err.message).toMatch(/1\/1 job\(s\) failed on the local runner:\n  digest-[0-9a-f]+: JobPathError: .*outside the artifact root.* \(log: jobs\/logs\/digest-[0-9a-f]+\.log\)/);
  });
});
