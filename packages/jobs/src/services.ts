/**
 * Real services for tests, on loopback, stopped by pid: a throwaway redis-server and a single-node Slurm cluster
 * (its own munged, slurmctld and slurmd, all state under a temp dir). Tests skip only when the binaries are absent.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync, mkdirSync, chmodSync, copyFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { cpus, hostname, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

export function findBinary(name: string, dirs = ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin']): string | undefined {
  for (const d of [...(process.env.PATH ?? '').split(':'), ...dirs]) if (d && existsSync(join(d, name))) return join(d, name);
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, ok: () => Promise<boolean> | boolean, timeoutMs: number, log?: () => string): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up in ${timeoutMs} ms${log ? `:\n${log()}` : ''}`);
}

function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('error', () => resolve(false));
    s.once('connect', () => s.write('PING\r\n'));
    // +PONG, or -NOAUTH from a server with a password: either way it is up.
    s.once('data', (d) => (s.destroy(), resolve(/^(\+PONG|-NOAUTH)/.test(d.toString()))));
  });
}

function stopPid(p: ChildProcess | number, signal: NodeJS.Signals = 'SIGTERM'): void {
  const pid = typeof p === 'number' ? p : p.pid;
  if (!pid) return;
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopAndWait(pid: number | undefined, timeoutMs = 5000): Promise<void> {
  if (!pid) return;
  stopPid(pid);
  const t0 = Date.now();
  while (pidAlive(pid) && Date.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 50));
  if (pidAlive(pid)) stopPid(pid, 'SIGKILL');
}

export interface RedisServer {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** redis-server on a free loopback port, no persistence; undefined reason string when it cannot (binary absent). */
export function redisUnavailable(): string | undefined {
  return findBinary('redis-server') ? undefined : 'redis-server is not installed (apt-get install redis-server)';
}

export async function startRedis(o: { password?: string } = {}): Promise<RedisServer> {
  const bin = findBinary('redis-server');
  if (!bin) throw new Error(redisUnavailable());
  const port = await freePort();
  let out = '';
  const p = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(o.password ? ['--requirepass', o.password] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  await waitFor(`redis-server on 127.0.0.1:${port}`, () => redisPing(port), 10_000, () => out);
  return { url: `redis://${o.password ? `:${encodeURIComponent(o.password)}@` : ''}127.0.0.1:${port}`, port, pid: p.pid!, stop: () => stopAndWait(p.pid) };
}

export interface SlurmCluster {
  /** slurm.conf path: export SLURM_CONF with it for sbatch/squeue. */
  conf: string;
  env: Record<string, string>;
  dir: string;
  stop(): Promise<void>;
}

export function slurmUnavailable(): string | undefined {
  const missing = ['munged', 'slurmctld', 'slurmd', 'sbatch'].filter((b) => !findBinary(b));
  if (missing.length) return `Slurm is not installed (missing ${missing.join(', ')}; apt-get install slurm-wlm munge)`;
  if (process.getuid?.() !== 0) return 'the single-node Slurm test cluster runs its daemons as root (SlurmUser=root); run as root';
  return undefined;
}

/**
 * munged + slurmctld + slurmd with a generated single-node slurm.conf under a temp dir (the node's real CPUs and
 * memory). Its own munge socket and key, and free ports, so it never meets a system Slurm or another test's.
 */
export async function startSlurm(): Promise<SlurmCluster> {
  const why = slurmUnavailable();
  if (why) throw new Error(why);
  const dir = mkdtempSync(join(tmpdir(), 'kdasr-slurm-'));
  chmodSync(dir, 0o755);
  const pids: number[] = [];
  const stop = async () => {
    for (const pid of pids.reverse()) await stopAndWait(pid);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const munge = join(dir, 'munge');
    mkdirSync(munge, { mode: 0o700 });
    const key = join(munge, 'munge.key');
    if (existsSync('/etc/munge/munge.key')) copyFileSync('/etc/munge/munge.key', key);
    else writeFileSync(key, Buffer.from(Array.from({ length: 1024 }, () => Math.floor(Math.random() * 256))));
    chmodSync(key, 0o600);
    const socket = join(munge, 'munge.socket');
    execFileSync(findBinary('munged')!, ['--force', `--socket=${socket}`, `--key-file=${key}`, `--pid-file=${join(munge, 'munged.pid')}`, `--log-file=${join(munge, 'munged.log')}`, `--seed-file=${join(munge, 'munged.seed')}`], { stdio: 'pipe' });
    await waitFor('munged', () => existsSync(join(munge, 'munged.pid')), 5000);
    pids.push(Number(readFileSync(join(munge, 'munged.pid'), 'utf8').trim()));
    const host = hostname().split('.')[0];
    const [ctldPort, dPort] = [await freePort(), await freePort()];
    const memMiB = Math.max(512, Math.floor(totalmem() / 2 ** 20) - 1024);
    const conf = join(dir, 'slurm.conf');
    for (const d of ['state', 'spool']) mkdirSync(join(dir, d));
    writeFileSync(
      conf,
      [
        'ClusterName=kdasrtest',
        `SlurmctldHost=${host}`,
        `SlurmctldPort=${ctldPort}`,
        `SlurmdPort=${dPort}`,
        'SlurmUser=root',
        'SlurmdUser=root',
        'AuthType=auth/munge',
        `AuthInfo=socket=${socket}`,
        'CredType=cred/munge',
        `StateSaveLocation=${join(dir, 'state')}`,
        `SlurmdSpoolDir=${join(dir, 'spool')}`,
        `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
        `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
        `SlurmctldLogFile=${join(dir, 'slurmctld.log')}`,
        `SlurmdLogFile=${join(dir, 'slurmd.log')}`,
        'ProctrackType=proctrack/linuxproc',
        'TaskPlugin=task/none',
        'SelectType=select/cons_tres',
        'SelectTypeParameters=CR_CPU',
        'ReturnToService=2',
        'JobAcctGatherType=jobacct_gather/none',
        'MpiDefault=none',
        'SchedulerType=sched/backfill',
        'InactiveLimit=0',
        'KillWait=5',
        'MinJobAge=60',
        `NodeName=${host} CPUs=${cpus().length} RealMemory=${memMiB} State=UNKNOWN`,
        `PartitionName=test Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
        '',
      ].join('\n'),
    );
    const env = { SLURM_CONF: conf };
    const daemonEnv = { ...process.env, ...env };
    const ctld = spawn(findBinary('slurmctld')!, ['-D', '-i', '-f', conf], { env: daemonEnv, stdio: 'ignore' });
    pids.push(ctld.pid!);
    const slurmd = spawn(findBinary('slurmd')!, ['-D', '-f', conf], { env: daemonEnv, stdio: 'ignore' });
    pids.push(slurmd.pid!);
    const logs = () => ['slurmctld.log', 'slurmd.log'].map((f) => (existsSync(join(dir, f)) ? `${f}:\n${readFileSync(join(dir, f), 'utf8').slice(-2000)}` : `${f}: none`)).join('\n');
    await waitFor(
      'single-node Slurm (sinfo idle)',
      () => {
        try {
          return /idle/.test(execFileSync(findBinary('sinfo')!, ['-h', '-o', '%T'], { env: daemonEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
        } catch {
          return false;
        }
      },
      30_000,
      logs,
    );
    return { conf, env, dir, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A child process whose output lines are kept, with a wait for the first line matching a pattern (test harness). */
export interface WatchedProcess {
  p: ChildProcess;
  /** stdout and stderr lines so far, interleaved as they came. */
  out: string[];
  /** The first line (past or future) matching `re`; rejects after `timeoutMs` with the output so far. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
}

/** Spawn `command args` in its own process group (kill -PID takes its children too) and watch its output. */
export function spawnWatched(command: string, args: string[], o: { env?: NodeJS.ProcessEnv; defaultTimeoutMs?: number } = {}): WatchedProcess {
  const p = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...(o.env ? { env: o.env } : {}) });
  const out: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let buf = '';
  const onData = (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) {
      out.push(l);
      for (const w of [...waiters])
        if (w.re.test(l)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(l);
        }
    }
  };
  p.stdout!.on('data', onData);
  p.stderr!.on('data', onData);
  return {
    p,
    out,
    waitFor: (re, timeoutMs = o.defaultTimeoutMs ?? 60_000) =>
      new Promise((resolve, reject) => {
        const hit = out.find((l) => re.test(l));
        if (hit) return resolve(hit);
        const t = setTimeout(() => reject(new Error(`no line matching ${re} in ${timeoutMs} ms; output:\n${out.join('\n')}`)), timeoutMs);
        waiters.push({
          re,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
      }),
  };
}
