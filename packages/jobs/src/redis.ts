/** `--redis` URLs (redis://, rediss:// for TLS, with a password) to connection options, and a reachability check. */
import { Redis, type RedisOptions } from 'ioredis';

export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError';
}

const HELP = 'redis://[[user]:password@]host[:port][/db] (rediss:// for TLS)';

/** The URL with its password masked, for messages and logs. */
export function maskRedisUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):([^@/]*)@/, '//$1:***@');
}

export function redisOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisUnreachableError(`--redis "${maskRedisUrl(url)}" is not a URL; use ${HELP}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new RedisUnreachableError(`--redis "${maskRedisUrl(url)}": scheme ${u.protocol} is not redis: or rediss:; use ${HELP}`);
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new RedisUnreachableError(`--redis "${maskRedisUrl(url)}": database "${u.pathname.slice(1)}" is not a number; use ${HELP}`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: { servername: u.hostname } } : {}),
    // BullMQ workers need blocking commands never to be cut off by a retry limit.
    maxRetriesPerRequest: null,
  };
}

/** Connects once and PINGs, so an unreachable or password-protected Redis fails fast with a fix in the message. */
export async function checkRedis(url: string, timeoutMs = 3000): Promise<void> {
  const r = new Redis({ ...redisOptions(url), lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // ioredis reports the cause (ECONNREFUSED, ENOTFOUND, ...) on 'error' and rejects with "Connection is closed".
  let cause: Error | undefined;
  r.on('error', (e: Error) => (cause ??= e));
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    const m = (cause ?? (e as Error)).message;
    const fix = /NOAUTH|WRONGPASS|AUTH/i.test(m) ? 'put the password in the URL (redis://:PASSWORD@host:port)' : 'start redis-server there (reachable from this machine), or fix --redis';
    throw new RedisUnreachableError(`cannot reach Redis at ${maskRedisUrl(url)} (${m}); ${fix}; format ${HELP}`);
  } finally {
    r.disconnect();
  }
}
