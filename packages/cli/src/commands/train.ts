/**
 * `kdasr train`: train a hybrid DNN-HMM acoustic model on a corpus split (manifests + feature archive), from
 * phone alignments, an alignment directory written by `kdasr align`, or a flat start. This file also holds the
 * helpers that `align`, `decode` and `eval` share (language description, pdf mapping, scaled likelihoods).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FeatureArchive, parseFbankConfig } from '@kdasr/audio-features';
import { Rng, initRuntime, provenance, writeFileAtomic, writeJsonAtomic, type Classifier, type FrameOptions } from '@kdasr/core';
import { lockDirectory } from '@kdasr/core';
import { AlignmentSchema, MANIFEST_FILES, SupervisionSchema, readJsonl, wordsOf, type Alignment, type Supervision } from '@kdasr/corpus';
import {
  ACOUSTIC_PRESETS,
  EnsembleClassifier,
  FrameDataset,
  PhoneticTree,
  accumulateTreeStats,
  buildTree,
  evaluateFrames,
  Frontend,
  StateInventory,
  labelsFromPhoneSegments,
  loadAcousticModel,
  logPosteriors,
  priorsFromCounts,
  saveAcousticModel,
  trainAcousticModel,
  treeLabels,
  uniformLabels,
  wordsToPhones,
  type AcousticModelConfigInput,
  type AcousticModelMeta,
  type AlignedUtterance,
  type TreeJson,
  type Utterance,
} from '@kdasr/acoustic-models';
import { posteriorsToLoglikes, type LoglikeMatrix } from '@kdasr/decoding';
import { makeLang, inventoryOf, transitionModelOf, decodingLexicon, type Lang } from '@kdasr/experiments';
import { CliError, parseCommandArgs } from '../args.js';

export { makeLang, inventoryOf, transitionModelOf, decodingLexicon, type Lang };
import type { Command } from './registry.js';


export const LANG_FILE = 'lang.json';
export const LABELS_FILE = 'labels.jsonl';
export const TREE_FILE = 'tree.json';

/** EXPDIR/tree.json: the phonetic tree (context-dependent pdfs) and the settings that built it. */
export interface TreeFile {
  tree: TreeJson;
  config: { targetLeaves: number; minCount: number; ali: string };
  numPdfs: number;
}

/** The experiment's phonetic tree, or undefined for a monophone model (no EXPDIR/tree.json). */
export function readTree(expDir: string): PhoneticTree | undefined {
  const f = join(expDir, TREE_FILE);
  if (!existsSync(f)) return undefined;
  const j = JSON.parse(readFileSync(f, 'utf8')) as TreeFile;
  return PhoneticTree.fromJSON(j.tree);
}

export function readLang(dir: string): Lang {
  const f = join(dir, LANG_FILE);
  if (!existsSync(f)) throw new CliError(`${f} does not exist; pass a directory written by kdasr train or kdasr align`);
  return JSON.parse(readFileSync(f, 'utf8')) as Lang;
}

export function readCorpus(dir: string): { sups: Supervision[]; alis: Map<string, Alignment> } {
  const sups = readJsonl(join(dir, MANIFEST_FILES.supervisions), SupervisionSchema);
  const af = join(dir, MANIFEST_FILES.alignments);
  const alis = existsSync(af) ? new Map(readJsonl(af, AlignmentSchema).map((a) => [a.id, a])) : new Map<string, Alignment>();
  return { sups, alis };
}

export function frameOptionsOf(archive: FeatureArchive, id: string): FrameOptions {
  const cfg = (archive.index.config ?? {}) as { options?: Record<string, unknown> };
  const rate = Number(archive.entry(id).meta?.sampleRateHz);
  const fb = parseFbankConfig({ ...(cfg.options ?? {}), ...(rate > 0 ? { sampleRateHz: rate } : {}) });
  return { sampleRateHz: fb.sampleRateHz, frameLengthMs: fb.frameLengthMs, frameShiftMs: fb.frameShiftMs, snipEdges: fb.snipEdges };
}

/** One line of kdasr align's labels.jsonl. */
export interface AliLine {
  id: string;
  /** Per frame: the aligning model's output classes (tree pdfs for a tree model). */
  labels: Int32Array;
  /** Per frame: monophone (phone, state) class ids; absent in older files, where labels are monophone ids. */
  mono?: Int32Array;
  /** Phone segments in frames (end exclusive) with their word index. */
  phones?: { phone: string; startFrame: number; endFrame: number; wordIndex?: number }[];
}

export function readAli(dir: string): Map<string, AliLine> {
  const f = join(dir, LABELS_FILE);
  if (!existsSync(f)) throw new CliError(`${f} does not exist; write it with kdasr align --out ${dir}`);
  const out = new Map<string, AliLine>();
  for (const line of readFileSync(f, 'utf8').split('\n')) if (line.trim()) {
    const j = JSON.parse(line) as { id: string; labels: number[]; mono?: number[]; phones?: AliLine['phones'] };
    out.set(j.id, { id: j.id, labels: Int32Array.from(j.labels), mono: j.mono ? Int32Array.from(j.mono) : undefined, phones: j.phones });
  }
  return out;
}

/** Monophone class ids per utterance (the `mono` field, else `labels` from a monophone model's alignment). */
export function readLabels(dir: string): Map<string, Int32Array> {
  return new Map([...readAli(dir)].map(([id, a]) => [id, a.mono ?? a.labels]));
}

/**
 * Targets of an aligned utterance for a model with these output classes: monophone ids, or with a tree each
 * frame's (phone, state) and word-internal contexts mapped to its pdf. Throws when a tree needs segments that
 * the alignment lacks, or its labels are not monophone states.
 */
export function aliTargets(a: AliLine, inventory: StateInventory, tree: PhoneticTree | undefined): Int32Array {
  const mono = a.mono ?? a.labels;
  if (!tree) return mono;
  if (!a.phones) throw new CliError(`${a.id}: the alignment has no phone segments; realign with kdasr align`);
  return treeLabels(tree, inventory, { segments: a.phones, states: monoStates(a, inventory), numFrames: mono.length }, a.id);
}

/** HMM state within its phone of each frame, checked against the segments (mono labels must be monophone ids). */
export function monoStates(a: AliLine, inventory: StateInventory): Int32Array {
  const mono = a.mono ?? a.labels;
  const states = new Int32Array(mono.length);
  for (const s of a.phones ?? [])
    for (let t = s.startFrame; t < s.endFrame; t++) {
      const c = mono[t];
      if (!(c >= 0 && c < inventory.numClasses) || inventory.phoneOfClass(c) !== s.phone)
        throw new CliError(`${a.id}: frame ${t} has label ${c}, not a state of its phone "${s.phone}"; the labels are not monophone states (realign with this kdasr align, which writes "mono")`);
      states[t] = inventory.stateOfClass(c);
    }
  return states;
}

/** A model directory loaded for inference: one model, or an ensemble whose members' posteriors are combined. */
export interface LoadedModel {
  model: Classifier & { dispose(): void };
  meta: AcousticModelMeta;
  inventory: StateInventory;
  /** EXPDIR/tree.json when the model's outputs are context-dependent pdfs (shared by an ensemble's members). */
  tree?: PhoneticTree;
  frontend: Frontend;
  /** 1 for a single model. */
  members: number;
  engine: 'native' | 'tfjs';
}

export const ENGINES = ['native', 'tfjs', 'auto'] as const;
export type EngineFlag = (typeof ENGINES)[number];

export function engineFlag(v: string | undefined, cmd: string): EngineFlag {
  const e = v ?? 'auto';
  if (!(ENGINES as readonly string[]).includes(e)) throw new CliError(`${cmd}: --engine is "${e}"; expected native, tfjs or auto`);
  return e as EngineFlag;
}

export function combineFlag(v: string | undefined, cmd: string): 'arithmetic' | 'geometric' {
  const c = v ?? 'arithmetic';
  if (c !== 'arithmetic' && c !== 'geometric') throw new CliError(`${cmd}: --combine is "${c}"; expected arithmetic or geometric`);
  return c;
}

/** Member directories of an ensemble experiment (EXPDIR/member-<i>/model), in member order; [] for a single model. */
export function ensembleMembers(expDir: string): string[] {
  if (!existsSync(expDir)) return [];
  return readdirSync(expDir)
    .map((d) => /^member-(\d+)$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(join(expDir, m[0], 'model')))
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => join(expDir, m[0], 'model'));
}

/**
 * Load EXPDIR/model, or every EXPDIR/member-<i>/model of an ensemble (kdasr train --members N), combined by
 * `combine`. Posteriors run on `engine` (auto: native when the addon loads). Members share the inventory, frontend
 * and priors (they differ only in seed), so member 0's sidecar stands for all.
 */
export async function loadModelDir(expDir: string, options: { engine?: EngineFlag; combine?: 'arithmetic' | 'geometric' } = {}): Promise<LoadedModel> {
  const single = join(expDir, 'model');
  const engine = options.engine ?? 'auto';
  const tree = readTree(expDir);
  const check = (numClasses: number, dir: string): void => {
    const want = tree ? tree.numPdfs : undefined;
    if (want !== undefined && numClasses !== want) throw new CliError(`${dir} has ${numClasses} outputs but ${join(expDir, TREE_FILE)} ${want} pdfs; the tree is from another training run`);
  };
  if (existsSync(join(single, 'kdasr.json'))) {
    const am = await loadAcousticModel(single, { engine });
    check(am.model.numClasses, single);
    return { ...am, tree, members: 1, engine: am.model.engine };
  }
  const dirs = ensembleMembers(expDir);
  if (dirs.length === 0) throw new CliError(`${expDir} holds neither model/ nor member-<i>/model; pass a kdasr train output`);
  const loaded = [];
  for (const d of dirs) loaded.push(await loadAcousticModel(d, { engine }));
  loaded.forEach((l, i) => check(l.model.numClasses, dirs[i]));
  const ens = new EnsembleClassifier(loaded.map((l) => l.model), options.combine ?? 'arithmetic');
  return { model: ens, meta: loaded[0].meta, inventory: loaded[0].inventory, tree, frontend: loaded[0].frontend, members: dirs.length, engine: loaded[0].model.engine };
}

/** Scaled log-likelihoods of one utterance: log posterior − priorScale · log prior (decoding's posteriorsToLoglikes). */
export function uttLoglikes(am: LoadedModel, id: string, archive: FeatureArchive, speaker: string | undefined, priorScale: number): LoglikeMatrix {
  if (!am.meta.logPriors) throw new CliError(`the model has no priors; retrain it with kdasr train (which stores alignment-count priors)`);
  const lp = logPosteriors(am.model, am.frontend.transform({ id, features: archive.get(id), speaker }));
  return posteriorsToLoglikes(lp, am.meta.logPriors, priorScale);
}

export async function startRuntime(backend: string | undefined): Promise<void> {
  const info = await initRuntime(backend ? { backend: backend as 'auto' } : {});
  console.error(`kdasr: backend ${info.backend}, ${info.threads} thread(s)`);
}

/** Settings a resumed run must share with the interrupted one: input paths (resolved) and every flag but --out/--backend. */
export function partialSettings(values: Record<string, unknown>): unknown {
  const path = (k: string) => (typeof values[k] === 'string' ? resolve(values[k] as string) : undefined);
  const options = Object.fromEntries(Object.entries(values).filter(([k, v]) => v !== undefined && !['out', 'backend', 'help'].includes(k)).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { model: path('model'), corpus: path('corpus'), feats: path('feats'), options };
}

/**
 * Run `work` over `items` with progress on stderr (a \r line on a TTY, else a line every ~10 %) and resume:
 * each result is appended to OUT/partial.jsonl as it finishes (settings in OUT/partial.json), and a rerun with
 * the same settings skips the finished ids. Results come back in `items` order; call `done()` after the final
 * outputs are written to remove the partial files.
 */
export function resumableRun<T extends { id: string }, R>(cmd: string, values: Record<string, unknown>, items: T[], work: (item: T) => R): { results: R[]; done: () => void } {
  const out = values.out as string;
  const jsonl = join(out, 'partial.jsonl');
  const settingsFile = join(out, 'partial.json');
  const settings = JSON.stringify(partialSettings(values));
  const finished = new Map<string, R>();
  if (existsSync(jsonl)) {
    const recorded = existsSync(settingsFile) ? JSON.stringify(JSON.parse(readFileSync(settingsFile, 'utf8'))) : undefined;
    if (recorded !== settings) throw new CliError(`${cmd}: ${jsonl} is from a run with different settings (${settingsFile}); delete it to start over, or use another --out`);
    const lines = readFileSync(jsonl, 'utf8').split('\n').filter(Boolean);
    const good: string[] = [];
    lines.forEach((l, i) => {
      try {
        const { id, r } = JSON.parse(l) as { id: string; r: R };
        finished.set(id, r);
        good.push(l);
      } catch (e) {
        if (i < lines.length - 1) throw new CliError(`${cmd}: ${jsonl} line ${i + 1} is corrupt; delete the file to start over`);
      }
    });
    writeFileAtomic(jsonl, good.map((l) => l + '\n').join('')); // drop a line truncated by a kill
    console.error(`${cmd}: resuming, ${finished.size} utterances already done (${jsonl})`);
  } else {
    mkdirSync(out, { recursive: true });
    writeFileAtomic(settingsFile, settings + '\n');
    writeFileSync(jsonl, '');
  }
  const resumed = items.filter((u) => finished.has(u.id)).length;
  const t0 = Date.now();
  const tty = process.stderr.isTTY;
  let n = resumed;
  const progress = () => {
    const rate = (n - resumed) / Math.max((Date.now() - t0) / 1000, 1e-3);
    const eta = rate > 0 ? Math.round((items.length - n) / rate) : 0;
    const line = `${cmd}: ${n}/${items.length} utterances, ${rate.toFixed(1)} utt/s, ETA ${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, '0')}`;
    if (tty) process.stderr.write(`\r${line}${n === items.length ? '\n' : ''}`);
    else if (n === items.length || Math.floor((10 * n) / items.length) > Math.floor((10 * (n - 1)) / items.length)) process.stderr.write(line + '\n');
  };
  const results = items.map((u) => {
    if (finished.has(u.id)) return finished.get(u.id)!;
    const r = work(u);
    appendFileSync(jsonl, JSON.stringify({ id: u.id, r }) + '\n');
    n++;
    progress();
    return r;
  });
  return { results, done: () => [jsonl, settingsFile].forEach((f) => rmSync(f, { force: true })) };
}

const HELP = `usage: kdasr train --corpus DIR --feats DIR --exp DIR [--ali DIR | --lexicon FILE | --whole-word N] [options]

Train a DNN acoustic model (MLP on CMVN'd, spliced frames; targets = monophone HMM states, or with
--tree-leaves the context-dependent pdfs of a phonetic decision tree).
Targets, first that applies: --ali DIR (labels.jsonl + lang.json from kdasr align); phone alignments in the
corpus' alignments.jsonl; else a flat start (each transcript's states spread evenly, silence at both edges).

  --corpus DIR        manifests of the training split (supervisions.jsonl, alignments.jsonl)
  --feats DIR         feature archive whose ids are the supervision ids (kdasr features)
  --exp DIR           output: model/, lang.json, lm-text.txt, dev-utts.txt (held out), train.json
  --ali DIR           frame labels from kdasr align (its lang.json is reused)
  --lexicon FILE      Kaldi lexicon.txt (word phone1 phone2 ...); silence phone "sil" is added
  --tree-leaves N     context-dependent targets (needs --ali; Kaldi build-tree): a phonetic decision tree with N
                      leaves (pdfs) from the alignment's per-frame states, saved as EXPDIR/tree.json; the DNN
                      is trained on its pdf ids (N >= the monophone state count; fewer when no split gains)
  --tree-min-count N  frames each side of a tree split must keep (default 20)
  --whole-word N      no lexicon: each word is one N-state model (e.g. FSDD digits)
  --states N          states per phone with --lexicon (default 3)
  --preset P          tiny | quick | paper (default quick); --config FILE overrides fields (JSON)
  --epochs N, --hidden-layers N, --hidden-units N, --context L,R   override the preset
  --dev-fraction F    utterances held out for newbob/early stopping (default 0.1)
  --seed N            init + shuffle seed (default 0)
  --members N         train an ensemble: N models that differ only in seed (seed, seed+1, ...), one data split,
                      in EXPDIR/member-<i>/ (align/decode/eval take EXPDIR and combine them; default 1)
  --engine E          native | tfjs | auto (default auto: native C + OpenBLAS engine when it loads)
  --backend B         tensor backend (default: best available)`;

export const command: Command = {
  name: 'train',
  summary: 'train a DNN-HMM acoustic model (flat start, corpus or kdasr-align labels)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'train',
      argv,
      {
        corpus: { type: 'string' },
        feats: { type: 'string' },
        exp: { type: 'string' },
        ali: { type: 'string' },
        lexicon: { type: 'string' },
        'whole-word': { type: 'string' },
        states: { type: 'string' },
        preset: { type: 'string' },
        config: { type: 'string' },
        epochs: { type: 'string' },
        'hidden-layers': { type: 'string' },
        'hidden-units': { type: 'string' },
        context: { type: 'string' },
        'dev-fraction': { type: 'string' },
        seed: { type: 'string' },
        members: { type: 'string' },
        'tree-leaves': { type: 'string' },
        'tree-min-count': { type: 'string' },
        engine: { type: 'string' },
        backend: { type: 'string' },
      },
      HELP,
    );
    if (values.help) return (console.log(HELP), 0);
    if (positionals.length) throw new CliError(`train: unexpected argument "${positionals[0]}"\n\n${HELP}`);
    if (!values.corpus || !values.feats || !values.exp) throw new CliError(`train: --corpus, --feats and --exp are required\n\n${HELP}`);
    lockDirectory(values.exp, { command: ['kdasr', 'train', ...argv].join(' ') }); // one writer per --exp; released at exit
    const int = (name: string, v: string | undefined, min: number): number | undefined => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) throw new CliError(`train: --${name} must be an integer >= ${min}, got "${v}"`);
      return n;
    };
    const preset = values.preset ?? 'quick';
    if (!(preset in ACOUSTIC_PRESETS)) throw new CliError(`train: --preset is "${preset}"; expected one of ${Object.keys(ACOUSTIC_PRESETS).join(', ')}`);
    let config: AcousticModelConfigInput = { ...ACOUSTIC_PRESETS[preset as keyof typeof ACOUSTIC_PRESETS] };
    if (values.config) config = { ...config, ...(JSON.parse(readFileSync(values.config, 'utf8')) as AcousticModelConfigInput) };
    const seed = int('seed', values.seed, 0) ?? 0;
    config = { ...config, seed };
    const epochs = int('epochs', values.epochs, 1);
    if (epochs) config.epochs = epochs;
    const hl = int('hidden-layers', values['hidden-layers'], 0);
    if (hl !== undefined) config.hiddenLayers = hl;
    const hu = int('hidden-units', values['hidden-units'], 1);
    if (hu) config.hiddenUnits = hu;
    if (values.context) {
      const m = /^(\d+),(\d+)$/.exec(values.context);
      if (!m) throw new CliError(`train: --context must be LEFT,RIGHT (e.g. 20,5), got "${values.context}"`);
      config.frontend = { ...(config.frontend ?? {}), splice: { left: Number(m[1]), right: Number(m[2]) } };
    }
    const devFraction = values['dev-fraction'] === undefined ? 0.1 : Number(values['dev-fraction']);
    if (!(devFraction >= 0 && devFraction < 1)) throw new CliError(`train: --dev-fraction must be in [0, 1), got "${values['dev-fraction']}"`);

    const engine = engineFlag(values.engine, 'train');
    const members = int('members', values.members, 1) ?? 1;
    const treeLeaves = int('tree-leaves', values['tree-leaves'], 1);
    const treeMinCount = int('tree-min-count', values['tree-min-count'], 1) ?? 20;
    if (treeLeaves !== undefined && !values.ali) throw new CliError('train: --tree-leaves needs --ali DIR (tree statistics come from aligned features: train a monophone model and kdasr align first)');
    await startRuntime(values.backend);
    const { sups, alis } = readCorpus(values.corpus);
    const archive = FeatureArchive.open(values.feats);
    const lang = values.ali
      ? readLang(values.ali)
      : makeLang({ lexiconFile: values.lexicon, wholeWordStates: int('whole-word', values['whole-word'], 1), statesPerPhone: int('states', values.states, 1), words: sups.flatMap((s) => wordsOf(s.text)) });
    if (!values.ali && !values.lexicon && !values['whole-word'] && ![...alis.values()].some((a) => a.phones.length > 0))
      throw new CliError('train: no phone alignments in the corpus and no --ali; a flat start needs --lexicon FILE or --whole-word N');
    const inventory = inventoryOf(lang);
    const lexMap = new Map(Object.entries(lang.lexicon));
    const aliLines = values.ali ? readAli(values.ali) : undefined;
    const aliLabels = aliLines ? new Map([...aliLines].map(([id, a]) => [id, a.mono ?? a.labels])) : undefined;
    let labelSource = values.ali ? `alignments ${resolve(values.ali)}` : 'flat start';
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
        console.error(`kdasr train: skipping ${s.id}: ${(e as Error).message}`);
      }
      if (!labels) skipped++;
      else utts.push({ id: s.id, features, labels, speaker: s.speaker });
    }
    if (utts.length === 0) throw new CliError(`train: no usable utterances (${skipped} skipped); check --feats ids match ${values.corpus}/supervisions.jsonl`);
    const order = new Rng(seed).fork('dev-split').permutation(utts.length);
    const nDev = Math.round(utts.length * devFraction);
    const devUtts = Array.from(order.subarray(0, nDev), (i) => utts[i]);
    const trainUtts = Array.from(order.subarray(nDev), (i) => utts[i]);
    const cfg = { ...config };
    let tree: PhoneticTree | undefined;
    if (treeLeaves !== undefined) {
      // Tree statistics on the frontend's normalised (unspliced) features of every aligned utterance.
      const fe = new Frontend(cfg.frontend ?? {});
      fe.fit(utts);
      const aligned: AlignedUtterance[] = utts.map((u) => {
        const a = aliLines!.get(u.id)!;
        if (!a.phones) throw new CliError(`train: ${values.ali}: ${u.id} has no phone segments; realign with kdasr align`);
        return { features: fe.normalise(u), segments: a.phones, states: monoStates(a, inventory) };
      });
      const t1 = Date.now();
      try {
        tree = buildTree(accumulateTreeStats(aligned, inventory), inventory, { targetLeaves: treeLeaves, minCount: treeMinCount });
      } catch (e) {
        throw new CliError(`train: --tree-leaves ${treeLeaves}: ${(e as Error).message}`);
      }
      console.error(
        `kdasr train: tree with ${tree.numPdfs} pdfs (requested ${treeLeaves}) from ${inventory.numClasses} monophone states, gain ${tree.json.totalGain.toFixed(1)} (${((Date.now() - t1) / 1000).toFixed(1)} s)` +
          (tree.numPdfs < treeLeaves ? `; no further split gains likelihood with >= ${treeMinCount} frames each side` : ''),
      );
      for (const list of [trainUtts, devUtts]) list.forEach((u, i) => (list[i] = { ...u, labels: aliTargets(aliLines!.get(u.id)!, inventory, tree) }));
    }
    const numClasses = tree ? tree.numPdfs : inventory.numClasses;
    const classes = tree ? tree.pdfClasses() : inventory;
    const frontend = new Frontend(cfg.frontend ?? {});
    const train = new FrameDataset(trainUtts, { numClasses, frontend, source: `${values.corpus} (train)` });
    const dev = nDev > 0 ? new FrameDataset(devUtts, { numClasses, frontend: new Frontend(cfg.frontend ?? {}), source: `${values.corpus} (dev)` }) : undefined;
    console.error(`kdasr train: ${trainUtts.length} train / ${devUtts.length} dev utterances, ${train.size} / ${dev?.size ?? 0} frames, ${numClasses} ${tree ? 'tree pdfs' : 'states'}, input ${train.featureDim}; labels: ${labelSource}${skipped ? `; ${skipped} skipped` : ''}`);
    mkdirSync(values.exp, { recursive: true });
    const t0 = Date.now();
    if (tree) writeJsonAtomic(join(values.exp, TREE_FILE), { tree: tree.toJSON(), config: { targetLeaves: treeLeaves!, minCount: treeMinCount, ali: resolve(values.ali!) }, numPdfs: tree.numPdfs } satisfies TreeFile);
    const priors = priorsFromCounts(train.labels(), numClasses);
    const runs: { dir: string; seed: number; engine: string; engineReason?: string; devFrameAccuracy?: number; epochs: number }[] = [];
    let trained!: Awaited<ReturnType<typeof trainAcousticModel>>;
    const models: (typeof trained.model)[] = [];
    for (let m = 0; m < members; m++) {
      // Members differ only in the init/shuffle seed; the data split and labels are the same.
      const mdir = members > 1 ? join(values.exp, `member-${m}`) : values.exp;
      if (members > 1) console.error(`kdasr train: member ${m + 1}/${members} (seed ${seed + m}) -> ${mdir}`);
      trained = await trainAcousticModel({
        config: cfg,
        train,
        dev,
        seed: seed + m,
        engine,
        checkpointDir: join(mdir, 'checkpoint'),
        onProgress: (e) => {
          if (e.phase === 'epoch' && e.record)
            console.error(`  epoch ${e.record.epoch}: loss ${e.record.loss.toFixed(4)} dev acc ${e.record.validation?.toFixed(4) ?? '-'} lr ${e.record.learningRate.toExponential(2)} (${e.record.seconds.toFixed(1)} s)`);
        },
      });
      if (m === 0) console.error(`kdasr train: engine ${trained.engine}${trained.engineReason ? ` (${trained.engineReason})` : ''}`);
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
    writeJsonAtomic(join(values.exp, LANG_FILE), lang);
    // The held-out utterances, so decoding settings can be tuned on them (eval --utts), never on test.
    writeFileSync(join(values.exp, 'dev-utts.txt'), devUtts.map((u) => u.id).join('\n') + '\n');
    writeFileSync(join(values.exp, 'lm-text.txt'), sups.map((s) => wordsOf(s.text).join(' ')).join('\n') + '\n');
    writeJsonAtomic(join(values.exp, 'train.json'), {
      command: ['kdasr', 'train', ...argv],
      corpus: resolve(values.corpus),
      feats: resolve(values.feats),
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
      tree: tree ? { file: join(values.exp, TREE_FILE), requestedLeaves: treeLeaves, minCount: treeMinCount, totalGain: tree.json.totalGain } : undefined,
      devFrameAccuracy: trained.devFrameAccuracy,
      history: trained.result.history,
      seconds: (Date.now() - t0) / 1000,
      provenance: provenance(),
    });
    if (members > 1)
      console.log(`trained ${members} members in ${values.exp}: dev frame accuracy ${runs.map((r) => r.devFrameAccuracy?.toFixed(4) ?? '-').join(', ')}, ensemble ${ensembleDev?.toFixed(4) ?? '-'} (engine ${trained.engine})`);
    else console.log(`trained ${join(values.exp, 'model')}: dev frame accuracy ${trained.devFrameAccuracy?.toFixed(4) ?? '-'} after ${trained.result.history.length} epochs (engine ${trained.engine})`);
    for (const m of models) m.dispose();
    archive.close();
    return 0;
  },
};
