/**
 * Transfer sets for `kdasr teacher-logits` and `kdasr distill`: a feature archive plus an utterance selection
 * (a corpus split, an utterance list, or the whole archive), with frame labels where they exist. Every frame is
 * kept, labelled or not, in utterance order, so example i is the same frame whichever model reads it (stored
 * logits are looked up by that index); splice context stays inside each utterance as in training.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FeatureArchive, parseFbankConfig } from '@kdasr/audio-features';
import type { FrameOptions } from '@kdasr/core';
import { AlignmentSchema, MANIFEST_FILES, SupervisionSchema, readJsonl, readSplits, selectSplit, type SplitName, type Supervision } from '@kdasr/corpus';
import { FrameDataset, labelsFromPhoneSegments, loadAcousticModel, type Frontend, type LoadedAcousticModel, type StateInventory, type Utterance } from '@kdasr/acoustic-models';
import { z } from 'zod';
import { ConfigError } from './config-file.js';

export const transferSetSchema = z.strictObject({
  /** Feature archive (kdasr features) whose ids are the utterance ids. */
  feats: z.string().min(1),
  /** Corpus manifest directory (supervisions.jsonl, optional alignments.jsonl and splits.json). */
  corpus: z.string().min(1).optional(),
  /** Split name: CORPUS/<split>/ when that directory exists, else the speakers of CORPUS/splits.json's split. */
  split: z.string().min(1).optional(),
  /** Utterance list (one id per line; Kaldi-style, the first field of each line). */
  utts: z.string().min(1).optional(),
  /** Utterances to leave out (same format), e.g. the dev-utts.txt kdasr train held out. */
  exclude: z.string().min(1).optional(),
  /** Frame labels from `kdasr align` (DIR/labels.jsonl); else the corpus' phone alignments, where present. */
  ali: z.string().min(1).optional(),
  /** 'none': treat the set as unlabelled even where alignments exist (soft targets only). */
  labels: z.enum(['auto', 'none']).default('auto'),
  /** Relative weight in a mixture of transfer sets (each frame is seen ~weight times per epoch). */
  weight: z.number().positive().default(1),
});
export type TransferSetSpec = z.output<typeof transferSetSchema>;
export type TransferSetInput = z.input<typeof transferSetSchema>;

/** What a transfer set is, recorded in artifacts and checked on reuse. */
export interface TransferSetRecord {
  spec: TransferSetSpec;
  utterances: number;
  frames: number;
  labelledFrames: number;
  /** How labels were found: 'kdasr align DIR', 'corpus phone alignments', or 'none'. */
  labelSource: string;
  /** sha256 over "id numFrames\n" in order: two sets with this hash index the same frames. */
  framesSha256: string;
}

export interface LoadedTransferSet {
  record: TransferSetRecord;
  utterances: Utterance[];
  /** All frames (unlabelled ones labelled −1), spliced by `frontend`. */
  dataset: FrameDataset;
}

/** The spec with its paths made absolute (so records stay valid from any working directory). */
export function resolveTransferSpec(input: TransferSetInput, where = 'transfer set'): TransferSetSpec {
  const r = transferSetSchema.safeParse(input);
  if (!r.success) throw new ConfigError(`${where}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const s = r.data;
  const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(p));
  if (s.split !== undefined && s.corpus === undefined) throw new ConfigError(`${where}: split "${s.split}" needs corpus (the manifest directory it is a split of)`);
  return { ...s, feats: resolve(s.feats), corpus: abs(s.corpus), utts: abs(s.utts), exclude: abs(s.exclude), ali: abs(s.ali) };
}

function frameOptionsOf(archive: FeatureArchive, id: string): FrameOptions {
  const cfg = (archive.index.config ?? {}) as { options?: Record<string, unknown> };
  const rate = Number(archive.entry(id).meta?.sampleRateHz);
  const fb = parseFbankConfig({ ...(cfg.options ?? {}), ...(rate > 0 ? { sampleRateHz: rate } : {}) });
  return { sampleRateHz: fb.sampleRateHz, frameLengthMs: fb.frameLengthMs, frameShiftMs: fb.frameShiftMs, snipEdges: fb.snipEdges };
}

/** The corpus' supervisions of the spec's split (or all), with the manifest directory they came from. */
function corpusSupervisions(spec: TransferSetSpec): { sups: Supervision[]; dir: string } | undefined {
  if (!spec.corpus) return undefined;
  const sub = spec.split ? join(spec.corpus, spec.split) : undefined;
  const dir = sub && existsSync(join(sub, MANIFEST_FILES.supervisions)) ? sub : spec.corpus;
  const file = join(dir, MANIFEST_FILES.supervisions);
  if (!existsSync(file)) throw new ConfigError(`${file} does not exist; corpus must be a manifest directory (kdasr corpus)`);
  let sups = readJsonl(file, SupervisionSchema);
  if (spec.split && dir === spec.corpus) {
    const sf = join(spec.corpus, MANIFEST_FILES.splits);
    if (!existsSync(sf)) throw new ConfigError(`split "${spec.split}": neither ${join(spec.corpus, spec.split)}/ nor ${sf} exists`);
    const splits = readSplits(sf);
    if (!(spec.split in splits)) throw new ConfigError(`split "${spec.split}" is not in ${sf} (it has ${Object.keys(splits).join(', ')})`);
    sups = selectSplit(sups, splits, spec.split as SplitName);
  }
  return { sups, dir };
}

function readUttList(file: string): string[] {
  if (!existsSync(file)) throw new ConfigError(`utterance list ${file} does not exist`);
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((id): id is string => !!id);
}

/** kdasr align's labels.jsonl: per utterance the aligner's output classes and, for monophone ids, `mono`. */
function readAlignLabels(dir: string): Map<string, { labels: number[]; mono?: number[] }> {
  const f = join(dir, 'labels.jsonl');
  if (!existsSync(f)) throw new ConfigError(`${f} does not exist; write it with kdasr align --out ${dir}`);
  const out = new Map<string, { labels: number[]; mono?: number[] }>();
  readFileSync(f, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      try {
        const j = JSON.parse(line) as { id: string; labels: number[]; mono?: number[] };
        out.set(j.id, j);
      } catch {
        throw new ConfigError(`${f} line ${i + 1} is not JSON; rerun kdasr align`);
      }
    });
  return out;
}

/**
 * Load a transfer set for models with these output classes (`inventory` states, or `numClasses` tree pdfs) and
 * this frontend. Labels, first that applies: none (`labels: 'none'`); `ali` (kdasr align: its `mono` ids for a
 * monophone model, its model classes for a tree model); the corpus' phone alignments (monophone models); else the
 * set is unlabelled.
 */
export function loadTransferSet(
  input: TransferSetInput,
  model: { inventory: StateInventory; numClasses: number; frontend: Frontend },
  where = 'transfer set',
): LoadedTransferSet {
  const spec = resolveTransferSpec(input, where);
  if (!FeatureArchive.exists(spec.feats)) throw new ConfigError(`${where}: ${spec.feats} is not a feature archive (kdasr features)`);
  const archive = FeatureArchive.open(spec.feats);
  try {
    const corpus = corpusSupervisions(spec);
    let ids = corpus ? corpus.sups.map((s) => s.id) : archive.ids();
    if (spec.utts) {
      const keep = new Set(readUttList(spec.utts));
      ids = corpus ? ids.filter((id) => keep.has(id)) : [...keep];
    }
    if (spec.exclude) {
      const drop = new Set(readUttList(spec.exclude));
      ids = ids.filter((id) => !drop.has(id));
    }
    const missing = ids.filter((id) => !archive.has(id));
    if (missing.length > 0 && missing.length === ids.length) throw new ConfigError(`${where}: none of the ${ids.length} utterances is in ${spec.feats} (first: ${missing[0]}); check the ids match`);
    ids = ids.filter((id) => archive.has(id));
    if (ids.length === 0) throw new ConfigError(`${where}: no utterances selected from ${spec.feats}`);
    const speaker = new Map(corpus?.sups.map((s) => [s.id, s.speaker]) ?? []);
    const isMono = model.numClasses === model.inventory.numClasses;
    let labelOf: ((id: string, numFrames: number) => Int32Array | undefined) | undefined;
    let labelSource = 'none';
    if (spec.labels === 'auto' && spec.ali) {
      const ali = readAlignLabels(spec.ali);
      labelSource = `kdasr align ${spec.ali}`;
      labelOf = (id) => {
        const a = ali.get(id);
        if (!a) return undefined;
        const l = isMono ? (a.mono ?? a.labels) : a.labels;
        if (l.some((c) => c >= model.numClasses))
          throw new ConfigError(`${where}: ${spec.ali} labels of ${id} exceed the model's ${model.numClasses} classes; align with this model's kind (monophone or its tree)`);
        return Int32Array.from(l);
      };
    } else if (spec.labels === 'auto' && corpus && existsSync(join(corpus.dir, MANIFEST_FILES.alignments))) {
      const alis = new Map(readJsonl(join(corpus.dir, MANIFEST_FILES.alignments), AlignmentSchema).map((a) => [a.id, a]));
      if ([...alis.values()].some((a) => a.phones.length > 0)) {
        if (!isMono) throw new ConfigError(`${where}: the corpus has phone alignments but the model's classes are tree pdfs; pass ali (kdasr align with this model) or labels: none`);
        labelSource = 'corpus phone alignments';
        const fill = model.inventory.silencePhones[0];
        labelOf = (id, numFrames) => {
          const a = alis.get(id);
          if (!a || a.phones.length === 0) return undefined;
          return labelsFromPhoneSegments(a.phones, numFrames, frameOptionsOf(archive, id), model.inventory, { ...(fill ? { fillPhone: fill } : {}), where: id });
        };
      }
    }
    const utterances: Utterance[] = ids.map((id) => {
      const features = archive.get(id);
      const labels = labelOf?.(id, features.numFrames);
      return { id, features, ...(labels ? { labels } : {}), ...(speaker.get(id) !== undefined ? { speaker: speaker.get(id) } : {}) };
    });
    const dataset = new FrameDataset(utterances, { numClasses: model.numClasses, frontend: model.frontend, keepUnlabelled: true, source: `${where} (${spec.feats})` });
    const hash = createHash('sha256');
    for (const u of utterances) hash.update(`${u.id} ${u.features.numFrames}\n`);
    const labelledFrames = utterances.reduce((s, u) => s + (u.labels ? u.labels.reduce((n, l) => n + (l >= 0 ? 1 : 0), 0) : 0), 0);
    return {
      record: { spec, utterances: utterances.length, frames: dataset.size, labelledFrames, labelSource: labelledFrames > 0 ? labelSource : 'none', framesSha256: hash.digest('hex') },
      utterances,
      dataset,
    };
  } finally {
    archive.close();
  }
}

/** The labelled frames only (dev sets: frame accuracy, early stopping). */
export function labelledFrames(t: LoadedTransferSet, numClasses: number, frontend: Frontend, where: string): FrameDataset {
  const utts = t.utterances.filter((u) => u.labels && u.labels.some((l) => l >= 0));
  if (utts.length === 0) throw new ConfigError(`${where}: no labelled frames (${t.record.spec.feats}); give ali or a corpus with phone alignments`);
  return new FrameDataset(utts, { numClasses, frontend, source: where });
}

/** Model directories named by a path: DIR itself (kdasr.json), DIR/model, or an ensemble's DIR/member-<i>/model. */
export function modelDirsOf(path: string): string[] {
  if (existsSync(join(path, 'kdasr.json'))) return [path];
  if (existsSync(join(path, 'model', 'kdasr.json'))) return [join(path, 'model')];
  const members = existsSync(path)
    ? readdirSync(path)
        .map((d) => /^member-(\d+)$/.exec(d))
        .filter((m): m is RegExpExecArray => m !== null && existsSync(join(path, m[0], 'model', 'kdasr.json')))
        .sort((a, b) => Number(a[1]) - Number(b[1]))
        .map((m) => join(path, m[0], 'model'))
    : [];
  if (members.length === 0) throw new ConfigError(`${path} holds no model (kdasr.json, model/ or member-<i>/model/); pass a kdasr train output`);
  return members;
}

/** The experiment directory holding a model dir (where lang.json, lm-text.txt and tree.json live). */
export function expDirOf(modelDir: string): string {
  for (const d of [modelDir, join(modelDir, '..'), join(modelDir, '..', '..')]) if (existsSync(join(d, 'lang.json'))) return resolve(d);
  return resolve(modelDir, '..');
}

/** Load every model named by `paths` (each a model, an experiment or an ensemble), checking they agree on classes and inputs. */
export async function loadTeacherModels(paths: readonly string[], engine: 'native' | 'tfjs' | 'auto' = 'auto'): Promise<{ dirs: string[]; models: LoadedAcousticModel[] }> {
  const dirs = paths.flatMap((p) => modelDirsOf(p));
  const models: LoadedAcousticModel[] = [];
  for (const d of dirs) {
    const m = await loadAcousticModel(d, { engine });
    if (models.length > 0) {
      const f = models[0];
      if (m.model.numClasses !== f.model.numClasses || m.model.inputDim !== f.model.inputDim)
        throw new ConfigError(`teacher ${d} is [${m.model.inputDim} -> ${m.model.numClasses}] but ${dirs[0]} is [${f.model.inputDim} -> ${f.model.numClasses}]; the members of a teacher share one frontend and class set`);
    }
    models.push(m);
  }
  return { dirs: dirs.map((d) => resolve(d)), models };
}
