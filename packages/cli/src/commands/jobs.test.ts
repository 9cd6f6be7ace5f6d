import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisUnavailable, startRedis, type RedisServer } from '@kdasr/jobs';
import { CliError } from '../args.js';
import { stageJobsFromFlags } from '../runner-flags.js';
import { command as jobs } from './jobs.js';

const why = redisUnavailable();
if (why) console.warn(`kdasr jobs status against a real Redis skipped: ${why}`);

describe('kdasr jobs / --runner flags', () => {
  it('name what is missing or wrong', async () => {
    await expect(jobs.run([])).rejects.toThrow(/jobs: expected the subcommand "status"/);
    await expect(jobs.run(['status'])).rejects.toThrow(CliError);
    await expect(jobs.run(['status', '--redis', 'redis://127.0.0.1:1'])).rejects.toThrow(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1 .*ECONNREFUSED.*start redis-server there/);
    await expect(stageJobsFromFlags('experiment asr', { runner: 'bullmq' }, 'HELP')).rejects.toThrow(/--runner bullmq needs --redis/);
    await expect(stageJobsFromFlags('experiment asr', { runner: 'queue.pl' }, 'HELP')).rejects.toThrow(/--runner must be one of local, bullmq, slurm, got "queue.pl"/);
    await expect(stageJobsFromFlags('experiment asr', { redis: 'redis://x' }, 'HELP')).rejects.toThrow(/--redis needs --runner/);
    expect(await stageJobsFromFlags('experiment asr', {}, 'HELP')).toBeUndefined();
    const local = await stageJobsFromFlags('experiment asr', { runner: 'local', jobs: '2', artifacts: '/tmp' }, 'HELP');
    expect(local).toMatchObject({ root: '/tmp' });
    expect(local!.runner.name).toBe('local');
  });

  describe.skipIf(!!why)('on a real Redis', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(() => redis?.stop());
    it('jobs status lists the queue (empty) as text and JSON', async () => {
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      try {
        expect(await jobs.run(['status', '--redis', redis.url])).toBe(0);
        expect(log.mock.calls[0][0]).toMatch(/^queue "kdasr": 0 active, 0 waiting, 0 delayed, 0 prioritized, 0 failed, 0 completed$/);
        expect(await jobs.run(['status', '--redis', redis.url, '--json', '--queue', 'other'])).toBe(0);
        expect(JSON.parse(log.mock.calls[1][0])).toMatchObject({ queue: 'other', jobs: [] });
      } finally {
        log.mockRestore();
      }
    });
  });
});
