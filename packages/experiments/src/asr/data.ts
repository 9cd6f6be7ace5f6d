/**
 * The speech recipe's data stages: make the corpus (synthesised with espeak-ng, with the synthesiser's own phone
 * alignments, or FSDD's recorded digits joined into connected utterances with exact word boundaries), compute fbank
 * features, and turn the alignments into frame targets over monophone, whole-word or tree-tied HMM states. `loadFrameTask` then gives the train / dev / test frame datasets every later stage (and
 * the specialists recipe) trains on.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Rng } from '@kdasr/core';
import { FeatureArchive, FeatureArchiveWriter, FeatureExtractor, type FeatureMatrix } from '@kdasr/audio-features';
import { writeFileAtomic, writeJsonAtomic, type FrameOptions } from '@kdasr/core';
import {
  AlignmentSchema,
  DEFAULT_FSDD_DIR,
  DIGIT_WORDS,
  MANIFEST_FILES,
  importFsdd,
  writeJsonl,
  type Alignment,
  type Recording,
  PRESETS,
  RecordingSchema,
  SupervisionSchema,
  readJsonl,
  readSplits,
  resolveAudioPath,
  synthCorpus,
  wordsOf,
  type Preset,
  type Supervision,
} from '@kdasr/corpus';
import {
  FrameDataset,
  Frontend,
  PhoneticTree,
  accumulateTreeStats,
  readTree,
  boundaryFrame,
  buildTree,
  labelsFromPhoneSegments,
  treeLabels,
  type AlignedUtterance,
  type StateInventory,
} from '@kdasr/acoustic-models';
import { inventoryOf, type Lang } from '../lang.js';
import { makeLang } from '../make-lang.js';
import { asrPreset, frontendOf, type AsrRecipeConfig, type FsddCorpusConfig, type SyntheticCorpusConfig } from './config.js';
import { runStages, type Stage } from '../stages.js';
import { realign, type RealignPass, type RealignUtterance } from './realign.js';

export const CORPUS_DIR = 'corpus';
export const FEATS_DIR = 'feats';
export const DATA_DIR = 'data';

/** Frame options of the fbank the features stage computes (16 kHz synthesis, 25 ms / 10 ms, snip edges). */
export function featureFrameOptions(sampleRateHz: number): FrameOptions {
  return { sampleRateHz, frameLengthMs: 25, frameShiftMs: 10, snipEdges: true };
}

function corpusPreset(c: AsrRecipeConfig & { corpus: SyntheticCorpusConfig }): Preset {
  return {
    name: `asr-${c.name}`,
    speakers: c.corpus.speakers,
    utterancesPerSpeaker: c.corpus.utterancesPerSpeaker,
    ...(c.corpus.maxWords ? { maxWords: c.corpus.maxWords } : {}),
    conditions: { ...PRESETS.small.conditions, clean: c.corpus.cleanFraction },
    devSpeakers: c.corpus.devSpeakers,
    testSpeakers: c.corpus.testSpeakers,
    speakersPerShard: c.corpus.speakersPerShard,
  };
}

export function isFsdd(c: AsrRecipeConfig): c is AsrRecipeConfig & { corpus: FsddCorpusConfig } {
  return c.corpus.kind === 'fsdd';
}

/**
 * Utterance-level splits, where the corpus has them (FSDD: the official test takes, and dev drawn from train);
 * the synthetic corpus splits by speaker instead (splits.json).
 */
export const UTTERANCE_SPLITS_FILE = 'utterance-splits.json';

/**
 * FSDD as the recipe's corpus: import the connected-digit utterances (both official splits), then write one set of
 * manifests at the corpus root (recording paths relative to it), whole-word alignments (each word is its own
 * phone, with the joined takes' exact boundaries), a whole-word lexicon, and the utterance splits.
 */
function fsddCorpus(c: AsrRecipeConfig & { corpus: FsddCorpusConfig }, outDir: string, log: (l: string) => void) {
  const src = c.corpus.dir ?? DEFAULT_FSDD_DIR;
  if (!existsSync(join(src, 'recordings')))
    throw new Error(`corpus.dir ${src}: no recordings/ directory; point it (kdasr experiment asr --fsdd DIR) at the FSDD root, e.g. ../shared/data/fsdd`);
  const summary = importFsdd({ src, outDir, seed: c.seed, digitsPerUtterance: c.corpus.digitsPerUtterance });
  const recs: Recording[] = [];
  const sups: Supervision[] = [];
  const alis: Alignment[] = [];
  const ids = { train: [] as string[], test: [] as string[] };
  for (const split of ['train', 'test'] as const) {
    const dir = join(outDir, 'connected', split);
    for (const r of readJsonl(join(dir, MANIFEST_FILES.recordings), RecordingSchema)) recs.push({ ...r, path: `connected/${split}/${r.path}` });
    for (const s of readJsonl(join(dir, MANIFEST_FILES.supervisions), SupervisionSchema)) (sups.push(s), ids[split].push(s.id));
    for (const a of readJsonl(join(dir, MANIFEST_FILES.alignments), AlignmentSchema)) alis.push({ ...a, phones: a.words.map((w, i) => ({ phone: w.word, startSec: w.startSec, endSec: w.endSec, wordIndex: i })) });
  }
  const shuffled = new Rng(c.seed).fork('fsdd-dev').shuffle([...ids.train]);
  const numDev = Math.max(1, Math.round(c.corpus.devFraction * shuffled.length));
  const dev = new Set(shuffled.slice(0, numDev));
  writeJsonl(join(outDir, MANIFEST_FILES.recordings), recs, RecordingSchema);
  writeJsonl(join(outDir, MANIFEST_FILES.supervisions), sups, SupervisionSchema);
  writeJsonl(join(outDir, MANIFEST_FILES.alignments), alis, AlignmentSchema);
  writeFileAtomic(join(outDir, 'lexicon.txt'), DIGIT_WORDS.map((w) => `${w} ${w}`).join('\n') + '\n');
  writeJsonAtomic(join(outDir, UTTERANCE_SPLITS_FILE), { train: ids.train.filter((i) => !dev.has(i)), dev: [...dev], test: ids.test });
  const hours = summary.hoursConnected;
  log(`  FSDD ${src}: ${sups.length} connected utterances (${ids.train.length - numDev} train, ${numDev} dev, ${ids.test.length} test), ${hours.toFixed(2)} h, ${summary.speakers.length} speakers`);
  return { utterances: sups.length, speakers: summary.speakers.length, hours, vocabulary: DIGIT_WORDS.length, phones: DIGIT_WORDS.length + 1, source: resolve(src) };
}

export const corpusStage: Stage<AsrRecipeConfig> = {
  name: 'corpus',
  outputs: [CORPUS_DIR],
  description: 'make the corpus: synthesise it with espeak-ng (phone alignments from the synthesiser) or import FSDD (word boundaries of the joined takes)',
  configSlice: (c) => (isFsdd(c) ? { corpus: c.corpus, seed: c.seed } : { corpus: corpusPreset(c as AsrRecipeConfig & { corpus: SyntheticCorpusConfig }), seed: c.seed }),
  async run(c, ctx) {
    if (isFsdd(c)) return fsddCorpus(c, join(ctx.expDir, CORPUS_DIR), ctx.log);
    const sc = c as AsrRecipeConfig & { corpus: SyntheticCorpusConfig };
    const s = await synthCorpus({ preset: corpusPreset(sc), seed: c.seed, outDir: join(ctx.expDir, CORPUS_DIR), jobs: sc.corpus.jobs, log: ctx.log });
    return { utterances: s.utterances, skipped: s.skipped, speakers: s.speakers, hours: s.hours, vocabulary: s.vocabulary, phones: s.phones };
  },
};

function featureConfig(c: AsrRecipeConfig): unknown {
  return { kind: 'fbank', options: { numMelBins: c.features.numMelBins } };
}

export const featuresStage: Stage<AsrRecipeConfig> = {
  name: 'features',
  outputs: [FEATS_DIR],
  description: 'log-mel filterbanks (Kaldi-compatible, 25 ms / 10 ms) for every utterance',
  configSlice: (c) => featureConfig(c),
  after: ['corpus'],
  async run(c, ctx) {
    const corpus = join(ctx.expDir, CORPUS_DIR);
    const recs = new Map(readJsonl(join(corpus, MANIFEST_FILES.recordings), RecordingSchema).map((r) => [r.id, r]));
    const sups = readJsonl(join(corpus, MANIFEST_FILES.supervisions), SupervisionSchema);
    const extractor = new FeatureExtractor(featureConfig(c));
    const writer = FeatureArchiveWriter.open(join(ctx.expDir, FEATS_DIR), { config: extractor.config, commitEvery: 50 });
    let frames = 0;
    let done = 0;
    const t0 = Date.now();
    for (const [i, s] of sups.entries()) {
      if (writer.has(s.id)) continue;
      const rec = recs.get(s.recordingId);
      if (!rec) throw new Error(`${join(corpus, MANIFEST_FILES.supervisions)}: ${s.id} names recording ${s.recordingId}, which recordings.jsonl lacks; resynthesise (--stage 0)`);
      const r = extractor.fromFile(resolveAudioPath(corpus, rec.path));
      writer.append(s.id, r.features, { sampleRateHz: r.sampleRateHz });
      frames += r.features.numFrames;
      done++;
      if (done % 200 === 0) ctx.log(`  features: ${i + 1}/${sups.length} utterances (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    }
    writer.close();
    return { utterances: sups.length, computedNow: done, framesNow: frames };
  },
};

/** One utterance's targets: per-frame class (tree pdf or monophone state) and monophone state. */
interface LabelLine {
  id: string;
  split: 'train' | 'dev' | 'test';
  speaker: string;
  labels: number[];
  mono: number[];
}

export const LABELS_FILE = 'labels.jsonl';
export const LANG_FILE = 'lang.json';
export const TREE_FILE = 'tree.json';

interface FrameSegments {
  segments: { phone: string; startFrame: number; endFrame: number; wordIndex?: number }[];
  states: Int32Array;
  mono: Int32Array;
}

/** Monophone frame labels plus frame-level phone segments and per-frame HMM states, from an alignment in seconds. */
function frameSegments(phones: { phone: string; startSec: number; endSec: number; wordIndex?: number }[], numFrames: number, fo: FrameOptions, inventory: StateInventory, lang: Lang, id: string): FrameSegments {
  const mono = labelsFromPhoneSegments(phones, numFrames, fo, inventory, { fillPhone: lang.silencePhone, where: id });
  const segments: FrameSegments['segments'] = [];
  let prev = 0;
  for (const p of phones) {
    const a = Math.min(numFrames, boundaryFrame(p.startSec, fo));
    const b = Math.min(numFrames, boundaryFrame(p.endSec, fo));
    // Frames no phone covers were filled with silence: make them silence segments so segments tile the utterance.
    if (a > prev) segments.push({ phone: lang.silencePhone, startFrame: prev, endFrame: a });
    if (b > a) segments.push({ phone: p.phone, startFrame: a, endFrame: b, ...(p.wordIndex !== undefined ? { wordIndex: p.wordIndex } : {}) });
    prev = Math.max(prev, b);
  }
  if (prev < numFrames) segments.push({ phone: lang.silencePhone, startFrame: prev, endFrame: numFrames });
  const states = Int32Array.from(mono, (c) => inventory.stateOfClass(c));
  return { segments, states, mono };
}

/** Which split an utterance is in: by utterance id where the corpus lists them (FSDD), else by speaker. */
function splitsOf(corpus: string): (s: Supervision) => 'train' | 'dev' | 'test' | undefined {
  const byUtt = join(corpus, UTTERANCE_SPLITS_FILE);
  const of = new Map<string, 'train' | 'dev' | 'test'>();
  if (existsSync(byUtt)) {
    const j = JSON.parse(readFileSync(byUtt, 'utf8')) as Record<'train' | 'dev' | 'test', string[]>;
    for (const name of ['train', 'dev', 'test'] as const) for (const id of j[name]) of.set(id, name);
    return (s) => of.get(s.id);
  }
  const splits = readSplits(join(corpus, MANIFEST_FILES.splits));
  for (const name of ['train', 'dev', 'test'] as const) for (const spk of splits[name]) of.set(spk, name);
  return (s) => of.get(s.speaker);
}

export const labelsStage: Stage<AsrRecipeConfig> = {
  name: 'labels',
  outputs: [DATA_DIR],
  description: 'frame targets from the corpus alignments (monophone or whole-word states, tied by a phonetic tree when configured)',
  configSlice: (c) => ({ labels: c.labels, treeCmvn: 'utterance' }),
  after: ['features'],
  async run(c, ctx) {
    const corpus = join(ctx.expDir, CORPUS_DIR);
    const out = join(ctx.expDir, DATA_DIR);
    mkdirSync(out, { recursive: true });
    const sups = readJsonl(join(corpus, MANIFEST_FILES.supervisions), SupervisionSchema);
    const alis = new Map(readJsonl(join(corpus, MANIFEST_FILES.alignments), AlignmentSchema).map((a) => [a.id, a]));
    const splitOf = splitsOf(corpus);
    const lang = makeLang({ lexiconFile: join(corpus, 'lexicon.txt'), words: [], statesPerPhone: c.labels.statesPerPhone, statesPerSilence: c.labels.statesPerSilence });
    const inventory = inventoryOf(lang);
    const archive = FeatureArchive.open(join(ctx.expDir, FEATS_DIR));
    const utts: { sup: Supervision; split: 'train' | 'dev' | 'test'; features: FeatureMatrix; fs: FrameSegments }[] = [];
    let skipped = 0;
    for (const s of sups) {
      const a = alis.get(s.id);
      const split = splitOf(s);
      if (!a || !archive.has(s.id) || !split) {
        skipped++;
        continue;
      }
      const features = archive.get(s.id);
      const fo = featureFrameOptions(Number(archive.entry(s.id).meta?.sampleRateHz) || 16000);
      utts.push({ sup: s, split, features, fs: frameSegments(a.phones, features.numFrames, fo, inventory, lang, s.id) });
    }
    let realigned: RealignPass[] | undefined;
    if (c.labels.realign) {
      const ru: RealignUtterance[] = utts.map((u) => ({ id: u.sup.id, speaker: u.sup.speaker, text: u.sup.text, split: u.split, features: u.features, mono: u.fs.mono }));
      realigned = await realign(c, c.labels.realign, lang, inventory, ru, ctx.log);
      ru.forEach((r, i) => (utts[i].fs.mono = r.mono));
    }
    let tree: PhoneticTree | undefined;
    if (c.labels.treeLeaves !== null) {
      // Tree statistics on the training split's CMVN'd, unspliced features (Kaldi: acc-tree-stats on the train set).
      const fe = new Frontend({ ...frontendOf(c), splice: { left: 0, right: 0 } });
      const train = utts.filter((u) => u.split === 'train');
      fe.fit(train.map((u) => ({ id: u.sup.id, features: u.features, speaker: u.sup.speaker })));
      const aligned: AlignedUtterance[] = train.map((u) => ({ features: fe.normalise({ id: u.sup.id, features: u.features, speaker: u.sup.speaker }), segments: u.fs.segments, states: u.fs.states }));
      const leaves = Math.max(c.labels.treeLeaves, inventory.numClasses);
      tree = buildTree(accumulateTreeStats(aligned, inventory), inventory, { targetLeaves: leaves, minCount: c.labels.treeMinCount });
      ctx.log(`  tree: ${tree.numPdfs} pdfs (asked for ${c.labels.treeLeaves}) from ${inventory.numClasses} monophone states`);
      writeJsonAtomic(join(out, TREE_FILE), { tree: tree.toJSON(), config: { targetLeaves: c.labels.treeLeaves, minCount: c.labels.treeMinCount }, numPdfs: tree.numPdfs });
    }
    const lines: string[] = [];
    const counts = { train: 0, dev: 0, test: 0 };
    const frames = { train: 0, dev: 0, test: 0 };
    for (const u of utts) {
      const labels = tree ? treeLabels(tree, inventory, { segments: u.fs.segments, states: u.fs.states, numFrames: u.fs.mono.length }, u.sup.id) : u.fs.mono;
      const line: LabelLine = { id: u.sup.id, split: u.split, speaker: u.sup.speaker, labels: Array.from(labels), mono: Array.from(u.fs.mono) };
      lines.push(JSON.stringify(line));
      counts[u.split]++;
      frames[u.split] += labels.length;
    }
    writeJsonAtomic(join(out, LANG_FILE), lang);
    writeFileAtomic(join(out, 'lm-text.txt'), sups.filter((s) => splitOf(s) === 'train').map((s) => wordsOf(s.text).join(' ')).join('\n') + '\n');
    writeJsonAtomic(join(out, 'stats.json'), { utterances: counts, frames, skipped, numClasses: tree ? tree.numPdfs : inventory.numClasses, monophoneStates: inventory.numClasses, phones: lang.phones.length });
    writeFileAtomic(join(out, LABELS_FILE), lines.join('\n') + '\n');
    archive.close();
    return {
      utterances: counts,
      frames,
      skipped,
      numClasses: tree ? tree.numPdfs : inventory.numClasses,
      monophoneStates: inventory.numClasses,
      ...(realigned ? { realign: realigned.map((r) => ({ ...r, failed: r.failed.length, firstFailure: r.failed[0] })) } : {}),
    };
  },
};

export { frontendOf };

export interface FrameTask {
  name: string;
  description: string;
  train: FrameDataset;
  dev: FrameDataset;
  test: FrameDataset;
  numClasses: number;
  inputDim: number;
  /** Per class: `phone.state [tree questions]` for tied states, `phone.state` for monophone ones. */
  classNames: string[];
  phoneOfClass: string[];
}

export interface LoadedAsrData {
  task: FrameTask;
  lang: Lang;
  inventory: StateInventory;
  tree?: PhoneticTree;
  /** Test utterances in corpus order (decoding needs their ids, speakers and transcripts). */
  testSups: Supervision[];
  /** Dev utterances in corpus order (decode settings are tuned on these, never on test). */
  devSups: Supervision[];
  archive: FeatureArchive;
  frameOptions: FrameOptions;
}

/** The frame datasets of a recipe directory whose data stages are complete. */
export function loadAsrData(expDir: string, config: AsrRecipeConfig): LoadedAsrData {
  const data = join(expDir, DATA_DIR);
  const f = join(data, LABELS_FILE);
  if (!existsSync(f)) throw new Error(`${f} does not exist; run the recipe's data stages first (kdasr experiment asr --stop-stage labels)`);
  const lang = JSON.parse(readFileSync(join(data, LANG_FILE), 'utf8')) as Lang;
  const inventory = inventoryOf(lang);
  const tree = readTree(data);
  const archive = FeatureArchive.open(join(expDir, FEATS_DIR));
  const bySplit = { train: [] as { id: string; features: FeatureMatrix; labels: Int32Array; speaker: string }[], dev: [] as never[], test: [] as never[] } as Record<'train' | 'dev' | 'test', { id: string; features: FeatureMatrix; labels: Int32Array; speaker: string }[]>;
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const j = JSON.parse(line) as LabelLine;
    bySplit[j.split].push({ id: j.id, features: archive.get(j.id), labels: Int32Array.from(j.labels), speaker: j.speaker });
  }
  const numClasses = tree ? tree.numPdfs : inventory.numClasses;
  const make = (split: 'train' | 'dev' | 'test') => new FrameDataset(bySplit[split], { numClasses, frontend: new Frontend(frontendOf(config)), source: `${expDir} (${split})` });
  const train = make('train');
  const classNames = tree ? tree.pdfNames() : Array.from({ length: numClasses }, (_, k) => inventory.className(k));
  const phoneOfClass = tree ? tree.pdfRoots().map((r) => r.phone) : Array.from({ length: numClasses }, (_, k) => inventory.phoneOfClass(k));
  const testIds = new Set(bySplit.test.map((u) => u.id));
  const devIds = new Set(bySplit.dev.map((u) => u.id));
  const allSups = readJsonl(join(expDir, CORPUS_DIR, MANIFEST_FILES.supervisions), SupervisionSchema);
  const testSups = allSups.filter((s) => testIds.has(s.id));
  const devSups = allSups.filter((s) => devIds.has(s.id));
  const task: FrameTask = {
    name: tree ? 'speech-tied-states' : isFsdd(config) ? 'speech-whole-word-states' : 'speech-monophone-states',
    description: `${isFsdd(config) ? 'FSDD recorded connected digits' : 'synthetic espeak-ng speech'} (${resolve(expDir)}): ${bySplit.train.length}/${bySplit.dev.length}/${bySplit.test.length} train/dev/test utterances, ${train.size} training frames, ${numClasses} ${tree ? 'tied context-dependent states' : isFsdd(config) ? 'whole-word states' : 'monophone states'}, ${train.featureDim}-dim spliced fbank`,
    train,
    dev: make('dev'),
    test: make('test'),
    numClasses,
    inputDim: train.featureDim,
    classNames,
    phoneOfClass,
  };
  const first = bySplit.train[0]?.id;
  const sampleRateHz = (first && Number(archive.entry(first).meta?.sampleRateHz)) || 16000;
  return { task, lang, inventory, tree, testSups, devSups, archive, frameOptions: featureFrameOptions(sampleRateHz) };
}

export const DATA_STAGES = [corpusStage, featuresStage, labelsStage];

/** Run the data stages of a preset into expDir (default exp/asr-<preset>), skipping complete ones, and load the splits. */
export async function prepareAsrFrameTask(options: { preset: 'quick' | 'medium' | 'smoke'; expDir?: string; log?: (line: string) => void }): Promise<FrameTask> {
  const config = asrPreset(options.preset);
  const expDir = options.expDir ?? join('exp', `asr-${options.preset}`);
  await runStages(DATA_STAGES, config, { expDir, log: options.log });
  return loadAsrData(expDir, config).task;
}
