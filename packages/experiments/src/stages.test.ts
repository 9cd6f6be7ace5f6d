import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readDone, runStages, stageHashes, type Stage } from './stages.js';

interface Cfg {
  a: number;
  b: number;
}

/** Three stages: `one` depends on a, `two` on b and reads one, `three` reads two; each counts its runs in a file. */
function stages(dir: string, fail?: string): Stage<Cfg>[] {
  const bump = (name: string) => {
    if (fail === name) throw new Error(`${name} interrupted`);
    const f = join(dir, `${name}.count`);
    let n = 0;
    try {
      n = Number(readFileSync(f, 'utf8'));
    } catch {}
    writeFileSync(f, String(n + 1));
    return { ran: n + 1 };
  };
  return [
    { name: 'one', description: 'first', configSlice: (c) => c.a, run: async () => bump('one') },
    { name: 'two', description: 'second', configSlice: (c) => c.b, after: ['one'], run: async () => bump('two') },
    { name: 'three', description: 'third', configSlice: () => 0, after: ['two'], run: async () => bump('three') },
  ];
}
const count = (dir: string, name: string) => {
  try {
    return Number(readFileSync(join(dir, `${name}.count`), 'utf8'));
  } catch {
    return 0;
  }
};

let dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'kdasr-stages-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});
const quiet = { log: () => {} };

describe('runStages', () => {
  it('runs every stage once, then skips complete ones', async () => {
    const d = tmp();
    const first = await runStages(stages(d), { a: 1, b: 1 }, { expDir: d, ...quiet });
    expect(first.map((o) => o.status)).toEqual(['ran', 'ran', 'ran']);
    const again = await runStages(stages(d), { a: 1, b: 1 }, { expDir: d, ...quiet });
    expect(again.map((o) => o.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(['one', 'two', 'three'].map((n) => count(d, n))).toEqual([1, 1, 1]);
    expect(readDone(d, 'two')?.provenance.gitCommit).toBeTruthy();
  });

  it('reruns a stage whose config slice changed, and everything downstream of it, but nothing upstream', async () => {
    const d = tmp();
    await runStages(stages(d), { a: 1, b: 1 }, { expDir: d, ...quiet });
    const r = await runStages(stages(d), { a: 1, b: 2 }, { expDir: d, ...quiet });
    expect(r.map((o) => o.status)).toEqual(['skipped', 'ran', 'ran']);
    expect(stageHashes(stages(d), { a: 1, b: 1 }).get('three')).not.toBe(stageHashes(stages(d), { a: 1, b: 2 }).get('three'));
  });

  it('resumes at the stage that was interrupted', async () => {
    const d = tmp();
    await expect(runStages(stages(d, 'two'), { a: 1, b: 1 }, { expDir: d, ...quiet })).rejects.toThrow(/two interrupted/);
    expect(readDone(d, 'two')).toBeUndefined();
    const r = await runStages(stages(d), { a: 1, b: 1 }, { expDir: d, ...quiet });
    expect(r.map((o) => o.status)).toEqual(['skipped', 'ran', 'ran']);
    expect(count(d, 'one')).toBe(1);
  });

  it('honours --stage / --stop-stage by number or name and refuses to read incomplete upstream outputs', async () => {
    const d = tmp();
    const r = await runStages(stages(d), { a: 1, b: 1 }, { expDir: d, stopStage: 'one', ...quiet });
    expect(r.map((o) => o.status)).toEqual(['ran', 'not-in-range', 'not-in-range']);
    await expect(runStages(stages(d), { a: 1, b: 1 }, { expDir: d, stage: 2, ...quiet })).rejects.toThrow(/stage 2 \(three\) reads the outputs of stage "two", which is not complete .*--stage 1 \(two\)/);
    // With stage one stale too (another value of a), the error points at the earliest stage to rerun, not at two.
    await expect(runStages(stages(d), { a: 2, b: 1 }, { expDir: d, stage: 2, ...quiet })).rejects.toThrow(/stage "two", which is not complete .*--stage 0 \(one\)/);
    await expect(runStages(stages(d), { a: 1, b: 1 }, { expDir: d, stage: 'nine', ...quiet })).rejects.toThrow(/--stage nine: expected a stage number 0-2 or a name \(one, two, three\)/);
    await expect(runStages(stages(d), { a: 1, b: 1 }, { expDir: d, stage: 2, stopStage: 1, ...quiet })).rejects.toThrow(/comes after/);
    const forced = await runStages(stages(d), { a: 1, b: 1 }, { expDir: d, stopStage: 0, force: true, ...quiet });
    expect(forced[0].status).toBe('ran');
    expect(count(d, 'one')).toBe(2);
  });
});

describe('stage outputs', () => {
  it('are removed when a stage starts under a new hash, kept when it resumes under the same one', async () => {
    const d = tmp();
    const mk = (fail: boolean): Stage<Cfg>[] => [
      {
        name: 'units',
        description: 'writes a file per unit, resumable',
        configSlice: (c) => c.a,
        outputs: ['out'],
        run: async (c) => {
          const { mkdirSync, existsSync } = await import('node:fs');
          mkdirSync(join(d, 'out'), { recursive: true });
          const made: number[] = [];
          for (let u = 0; u < 3; u++) {
            const f = join(d, 'out', `u${u}`);
            if (existsSync(f)) continue;
            if (fail && u === 2) throw new Error('killed');
            writeFileSync(f, String(c.a));
            made.push(u);
          }
          return { made };
        },
      },
    ];
    await expect(runStages(mk(true), { a: 1, b: 0 }, { expDir: d, ...quiet })).rejects.toThrow(/killed/);
    const resumed = await runStages(mk(false), { a: 1, b: 0 }, { expDir: d, ...quiet });
    expect(resumed[0].summary).toEqual({ made: [2] });
    const changed = await runStages(mk(false), { a: 2, b: 0 }, { expDir: d, ...quiet });
    expect(changed[0].summary).toEqual({ made: [0, 1, 2] });
    expect(readFileSync(join(d, 'out', 'u0'), 'utf8')).toBe('2');
  });
});

describe('experiment directory lock', () => {
  it('a second run into an experiment dir held by another process fails at once with the lock message; released after', async () => {
    const { spawn } = await import('node:child_process');
    const { createRequire } = await import('node:module');
    const { existsSync } = await import('node:fs');
    const dir = tmp();
    const code = `const { runStages } = await import(${JSON.stringify(new URL('./stages.ts', import.meta.url).href)});
await runStages([{ name: 'slow', description: 'holds the dir', configSlice: () => 0, run: async () => { process.stdout.write('running\\n'); await new Promise((r) => setTimeout(r, 60_000)); } }], {}, { expDir: ${JSON.stringify(dir)}, log: () => {} });`;
    const child = spawn(process.execPath, ['--conditions=@kdasr/source', '--import', createRequire(import.meta.url).resolve('tsx'), '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((res, rej) => {
        child.stdout!.on('data', (d) => String(d).includes('running') && res());
        child.on('exit', (c) => rej(new Error(`stage runner exited ${c} early`)));
      });
      const t0 = Date.now();
      await expect(runStages(stages(dir), { a: 1, b: 1 }, { expDir: dir, ...quiet })).rejects.toThrow(new RegExp(`^${dir} is in use by pid ${child.pid} \\(command .*\\) since `));
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(count(dir, 'one')).toBe(0);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    expect(existsSync(join(dir, '.kdasr.lock'))).toBe(false);
    await runStages(stages(dir), { a: 1, b: 1 }, { expDir: dir, ...quiet });
    expect(count(dir, 'three')).toBe(1);
    expect(existsSync(join(dir, '.kdasr.lock'))).toBe(false);
  });

  it('refuses a stage name that is not a safe file name', async () => {
    const dir = tmp();
    const bad: Stage<Cfg>[] = [{ name: '../escape', description: '', configSlice: () => 0, run: async () => 0 }];
    await expect(runStages(bad, { a: 0, b: 0 }, { expDir: dir, ...quiet })).rejects.toThrow(/stage name .*"\.\.\/escape" contains "\/"/);
  });
});
