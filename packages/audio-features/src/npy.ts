/** NPY v1.0 writing/reading for float32 matrices ('<f4', C order), so numpy can load features directly. */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { FeatureMatrix } from './fbank.js';

/** The header bytes for a float32 array of `shape`, padded so the data starts on a 64-byte boundary. */
export function npyHeader(shape: number[]): Uint8Array {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const unpadded = 10 + dict.length + 1;
  const total = Math.ceil(unpadded / 64) * 64;
  const text = dict + ' '.repeat(total - unpadded) + '\n';
  const out = new Uint8Array(total);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]); // \x93NUMPY v1.0
  new DataView(out.buffer).setUint16(8, text.length, true);
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
  return out;
}

function f32Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength); // little-endian hosts only (x86, arm64)
}

/**
 * Write rows to an NPY file atomically (temp + rename). `parts` lets a large archive stream through without
 * first concatenating every matrix.
 */
export function writeNpyParts(path: string, shape: [number, number], parts: Iterable<Float32Array>): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, npyHeader(shape));
    let n = 0;
    for (const p of parts) {
      writeSync(fd, f32Bytes(p));
      n += p.length;
    }
    if (n !== shape[0] * shape[1]) throw new Error(`writeNpy: wrote ${n} values for shape (${shape.join(', ')})`);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function writeNpy(path: string, m: FeatureMatrix): void {
  writeNpyParts(path, [m.numFrames, m.numCols], [m.data]);
}

/**
 * Read a 2-D '<f4' C-order NPY file (what writeNpy writes; versions 1 to 3 of the format). The declared shape
 * must match the file's size exactly, and the values must be finite.
 */
export function readNpy(path: string): FeatureMatrix {
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as Error).message})`);
  }
  if (b.length < 10 || b[0] !== 0x93 || b.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not an NPY file (no "\\x93NUMPY" magic)`);
  const major = b[6];
  if (major < 1 || major > 3) throw new Error(`${path}: NPY format version ${major}.${b[7]} is not one of 1.0, 2.0, 3.0`);
  const start = major === 1 ? 10 : 12;
  if (b.length < start) throw new Error(`${path}: truncated NPY header`);
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  if (start + hlen > b.length) throw new Error(`${path}: the header declares ${hlen} bytes, the file has ${b.length - start} after the preamble (truncated)`);
  const header = b.toString('latin1', start, start + hlen);
  const shown = header.trim().slice(0, 200);
  if (!/'descr':\s*'<f4'/.test(header) || !/'fortran_order':\s*False/.test(header)) throw new Error(`${path}: only '<f4' C-order arrays are supported (header ${shown}); save with numpy.ascontiguousarray(x, dtype='<f4')`);
  const m = /'shape':\s*\((\d+),\s*(\d+)\)/.exec(header);
  if (!m) throw new Error(`${path}: expected a 2-D shape, header ${shown}`);
  const rows = Number(m[1]);
  const cols = Number(m[2]);
  const off = start + hlen;
  // Checked against the file before allocating: a corrupt shape must not ask for more than the file holds.
  if (!Number.isSafeInteger(rows * cols * 4) || b.length - off !== rows * cols * 4)
    throw new Error(`${path}: shape (${m[1].slice(0, 20)}, ${m[2].slice(0, 20)}) needs ${rows * cols * 4} data bytes, the file has ${b.length - off} (truncated or corrupt)`);
  const data = new Float32Array(rows * cols);
  new Uint8Array(data.buffer).set(b.subarray(off, off + rows * cols * 4));
  const bad = data.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new Error(`${path}: value at row ${Math.floor(bad / cols)}, column ${bad % cols} is ${data[bad]}; recompute the features`);
  return { data, numFrames: rows, numCols: cols };
}
