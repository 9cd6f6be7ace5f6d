/**
 * `kdasr train` as a library function: a hybrid DNN-HMM acoustic model (or an ensemble of them) from a corpus split
 * and its feature archive, with targets from kdasr align labels, the corpus' phone alignments, or a flat start.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FeatureArchive } from '@kdasr/audio-features';
import { Logger, Rng, provenance, writeJsonAtomic } from '@kdasr/core';
import { wordsOf, type CorpusInput } from '@kdasr/corpus';
import {
  EnsembleClassifier,
  FrameDataset,
  Frontend,
  TREE_FILE,
  accumulateTreeStats,
  aliTargets,
  buildTree,
  evaluateFrames,
  labelsFromPhoneSegments,
  monoStates,
  priorsFromCounts,
  readAli,
  saveAcousticModel,
  trainAcousticModel,
  uniformLabels,
  wordsToPhones,
  type AcousticModelConfigInput,
  type AlignedUtterance,
  type EngineChoice,
  type PhoneticTree,
  type TreeFile,
  type Utterance,
} from '@kdasr/acoustic-models';
import { inventoryOf } from '../lang.js';
import { makeLang } from '../make-lang.js';
import { InputError, LANG_FILE, frameOptionsOf, readCorpus, readLang } from './inputs.js';

export interface TrainFromCorpusOptions {
  input: CorpusInput;
  feats: string;
  /** Output: model/ (or member-<i>/model), lang.json, lm-text.txt, dev-utts.txt, train.json, tree.json. */
  exp: string;
  /** The acoustic model config (a preset with overrides); its seed is replaced by `seed`. */
  config: AcousticModelConfigInput;
  /** Frame labels from kdasr align (its lang.json is reused). */
  ali?: string;
  /** Kaldi lexicon.txt for a flat start or corpus alignments. */
  lexicon?: string;
  /** No lexicon: each word is one model with this many states. */
  wholeWordStates?: number;
  statesPerPhone?: number;
  /** Fraction of utterances held out for early stopping and tuning (default 0.1). */
  devFraction?: number;
  seed?: number;
  /** Ensemble size (default 1): members differ only in seed. */
  members?: number;
  /** Context-dependent targets: a phonetic tree with this many leaves (needs `ali`). */
  treeLeaves?: number;
  treeMinCount?: number;
  engine?: EngineChoice;
  command?: string[];
  log?: Logger;
}

export interface MemberRun {
  dir: string;
  seed: number;
  engine: string;
  engineReason?: string;
  devFrameAccuracy?: number;
  epochs: number;
}

export interface TrainFromCorpusResult {
  members: MemberRun[];
  ensembleDevFrameAccuracy?: number;
  devFrameAccuracy?: number;
  epochs: number;
  engine: string;
  numPdfs: number;
  summaryFile: string;
}

export async function trainFromCorpus(o: TrainFromCorpusOptions): Promise<TrainFromCorpusResult> {
  const log = o.log ?? new Logger('kdasr train');
  const seed = o.seed ?? 0;
  const members = o.members ?? 1;
  const devFraction = o.devFraction ?? 0.1;
  const treeMinCount = o.treeMinCount ?? 20;
  if (!(devFraction >= 0 && devFraction < 1)) throw new InputError(`train: devFraction must be in [0, 1), got ${devFraction}`);
  if (o.treeLeaves !== undefined && !o.ali) throw new InputError('train: --tree-leaves needs --ali DIR (tree statistics come from aligned features: train a monophone model and kdasr align first)');
  const config: AcousticModelConfigInput = { ...o.config, seed };
  const { sups, alis, source } = readCorpus(o.input);
  const archive = FeatureArchive.open(o.feats);
  const lang = o.ali ? readLang(o.ali) : makeLang({ lexiconFile: o.lexicon, wholeWordStates: o.wholeWordStates, statesPerPhone: o.statesPerPhone, words: sups.flatMap((s) => wordsOf(s.text)) });
  if (!o.ali && !o.lexicon && !o.wholeWordStates && ![...alis.values()].some((a) => a.phones.length > 0))
    throw new InputError('train: no phone alignments in the corpus and no --ali; a flat start needs --lexicon FILE or --whole-word N');
  const inventory = inventoryOf(lang);
  const lexMap = new Map(Object.entries(lang.lexicon));
  const aliLines = o.ali ? readAli(o.ali) : undefined;
  const aliLabels = aliLines ? new Map([...aliLines].map(([id, a]) => [id, a.mono ?? a.labels])) : undefined;
  let labelSource = o.ali ? `alignments ${resolve(o.ali)}` : 'flat start';
  const utts: Utterance[] = [];
  let skipped = 0;
  for (const s of sups) {
    if (!archive.has(s.id)) {
      skipped++;
      continue;
    }
    const features = archive.get(s.id);
    let labels: Int32Array | undefined;
    const ali = alis.get(s.id);
    try {
      if (aliLabels) labels = aliLabels.get(s.id);
      else if (ali && ali.phones.length > 0) {
        labels = labelsFromPhoneSegments(ali.phones, features.numFrames, frameOptionsOf(archive, s.id), inventory, { fillPhone: lang.silencePhone, where: s.id });
        labelSource = 'corpus phone alignments';
      } else labels = uniformLabels(wordsToPhones(wordsOf(s.text), lexMap, s.id), features.numFrames, inventory, { edgeSilence: lang.silencePhone, where: s.id });
    } catch (e) {
      log.warn(`skipping ${s.id}: ${(e as Error).message}`);
    }
    if (!labels) skipped++;
    else utts.push({ id: s.id, features, labels, speaker: s.speaker });
  }
  if (utts.length === 0) throw new InputError(`train: no usable utterances (${skipped} skipped); check that the --feats ids match the supervisions of ${source}`);
  const order = new Rng(seed).fork('dev-split').permutation(utts.length);
  const nDev = Math.round(utts.length * devFraction);
  const devUtts = Array.from(order.subarray(0, nDev), (i) => utts[i]);
  const trainUtts = Array.from(order.subarray(nDev), (i) => utts[i]);
  let tree: PhoneticTree | undefined;
  if (o.treeLeaves !== undefined) {
    // Tree statistics on the frontend's normalised (unspliced) features of every aligned utterance.
    const fe = new Frontend(config.frontend ?? {});
    fe.fit(utts);
    const aligned: AlignedUtterance[] = utts.map((u) => {
      const a = aliLines!.get(u.id)!;
      if (!a.phones) throw new InputError(`train: ${o.ali}: ${u.id} has no phone segments; realign with kdasr align`);
      return { features: fe.normalise(u), segments: a.phones, states: monoStates(a, inventory) };
    });
    const t1 = Date.now();
    try {
      tree = buildTree(accumulateTreeStats(aligned, inventory), inventory, { targetLeaves: o.treeLeaves, minCount: treeMinCount });
    } catch (e) {
      throw new InputError(`train: --tree-leaves ${o.treeLeaves}: ${(e as Error).message}`);
    }
    log.info(
      `tree with ${tree.numPdfs} pdfs (requested ${o.treeLeaves}) from ${inventory.numClasses} monophone states, gain ${tree.json.totalGain.toFixed(1)} (${((Date.now() - t1) / 1000).toFixed(1)} s)` +
        (tree.numPdfs < o.treeLeaves ? `; no further split gains likelihood with >= ${treeMinCount} frames each side` : ''),
    );
    for (const list of [trainUtts, devUtts]) list.forEach((u, i) => (list[i] = { ...u, labels: aliTargets(aliLines!.get(u.id)!, inventory, tree) }));
  }
  const numClasses = tree ? tree.numPdfs : inventory.numClasses;
  const classes = tree ? tree.pdfClasses() : inventory;
  const frontend = new Frontend(config.frontend ?? {});
  const train = new FrameDataset(trainUtts, { numClasses, frontend, source: `${source} (train)` });
  const dev = nDev > 0 ? new FrameDataset(devUtts, { numClasses, frontend: new Frontend(config.frontend ?? {}), source: `${source} (dev)` }) : undefined;
  log.info(`${trainUtts.length} train / ${devUtts.length} dev utterances, ${train.size} / ${dev?.size ?? 0} frames, ${numClasses} ${tree ? 'tree pdfs' : 'states'}, input ${train.featureDim}; labels: ${labelSource}${skipped ? `; ${skipped} skipped` : ''}`);
  mkdirSync(o.exp, { recursive: true });
  const t0 = Date.now();
  if (tree) writeJsonAtomic(join(o.exp, TREE_FILE), { tree: tree.toJSON(), config: { targetLeaves: o.treeLeaves!, minCount: treeMinCount, ali: resolve(o.ali!) }, numPdfs: tree.numPdfs } satisfies TreeFile);
  const priors = priorsFromCounts(train.labels(), numClasses);
  const runs: MemberRun[] = [];
  let trained!: Awaited<ReturnType<typeof trainAcousticModel>>;
  const models: (typeof trained.model)[] = [];
  try {
    for (let m = 0; m < members; m++) {
      // Members differ only in the init/shuffle seed; the data split and labels are the same.
      const mdir = members > 1 ? join(o.exp, `member-${m}`) : o.exp;
      if (members > 1) log.info(`member ${m + 1}/${members} (seed ${seed + m}) -> ${mdir}`);
      trained = await trainAcousticModel({
        config,
        train,
        dev,
        seed: seed + m,
        engine: o.engine ?? 'auto',
        checkpointDir: join(mdir, 'checkpoint'),
        onProgress: (e) => {
          if (e.phase === 'epoch' && e.record)
            log.info(`epoch ${e.record.epoch}: loss ${e.record.loss.toFixed(4)} dev acc ${e.record.validation?.toFixed(4) ?? '-'} lr ${e.record.learningRate.toExponential(2)} (${e.record.seconds.toFixed(1)} s)`, { epoch: e.record.epoch, loss: e.record.loss, devAccuracy: e.record.validation, member: m });
        },
      });
      if (m === 0) log.info(`engine ${trained.engine}${trained.engineReason ? ` (${trained.engineReason})` : ''}`);
      await saveAcousticModel(
        join(mdir, 'model'),
        trained.model,
        { config: trained.config, inventory: inventory.toJSON(), frontend: frontend.toJSON(), logPriors: Array.from(priors, Math.log), labels: labelSource, engine: trained.engine, ...(tree ? { numPdfs: tree.numPdfs } : {}) },
        { devFrameAccuracy: trained.devFrameAccuracy, history: trained.result.history, engine: trained.engine },
      );
      runs.push({ dir: mdir, seed: trained.config.seed, engine: trained.engine, engineReason: trained.engineReason, devFrameAccuracy: trained.devFrameAccuracy, epochs: trained.result.history.length });
      models.push(trained.model);
    }
    // An ensemble's own dev accuracy (arithmetic mean of the members' posteriors).
    const ensembleDev = members > 1 && dev ? evaluateFrames(new EnsembleClassifier(models, 'arithmetic'), dev, classes).frameAccuracy : undefined;
    writeJsonAtomic(join(o.exp, LANG_FILE), lang);
    // The held-out utterances, so decoding settings can be tuned on them (eval --utts), never on test.
    writeFileSync(join(o.exp, 'dev-utts.txt'), devUtts.map((u) => u.id).join('\n') + '\n');
    writeFileSync(join(o.exp, 'lm-text.txt'), sups.map((s) => wordsOf(s.text).join(' ')).join('\n') + '\n');
    const summaryFile = join(o.exp, 'train.json');
    writeJsonAtomic(summaryFile, {
      command: o.command,
      corpus: o.input.manifest ? resolve(o.input.manifest) : resolve(o.input.corpus ?? '.'),
      split: o.input.split,
      feats: resolve(o.feats),
      labels: labelSource,
      engine: trained.engine,
      engineReason: trained.engineReason,
      members: members > 1 ? runs : undefined,
      ensembleDevFrameAccuracy: ensembleDev,
      config: trained.config,
      utterances: { train: trainUtts.length, dev: devUtts.length, skipped },
      frames: { train: train.size, dev: dev?.size ?? 0 },
      states: inventory.numClasses,
      numPdfs: numClasses,
      tree: tree ? { file: join(o.exp, TREE_FILE), requestedLeaves: o.treeLeaves, minCount: treeMinCount, totalGain: tree.json.totalGain } : undefined,
      devFrameAccuracy: trained.devFrameAccuracy,
      history: trained.result.history,
      seconds: (Date.now() - t0) / 1000,
      provenance: provenance(),
    });
    return { members: runs, ensembleDevFrameAccuracy: ensembleDev, devFrameAccuracy: trained.devFrameAccuracy, epochs: trained.result.history.length, engine: trained.engine, numPdfs: numClasses, summaryFile };
  } finally {
    for (const m of models) m.dispose();
    archive.close();
  }
}
