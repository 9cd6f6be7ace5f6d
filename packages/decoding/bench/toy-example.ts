// The README's toy example: npm run example (from packages/decoding).
import {
  BigramLm,
  TransitionModel,
  buildDecodingGraph,
  computeWer,
  decode,
  forcedAlign,
  formatWerSummary,
  monophonePdfs,
  parseLexicon,
  posteriorsToLoglikes,
} from '../src/index.js';

const phones = ['sil', 'k', 'a', 't', 'd', 'o', 'g'];
const lexicon = parseLexicon('cat k a t\ndog d o g\na a\ngot g o t\n');
const lm = BigramLm.train(['a cat', 'a dog', 'dog got a cat', 'cat got a dog']);
// 3-state left-to-right phones, 5-state Kaldi silence, one pdf per (phone, state).
const tm = new TransitionModel({ silencePhones: ['sil'] }, phones, monophonePdfs);
const graph = buildDecodingGraph({ lexicon, lm, transitionModel: tm, silenceProb: 0.5 });

// Fake acoustic model output for "sil a dog got a cat sil": each HMM state 2 frames, 90% posterior on its pdf.
const states: number[] = [];
for (const p of ['sil', 'a', 'd', 'o', 'g', 'g', 'o', 't', 'a', 'k', 'a', 't', 'sil']) {
  for (let s = 0; s < tm.hmm(p).numStates; s++) states.push(tm.pdfOf(p, null, null, s), tm.pdfOf(p, null, null, s));
}
const P = tm.numPdfs;
const logPost = new Float32Array(states.length * P).fill(Math.log(0.1 / (P - 1)));
states.forEach((pdf, t) => (logPost[t * P + pdf] = Math.log(0.9)));
const uniformPriors = new Float64Array(P).fill(-Math.log(P));
const loglikes = posteriorsToLoglikes({ numFrames: states.length, numPdfs: P, data: logPost }, uniformPriors, 1);

const result = decode(graph, loglikes, { beam: 13, maxActive: 7000, acousticScale: 0.5, lmWeight: 1, wordInsertionPenalty: 0 });
console.log('decoded:', result.words.join(' '));
for (const w of result.timed) console.log(`  ${w.word.padEnd(4)} frames ${w.startFrame}-${w.endFrame}  ${w.startSec.toFixed(2)}-${w.endSec.toFixed(2)} s`);

const ali = forcedAlign(loglikes, ['a', 'dog', 'got', 'a', 'cat'], { lexicon, transitionModel: tm, uttId: 'toy-1', acousticScale: 0.5 });
console.log('aligned phones:', ali.phoneSegments.map((p) => `${p.phone}[${p.startFrame}-${p.endFrame}]`).join(' '));

const wer = computeWer(new Map([['toy-1', ['a', 'dog', 'got', 'a', 'cat']]]), new Map([['toy-1', result.words]]));
console.log(formatWerSummary(wer));
