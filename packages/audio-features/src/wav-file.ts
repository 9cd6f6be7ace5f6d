/**
 * WAV files on disk (Node only): header inspection, chunked reading, readWav. The parser and decoder are in
 * wav.ts, which needs no Node built-in, so the browser entry can decode WAV bytes.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { WavError, decodeSlice, parseHeader, readAll, type ByteSource, type WavAudio, type WavFileReadOptions, type WavInfo } from './wav.js';

/** A WAV file opened for header inspection and chunked reading. */
export class WavFile {
  readonly info: WavInfo;
  private fd: number;
  private src: ByteSource;

  constructor(readonly path: string, opts: { allowTruncated?: boolean } = {}) {
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      throw new WavError(path, 'file', `cannot open: ${(e as Error).message}`, 'check the path in the list');
    }
    const fd = this.fd;
    const size = fstatSync(fd).size;
    this.src = {
      size,
      read: (offset, length) => {
        const n = Math.max(0, Math.min(length, size - offset));
        const b = new Uint8Array(n);
        let got = 0;
        while (got < n) {
          const r = readSync(fd, b, got, n - got, offset + got);
          if (r === 0) break;
          got += r;
        }
        return got === n ? b : b.subarray(0, got);
      },
    };
    try {
      this.info = parseHeader(path, this.src, opts);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Decode `count` sample frames starting at frame `start`, one Float32Array per channel. */
  readFrames(start: number, count: number): Float32Array[] {
    const n = Math.max(0, Math.min(count, this.info.numFrames - start));
    if (n === 0) return Array.from({ length: this.info.numChannels }, () => new Float32Array(0));
    const raw = this.src.read(this.info.dataOffset + start * this.info.blockAlign, n * this.info.blockAlign);
    if (raw.length < n * this.info.blockAlign)
      throw new WavError(this.path, 'data', `file shrank while reading (expected ${n * this.info.blockAlign} bytes at frame ${start})`, 'do not modify files while reading them');
    return decodeSlice(this.info, raw);
  }

  /** Iterate over the audio in slices of `framesPerChunk` sample frames (per-channel arrays). */
  *chunks(framesPerChunk = 1 << 20): Generator<Float32Array[]> {
    for (let f = 0; f < this.info.numFrames; f += framesPerChunk) yield this.readFrames(f, framesPerChunk);
  }

  /** The whole file as mono samples, decoded in bounded slices. */
  read(opts: WavFileReadOptions = {}): WavAudio {
    return readAll(this.info, this.src, opts);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** Read a WAV file to mono Float32 samples (chosen channel or mix-down), optionally resampled. */
export function readWav(path: string, opts: WavFileReadOptions = {}): WavAudio {
  const f = new WavFile(path, opts);
  try {
    return f.read(opts);
  } finally {
    f.close();
  }
}
