/**
 * The speech recipe's scoring stage: test frame accuracy of every system, and WER from a real decode (bigram LM
 * from the training transcripts, HMM topology with the model's state priors, Viterbi beam search) scored with a
 * word alignment. Each system's result is written on its own, so an interrupted stage resumes system by system.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic, type Classifier } from '@kdasr/core';
import { EnsembleClassifier, Frontend, loadAcousticModel, logPosteriors, type AcousticClassifier } from '@kdasr/acoustic-models';
import { IndexSubset, frameAccuracy } from '@kdasr/distillation';
import { computeWer, parseKaldiText, posteriorsToLoglikes, type ErrorCounts, type LoglikeMatrix } from '@kdasr/decoding';
import type { Supervision } from '@kdasr/corpus';
import { WordDecoder } from '../word-decoder.js';
import type { AsrRecipeConfig } from './config.js';
import { DATA_DIR, frontendOf, loadAsrData, type LoadedAsrData } from './data.js';
import { logPriorsOf, memberDir, smallDataIndices, studentDir, studentSpecs } from './systems.js';
import type { Stage, StageContext } from '../stages.js';

export const SCORE_DIR = 'score';

/** One point of the dev sweep of the acoustic scale. */
export interface ScaleTrial {
  acousticScale: number;
  devWer: number;
  notReachedFinal: number;
}

export type WerCounts = Omit<ErrorCounts, 'wer'> & { wer: number };

export interface SystemScore {
  name: string;
  /** Test frame accuracy against the synthesiser's alignments (the paper's "test frame accuracy"). */
  testFrameAccuracy: number;
  /** Frame accuracy on the frames the system was trained on (Table 5's "train" column), where computed. */
  trainFrameAccuracy?: number;
  /** Word error rate in %, with counts (absent for frame-only systems). */
  wer?: WerCounts;
  utterancesDecoded?: number;
  notReachedFinal?: number;
  /** Acoustic scale of the test decode, and the dev sweep that chose it (decode.tune). */
  acousticScale?: number;
  tuning?: ScaleTrial[];
  seconds: number;
}

function scoreFile(expDir: string, name: string): string {
  return join(expDir, SCORE_DIR, name, 'score.json');
}

export function readScore(expDir: string, name: string): SystemScore | undefined {
  const f = scoreFile(expDir, name);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as SystemScore) : undefined;
}

interface Decoded {
  wer: WerCounts;
  utterances: number;
  notFinal: number;
  /** The acoustic scale test was decoded with (tuned on dev when decode.tune is set). */
  acousticScale: number;
  /** Dev WER per acoustic scale tried, when tuned. */
  tuning?: ScaleTrial[];
}

interface Decoder {
  run(model: Classifier, outDir: string, ctx: StageContext): Decoded;
}

function makeDecoder(c: AsrRecipeConfig, data: LoadedAsrData, expDir: string): Decoder {
  const lmText = readFileSync(join(expDir, DATA_DIR, 'lm-text.txt'), 'utf8').split('\n').filter((l) => l.trim());
  const words = new WordDecoder(data.lang, data.inventory, data.tree, lmText, c.decode);
  const logPriors = logPriorsOf(data);
  const testSups = c.decode.maxUtterances ? data.testSups.slice(0, c.decode.maxUtterances) : data.testSups;
  const tune = c.decode.tune;
  const devSups = tune ? (tune.maxUtterances ? data.devSups.slice(0, tune.maxUtterances) : data.devSups) : [];
  const frontend = new Frontend(frontendOf(c));
  const loglikesOf = (model: Classifier, u: Supervision) =>
    posteriorsToLoglikes(logPosteriors(model, frontend.transform({ id: u.id, features: data.archive.get(u.id), speaker: u.speaker })), logPriors, c.decode.priorScale);
  /** Decode a set at one acoustic scale: Kaldi text lines, WER and the count of utterances that ended outside a final state. */
  const decodeSet = (sups: Supervision[], loglikes: LoglikeMatrix[], acousticScale: number, ctx?: StageContext) => {
    const hyp: string[] = [];
    const ref: string[] = [];
    let notFinal = 0;
    const t0 = Date.now();
    for (const [i, u] of sups.entries()) {
      const r = words.decodeUtterance(u.id, u.text, loglikes[i], { acousticScale });
      if (!r.reachedFinal) notFinal++;
      hyp.push(r.hyp);
      ref.push(r.ref);
      if (ctx && (i + 1) % 25 === 0) ctx.log(`    decoded ${i + 1}/${sups.length} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    }
    const w = computeWer(parseKaldiText(ref.join('\n'), 'ref'), parseKaldiText(hyp.join('\n'), 'hyp'));
    return { hyp, ref, notFinal, wer: { ...w.total, wer: w.total.wer ?? NaN } };
  };
  return {
    run(model, outDir, ctx) {
      let acousticScale = c.decode.acousticScale;
      let tuning: Decoded['tuning'];
      if (tune && devSups.length) {
        const devLl = devSups.map((u) => loglikesOf(model, u));
        tuning = tune.acousticScales.map((a) => {
          const r = decodeSet(devSups, devLl, a);
          return { acousticScale: a, devWer: r.wer.wer, notReachedFinal: r.notFinal };
        });
        // Lowest dev WER; ties go to the scale listed first.
        acousticScale = tuning.reduce((best, t) => (t.devWer < best.devWer ? t : best)).acousticScale;
        ctx.log(`    dev WER by acoustic scale: ${tuning.map((t) => `${t.acousticScale}: ${t.devWer.toFixed(2)}%`).join(', ')}; test decoded at ${acousticScale}`);
      }
      const testLl = testSups.map((u) => loglikesOf(model, u));
      const r = decodeSet(testSups, testLl, acousticScale, ctx);
      mkdirSync(outDir, { recursive: true });
      writeFileSync(join(outDir, 'hyp.txt'), r.hyp.join('\n') + '\n');
      writeFileSync(join(outDir, 'ref.txt'), r.ref.join('\n') + '\n');
      return { wer: r.wer, utterances: testSups.length, notFinal: r.notFinal, acousticScale, tuning };
    },
  };
}

export const scoreStage: Stage<AsrRecipeConfig> = {
  name: 'score',
  outputs: [SCORE_DIR],
  description: 'test frame accuracy of every system and WER from a Viterbi decode of the test utterances',
  configSlice: (c) => ({ decode: c.decode, specs: studentSpecs(c).map((s) => s.name), members: c.ensemble.members }),
  after: ['students'],
  async run(c, ctx) {
    const data = loadAsrData(ctx.expDir, c);
    const dec = makeDecoder(c, data, ctx.expDir);
    const test = data.task.test;
    const members: AcousticClassifier[] = [];
    for (let i = 0; i < c.ensemble.members; i++) members.push((await loadAcousticModel(join(memberDir(ctx.expDir, i), 'model'), { engine: c.engine })).model);
    const one = async (name: string, model: Classifier, o: { decode: boolean; train?: { source: Parameters<typeof frameAccuracy>[1] } }) => {
      if (readScore(ctx.expDir, name)) return ctx.log(`  ${name}: already scored`);
      const t0 = Date.now();
      const testFrameAccuracy = frameAccuracy(model, test);
      const trainFrameAccuracy = o.train ? frameAccuracy(model, o.train.source) : undefined;
      let decoded: Decoded | undefined;
      if (o.decode) {
        ctx.log(`  ${name}: decoding`);
        decoded = dec.run(model, join(ctx.expDir, SCORE_DIR, name), ctx);
      }
      const s: SystemScore = {
        name,
        testFrameAccuracy,
        trainFrameAccuracy,
        wer: decoded?.wer,
        utterancesDecoded: decoded?.utterances,
        notReachedFinal: decoded?.notFinal,
        acousticScale: decoded?.acousticScale,
        tuning: decoded?.tuning,
        seconds: (Date.now() - t0) / 1000,
      };
      mkdirSync(join(ctx.expDir, SCORE_DIR, name), { recursive: true });
      writeJsonAtomic(scoreFile(ctx.expDir, name), s);
      ctx.log(`  ${name}: test frame accuracy ${(100 * testFrameAccuracy).toFixed(2)}%${s.wer ? `, WER ${s.wer.wer.toFixed(2)}% (acoustic scale ${s.acousticScale})` : ''}`);
    };
    await one('baseline', members[0], { decode: true, train: { source: data.task.train } });
    for (let i = 1; i < members.length; i++) await one(`member-${i}`, members[i], { decode: false });
    await one('ensemble', new EnsembleClassifier(members, 'arithmetic'), { decode: true });
    await one('ensemble-geometric', new EnsembleClassifier(members, 'geometric'), { decode: false });
    for (const spec of studentSpecs(c)) {
      const m = (await loadAcousticModel(join(studentDir(ctx.expDir, spec.name), 'model'), { engine: c.engine })).model;
      const train = spec.fraction ? { source: new IndexSubset(data.task.train, smallDataIndices(data.task.train.size, spec.fraction, c.seed)) } : undefined;
      // The small-data pair is a frame-level experiment (Table 5 has no WER); everything else is decoded.
      await one(spec.name, m, { decode: spec.group !== 'small-data', train });
      m.dispose();
    }
    for (const m of members) m.dispose();
    data.archive.close();
    return { systems: 3 + members.length - 1 + studentSpecs(c).length };
  },
};
