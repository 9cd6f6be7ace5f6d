// Decoding throughput on a synthetic task: frames/s of ViterbiDecoder at Kaldi-like settings.
// Run: npm run bench (from packages/decoding). Not a test: numbers depend on the machine.
import { Rng } from '@kdasr/core';
import { computeWer, decode, ViterbiDecoder } from '../src/index.js';
import { makeToyTask, synthesize } from '../src/synthetic.js';

const t0 = performance.now();
const task = makeToyTask({ seed: 3, numWords: 1000, numPhones: 40, numSentences: 5000 });
const buildMs = performance.now() - t0;
const g = task.graph;
console.log(
  `graph: ${g.numStates} states, ${g.arcDest.length} arcs, ${g.numPdfs} pdfs, vocab ${task.lm.vocabSize}, ${task.lm.numBigrams} bigrams (built in ${buildMs.toFixed(0)} ms)`,
);

const rng = new Rng(1);
const utts = Array.from({ length: 20 }, (_, i) => synthesize(task, task.sentences[i], rng, { noise: 1, margin: 3 }));
const totalFrames = utts.reduce((a, u) => a + u.loglikes.numFrames, 0);
const decoder = new ViterbiDecoder(g);

for (const [beam, maxActive] of [
  [10, 2000],
  [13, 7000],
  [16, 7000],
] as const) {
  decode(decoder, utts[0].loglikes, { beam, maxActive, acousticScale: 1 }); // warm-up (JIT)
  let tokens = 0;
  const hyp = new Map<string, string[]>();
  const start = performance.now();
  for (const [i, u] of utts.entries()) {
    // acousticScale 1: the synthetic scores are log-posterior-like but not DNN-calibrated.
    const r = decoder.search(u.loglikes, { beam, maxActive, acousticScale: 1 });
    tokens += r.tokensProcessed;
    hyp.set(`u${i}`, r.words.map((w) => w.word));
  }
  const sec = (performance.now() - start) / 1000;
  const wer = computeWer(new Map(utts.map((_, i) => [`u${i}`, task.sentences[i]])), hyp).total.wer!;
  console.log(
    `beam ${beam} maxActive ${maxActive}: ${(totalFrames / sec).toFixed(0)} frames/s ` +
      `(${totalFrames} frames, ${(tokens / totalFrames).toFixed(0)} active tokens/frame, WER ${wer.toFixed(2)}%)`,
  );
}
