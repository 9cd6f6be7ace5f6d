/**
 * Kaldi feature archives: binary `.ark` files of matrices and the `.scp` files that index them.
 *
 * Layout (Kaldi's binary table format, little-endian):
 *   ark entry:  KEY ' ' '\0' 'B' TOKEN ' ' <object>
 *   FM / DM:    '\4' int32 rows, '\4' int32 cols, rows*cols float32 / float64, row-major
 *   CM/CM2/CM3: compressed matrix (float32 min, float32 range, int32 rows, int32 cols, then data; see decode)
 *   scp line:   KEY ' ' PATH ':' BYTE_OFFSET   (the offset of the '\0' of '\0B')
 * Kaldi's per-speaker CMVN stats (compute-cmvn-stats) are a 2 x (dim+1) double matrix: row 0 holds the sum of
 * each dimension then the frame count, row 1 the sum of squares then 0.
 *
 * Node-only (fs).
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync, fsyncSync, mkdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { idProblem, unsafeIdMessage } from '@kdasr/base';
import type { FeatureMatrix } from './fbank.js';

export class KaldiArkError extends Error {
  constructor(readonly file: string, readonly where: string, problem: string, fix?: string) {
    super(`${file}: ${where}: ${problem}${fix ? `. Fix: ${fix}` : ''}`);
    this.name = 'KaldiArkError';
  }
}

export type KaldiMatrixKind = 'FM' | 'DM' | 'CM' | 'CM2' | 'CM3';

/** Where one matrix lies: its file, the byte offset of its '\0B' header, and what the header says. */
export interface KaldiMatrixHeader {
  file: string;
  offset: number;
  kind: KaldiMatrixKind;
  rows: number;
  cols: number;
  /** Bytes from `offset` to the end of the object. */
  byteLength: number;
  /** The key it was listed under (scp or ark), and the scp line that lists it, for messages. */
  key?: string;
  listedBy?: string;
}

/** The largest matrix a header may declare before we refuse to allocate it (2^31 values, as Kaldi's int32). */
const MAX_VALUES = 2 ** 31 - 1;

function token(b: Uint8Array, at: number, max = 8): { tok: string; next: number } | null {
  let end = at;
  while (end < b.length && end - at <= max && b[end] !== 0x20) end++;
  if (end >= b.length || b[end] !== 0x20) return null;
  return { tok: String.fromCharCode(...b.subarray(at, end)), next: end + 1 };
}

/**
 * Parse the header of the object at byte `at` of `head` (which holds at least the first 40 bytes of it, or
 * up to the end of the file). `offset` is `at`'s position in the file, and `listedBy` the scp line that points
 * there, for messages.
 */
export function parseKaldiMatrixHeader(file: string, head: Uint8Array, offset: number, listedBy?: string): KaldiMatrixHeader {
  const where = `byte ${offset}${listedBy ? ` (listed by ${listedBy})` : ''}`;
  if (head.length < 2 || head[0] !== 0 || head[1] !== 0x42) {
    // A text-mode matrix starts with '[' (after the key's space, possibly more spaces).
    const text = head.length > 0 && (head[0] === 0x5b || (head[0] === 0x20 && head.indexOf(0x5b) > 0));
    throw new KaldiArkError(
      file,
      where,
      text ? 'not a binary Kaldi object (no "\\0B" header): a text-mode archive' : 'no "\\0B" binary header (the offset does not point at a Kaldi object, or the file is truncated)',
      text ? 'convert it to binary with `copy-feats ark,t:IN.ark ark,scp:OUT.ark,OUT.scp`' : 'regenerate the scp with the ark, e.g. `copy-feats ark:IN.ark ark,scp:OUT.ark,OUT.scp`',
    );
  }
  const t = token(head, 2);
  if (!t) throw new KaldiArkError(file, where, 'truncated before the object type token');
  const kind = t.tok as KaldiMatrixKind;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (kind === 'FM' || kind === 'DM') {
    if (t.next + 10 > head.length) throw new KaldiArkError(file, where, `${kind} header truncated`);
    for (const at of [t.next, t.next + 5])
      if (head[at] !== 4)
        throw new KaldiArkError(file, `${where} (${kind} dimensions)`, `int32 size byte is ${head[at]}, expected 4${head[at] === 0xfc ? ' (a big-endian archive)' : ''}`);
    const rows = dv.getInt32(t.next + 1, true);
    const cols = dv.getInt32(t.next + 6, true);
    checkDims(file, where, kind, rows, cols);
    const bytes = kind === 'FM' ? 4 : 8;
    return { file, offset, kind, rows, cols, byteLength: t.next + 10 + rows * cols * bytes };
  }
  if (kind === 'CM' || kind === 'CM2' || kind === 'CM3') {
    if (t.next + 16 > head.length) throw new KaldiArkError(file, where, `${kind} header truncated`);
    const rows = dv.getInt32(t.next + 8, true);
    const cols = dv.getInt32(t.next + 12, true);
    checkDims(file, where, kind, rows, cols);
    const data = kind === 'CM' ? cols * (8 + rows) : kind === 'CM2' ? 2 * rows * cols : rows * cols;
    return { file, offset, kind, rows, cols, byteLength: t.next + 16 + data };
  }
  throw new KaldiArkError(file, where, `object type "${(kind as string).slice(0, 8)}" is not a matrix (FM, DM, CM, CM2, CM3)`, 'give an archive of feature matrices');
}

function checkDims(file: string, where: string, kind: string, rows: number, cols: number): void {
  if (rows < 0 || cols < 0 || rows * cols > MAX_VALUES || (rows === 0) !== (cols === 0))
    throw new KaldiArkError(file, `${where} (${kind} dimensions)`, `${rows} x ${cols} is not a valid matrix size (corrupt header)`);
}

/** A key is an utterance (or speaker) id, which becomes a file name downstream: it must be a safe id. */
function checkKey(file: string, where: string, key: string): void {
  const bad = idProblem(key);
  if (bad !== null) throw new KaldiArkError(file, where, unsafeIdMessage(key, bad, 'key'));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decode a matrix object (`bytes` starts at its '\0B') to float32, row-major. */
export function decodeKaldiMatrix(h: KaldiMatrixHeader, bytes: Uint8Array): FeatureMatrix {
  if (bytes.length < h.byteLength) throw new KaldiArkError(h.file, `byte ${h.offset}`, `${h.kind} ${h.rows} x ${h.cols} needs ${h.byteLength} bytes, the file has ${bytes.length} from there (truncated)`);
  const n = h.rows * h.cols;
  const body = h.byteLength - (h.kind === 'FM' ? 4 * n : h.kind === 'DM' ? 8 * n : 0);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  if (h.kind === 'FM') {
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(body + 4 * i, true);
  } else if (h.kind === 'DM') {
    for (let i = 0; i < n; i++) out[i] = dv.getFloat64(body + 8 * i, true);
  } else {
    decodeCompressed(h, bytes, dv, out);
  }
  // Kaldi copies NaN/Inf through without a word; they would poison every statistic and gradient downstream.
  for (let i = 0; i < n; i++)
    if (!Number.isFinite(out[i]))
      throw new KaldiArkError(h.file, `byte ${h.offset}${h.key !== undefined ? ` ("${h.key}"${h.listedBy ? `, listed by ${h.listedBy}` : ''})` : ''}`, `${h.kind} value at row ${Math.floor(i / h.cols)}, column ${i % h.cols} is ${out[i]} (corrupt data)`, 'recompute the features');
  return { data: out, numFrames: h.rows, numCols: h.cols };
}

/**
 * Kaldi's CompressedMatrix::CopyToMat. CM: per column four uint16 percentiles (0, 25, 75, 100) mapped through
 * the global [min, min+range], then one byte per value, column-major, interpolated piecewise-linearly between
 * them (bytes 0-64, 64-192, 192-255). CM2: uint16 per value, row-major, min + range/65535 * v. CM3: one byte per
 * value, row-major, min + range/255 * v. Float/double mix as in Kaldi's C++.
 */
function decodeCompressed(h: KaldiMatrixHeader, bytes: Uint8Array, dv: DataView, out: Float32Array): void {
  const g = 2 + h.kind.length + 1;
  const min = dv.getFloat32(g, true);
  const range = dv.getFloat32(g + 4, true);
  const data = g + 16;
  const { rows, cols } = h;
  const f = Math.fround;
  if (h.kind === 'CM2') {
    const inc = f(range * (1 / 65535));
    for (let i = 0; i < rows * cols; i++) out[i] = min + f(dv.getUint16(data + 2 * i, true) * inc);
  } else if (h.kind === 'CM3') {
    const inc = f(range * (1 / 255));
    for (let i = 0; i < rows * cols; i++) out[i] = min + f(bytes[data + i] * inc);
  } else {
    const u16 = (v: number) => f(min + range * 1.52590218966964e-5 * v);
    const values = data + 8 * cols;
    for (let c = 0; c < cols; c++) {
      const ph = data + 8 * c;
      const p0 = u16(dv.getUint16(ph, true));
      const p25 = u16(dv.getUint16(ph + 2, true));
      const p75 = u16(dv.getUint16(ph + 4, true));
      const p100 = u16(dv.getUint16(ph + 6, true));
      for (let r = 0; r < rows; r++) {
        const v = bytes[values + c * rows + r];
        out[r * cols + c] =
          v <= 64 ? p0 + f(f(p25 - p0) * v) * (1 / 64) : v <= 192 ? p25 + f(f(p75 - p25) * (v - 64)) * (1 / 128) : p75 + f(f(p100 - p75) * (v - 192)) * (1 / 63);
      }
    }
  }
}

/** Encode a float32 matrix as Kaldi's binary "\0BFM " object. */
export function encodeKaldiFloatMatrix(m: FeatureMatrix): Uint8Array {
  return encodeMatrix('FM', m.numFrames, m.numCols, m.data);
}

/** Encode a float64 matrix as Kaldi's binary "\0BDM " object. */
export function encodeKaldiDoubleMatrix(rows: number, cols: number, data: Float64Array | readonly number[]): Uint8Array {
  return encodeMatrix('DM', rows, cols, data);
}

function encodeMatrix(kind: 'FM' | 'DM', rows: number, cols: number, data: ArrayLike<number>): Uint8Array {
  if (data.length !== rows * cols) throw new Error(`Kaldi ${kind} matrix: ${data.length} values for ${rows} x ${cols}`);
  const bytes = kind === 'FM' ? 4 : 8;
  const out = new Uint8Array(15 + rows * cols * bytes);
  const dv = new DataView(out.buffer);
  out.set([0, 0x42, kind.charCodeAt(0), kind.charCodeAt(1), 0x20, 4], 0);
  dv.setInt32(6, rows, true);
  out[10] = 4;
  dv.setInt32(11, cols, true);
  for (let i = 0; i < data.length; i++) {
    if (kind === 'FM') dv.setFloat32(15 + 4 * i, data[i], true);
    else dv.setFloat64(15 + 8 * i, data[i], true);
  }
  return out;
}

/** One scp line: KEY and where its object is. */
export interface KaldiScpEntry {
  key: string;
  file: string;
  offset: number;
  line: number;
}

/**
 * Parse a feats.scp. Relative ark paths are taken relative to the current directory (as Kaldi does), or to the
 * scp's own directory when they are not found there.
 */
export function readKaldiScp(scp: string): KaldiScpEntry[] {
  let text: string;
  try {
    text = readFileSync(scp, 'utf8');
  } catch (e) {
    throw new KaldiArkError(scp, 'file', `cannot read: ${(e as Error).message}`);
  }
  const out: KaldiScpEntry[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim();
    if (!l) return;
    const m = /^(\S+)\s+(.+)$/.exec(l);
    const where = `line ${i + 1}`;
    if (!m) throw new KaldiArkError(scp, where, `expected "KEY ARK_PATH:OFFSET", got "${l.slice(0, 80)}"`);
    const [, key, spec] = m;
    checkKey(scp, where, key);
    if (seen.has(key)) throw new KaldiArkError(scp, where, `key "${key}" appears twice`);
    seen.add(key);
    if (spec.endsWith('|')) throw new KaldiArkError(scp, where, 'piped scp entries are not supported', 'run the pipeline once: `copy-feats scp:IN.scp ark,scp:OUT.ark,OUT.scp`');
    if (/\[[^\]]*\]$/.test(spec)) throw new KaldiArkError(scp, where, 'scp ranges ("[a:b]") are not supported', 'materialise them: `copy-feats scp:IN.scp ark,scp:OUT.ark,OUT.scp`');
    const o = /^(.*):(\d+)$/.exec(spec);
    const path = o ? o[1] : spec;
    const offset = o ? Number(o[2]) : 0;
    if (!Number.isSafeInteger(offset)) throw new KaldiArkError(scp, where, `byte offset ${o![2].slice(0, 30)} of "${key}" is not a usable file position`, 'regenerate the scp with its ark');
    let file = resolve(path);
    if (!isAbsolute(path) && !existsSync(file) && existsSync(join(dirname(scp), path))) file = resolve(dirname(scp), path);
    out.push({ key, file, offset, line: i + 1 });
  });
  return out;
}

/** Reads Kaldi matrices by key from an scp (random access) or from an ark (scanned once). */
export class KaldiMatrixReader {
  readonly headers = new Map<string, KaldiMatrixHeader>();
  private fds = new Map<string, number>();

  private constructor(readonly source: string) {}

  /** Index a feats.scp: every entry's header is read now, so sizes are known and bad offsets fail early. */
  static fromScp(scp: string): KaldiMatrixReader {
    const r = new KaldiMatrixReader(scp);
    try {
      for (const e of readKaldiScp(scp)) {
        const what = `${scp}:${e.line} (${e.key})`;
        const size = r.size(e.file, what);
        if (e.offset >= size) throw new KaldiArkError(scp, `line ${e.line}`, `offset ${e.offset} of "${e.key}" is at or past the end of ${e.file} (${size} bytes)`, 'regenerate the scp with its ark');
        const h = parseKaldiMatrixHeader(e.file, r.read(e.file, e.offset, 40, what), e.offset, what);
        // Declared sizes are checked against the file now, so get() never allocates more than the file holds.
        if (h.offset + h.byteLength > size)
          throw new KaldiArkError(e.file, `byte ${h.offset}`, `"${e.key}" (${h.kind} ${h.rows} x ${h.cols}, listed by ${scp}:${e.line}) runs past the end of the file (truncated archive or wrong offset)`);
        r.headers.set(e.key, { ...h, key: e.key, listedBy: `${scp}:${e.line}` });
      }
    } catch (err) {
      r.close();
      throw err;
    }
    return r;
  }

  /** Index an ark by scanning it: KEY ' ' then an object, to the end of the file. */
  static fromArk(ark: string): KaldiMatrixReader {
    const r = new KaldiMatrixReader(ark);
    try {
      const size = r.size(ark, ark);
      let pos = 0;
      while (pos < size) {
        const head = r.read(ark, pos, 512 + 40, ark);
        const t = token(head, 0, 512);
        if (!t || t.next === 1) throw new KaldiArkError(ark, `byte ${pos}`, 'expected "KEY " (a key and a space) at the start of an entry');
        let key: string;
        try {
          key = utf8.decode(head.subarray(0, t.next - 1));
        } catch {
          throw new KaldiArkError(ark, `byte ${pos}`, 'the key is not valid UTF-8 (binary garbage where an entry should start)');
        }
        checkKey(ark, `byte ${pos}`, key);
        if (r.headers.has(key)) throw new KaldiArkError(ark, `byte ${pos}`, `key "${key}" appears twice`);
        const h = parseKaldiMatrixHeader(ark, head.subarray(t.next), pos + t.next);
        if (h.offset + h.byteLength > size) throw new KaldiArkError(ark, `byte ${h.offset}`, `"${key}" (${h.kind} ${h.rows} x ${h.cols}) runs past the end of the file (truncated archive)`);
        r.headers.set(key, { ...h, key });
        pos = h.offset + h.byteLength;
      }
    } catch (err) {
      r.close();
      throw err;
    }
    return r;
  }

  keys(): string[] {
    return [...this.headers.keys()];
  }

  get(key: string): FeatureMatrix {
    const h = this.headers.get(key);
    if (!h) throw new KaldiArkError(this.source, 'key', `no matrix "${key}"`);
    const bytes = this.read(h.file, h.offset, h.byteLength, `${this.source} (${key})`);
    return decodeKaldiMatrix(h, bytes);
  }

  private fd(file: string, what: string): number {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      try {
        fd = openSync(file, 'r');
      } catch (e) {
        throw new KaldiArkError(file, 'file', `cannot open (listed by ${what}): ${(e as Error).message}`);
      }
      this.fds.set(file, fd);
    }
    return fd;
  }

  private size(file: string, what: string): number {
    const st = fstatSync(this.fd(file, what));
    if (!st.isFile()) throw new KaldiArkError(file, 'file', `is not a regular file (listed by ${what})`, 'give the path of a binary .ark file');
    return st.size;
  }

  private read(file: string, offset: number, length: number, what: string): Uint8Array {
    const fd = this.fd(file, what);
    const b = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, b, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return b.subarray(0, got);
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

/** Kaldi's cmvn stats matrix (2 x (dim+1), row-major) of the frames of `mats`. */
export function kaldiCmvnStats(mats: Iterable<FeatureMatrix>, dim: number): Float64Array {
  const s = new Float64Array(2 * (dim + 1));
  for (const m of mats) {
    if (m.numCols !== dim) throw new Error(`kaldiCmvnStats: a matrix has ${m.numCols} columns, expected ${dim}`);
    for (let t = 0; t < m.numFrames; t++)
      for (let d = 0; d < dim; d++) {
        const x = m.data[t * dim + d];
        s[d] += x;
        s[dim + 1 + d] += x * x;
      }
    s[dim] += m.numFrames;
  }
  return s;
}

/**
 * Writes an ark and its scp side by side, atomically: both go to temp names and are renamed on close(), scp
 * last, so a reader never sees an scp pointing into a half-written ark. Paths in the scp are absolute.
 */
export class KaldiArkWriter {
  private fd: number;
  private pos = 0;
  private scpLines: string[] = [];
  private readonly tmpArk: string;
  private readonly keys = new Set<string>();

  constructor(readonly ark: string, readonly scp: string) {
    mkdirSync(dirname(ark), { recursive: true });
    mkdirSync(dirname(scp), { recursive: true });
    this.tmpArk = join(dirname(ark), `.${basename(ark)}.tmp-${process.pid}`);
    this.fd = openSync(this.tmpArk, 'w');
  }

  /** Append KEY and its encoded object (from encodeKaldiFloatMatrix / encodeKaldiDoubleMatrix). */
  write(key: string, object: Uint8Array): void {
    if (!/^\S+$/.test(key)) throw new Error(`Kaldi archive ${this.ark}: key "${key}" is empty or has whitespace`);
    if (this.keys.has(key)) throw new Error(`Kaldi archive ${this.ark}: key "${key}" written twice`);
    this.keys.add(key);
    const k = Buffer.from(`${key} `, 'utf8');
    this.put(k);
    this.scpLines.push(`${key} ${resolve(this.ark)}:${this.pos}`);
    this.put(object);
  }

  private put(b: Uint8Array): void {
    let done = 0;
    while (done < b.length) done += writeSync(this.fd, b, done, b.length - done);
    this.pos += b.length;
  }

  close(): void {
    if (this.fd < 0) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    renameSync(this.tmpArk, this.ark);
    const tmpScp = join(dirname(this.scp), `.${basename(this.scp)}.tmp-${process.pid}`);
    const fd = openSync(tmpScp, 'w');
    writeSync(fd, this.scpLines.join('\n') + (this.scpLines.length ? '\n' : ''));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmpScp, this.scp);
  }

  /** Drop everything written (on error). */
  abort(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    rmSync(this.tmpArk, { force: true });
  }
}

export interface KaldiExportOptions {
  /** Utterance -> speaker for cmvn.scp; utterances without one are their own speaker (Kaldi's default). */
  utt2spk?: ReadonlyMap<string, string>;
  /** Ark/scp base name inside the directory (default "feats" and "cmvn"). */
  name?: string;
}

/**
 * Write `feats.ark` + `feats.scp` and per-speaker `cmvn.ark` + `cmvn.scp` (compute-cmvn-stats --spk2utt) into
 * `dir`, from matrices given in order. Returns the counts written.
 */
export function writeKaldiFeatureDir(
  dir: string,
  items: Iterable<{ id: string; features: FeatureMatrix }>,
  opts: KaldiExportOptions = {},
): { utterances: number; speakers: number } {
  const name = opts.name ?? 'feats';
  const feats = new KaldiArkWriter(join(dir, `${name}.ark`), join(dir, `${name}.scp`));
  const bySpk = new Map<string, Float64Array>();
  let dim = -1;
  let n = 0;
  try {
    for (const { id, features } of items) {
      if (dim < 0) dim = features.numCols;
      if (features.numCols !== dim) throw new Error(`Kaldi export: "${id}" has ${features.numCols} columns, the first utterance ${dim}`);
      feats.write(id, encodeKaldiFloatMatrix(features));
      const spk = opts.utt2spk?.get(id) ?? id;
      const s = kaldiCmvnStats([features], dim);
      const acc = bySpk.get(spk);
      if (acc) for (let i = 0; i < s.length; i++) acc[i] += s[i];
      else bySpk.set(spk, s);
      n++;
    }
  } catch (e) {
    feats.abort();
    throw e;
  }
  feats.close();
  const cmvn = new KaldiArkWriter(join(dir, 'cmvn.ark'), join(dir, 'cmvn.scp'));
  for (const spk of [...bySpk.keys()].sort()) cmvn.write(spk, encodeKaldiDoubleMatrix(2, dim + 1, bySpk.get(spk)!));
  cmvn.close();
  return { utterances: n, speakers: bySpk.size };
}
