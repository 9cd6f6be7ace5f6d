/**
 * Realignment for corpora without state-level alignments (FSDD's takes give word spans only): train a model on the
 * current frame targets, forced-align every utterance's transcript with it, and take the new per-frame HMM states
 * as targets — Kaldi's align → retrain loop (steps/align_*.sh), here inside the recipe's labels stage.
 */
import type { FeatureMatrix } from '@kdasr/audio-features';
import { FrameDataset, Frontend, logPosteriors, priorsFromCounts, trainAcousticModel, type StateInventory } from '@kdasr/acoustic-models';
import { wordsOf } from '@kdasr/corpus';
import { forcedAlign, posteriorsToLoglikes } from '@kdasr/decoding';
import { decodingLexicon, transitionModelOf, type Lang } from '../lang.js';
import { frontendOf, type AsrRecipeConfig } from './config.js';

export interface RealignUtterance {
  id: string;
  speaker: string;
  text: string;
  split: 'train' | 'dev' | 'test';
  features: FeatureMatrix;
  /** Per-frame monophone (or whole-word) state classes; replaced in place by each pass. */
  mono: Int32Array;
}

export interface RealignPass {
  pass: number;
  devFrameAccuracy?: number;
  /** Share of frames whose target changed in this pass (all splits). */
  changedFraction: number;
  failed: string[];
}

/** `passes` rounds of train-then-align over `utts` (targets from train, alignment of every split). */
export async function realign(
  c: AsrRecipeConfig,
  settings: NonNullable<AsrRecipeConfig['labels']['realign']>,
  lang: Lang,
  inventory: StateInventory,
  utts: RealignUtterance[],
  log: (l: string) => void,
): Promise<RealignPass[]> {
  const tm = transitionModelOf(lang, inventory);
  const lexicon = decodingLexicon(lang);
  const frontendConfig = frontendOf(c);
  const passes: RealignPass[] = [];
  for (let p = 1; p <= settings.passes; p++) {
    const set = (split: 'train' | 'dev') =>
      new FrameDataset(
        utts.filter((u) => u.split === split).map((u) => ({ id: u.id, features: u.features, labels: u.mono, speaker: u.speaker })),
        { numClasses: inventory.numClasses, frontend: new Frontend(frontendConfig), source: `realign pass ${p} (${split})` },
      );
    const train = set('train');
    const r = await trainAcousticModel({
      config: {
        hiddenLayers: c.model.hiddenLayers,
        hiddenUnits: c.model.hiddenUnits,
        dropout: c.model.dropout,
        frontend: frontendConfig,
        epochs: settings.epochs,
        batchSize: c.model.batchSize,
        optimizer: { kind: 'adam', learningRate: c.model.learningRate },
      },
      train,
      dev: set('dev'),
      seed: c.seed + 1000 + p,
      engine: c.engine,
    });
    const logPriors = Array.from(priorsFromCounts(train.labels(), inventory.numClasses), Math.log);
    const fe = new Frontend(frontendConfig);
    let changed = 0;
    let frames = 0;
    const failed: string[] = [];
    for (const u of utts) {
      const ll = posteriorsToLoglikes(logPosteriors(r.model, fe.transform({ id: u.id, features: u.features, speaker: u.speaker })), logPriors, 1);
      try {
        const a = forcedAlign(ll, wordsOf(u.text), { lexicon, transitionModel: tm, uttId: u.id, acousticScale: settings.acousticScale, silencePhone: lang.silencePhone });
        const mono = Int32Array.from(a.hmmStates, (st, t) => inventory.classId(tm.phones[a.phones[t]], st));
        for (let t = 0; t < mono.length; t++) if (mono[t] !== u.mono[t]) changed++;
        frames += mono.length;
        u.mono = mono;
      } catch (e) {
        // Keep the previous targets of an utterance no path fits (reported, as Kaldi's align logs do).
        failed.push(`${u.id}: ${(e as Error).message}`);
      }
    }
    r.model.dispose();
    const pass: RealignPass = { pass: p, devFrameAccuracy: r.devFrameAccuracy, changedFraction: frames ? changed / frames : 0, failed };
    log(`  realign pass ${p}/${settings.passes}: model dev frame accuracy ${r.devFrameAccuracy === undefined ? '-' : (100 * r.devFrameAccuracy).toFixed(2) + '%'} on the previous targets; ${(100 * pass.changedFraction).toFixed(1)}% of frames changed; ${failed.length} failed`);
    passes.push(pass);
  }
  return passes;
}
