import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DirectoryLockedError, LOCK_FILE, lockDirectory, withDirectoryLock } from './lock.js';

const root = mkdtempSync(join(tmpdir(), 'kdasr-lock-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const tsx = createRequire(import.meta.url).resolve('tsx');
const lockUrl = new URL('./lock.ts', import.meta.url).href;

/** A separate node process that takes the lock on `dir`, prints "locked", and waits (or runs `then`). */
function holder(dir: string, then = 'setInterval(() => {}, 1000);'): Promise<ChildProcess> {
  const code = `const { lockDirectory } = await import(${JSON.stringify(lockUrl)});
lockDirectory(${JSON.stringify(dir)}, { command: 'kdasr features --out ${dir}' });
process.stdout.write('locked\\n');
${then}`;
  const child = spawn(process.execPath, ['--import', tsx, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((res, rej) => {
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => String(d).includes('locked') && res(child));
    child.on('exit', (code, sig) => rej(new Error(`lock holder exited (${code ?? sig}) before locking: ${err}`)));
  });
}

const exited = (c: ChildProcess) => new Promise<{ code: number | null; signal: string | null }>((res) => c.once('exit', (code, signal) => res({ code, signal })));

describe('lockDirectory', () => {
  it('a second run into a locked directory fails at once, naming the pid, the command and the start time', async () => {
    const dir = join(root, 'busy');
    const a = await holder(dir);
    const t0 = Date.now();
    let err: unknown;
    try {
      lockDirectory(dir);
    } catch (e) {
      err = e;
    }
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(err).toBeInstanceOf(DirectoryLockedError);
    expect((err as Error).message).toMatch(new RegExp(`^${dir} is in use by pid ${a.pid} \\(command kdasr features --out ${dir}\\) since \\d{4}-\\d\\d-\\d\\dT`));
    const onDisk = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'));
    expect(onDisk).toMatchObject({ pid: a.pid, command: `kdasr features --out ${dir}` });
    // The holder is released on SIGTERM (the lock file goes) and dies of the signal as it would have.
    a.kill('SIGTERM');
    expect(await exited(a)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    lockDirectory(dir).release();
  });

  it('a lock left by a dead pid is taken over with a message', async () => {
    const dir = join(root, 'stale');
    const a = await holder(dir);
    a.kill('SIGKILL'); // no handler runs: the lock file stays
    await exited(a);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(a.pid);
    const lines: string[] = [];
    const lock = lockDirectory(dir, { command: 'second', log: (l) => lines.push(l) });
    expect(lines).toEqual([expect.stringMatching(new RegExp(`taking over the lock on ${dir}: pid ${a.pid} \\(command kdasr features.*\\) is no longer running`))]);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid, command: 'second' });
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('is released when the process exits normally and on SIGINT', async () => {
    const dir = join(root, 'exit');
    const a = await holder(dir, 'setTimeout(() => process.exit(3), 50);');
    expect((await exited(a)).code).toBe(3);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const b = await holder(dir);
    b.kill('SIGINT');
    expect((await exited(b)).signal).toBe('SIGINT');
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('nests within one process (a stage runner inside a command) and releases with the outermost', async () => {
    const dir = join(root, 'nested');
    const outer = lockDirectory(dir);
    await withDirectoryLock(dir, {}, () => expect(existsSync(join(dir, LOCK_FILE))).toBe(true));
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
    outer.release();
    outer.release(); // idempotent
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('an unreadable lock file: fresh means another process is creating it; old means a crash, removed', () => {
    const dir = join(root, 'unreadable');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, LOCK_FILE), '');
    expect(() => lockDirectory(dir)).toThrow(/is being locked by another process right now/);
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, LOCK_FILE), old, old);
    const lines: string[] = [];
    lockDirectory(dir, { log: (l) => lines.push(l) }).release();
    expect(lines[0]).toMatch(/removed an unreadable lock file/);
  });

  it('a holder on another host is never taken over (its pid means nothing here)', () => {
    const dir = join(root, 'remote');
    mkdirSync(dir, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '']).pid!; // a pid that has exited
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: dead, hostname: 'elsewhere', command: 'kdasr train', startedAt: '2026-01-01T00:00:00.000Z', token: 't' }));
    expect(() => lockDirectory(dir)).toThrow(new RegExp(`in use by pid ${dead} on elsewhere \\(command kdasr train\\) since 2026-01-01.*remove ${join(dir, LOCK_FILE)}`));
  });
});
