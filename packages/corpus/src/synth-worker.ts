/**
 * Child process of synthCorpus: owns this process's one espeak-ng instance, rebuilds the (deterministic)
 * plan, synthesises one shard's utterances in plan order and reports each over IPC.
 */
import { getEspeak } from './espeak.js';
import { buildBabblePool, isDone, planCorpus, runUtterance, type WorkerMessage, type WorkerRequest } from './synth-corpus.js';
import { synthAndAlign } from './synth.js';

function send(m: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(m, () => resolve()));
}

process.once('message', (req: WorkerRequest) => {
  void (async () => {
    try {
      const plan = planCorpus(req.preset, req.seed, req.textDir);
      const mine = plan.utterances.filter((u) => u.shard === req.shard);
      if (mine.length === 0) throw new Error(`shard ${req.shard} is not in the plan`);
      const pool = buildBabblePool(plan);
      for (const u of mine) {
        if (isDone(req.outDir, u)) {
          // Re-synthesise without writing: later utterances must see the same espeak state as in a full run.
          try {
            synthAndAlign(getEspeak(), u.words, u.spec.voice);
          } catch {
            // An utterance skipped in the first run fails the same way here; the state advance is what matters.
          }
          continue;
        }
        const rec = runUtterance(req.outDir, u, pool);
        await send({ type: 'done', id: u.id, durationSec: rec.supervision?.durationSec ?? 0 });
      }
      await send({ type: 'finished' });
      process.exit(0);
    } catch (e) {
      await send({ type: 'error', message: e instanceof Error ? e.message : String(e) });
      process.exit(1);
    }
  })();
});
