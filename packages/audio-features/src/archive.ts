/**
 * Feature archive: float32 matrices appended to one binary file (feats.bin) plus a JSON index (index.json:
 * id -> byte offset, rows, cols, crc32), the feature config and provenance.
 *
 * Crash safety: data is appended and fsynced first, then the index is rewritten atomically (temp + rename).
 * The index is the commit record: bytes past index.dataBytes (an append interrupted before its commit) are
 * ignored by readers and overwritten by the next writer, so an interrupted run never corrupts the archive.
 * One writer at a time (the CLI's parent process); any number of readers.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { z } from 'zod';
import { provenance, writeJsonAtomic, type Provenance } from '@kdasr/core';
import type { FeatureMatrix } from './fbank.js';
import { KaldiMatrixReader } from './kaldi-ark.js';
import { writeNpy, writeNpyParts } from './npy.js';

export const ARCHIVE_DATA = 'feats.bin';
export const ARCHIVE_INDEX = 'index.json';

export interface ArchiveEntry {
  /** Byte offset of the matrix in feats.bin. */
  offset: number;
  rows: number;
  cols: number;
  /** CRC-32 (IEEE) of the matrix's little-endian float32 bytes, as 8 hex digits. */
  crc32: string;
  /** Free-form facts about the utterance (duration, source path, sample rate). */
  meta?: Record<string, unknown>;
}

export interface ArchiveIndex {
  format: 'kdasr-feature-archive';
  version: 1;
  dtype: 'float32';
  /** Bytes of feats.bin covered by entries (the commit point). */
  dataBytes: number;
  config: unknown;
  provenance: Provenance;
  updatedAt: string;
  entries: Record<string, ArchiveEntry>;
}

/** CRC-32 (IEEE 802.3, zlib's) of `bytes`, continuing from `crc`: Node's zlib.crc32 (Node >= 20.15). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  return zlibCrc32(bytes, crc);
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function readIndex(dir: string): ArchiveIndex {
  const p = join(dir, ARCHIVE_INDEX);
  let j: ArchiveIndex;
  try {
    j = JSON.parse(readFileSync(p, 'utf8')) as ArchiveIndex;
  } catch (e) {
    throw new Error(`feature archive ${dir}: cannot read ${ARCHIVE_INDEX}: ${(e as Error).message}`);
  }
  if (j?.format !== 'kdasr-feature-archive' || j.version !== 1) throw new Error(`feature archive ${dir}: ${ARCHIVE_INDEX} is not a kdasr feature archive v1`);
  // The index is outside bytes: check every number before it sizes an allocation or a read.
  const r = indexSchema.safeParse(j);
  if (!r.success) throw new Error(`feature archive ${dir}: ${ARCHIVE_INDEX}: ${z.prettifyError(r.error)}; the index is corrupt: re-extract`);
  for (const [id, e] of Object.entries(j.entries)) {
    const end = e.offset + e.rows * e.cols * 4;
    if (!Number.isSafeInteger(end) || end > j.dataBytes)
      throw new Error(`feature archive ${dir}: ${ARCHIVE_INDEX}: entries["${id}"] (offset ${e.offset}, ${e.rows}x${e.cols}) ends at byte ${end}, past dataBytes ${j.dataBytes}; the index is corrupt: re-extract`);
  }
  return j;
}

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const indexSchema = z.looseObject({
  dtype: z.literal('float32'),
  dataBytes: count,
  entries: z.record(
    z.string(),
    z.looseObject({ offset: count, rows: count, cols: count.min(1), crc32: z.string().regex(/^[0-9a-f]{8}$/, 'must be 8 hex digits'), meta: z.record(z.string(), z.unknown()).optional() }),
  ),
});

/**
 * A Kaldi feature source at `path`: `scp:FILE`, `ark:FILE`, a `.scp` or `.ark` file, or a directory with
 * feats.scp and no kdasr index.json (a Kaldi data dir). Null when `path` is none of these.
 */
function openKaldiSource(path: string): { reader: KaldiMatrixReader; dir: string } | null {
  const m = /^(scp|ark):(.+)$/.exec(path);
  let kind: 'scp' | 'ark' | null = m ? (m[1] as 'scp' | 'ark') : null;
  let file = m ? m[2] : path;
  if (!kind) {
    if (!existsSync(path)) return null;
    if (statSync(path).isDirectory()) {
      if (existsSync(join(path, ARCHIVE_INDEX)) || !existsSync(join(path, 'feats.scp'))) return null;
      kind = 'scp';
      file = join(path, 'feats.scp');
    } else if (/\.scp$/i.test(path)) kind = 'scp';
    else if (/\.ark$/i.test(path)) kind = 'ark';
    else return null;
  }
  return { reader: kind === 'scp' ? KaldiMatrixReader.fromScp(file) : KaldiMatrixReader.fromArk(file), dir: dirname(file) };
}

/**
 * The index of a Kaldi source. Kaldi archives carry no feature config: it comes from a kdasr index.json beside
 * the scp (when kdasr wrote it), else a Kaldi `frame_shift` file (seconds), else Kaldi's defaults (25 ms / 10 ms).
 */
function kaldiIndex(reader: KaldiMatrixReader, dir: string): ArchiveIndex {
  let sibling: ArchiveIndex | null = null;
  try {
    sibling = existsSync(join(dir, ARCHIVE_INDEX)) ? readIndex(dir) : null;
  } catch {
    sibling = null;
  }
  let config: unknown = sibling?.config;
  if (config === undefined) {
    const fs = join(dir, 'frame_shift');
    const shift = existsSync(fs) ? Number(readFileSync(fs, 'utf8').trim()) : NaN;
    config = { kind: 'fbank', options: Number.isFinite(shift) && shift > 0 ? { frameShiftMs: shift * 1000 } : {} };
  }
  const entries: Record<string, ArchiveEntry> = {};
  for (const [key, h] of reader.headers) {
    const meta = sibling?.entries[key]?.meta;
    entries[key] = { offset: h.offset, rows: h.rows, cols: h.cols, crc32: '', meta: { ...(meta ?? {}), kaldi: `${h.file}:${h.offset}`, kaldiType: h.kind } };
  }
  return {
    format: 'kdasr-feature-archive',
    version: 1,
    dtype: 'float32',
    dataBytes: 0,
    config,
    provenance: sibling?.provenance ?? provenance({ backend: 'none' }),
    updatedAt: new Date().toISOString(),
    entries,
  };
}

/**
 * Read-only, random access by id, streaming in batches. Opens a kdasr archive directory, or a Kaldi feature
 * source (feats.scp, an ark, or a Kaldi data dir with feats.scp), which then reads the same way.
 */
export class FeatureArchive {
  readonly index: ArchiveIndex;
  private fd: number;
  private kaldi: KaldiMatrixReader | null = null;

  private constructor(readonly dir: string) {
    const k = openKaldiSource(dir);
    if (k) {
      this.kaldi = k.reader;
      this.index = kaldiIndex(k.reader, k.dir);
      this.fd = -1;
      return;
    }
    if (existsSync(dir) && !statSync(dir).isDirectory())
      throw new Error(`feature archive ${dir}: is a file, not an archive directory (give a kdasr archive directory, a Kaldi feats.scp or .ark, or scp:FILE / ark:FILE)`);
    this.index = readIndex(dir);
    if (!existsSync(join(dir, ARCHIVE_DATA))) throw new Error(`feature archive ${dir}: ${ARCHIVE_DATA} is missing (${ARCHIVE_INDEX} is there); re-extract`);
    this.fd = openSync(join(dir, ARCHIVE_DATA), 'r');
    const size = fstatSync(this.fd).size;
    if (size < this.index.dataBytes) {
      closeSync(this.fd);
      throw new Error(`feature archive ${dir}: ${ARCHIVE_DATA} is ${size} bytes but the index covers ${this.index.dataBytes}: the data file was truncated; re-extract`);
    }
  }

  static open(dir: string): FeatureArchive {
    return new FeatureArchive(dir);
  }

  static exists(dir: string): boolean {
    return existsSync(join(dir, ARCHIVE_INDEX));
  }

  ids(): string[] {
    return Object.keys(this.index.entries);
  }
  has(id: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.index.entries, id);
  }
  get size(): number {
    return this.ids().length;
  }
  entry(id: string): ArchiveEntry {
    const e = this.has(id) ? this.index.entries[id] : undefined;
    if (!e) throw new Error(`feature archive ${this.dir}: no utterance "${id}"`);
    return e;
  }

  /** The matrix for `id`; checks its CRC unless verify is false. */
  get(id: string, opts: { verify?: boolean } = {}): FeatureMatrix {
    const e = this.entry(id);
    if (this.kaldi) return this.kaldi.get(id);
    const data = new Float32Array(e.rows * e.cols);
    const b = bytesOf(data);
    let got = 0;
    while (got < b.length) {
      const r = readSync(this.fd, b, got, b.length - got, e.offset + got);
      if (r === 0) throw new Error(`feature archive ${this.dir}: unexpected end of ${ARCHIVE_DATA} reading "${id}"`);
      got += r;
    }
    if (opts.verify !== false && hex(crc32(b)) !== e.crc32)
      throw new Error(`feature archive ${this.dir}: checksum mismatch for "${id}" (index ${e.crc32}, data ${hex(crc32(b))}): ${ARCHIVE_DATA} is corrupt; re-extract this utterance`);
    return { data, numFrames: e.rows, numCols: e.cols };
  }

  /** Stream utterances in index order, `batchSize` at a time. */
  *batches(batchSize = 64, opts: { verify?: boolean } = {}): Generator<Array<{ id: string; features: FeatureMatrix }>> {
    let batch: Array<{ id: string; features: FeatureMatrix }> = [];
    for (const id of this.ids()) {
      batch.push({ id, features: this.get(id, opts) });
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }

  /** One utterance to a .npy file ([rows, cols] '<f4'). */
  exportNpy(id: string, path: string): void {
    writeNpy(path, this.get(id));
  }

  /**
   * The whole archive as one stacked [totalRows, cols] .npy, plus `path.json` mapping id -> [firstRow, rows].
   * All utterances must have the same number of columns.
   */
  exportAllNpy(path: string): void {
    const ids = this.ids();
    if (ids.length === 0) throw new Error(`feature archive ${this.dir}: empty, nothing to export`);
    const cols = this.entry(ids[0]).cols;
    let rows = 0;
    const rowsOf: Record<string, [number, number]> = {};
    for (const id of ids) {
      const e = this.entry(id);
      if (e.cols !== cols) throw new Error(`feature archive ${this.dir}: "${id}" has ${e.cols} columns, "${ids[0]}" has ${cols}: cannot stack`);
      rowsOf[id] = [rows, e.rows];
      rows += e.rows;
    }
    const self = this;
    writeNpyParts(path, [rows, cols], (function* () {
      for (const id of ids) yield self.get(id).data;
    })());
    writeJsonAtomic(`${path}.json`, { npy: path, rows, cols, utterances: rowsOf });
  }

  /** Whether this reads a Kaldi feats.scp / ark rather than a kdasr archive. */
  get isKaldi(): boolean {
    return this.kaldi !== null;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.kaldi?.close();
  }
}

export interface ArchiveWriterOptions {
  /** The feature config, recorded in the index; reopening with a different config is an error. */
  config: unknown;
  /** Rewrite the index after this many appends (default 1: every append is committed). */
  commitEvery?: number;
}

/** Appends matrices to an archive directory, creating it when absent. */
export class FeatureArchiveWriter {
  private index: ArchiveIndex;
  private fd: number;
  private pending = 0;
  private readonly commitEvery: number;

  private constructor(readonly dir: string, opts: ArchiveWriterOptions) {
    this.commitEvery = Math.max(1, opts.commitEvery ?? 1);
    mkdirSync(dir, { recursive: true });
    if (FeatureArchive.exists(dir)) {
      this.index = readIndex(dir);
      const was = JSON.stringify(this.index.config);
      const now = JSON.stringify(opts.config);
      if (was !== now)
        throw new Error(`feature archive ${dir} was written with a different config (${was.slice(0, 200)}); use a new output directory or the same config`);
    } else {
      this.index = {
        format: 'kdasr-feature-archive',
        version: 1,
        dtype: 'float32',
        dataBytes: 0,
        config: opts.config,
        provenance: provenance({ backend: 'none' }),
        updatedAt: new Date().toISOString(),
        entries: {},
      };
    }
    this.fd = openSync(join(dir, ARCHIVE_DATA), existsSync(join(dir, ARCHIVE_DATA)) ? 'r+' : 'w+');
    const size = fstatSync(this.fd).size;
    if (size < this.index.dataBytes) throw new Error(`feature archive ${dir}: ${ARCHIVE_DATA} is shorter than its index says (${size} < ${this.index.dataBytes}); re-extract into a new directory`);
    // Drop bytes from an append that never committed.
    if (size > this.index.dataBytes) ftruncateSync(this.fd, this.index.dataBytes);
    if (!FeatureArchive.exists(dir)) this.commit();
  }

  static open(dir: string, opts: ArchiveWriterOptions): FeatureArchiveWriter {
    return new FeatureArchiveWriter(dir, opts);
  }

  has(id: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.index.entries, id);
  }
  ids(): string[] {
    return Object.keys(this.index.entries);
  }

  append(id: string, m: FeatureMatrix, meta?: Record<string, unknown>): void {
    if (this.has(id)) throw new Error(`feature archive ${this.dir}: utterance "${id}" is already present`);
    if (m.data.length !== m.numFrames * m.numCols) throw new Error(`feature archive: "${id}" data length ${m.data.length} != ${m.numFrames}*${m.numCols}`);
    const b = bytesOf(m.data);
    const offset = this.index.dataBytes;
    let done = 0;
    while (done < b.length) done += writeSync(this.fd, b, done, b.length - done, offset + done);
    this.index.entries[id] = { offset, rows: m.numFrames, cols: m.numCols, crc32: hex(crc32(b)), ...(meta ? { meta } : {}) };
    this.index.dataBytes = offset + b.length;
    if (++this.pending >= this.commitEvery) this.commit();
  }

  /** Make appended data durable, then publish it by atomically replacing the index. */
  commit(): void {
    fsyncSync(this.fd);
    this.index.updatedAt = new Date().toISOString();
    writeJsonAtomic(join(this.dir, ARCHIVE_INDEX), this.index);
    this.pending = 0;
  }

  close(): void {
    if (this.fd < 0) return;
    this.commit();
    closeSync(this.fd);
    this.fd = -1;
  }
}
