import { describe, expect, it } from 'vitest';
import { command as worker } from './worker.js';

// The worker itself runs against a real Redis in test/src/fan-out.test.ts (two `kdasr worker` processes).
describe('kdasr worker', () => {
  it('names the missing or bad flag', async () => {
    await expect(worker.run([])).rejects.toThrow(/worker: --redis URL is required/);
    await expect(worker.run(['--redis', 'redis://127.0.0.1:1'])).rejects.toThrow(/worker: --artifacts DIR is required/);
    await expect(worker.run(['--redis', 'redis://127.0.0.1:1', '--artifacts', '.', '--concurrency', '0'])).rejects.toThrow(/--concurrency must be a positive integer/);
    await expect(worker.run(['--redis', 'redis://127.0.0.1:1', '--artifacts', '.'])).rejects.toThrow(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  });
});
