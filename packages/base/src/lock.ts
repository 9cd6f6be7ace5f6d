// Exclusive directory locks: a command that writes into --out (or an experiment directory) holds DIR/.kdasr.lock
// while it runs, so a second run into the same directory fails at once instead of redoing and racing the work.
// The lock file is created with O_EXCL and names its holder (pid, host, command, start time); a lock whose pid is
// dead on this host is taken over with a message. Locks are released on exit, SIGINT and SIGTERM.
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

export const LOCK_FILE = '.kdasr.lock';

/** What the lock file records about the process holding it. */
export interface LockHolder {
  pid: number;
  hostname: string;
  command: string;
  startedAt: string;
  /** Random per acquisition, so a release never removes somebody else's lock. */
  token: string;
}

export interface LockOptions {
  /** The holder's command line, for the message another run gets (default: this process's argv). */
  command?: string;
  /** Where the take-over notice goes (default: stderr). */
  log?: (line: string) => void;
}

export interface DirectoryLock {
  readonly dir: string;
  readonly path: string;
  readonly holder: LockHolder;
  /** Remove the lock (idempotent). A nested lock of the same directory in this process releases with the last. */
  release(): void;
}

export class DirectoryLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holder: LockHolder | null,
    readonly path: string,
  ) {
    const here = holder?.hostname === hostname();
    super(
      holder
        ? `${dir} is in use by pid ${holder.pid}${here ? '' : ` on ${holder.hostname}`} (command ${holder.command}) since ${holder.startedAt}. ` +
            `Wait for it to finish or stop it, or use another output directory` +
            (here ? '' : `; if that process is gone, remove ${path}`)
        : `${dir} is being locked by another process right now (${path} is incomplete); try again`,
    );
    this.name = 'DirectoryLockedError';
  }
}

interface Held {
  lock: DirectoryLock;
  depth: number;
}
/** Locks this process holds, by lock path: nested locks of one directory (a stage runner inside a command) share one. */
const held = new Map<string, Held>();

function readHolder(path: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return Number.isInteger(h.pid) && typeof h.hostname === 'string' ? h : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(path: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`cannot create lock file ${path}: ${(e as Error).message}`);
  }
  try {
    writeSync(fd, JSON.stringify(holder, null, 2) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** A lock file without a readable holder this old is a crash between create and write, not a racing creator. */
const UNREADABLE_STALE_MS = 10_000;

/**
 * Remove a stale lock under a take-over guard (itself O_EXCL), re-reading it first, so that two processes that both
 * saw the same stale lock cannot remove each other's fresh one. Returns whether the stale file was removed.
 */
function removeStale(path: string, stale: LockHolder | null): boolean {
  const guard = `${path}.takeover`;
  let fd: number;
  try {
    fd = openSync(guard, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    if (ageMs(guard) > UNREADABLE_STALE_MS) rmSync(guard, { force: true }); // left by a crash mid take-over
    return false;
  }
  try {
    const now = readHolder(path);
    const same = stale === null ? now === null : now !== null && now.token === stale.token && now.pid === stale.pid;
    if (!same) return false;
    rmSync(path, { force: true });
    return true;
  } finally {
    closeSync(fd);
    rmSync(guard, { force: true });
  }
}

/**
 * Take the exclusive lock on `dir` (created if absent), or throw DirectoryLockedError at once naming the holder.
 * Call release() when done; it also happens on exit, SIGINT and SIGTERM.
 */
export function lockDirectory(dir: string, options: LockOptions = {}): DirectoryLock {
  const abs = resolve(dir);
  const path = join(abs, LOCK_FILE);
  const mine = held.get(path);
  if (mine) {
    mine.depth++;
    return handle(mine.lock);
  }
  mkdirSync(abs, { recursive: true });
  const holder: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    command: options.command ?? process.argv.slice(1).join(' '),
    startedAt: new Date().toISOString(),
    token: randomUUID(),
  };
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  // A few rounds at most: each lost race means another process took the lock (then we report it) or removed a stale one.
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(path, holder)) {
      const lock = handle({ dir, path, holder, release: () => undefined });
      held.set(path, { lock, depth: 1 });
      installExitHandlers();
      return lock;
    }
    const other = readHolder(path);
    if (other === null) {
      if (ageMs(path) > UNREADABLE_STALE_MS && removeStale(path, null)) log(`kdasr: removed an unreadable lock file ${path} (older than ${UNREADABLE_STALE_MS / 1000} s)`);
      else if (attempt === 4) throw new DirectoryLockedError(dir, null, path);
      continue;
    }
    const sameHost = other.hostname === holder.hostname;
    if (sameHost && other.pid === process.pid) {
      // Our own pid but not in `held`: a lock file left by an earlier process that had our pid. Stale.
    } else if (!sameHost || alive(other.pid)) throw new DirectoryLockedError(dir, other, path);
    if (removeStale(path, other))
      log(`kdasr: taking over the lock on ${dir}: pid ${other.pid} (command ${other.command}, since ${other.startedAt}) is no longer running`);
  }
  throw new DirectoryLockedError(dir, readHolder(path), path);
}

/** Run `fn` holding the lock on `dir`; the lock is released when it settles. */
export async function withDirectoryLock<T>(dir: string, options: LockOptions, fn: () => Promise<T> | T): Promise<T> {
  const lock = lockDirectory(dir, options);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/** A handle whose release() counts once however often it is called. */
function handle(base: DirectoryLock): DirectoryLock {
  let released = false;
  return {
    dir: base.dir,
    path: base.path,
    holder: base.holder,
    release: () => {
      if (released) return;
      released = true;
      releaseHeld(base.path);
    },
  };
}

function releaseHeld(path: string): void {
  const h = held.get(path);
  if (!h) return;
  if (--h.depth > 0) return;
  held.delete(path);
  const now = readHolder(path);
  if (now && now.token === h.lock.holder.token) rmSync(path, { force: true });
  if (held.size === 0) removeExitHandlers();
}

function releaseAll(): void {
  for (const [path, h] of [...held]) {
    h.depth = 1;
    releaseHeld(path);
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
let installed = false;
function onSignal(signal: NodeJS.Signals): void {
  // When the app has its own handler (a graceful stop that commits work), the lock stays until it exits: the
  // 'exit' listener releases it. Alone, release and die of the signal as node would have (status 128 + n).
  if (process.listenerCount(signal) > 1) return;
  releaseAll();
  process.kill(process.pid, signal);
}
function installExitHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', releaseAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}
function removeExitHandlers(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', releaseAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}
