/** Entry of a local job child: one request over IPC, one executeJob, the outcome back, exit. */
import { executeJob, loadRegistry } from './execute.js';
import type { ChildMessage, ChildRequest } from './local.js';

const send = (m: ChildMessage) => new Promise<void>((r) => process.send!(m, () => r()));

process.once('message', async (req: ChildRequest) => {
  try {
    const registry = await loadRegistry(req.kindsModule);
    const outcome = await executeJob(registry, req.root, req.spec, {
      progress: (fraction, message) => void send({ type: 'progress', fraction, message }),
      log: (l) => console.log(l),
    });
    await send({ type: 'done', outcome });
    process.exit(0);
  } catch (e) {
    console.error((e as Error).stack ?? String(e));
    await send({ type: 'error', name: (e as Error).name ?? 'Error', message: (e as Error).message ?? String(e) });
    process.exit(1);
  }
});
// The parent died: nobody will read the outcome, and a recovered copy of the job may already be running.
process.on('disconnect', () => process.exit(1));
