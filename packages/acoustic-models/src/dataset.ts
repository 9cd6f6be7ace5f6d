/**
 * Frame datasets for the acoustic model: CMVN (per utterance, speaker or global) and context splicing over
 * utterance feature matrices, with frames shuffled across utterances. `FrameDataset` holds the normalised,
 * unspliced frames in memory and splices at gather time (26x less memory than storing spliced rows);
 * `StreamingFrameSource` reads a feature archive utterance by utterance through a shuffle buffer.
 */
import { CmvnStats, CmvnStatsByKey, applyCmvn, spliceFrame, type CmvnStatsJson, type FeatureArchive, type FeatureMatrix } from '@kdasr/audio-features';
import { batchesByGather, type BatchOptions, type BatchSource, type Dataset, type HostBatch } from '@kdasr/base';
import { z } from 'zod';

export const frontendConfigSchema = z.strictObject({
  /** Context frames either side (the paper: 20 left, 5 right). */
  splice: z.strictObject({ left: z.number().int().min(0), right: z.number().int().min(0) }).default({ left: 20, right: 5 }),
  cmvn: z
    .strictObject({
      /** 'speaker' needs each utterance's speaker; statistics come from the set being processed (as Kaldi's apply-cmvn per speaker). */
      mode: z.enum(['utterance', 'speaker', 'global', 'none']).default('utterance'),
      normVars: z.boolean().default(false),
    })
    .default({ mode: 'utterance', normVars: false }),
});
export type FrontendConfig = z.output<typeof frontendConfigSchema>;
export type FrontendConfigInput = z.input<typeof frontendConfigSchema>;

export interface Utterance {
  id: string;
  features: FeatureMatrix;
  /** Class id per frame; −1 = unlabelled. */
  labels?: Int32Array;
  speaker?: string;
}

export function parseFrontendConfig(c: FrontendConfigInput = {}): FrontendConfig {
  const r = frontendConfigSchema.safeParse(c);
  if (!r.success) throw new Error(`frontend config: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** CMVN + splicing with the statistics it needs. Global statistics are kept (saved with a model); others are recomputed per set. */
export class Frontend {
  readonly config: FrontendConfig;
  private stats?: CmvnStatsByKey;

  constructor(config: FrontendConfigInput = {}, globalStats?: CmvnStatsJson) {
    this.config = parseFrontendConfig(config);
    if (globalStats) {
      this.stats = new CmvnStatsByKey(globalStats.dim);
      this.stats.stats.set('global', CmvnStats.fromJSON(globalStats));
    }
  }

  /** Accumulate the statistics this mode needs over a set (speaker: per speaker; global: once, kept). */
  fit(utts: Iterable<Pick<Utterance, 'id' | 'features' | 'speaker'>>): this {
    const mode = this.config.cmvn.mode;
    if (mode === 'utterance' || mode === 'none') return this;
    if (mode === 'global' && this.stats) return this;
    let stats: CmvnStatsByKey | undefined;
    for (const u of utts) {
      stats ??= new CmvnStatsByKey(u.features.numCols);
      stats.accumulate(this.key(u), u.features);
    }
    if (stats) this.stats = stats;
    return this;
  }

  private key(u: Pick<Utterance, 'id' | 'speaker'>): string {
    if (this.config.cmvn.mode === 'global') return 'global';
    if (u.speaker === undefined) throw new Error(`frontend: cmvn mode 'speaker' needs a speaker for utterance "${u.id}"; pass speaker, or use mode 'utterance'`);
    return u.speaker;
  }

  /** CMVN for one utterance (not spliced). */
  normalise(u: Pick<Utterance, 'id' | 'features' | 'speaker'>): FeatureMatrix {
    const { mode, normVars } = this.config.cmvn;
    if (mode === 'none') return u.features;
    if (mode === 'utterance') return applyCmvn(u.features, new CmvnStats(u.features.numCols).accumulate(u.features), { normVars });
    if (!this.stats) throw new Error(`frontend: cmvn mode '${mode}' has no statistics; call fit(utterances) first`);
    return applyCmvn(u.features, this.stats.get(this.key(u)), { normVars });
  }

  /** Input dimension of the classifier for raw features of `cols` columns. */
  inputDim(cols: number): number {
    return cols * (this.config.splice.left + 1 + this.config.splice.right);
  }

  /** Normalised and spliced [T, inputDim] matrix for inference. */
  transform(u: Pick<Utterance, 'id' | 'features' | 'speaker'>): FeatureMatrix {
    const m = this.normalise(u);
    const C = this.inputDim(m.numCols);
    const out = new Float32Array(m.numFrames * C);
    for (let t = 0; t < m.numFrames; t++) spliceFrame(m, t, this.config.splice, out, t * C);
    return { data: out, numFrames: m.numFrames, numCols: C };
  }

  /** What a model sidecar needs to rebuild this frontend (global statistics included). */
  toJSON(): { config: FrontendConfig; globalStats?: CmvnStatsJson } {
    return { config: this.config, globalStats: this.config.cmvn.mode === 'global' && this.stats ? this.stats.get('global').toJSON() : undefined };
  }
}

export interface FrameDatasetOptions {
  numClasses: number;
  frontend: Frontend;
  /** Keep frames labelled −1 (default false: they are dropped, as they carry no target). */
  keepUnlabelled?: boolean;
  source?: string;
}

/** In-memory frames of many utterances; random access by frame index; shuffles across utterances. */
export class FrameDataset implements Dataset {
  readonly size: number;
  readonly featureDim: number;
  readonly numClasses: number;
  readonly rawDim: number;
  readonly source: string;
  readonly uttIds: string[];
  /** Per utterance, first row in the concatenated frames and frame count. */
  readonly uttStart: Int32Array;
  readonly uttFrames: Int32Array;
  private readonly data: Float32Array;
  private readonly labelOf: Int32Array;
  private readonly uttOfFrame: Int32Array;
  /** Example index -> global frame row. */
  private readonly rows: Int32Array;
  private readonly splice: { left: number; right: number };

  constructor(utterances: readonly Utterance[], options: FrameDatasetOptions) {
    this.source = options.source ?? 'FrameDataset';
    if (utterances.length === 0) throw new Error(`${this.source}: no utterances; check the feature archive and label ids overlap`);
    const fe = options.frontend.fit(utterances);
    this.rawDim = utterances[0].features.numCols;
    this.splice = fe.config.splice;
    this.featureDim = fe.inputDim(this.rawDim);
    this.numClasses = options.numClasses;
    const total = utterances.reduce((s, u) => s + u.features.numFrames, 0);
    this.data = new Float32Array(total * this.rawDim);
    this.labelOf = new Int32Array(total).fill(-1);
    this.uttOfFrame = new Int32Array(total);
    this.uttStart = new Int32Array(utterances.length);
    this.uttFrames = new Int32Array(utterances.length);
    this.uttIds = [];
    let row = 0;
    utterances.forEach((u, k) => {
      if (u.features.numCols !== this.rawDim)
        throw new Error(`${this.source}: utterance "${u.id}" has ${u.features.numCols} feature columns, others ${this.rawDim}; use one feature config`);
      if (u.labels && u.labels.length !== u.features.numFrames)
        throw new Error(`${this.source}: utterance "${u.id}" has ${u.features.numFrames} frames but ${u.labels.length} labels; regenerate the labels with the features' frame options`);
      this.data.set(fe.normalise(u).data, row * this.rawDim);
      if (u.labels)
        for (let t = 0; t < u.labels.length; t++) {
          const l = u.labels[t];
          if (l < -1 || l >= this.numClasses) throw new Error(`${this.source}: utterance "${u.id}" frame ${t} has label ${l}, outside [0, ${this.numClasses})`);
          this.labelOf[row + t] = l;
        }
      this.uttOfFrame.fill(k, row, row + u.features.numFrames);
      this.uttStart[k] = row;
      this.uttFrames[k] = u.features.numFrames;
      this.uttIds.push(u.id);
      row += u.features.numFrames;
    });
    const keep: number[] = [];
    for (let g = 0; g < total; g++) if (options.keepUnlabelled || this.labelOf[g] >= 0) keep.push(g);
    this.rows = Int32Array.from(keep);
    this.size = this.rows.length;
  }

  /** Labels of all examples, in index order. */
  labels(): Int32Array {
    return Int32Array.from(this.rows, (g) => this.labelOf[g]);
  }

  gather(indices: Int32Array): HostBatch {
    const n = indices.length;
    const D = this.rawDim;
    const C = this.featureDim;
    const features = new Float32Array(n * C);
    const labels = new Int32Array(n);
    const { left, right } = this.splice;
    for (let r = 0; r < n; r++) {
      const i = indices[r];
      if (!(i >= 0 && i < this.size)) throw new Error(`${this.source}: example index ${i} out of range [0, ${this.size})`);
      const g = this.rows[i];
      const u = this.uttOfFrame[g];
      const a = this.uttStart[u];
      const b = a + this.uttFrames[u] - 1;
      let o = r * C;
      // Splice inside the utterance only: context never leaks across utterance boundaries (edges repeat).
      for (let j = -left; j <= right; j++) {
        const src = Math.min(b, Math.max(a, g + j)) * D;
        features.set(this.data.subarray(src, src + D), o);
        o += D;
      }
      labels[r] = this.labelOf[g];
    }
    return { size: n, featureDim: C, numClasses: this.numClasses, features, indices: Int32Array.from(indices), labels };
  }

  batches(options: BatchOptions): Iterable<HostBatch> {
    return batchesByGather(this, options);
  }
}

export interface StreamingOptions {
  numClasses: number;
  frontend: Frontend;
  /** Utterance id -> frame labels; utterances without labels are skipped. */
  labels: ReadonlyMap<string, Int32Array>;
  speakerOf?: (id: string) => string | undefined;
  /** Frames held for shuffling (default 50 000): larger mixes more utterances per batch, costs memory. */
  bufferFrames?: number;
  ids?: readonly string[];
}

/**
 * Frames streamed from a feature archive for corpora larger than memory: utterances in a shuffled order, frames
 * through a shuffle buffer. Reproducible: the order depends only on the batch rng. Example indices are global frame
 * numbers in `ids` order (stable across epochs), so stored teacher logits can be looked up by them.
 */
export class StreamingFrameSource implements BatchSource {
  readonly size: number;
  readonly featureDim: number;
  readonly numClasses: number;
  private readonly ids: string[];
  private readonly firstIndex = new Map<string, number>();

  constructor(private readonly archive: FeatureArchive, private readonly options: StreamingOptions) {
    this.ids = (options.ids ?? archive.ids()).filter((id) => options.labels.has(id));
    if (this.ids.length === 0) throw new Error(`StreamingFrameSource: no archive utterance has labels (archive ${archive.dir}); check the ids match`);
    let n = 0;
    let cols = -1;
    for (const id of this.ids) {
      const e = archive.entry(id);
      const lab = options.labels.get(id)!;
      if (lab.length !== e.rows) throw new Error(`StreamingFrameSource: "${id}" has ${e.rows} frames in ${archive.dir} but ${lab.length} labels; regenerate labels`);
      if (cols < 0) cols = e.cols;
      this.firstIndex.set(id, n);
      n += lab.reduce((s, l) => s + (l >= 0 ? 1 : 0), 0);
    }
    this.size = n;
    this.numClasses = options.numClasses;
    this.featureDim = options.frontend.inputDim(cols);
    if (options.frontend.config.cmvn.mode === 'speaker' || options.frontend.config.cmvn.mode === 'global')
      options.frontend.fit(this.ids.map((id) => ({ id, features: archive.get(id), speaker: options.speakerOf?.(id) })));
  }

  *batches(options: BatchOptions): Generator<HostBatch> {
    const { batchSize, rng, dropLast = false } = options;
    const cap = Math.max(batchSize, this.options.bufferFrames ?? 50_000);
    const C = this.featureDim;
    const order = rng ? Array.from(rng.permutation(this.ids.length), (i) => this.ids[i]) : this.ids;
    let buf: { x: Float32Array; y: number; i: number }[] = [];
    let pending: { x: Float32Array; y: number; i: number }[] = [];
    const take = (): { x: Float32Array; y: number; i: number } => {
      if (!rng) return buf.shift()!;
      const k = rng.int(buf.length);
      const item = buf[k];
      buf[k] = buf[buf.length - 1];
      buf.pop();
      return item;
    };
    const emit = (items: typeof pending): HostBatch => {
      const features = new Float32Array(items.length * C);
      items.forEach((it, r) => features.set(it.x, r * C));
      return { size: items.length, featureDim: C, numClasses: this.numClasses, features, indices: Int32Array.from(items, (it) => it.i), labels: Int32Array.from(items, (it) => it.y) };
    };
    for (const id of order) {
      const spliced = this.options.frontend.transform({ id, features: this.archive.get(id), speaker: this.options.speakerOf?.(id) });
      const lab = this.options.labels.get(id)!;
      let idx = this.firstIndex.get(id)!;
      for (let t = 0; t < lab.length; t++) if (lab[t] >= 0) buf.push({ x: spliced.data.slice(t * C, (t + 1) * C), y: lab[t], i: idx++ });
      while (buf.length > cap) {
        pending.push(take());
        if (pending.length === batchSize) (yield emit(pending), (pending = []));
      }
    }
    while (buf.length) {
      pending.push(take());
      if (pending.length === batchSize) (yield emit(pending), (pending = []));
    }
    buf = [];
    if (pending.length && !dropLast) yield emit(pending);
  }
}
