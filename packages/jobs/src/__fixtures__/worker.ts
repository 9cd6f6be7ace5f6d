/** A BullMQ worker process for the tests: `worker.ts REDIS_URL ROOT [lockMs stalledMs]` (a test kills it by pid). */
import { fileURLToPath } from 'node:url';
import { startWorker } from '../bullmq.js';

const [redis, root, lock, stalled] = process.argv.slice(2);
const w = await startWorker({
  redis,
  artifacts: root,
  kindsModule: fileURLToPath(new URL('./kinds.ts', import.meta.url)),
  concurrency: 1,
  lockDurationMs: lock ? Number(lock) : undefined,
  stalledIntervalMs: stalled ? Number(stalled) : undefined,
  log: (l) => console.log(l),
});
console.log('worker ready');
const stop = () => void w.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
