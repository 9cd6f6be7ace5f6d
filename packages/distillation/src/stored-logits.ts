import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SIDECAR_FILE, idProblem, makeSidecar, writeDirAtomic, writeFileAtomic, type BatchSource, type Classifier, type HostBatch, type Teacher } from '@kdasr/core';
import { ModelTeacher } from './teachers.js';
import { SoftTargetCache, type RowLogitsSource, type SoftTargetKernel } from './target-cache.js';
import { checkTemperature, firstNonFinite } from './validate.js';

export const TEACHER_LOGITS_INDEX = 'index.json';

export interface TeacherLogitsIndex {
  format: 'kdasr-teacher-logits';
  version: 1;
  numExamples: number;
  numClasses: number;
  chunkRows: number;
  dtype: 'float32';
  /**
   * 'dense': each chunk is float32 [rows, numClasses].
   * 'topk': each chunk is float32 values [rows, k], then int32 class indices [rows, k], then float32 tail fill [rows].
   */
  layout: 'dense' | 'topk';
  topK?: number;
  /** How the classes outside the top k are filled: every one gets τ·log(mean(exp(tail logits / τ))). */
  tailFill?: 'log-mean-exp';
  /** τ above: the temperature at which top-k probabilities and tail mass are exact. */
  tailTemperature?: number;
  chunks: { file: string; rows: number; bytes: number; sha256: string }[];
}

export interface WriteTeacherLogitsOptions {
  /** Inference batch size. Default 512. */
  batchSize?: number;
  /** Examples per chunk file. Default 4096. */
  chunkRows?: number;
  /** Store only the k largest logits per example plus one tail value (see README for the approximation). */
  topK?: number;
  /** Temperature at which the top-k form keeps the tail mass exactly (use the distillation T). Default 1. */
  tailTemperature?: number;
  /** Called after each batch with examples written so far. */
  onProgress?: (done: number, total: number) => void;
  /** Recorded in the kdasr.json sidecar (what teacher, what data). */
  config?: unknown;
  seed?: number | null;
}

function isTeacher(t: Teacher | Classifier): t is Teacher {
  return typeof (t as Teacher).probabilities === 'function';
}

/** Indices of the k largest values (any order), by a size-k min-heap: O(C log k) per row. */
export function topKIndices(row: Float32Array, k: number): Int32Array {
  const heap = new Int32Array(k);
  let size = 0;
  const less = (a: number, b: number) => row[a] < row[b];
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && less(heap[l], heap[m])) m = l;
      if (r < size && less(heap[r], heap[m])) m = r;
      if (m === i) return;
      const t = heap[i];
      heap[i] = heap[m];
      heap[m] = t;
      i = m;
    }
  };
  for (let j = 0; j < row.length; j++) {
    if (size < k) {
      heap[size] = j;
      let i = size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!less(heap[i], heap[p])) break;
        const t = heap[i];
        heap[i] = heap[p];
        heap[p] = t;
        i = p;
      }
    } else if (row[j] > row[heap[0]]) {
      heap[0] = j;
      siftDown(0);
    }
  }
  return heap;
}

/**
 * Sparse form of one row: the top-k logits and one fill value f for the other C − k classes, chosen as
 * f = τ·log((1/(C−k)) Σ_tail exp(z_j/τ)) so that at temperature T = τ (tailTemperature) the softmax gives the
 * top-k classes exactly their full probabilities and the tail exactly its total mass (spread uniformly over the
 * tail). At T ≠ τ the tail mass is approximate (over-estimated for T > τ, by the power-mean inequality).
 */
export function sparsifyRow(
  row: Float32Array,
  k: number,
  tailTemperature = 1,
): { indices: Int32Array; values: Float32Array; fill: number } {
  const tau = tailTemperature;
  const c = row.length;
  const indices = topKIndices(row, k);
  const inTop = new Uint8Array(c);
  for (const j of indices) inTop[j] = 1;
  let m = -Infinity;
  for (let j = 0; j < c; j++) if (!inTop[j] && row[j] / tau > m) m = row[j] / tau;
  let s = 0;
  for (let j = 0; j < c; j++) if (!inTop[j]) s += Math.exp(row[j] / tau - m);
  const fill = tau * (m + Math.log(s / (c - k)));
  return { indices, values: Float32Array.from(indices, (j) => row[j]), fill };
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/**
 * Run `teacher` over `source` (in its natural order) and store the logits as a chunked artifact, atomically:
 * the directory appears complete or not at all. Rows are stored by example index (HostBatch.indices), so the
 * source must yield examples 0..size−1 in order when asked for unshuffled batches.
 */
export async function writeTeacherLogits(
  dir: string,
  teacher: Teacher | Classifier,
  source: BatchSource,
  options: WriteTeacherLogitsOptions = {},
): Promise<TeacherLogitsIndex> {
  const where = 'writeTeacherLogits';
  const t: Teacher = isTeacher(teacher) ? teacher : new ModelTeacher(teacher);
  if (typeof t.logits !== 'function')
    throw new Error(`${where}: the teacher has no logits() (an arithmetic ensemble's distribution depends on T); store a model or a geometric ensemble`);
  const teacherLogits = t.logits.bind(t);
  const c = t.numClasses;
  if (source.numClasses !== c) throw new Error(`${where}: source has ${source.numClasses} classes but the teacher has ${c}`);
  const chunkRows = options.chunkRows ?? 4096;
  const batchSize = options.batchSize ?? 512;
  if (!Number.isInteger(chunkRows) || chunkRows <= 0) throw new Error(`${where}: chunkRows must be a positive integer, got ${chunkRows}`);
  const k = options.topK;
  if (k !== undefined && (!Number.isInteger(k) || k <= 0 || k >= c))
    throw new Error(`${where}: topK must be an integer in [1, ${c - 1}] for ${c} classes, got ${k}`);
  const tailTemperature = options.tailTemperature ?? 1;
  checkTemperature(tailTemperature, `${where} (tailTemperature)`);
  const n = source.size;
  const index: TeacherLogitsIndex = {
    format: 'kdasr-teacher-logits',
    version: 1,
    numExamples: n,
    numClasses: c,
    chunkRows,
    dtype: 'float32',
    layout: k ? 'topk' : 'dense',
    ...(k ? { topK: k, tailFill: 'log-mean-exp' as const, tailTemperature } : {}),
    chunks: [],
  };
  await writeDirAtomic(dir, async (tmp) => {
    // One chunk buffer, reused: writeFileAtomic writes synchronously.
    const dense = new Float32Array(k ? 0 : Math.min(chunkRows, n) * c);
    let rowsInChunk = 0;
    let next = 0;
    const sparse = k
      ? { values: new Float32Array(chunkRows * k), idx: new Int32Array(chunkRows * k), fill: new Float32Array(chunkRows) }
      : undefined;
    const flush = () => {
      if (rowsInChunk === 0) return;
      const file = `chunk-${String(index.chunks.length).padStart(6, '0')}.bin`;
      let bytes: Uint8Array;
      if (sparse) {
        const r = rowsInChunk;
        const parts = [sparse.values.subarray(0, r * k!), sparse.idx.subarray(0, r * k!), sparse.fill.subarray(0, r)];
        bytes = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
        let o = 0;
        for (const p of parts) {
          bytes.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), o);
          o += p.byteLength;
        }
      } else {
        bytes = new Uint8Array(dense.buffer, 0, rowsInChunk * c * 4);
      }
      writeFileAtomic(join(tmp, file), bytes);
      index.chunks.push({ file, rows: rowsInChunk, bytes: bytes.byteLength, sha256: sha256(bytes) });
      rowsInChunk = 0;
    };
    for (const batch of source.batches({ batchSize })) {
      for (let i = 0; i < batch.size; i++)
        if (batch.indices[i] !== next + i)
          throw new Error(`${where}: source yielded example ${batch.indices[i]} where ${next + i} was expected; it must yield examples in index order`);
      const z = teacherLogits(batch);
      const data = z.dataSync() as Float32Array;
      z.dispose();
      const bad = firstNonFinite(data);
      if (bad >= 0) throw new Error(`${where}: teacher logit ${data[bad]} for example ${next + Math.floor(bad / c)}, class ${bad % c}`);
      for (let i = 0; i < batch.size; i++) {
        const row = data.subarray(i * c, (i + 1) * c);
        if (sparse) {
          const s = sparsifyRow(row, k!, tailTemperature);
          sparse.values.set(s.values, rowsInChunk * k!);
          sparse.idx.set(s.indices, rowsInChunk * k!);
          sparse.fill[rowsInChunk] = s.fill;
        } else dense.set(row, rowsInChunk * c);
        rowsInChunk++;
        next++;
        if (rowsInChunk === chunkRows) flush();
      }
      options.onProgress?.(next, n);
    }
    flush();
    if (next !== n) throw new Error(`${where}: source yielded ${next} examples but reports size ${n}`);
    writeFileAtomic(join(tmp, TEACHER_LOGITS_INDEX), JSON.stringify(index, null, 2) + '\n');
    writeFileAtomic(
      join(tmp, SIDECAR_FILE),
      JSON.stringify(makeSidecar('teacher-logits', options.config ?? null, options.seed ?? null, { numExamples: n, numClasses: c, layout: index.layout, topK: k ?? null }), null, 2) + '\n',
    );
  });
  return index;
}

interface LoadedChunk {
  dense?: Float32Array;
  values?: Float32Array;
  idx?: Int32Array;
  fill?: Float32Array;
}

/**
 * The index is outside bytes: check every count, size and file name before it sizes an allocation, a read or a
 * path, so a corrupt or hostile index fails here with the field named instead of deep inside a gather.
 */
function checkIndexShape(index: TeacherLogitsIndex, path: string, where: string): void {
  const fail = (field: string, what: string): never => {
    throw new Error(`${where}: ${path}: ${field} ${what}; the artifact is corrupt: rewrite it (kdasr teacher-logits)`);
  };
  const posInt = (v: unknown, field: string) => (Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : fail(field, `must be a positive integer, got ${JSON.stringify(v)}`));
  if (typeof index !== 'object' || index === null) fail('the index', 'is not a JSON object');
  if (index.format !== 'kdasr-teacher-logits' || index.version !== 1) return; // the caller names the format
  posInt(index.numExamples, 'numExamples');
  const c = posInt(index.numClasses, 'numClasses');
  // Top-k chunk sizes do not depend on numClasses, so bound it (each gathered row allocates numClasses floats) and
  // check it against the sidecar the writer left beside the index.
  if (c > MAX_STORED_CLASSES) fail('numClasses', `is ${c}, above the ${MAX_STORED_CLASSES} this reader accepts`);
  const side = sidecarFacts(join(dirname(path), SIDECAR_FILE));
  for (const key of ['numClasses', 'numExamples', 'layout', 'topK'] as const)
    if (side && key in side && side[key] !== (index[key] ?? null)) fail(key, `is ${JSON.stringify(index[key])} but ${SIDECAR_FILE} says ${JSON.stringify(side[key])}`);
  const chunkRows = posInt(index.chunkRows, 'chunkRows');
  if (index.layout !== 'dense' && index.layout !== 'topk') fail('layout', `must be "dense" or "topk", got ${JSON.stringify(index.layout)}`);
  if (index.layout === 'topk') {
    const k = posInt(index.topK, 'topK');
    if (k >= c) fail('topK', `must be below numClasses ${c}, got ${k}`);
  }
  if (!Array.isArray(index.chunks)) fail('chunks', 'must be an array');
  const perRow = index.layout === 'dense' ? 4 * c : 8 * index.topK! + 4;
  index.chunks.forEach((ch, i) => {
    const f = `chunks[${i}]`;
    if (typeof ch !== 'object' || ch === null) fail(f, 'must be an object');
    const p = typeof ch.file === 'string' ? idProblem(ch.file) : 'is not a string';
    if (p !== null) fail(`${f}.file`, `${JSON.stringify(ch.file)} ${p} (chunk files live in the artifact directory)`);
    const rows = posInt(ch.rows, `${f}.rows`);
    // gatherLogits finds example e in chunk floor(e / chunkRows): every chunk but the last must be full.
    if (rows > chunkRows || (i < index.chunks.length - 1 && rows !== chunkRows)) fail(`${f}.rows`, `is ${rows}; every chunk but the last holds chunkRows ${chunkRows}`);
    if (ch.bytes !== rows * perRow) fail(`${f}.bytes`, `is ${JSON.stringify(ch.bytes)}, expected ${rows * perRow} for ${rows} ${index.layout} rows`);
    if (typeof ch.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(ch.sha256)) fail(`${f}.sha256`, 'must be 64 hex digits');
  });
}

const MAX_STORED_CLASSES = 1 << 20;

/** The shape facts writeTeacherLogits records in the sidecar's metrics, or null when there is no readable sidecar. */
function sidecarFacts(path: string): Record<string, unknown> | null {
  try {
    const m = (JSON.parse(readFileSync(path, 'utf8')) as { metrics?: Record<string, unknown> }).metrics;
    return m && typeof m === 'object' ? m : null;
  } catch {
    return null;
  }
}

/** Stored values must be finite and top-k class indices in range, or a gather would return wrong numbers silently. */
function checkChunkValues(ch: LoadedChunk, numClasses: number, path: string): void {
  for (const [name, a] of [
    ['logits', ch.dense],
    ['top-k values', ch.values],
    ['tail fill', ch.fill],
  ] as const) {
    const bad = a ? firstNonFinite(a) : -1;
    if (bad >= 0) throw new Error(`StoredLogitsTeacher: ${path}: ${name} entry ${bad} is ${a![bad]}; the artifact is corrupt: rewrite it`);
  }
  if (ch.idx)
    for (let j = 0; j < ch.idx.length; j++)
      if (ch.idx[j] < 0 || ch.idx[j] >= numClasses) throw new Error(`StoredLogitsTeacher: ${path}: top-k class index ${ch.idx[j]} at entry ${j} is outside [0, ${numClasses}); the artifact is corrupt: rewrite it`);
}

/**
 * Teacher logits read back from a writeTeacherLogits directory, looked up by HostBatch.indices. Only a few chunks
 * are held in memory at once (LRU), so transfer sets larger than memory work; shuffled batches touch many chunks,
 * so pick chunkRows and cacheChunks with the access pattern in mind.
 */
export class StoredLogitsTeacher implements Teacher, RowLogitsSource {
  readonly numClasses: number;
  readonly numExamples: number;
  private readonly cache = new Map<number, LoadedChunk>();
  private readonly held: (LoadedChunk | undefined)[] = [];
  /** Chunk reads from disk so far (cache misses). */
  chunkLoads = 0;
  private targets: SoftTargetCache | null = null;
  private kernel: SoftTargetKernel | undefined;

  private constructor(
    readonly dir: string,
    readonly index: TeacherLogitsIndex,
    private readonly cacheChunks: number,
    private readonly verify: boolean,
    private readonly cacheTemperatures: number,
  ) {
    this.numClasses = index.numClasses;
    this.numExamples = index.numExamples;
  }

  /**
   * `cacheChunks: 'all'` holds every chunk once read (for uniform random access over a transfer set that fits in
   * memory). `cacheTemperatures` (default 1): hostProbabilities keeps the softened distribution of this many
   * temperatures, each numExamples x numClasses float32, so every epoch after a row's first use reads it back
   * instead of recomputing the softmax (SoftTargetCache); 0 recomputes per batch.
   */
  static open(dir: string, options: { cacheChunks?: number | 'all'; verifyChecksums?: boolean; cacheTemperatures?: number } = {}): StoredLogitsTeacher {
    const where = 'StoredLogitsTeacher.open';
    const path = join(dir, TEACHER_LOGITS_INDEX);
    if (!existsSync(path)) throw new Error(`${where}: ${path} does not exist; expected a directory written by writeTeacherLogits`);
    let index: TeacherLogitsIndex;
    try {
      index = JSON.parse(readFileSync(path, 'utf8')) as TeacherLogitsIndex;
    } catch (e) {
      throw new Error(`${where}: cannot read ${path}: ${(e as Error).message}; the artifact is corrupt: rewrite it (kdasr teacher-logits)`);
    }
    checkIndexShape(index, path, where);
    if (index.format !== 'kdasr-teacher-logits' || index.version !== 1)
      throw new Error(`${where}: ${path} has format ${String(index.format)} v${String(index.version)}, expected kdasr-teacher-logits v1`);
    if (index.dtype !== 'float32') throw new Error(`${where}: ${path}: unsupported dtype ${String(index.dtype)} (only float32)`);
    const rows = index.chunks.reduce((s, ch) => s + ch.rows, 0);
    if (rows !== index.numExamples) throw new Error(`${where}: ${path}: chunks hold ${rows} rows but numExamples is ${index.numExamples}; the artifact is corrupt`);
    const cacheChunks = options.cacheChunks === 'all' ? Math.max(1, index.chunks.length) : (options.cacheChunks ?? 4);
    if (!Number.isInteger(cacheChunks) || cacheChunks <= 0) throw new Error(`${where}: cacheChunks must be a positive integer, got ${cacheChunks}`);
    return new StoredLogitsTeacher(dir, index, cacheChunks, options.verifyChecksums ?? true, options.cacheTemperatures ?? 1);
  }

  private chunk(i: number): LoadedChunk {
    // Holding every chunk: a plain array lookup (per-row access is hot), no LRU bookkeeping.
    const all = this.cacheChunks >= this.index.chunks.length;
    const hit = all ? this.held[i] : this.cache.get(i);
    if (hit) {
      if (!all) {
        this.cache.delete(i);
        this.cache.set(i, hit);
      }
      return hit;
    }
    const meta = this.index.chunks[i];
    const path = join(this.dir, meta.file);
    let buf: Buffer;
    try {
      buf = readFileSync(path);
    } catch (e) {
      throw new Error(`StoredLogitsTeacher: cannot read chunk ${i} (${(e as Error).message}); the artifact in ${this.dir} is incomplete: rewrite it`);
    }
    if (buf.byteLength !== meta.bytes) throw new Error(`StoredLogitsTeacher: ${path} has ${buf.byteLength} bytes, index says ${meta.bytes}`);
    // Checked once per load: hashing costs about as much as reading the chunk.
    if (this.verify && sha256(buf) !== meta.sha256) throw new Error(`StoredLogitsTeacher: checksum mismatch for ${path}; the artifact is corrupt`);
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    let loaded: LoadedChunk;
    if (this.index.layout === 'dense') loaded = { dense: new Float32Array(ab) };
    else {
      const k = this.index.topK!;
      const r = meta.rows;
      loaded = {
        values: new Float32Array(ab, 0, r * k),
        idx: new Int32Array(ab, r * k * 4, r * k),
        fill: new Float32Array(ab, r * k * 8, r),
      };
    }
    checkChunkValues(loaded, this.numClasses, path);
    this.chunkLoads++;
    if (all) this.held[i] = loaded;
    else {
      this.cache.set(i, loaded);
      if (this.cache.size > this.cacheChunks) this.cache.delete(this.cache.keys().next().value!);
    }
    return loaded;
  }

  /** Logits of the given examples, [n, numClasses] row-major (top-k form: decoded with the tail fill). */
  gatherLogits(indices: Int32Array): Float32Array {
    const out = new Float32Array(indices.length * this.numClasses);
    this.gatherLogitsInto(indices, out, 0);
    return out;
  }

  /** The logits of `indices` written row after row into `out` from `offset` (a batched kernel's input). */
  gatherLogitsInto(indices: ArrayLike<number>, out: Float32Array, offset: number): void {
    const c = this.numClasses;
    if (out.length < offset + indices.length * c) throw new Error(`StoredLogitsTeacher.gatherLogitsInto: the output holds ${out.length} values, needs ${offset + indices.length * c}`);
    const cr = this.index.chunkRows;
    for (let r = 0; r < indices.length; r++) {
      const e = indices[r];
      if (!Number.isInteger(e) || e < 0 || e >= this.numExamples)
        throw new Error(`StoredLogitsTeacher: example index ${e} out of range [0, ${this.numExamples}) (${this.dir})`);
      const ch = this.chunk(Math.floor(e / cr));
      const row = e % cr;
      const o = offset + r * c;
      if (ch.dense) out.set(ch.dense.subarray(row * c, (row + 1) * c), o);
      else {
        const k = this.index.topK!;
        out.fill(ch.fill![row], o, o + c);
        for (let j = 0; j < k; j++) out[o + ch.idx![row * k + j]] = ch.values![row * k + j];
      }
    }
  }

  /** The dense chunk holding `example` (rows [start, start + rows) from data[0]); undefined for top-k layouts. */
  denseBlock(example: number): { data: Float32Array; start: number; rows: number } | undefined {
    if (this.index.layout !== 'dense') return undefined;
    if (!Number.isInteger(example) || example < 0 || example >= this.numExamples)
      throw new Error(`StoredLogitsTeacher: example index ${example} out of range [0, ${this.numExamples}) (${this.dir})`);
    const q = Math.floor(example / this.index.chunkRows);
    const ch = this.chunk(q);
    return { data: ch.dense!, start: q * this.index.chunkRows, rows: this.index.chunks[q].rows };
  }

  /** One example's logits, copied (dense) or decoded (top-k) into `scratch` (numClasses values), which is returned. */
  rowLogits(example: number, scratch: Float32Array): Float32Array {
    const c = this.numClasses;
    if (!Number.isInteger(example) || example < 0 || example >= this.numExamples)
      throw new Error(`StoredLogitsTeacher: example index ${example} out of range [0, ${this.numExamples}) (${this.dir})`);
    if (scratch.length < c) throw new Error(`StoredLogitsTeacher.rowLogits: scratch holds ${scratch.length} values, needs ${c}`);
    const cr = this.index.chunkRows;
    const ch = this.chunk(Math.floor(example / cr));
    const row = example % cr;
    // Element loops, not subarray(): no allocation per row on this hot path.
    if (ch.dense) {
      const d = ch.dense;
      for (let j = 0, o = row * c; j < c; j++) scratch[j] = d[o + j];
      return scratch;
    }
    const k = this.index.topK!;
    const fill = ch.fill![row];
    for (let j = 0; j < c; j++) scratch[j] = fill;
    for (let j = 0, o = row * k; j < k; j++) scratch[ch.idx![o + j]] = ch.values![o + j];
    return scratch;
  }

  logits(batch: HostBatch): tf.Tensor2D {
    if (batch.numClasses !== this.numClasses)
      throw new Error(`StoredLogitsTeacher: batch has ${batch.numClasses} classes, stored logits have ${this.numClasses}`);
    return tf.tensor2d(this.gatherLogits(batch.indices), [batch.size, this.numClasses]);
  }

  probabilities(batch: HostBatch, temperature: number): tf.Tensor2D {
    checkTemperature(temperature, 'StoredLogitsTeacher.probabilities');
    return tf.tidy(() => tf.softmax(tf.div(this.logits(batch), temperature)) as tf.Tensor2D);
  }

  hostLogits(batch: HostBatch): Float32Array {
    if (batch.numClasses !== this.numClasses)
      throw new Error(`StoredLogitsTeacher: batch has ${batch.numClasses} classes, stored logits have ${this.numClasses}`);
    return this.gatherLogits(batch.indices);
  }

  hostProbabilities(batch: HostBatch, temperature: number): Float32Array {
    checkTemperature(temperature, 'StoredLogitsTeacher.hostProbabilities');
    return this.targetCache().probabilities(batch, temperature);
  }

  /** hostProbabilities written into `out` (HostTargetsInto: distill() reuses one buffer per run). */
  hostProbabilitiesInto(batch: HostBatch, temperature: number, out: Float32Array): Float32Array {
    checkTemperature(temperature, 'StoredLogitsTeacher.hostProbabilitiesInto');
    return this.targetCache().probabilities(batch, temperature, out);
  }

  /** hostProbabilities' rows computed by `kernel` (a native student's; see SoftTargetKernel). */
  useSoftTargetKernel(kernel: SoftTargetKernel | undefined): void {
    this.kernel = kernel;
    this.targets?.useKernel(kernel);
  }

  private targetCache(): SoftTargetCache {
    if (!this.targets) {
      this.targets = new SoftTargetCache([this], { combine: 'arithmetic', temperatures: this.cacheTemperatures, where: `StoredLogitsTeacher (${this.dir})` });
      this.targets.useKernel(this.kernel);
    }
    return this.targets;
  }
}
