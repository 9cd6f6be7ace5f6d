/// <reference path="./wav-decoder.d.ts" />
/**
 * WAV reading and writing. We parse the RIFF structure ourselves (chunk order, sizes, truncation, the
 * WAVE_FORMAT_EXTENSIBLE header) so every failure names the file, the field and a fix, and so large files can be
 * decoded slice by slice; wav-decoder then decodes each slice behind a synthetic canonical 44-byte header.
 *
 * Sample scale follows torchaudio.load: signed PCM is divided by 2^(bits-1), 8-bit unsigned PCM is (u-128)/128,
 * float is passed through. Multiply by 32768 to get the integer scale Kaldi's compute-fbank-feats sees.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import wavDecoder from 'wav-decoder';
import { resample } from './resample.js';

export type WavSampleFormat = 'pcm' | 'float';

export interface WavInfo {
  source: string;
  sampleRateHz: number;
  numChannels: number;
  bitDepth: number;
  format: WavSampleFormat;
  /** Samples per channel. */
  numFrames: number;
  durationSec: number;
  /** Byte offset of the first sample and the byte length of the (possibly truncated) data used. */
  dataOffset: number;
  dataBytes: number;
  blockAlign: number;
}

export interface WavAudio {
  /** Mono samples (the chosen channel or the mix-down), at sampleRateHz. */
  samples: Float32Array;
  sampleRateHz: number;
  /** The file's own rate and channel count, before resampling / channel selection. */
  originalSampleRateHz: number;
  numChannels: number;
  bitDepth: number;
  format: WavSampleFormat;
  durationSec: number;
  source: string;
}

export interface WavReadOptions {
  /** A channel index, or 'mix' (default) for the mean of all channels. */
  channel?: number | 'mix';
  /** Resample to this rate (windowed-sinc, torchaudio's sinc_interp_hann) when the file's rate differs. */
  targetSampleRateHz?: number;
  /** Accept a data chunk whose declared size runs past the end of the file, using the bytes present. */
  allowTruncated?: boolean;
}

export interface WavFileReadOptions extends WavReadOptions {
  /** Decode at most this many bytes at a time (default 8 MiB): memory stays bounded for long recordings. */
  chunkBytes?: number;
}

/** A WAV problem: always names the source, the field at fault and what to do about it. */
export class WavError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    problem: string,
    fix: string,
  ) {
    super(`${source}: WAV ${field}: ${problem}. Fix: ${fix}`);
    this.name = 'WavError';
  }
}

const CONVERT = 'convert it to a canonical WAV, e.g. `sox IN -e signed-integer -b 16 OUT.wav`';

/** Random access to the bytes of a file or buffer, so the same parser serves both. */
interface ByteSource {
  size: number;
  read(offset: number, length: number): Uint8Array;
}

function fourcc(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);
}

function printable(s: string): string {
  return JSON.stringify(s).replace(/[^\x20-\x7e]/g, '?');
}

function u16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}
function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

interface Fmt {
  formatTag: number;
  numChannels: number;
  sampleRateHz: number;
  blockAlign: number;
  bitDepth: number;
  format: WavSampleFormat;
}

function parseFmt(src: string, b: Uint8Array, size: number): Fmt {
  if (size < 16) throw new WavError(src, 'fmt chunk size', `is ${size} bytes, at least 16 are needed`, CONVERT);
  let formatTag = u16(b, 0);
  const numChannels = u16(b, 2);
  const sampleRateHz = u32(b, 4);
  const blockAlign = u16(b, 12);
  const bitDepth = u16(b, 14);
  if (formatTag === 0xfffe) {
    // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the SubFormat GUID at offset 24.
    if (size < 40) throw new WavError(src, 'fmt extensible header', `is ${size} bytes, 40 are needed`, CONVERT);
    formatTag = u16(b, 24);
  }
  if (formatTag !== 1 && formatTag !== 3)
    throw new WavError(src, 'fmt audioFormat', `0x${formatTag.toString(16)} is not PCM (1) or IEEE float (3) (compressed WAVs are not supported)`, CONVERT);
  const format: WavSampleFormat = formatTag === 3 ? 'float' : 'pcm';
  if (numChannels < 1) throw new WavError(src, 'fmt numChannels', 'is 0', CONVERT);
  if (sampleRateHz < 1) throw new WavError(src, 'fmt sampleRate', 'is 0', CONVERT);
  const okBits = format === 'float' ? [32, 64] : [8, 16, 24, 32];
  if (!okBits.includes(bitDepth))
    throw new WavError(src, 'fmt bitsPerSample', `${bitDepth} is not supported for ${format} (supported: ${okBits.join(', ')})`, CONVERT);
  if (blockAlign !== (numChannels * bitDepth) / 8)
    throw new WavError(src, 'fmt blockAlign', `is ${blockAlign}, expected numChannels*bitsPerSample/8 = ${(numChannels * bitDepth) / 8}`, CONVERT);
  return { formatTag, numChannels, sampleRateHz, blockAlign, bitDepth, format };
}

function parseHeader(src: string, bytes: ByteSource, opts: { allowTruncated?: boolean }): WavInfo {
  if (bytes.size < 12)
    throw new WavError(src, 'RIFF header', `file is ${bytes.size} bytes, shorter than the 12-byte RIFF header (empty or truncated file)`, 're-create or re-download the file');
  const head = bytes.read(0, 12);
  const riff = fourcc(head, 0);
  if (riff === 'RIFX' || riff === 'RF64')
    throw new WavError(src, 'RIFF id', `${riff} (big-endian or 64-bit WAV) is not supported`, CONVERT);
  if (riff !== 'RIFF') throw new WavError(src, 'RIFF id', `expected "RIFF" at byte 0, found ${printable(riff)}: not a WAV file`, CONVERT);
  const wave = fourcc(head, 8);
  if (wave !== 'WAVE') throw new WavError(src, 'RIFF form type', `expected "WAVE" at byte 8, found ${printable(wave)}`, CONVERT);
  let fmt: Fmt | null = null;
  let data: { offset: number; size: number } | null = null;
  let pos = 12;
  // Chunks may come in any order (LIST/fact/bext before fmt, fmt after data): scan until both are found.
  while (fmt === null || data === null) {
    if (pos + 8 > bytes.size) {
      const missing = fmt === null ? 'fmt' : 'data';
      throw new WavError(src, `${missing} chunk`, `not found before the end of the file (byte ${bytes.size}): truncated or not a complete WAV`, CONVERT);
    }
    const ch = bytes.read(pos, 8);
    const id = fourcc(ch, 0);
    const size = u32(ch, 4);
    if (!/^[\x20-\x7e]{4}$/.test(id))
      throw new WavError(src, `chunk id at byte ${pos}`, `${printable(id)} is not a RIFF chunk id (corrupt header)`, CONVERT);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (body + Math.min(size, 40) > bytes.size)
        throw new WavError(src, 'fmt chunk', `declares ${size} bytes at byte ${body} but the file ends at ${bytes.size} (truncated)`, 're-create or re-download the file');
      fmt = parseFmt(src, bytes.read(body, Math.min(size, 40)), size);
    } else if (id === 'data') {
      const present = Math.max(0, bytes.size - body);
      if (size > present && !opts.allowTruncated)
        throw new WavError(src, 'data chunk size', `declares ${size} bytes at byte ${body} but only ${present} remain (truncated file)`, 're-create the file, or pass allowTruncated to read the bytes present');
      data = { offset: body, size: Math.min(size, present) };
      // A data chunk running to the end ends the scan; fmt must already be known then.
      if (size >= present && fmt === null)
        throw new WavError(src, 'fmt chunk', 'not found before the data chunk, which runs to the end of the file', CONVERT);
    }
    pos = body + size + (size & 1); // RIFF chunks are word-aligned
  }
  const numFrames = Math.floor(data.size / fmt.blockAlign);
  if (numFrames === 0)
    throw new WavError(src, 'data chunk', `holds ${data.size} bytes, less than one ${fmt.blockAlign}-byte sample frame (zero-length audio)`, 'drop this recording from the list or re-record it');
  return {
    source: src,
    sampleRateHz: fmt.sampleRateHz,
    numChannels: fmt.numChannels,
    bitDepth: fmt.bitDepth,
    format: fmt.format,
    numFrames,
    durationSec: numFrames / fmt.sampleRateHz,
    dataOffset: data.offset,
    dataBytes: numFrames * fmt.blockAlign,
    blockAlign: fmt.blockAlign,
  };
}

/** Decode whole sample frames `raw` (interleaved, the file's format) to one Float32Array per channel. */
function decodeSlice(info: WavInfo, raw: Uint8Array): Float32Array[] {
  const buf = new ArrayBuffer(44 + raw.length);
  const h = new DataView(buf);
  const put = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) h.setUint8(at + i, s.charCodeAt(i));
  };
  put(0, 'RIFF');
  h.setUint32(4, 36 + raw.length, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  h.setUint32(16, 16, true);
  h.setUint16(20, info.format === 'float' ? 3 : 1, true);
  h.setUint16(22, info.numChannels, true);
  h.setUint32(24, info.sampleRateHz, true);
  h.setUint32(28, info.sampleRateHz * info.blockAlign, true);
  h.setUint16(32, info.blockAlign, true);
  h.setUint16(34, info.bitDepth, true);
  put(36, 'data');
  h.setUint32(40, raw.length, true);
  new Uint8Array(buf, 44).set(raw);
  const out = wavDecoder.decode.sync(buf, { symmetric: true }).channelData;
  if (info.format === 'pcm' && info.bitDepth === 8) {
    // wav-decoder's symmetric 8-bit is (u-127.5)/127.5; torchaudio's is (u-128)/128.
    for (const c of out) for (let i = 0; i < c.length; i++) c[i] = (Math.round(c[i] * 127.5 + 127.5) - 128) / 128;
  } else if (info.format === 'pcm' && info.bitDepth === 24) {
    // wav-decoder reads 0x800000 (the most negative 24-bit value) as +1.0: only that code maps to exactly 1.
    for (const c of out) for (let i = 0; i < c.length; i++) if (c[i] === 1) c[i] = -1;
  }
  return out;
}

function selectChannel(src: string, channels: Float32Array[], channel: number | 'mix' | undefined, out: Float32Array, at: number): void {
  const ch = channel ?? 'mix';
  if (ch === 'mix') {
    if (channels.length === 1) {
      out.set(channels[0], at);
      return;
    }
    const n = channels[0].length;
    const inv = 1 / channels.length;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (const c of channels) s += c[i];
      out[at + i] = s * inv;
    }
    return;
  }
  if (!Number.isInteger(ch) || ch < 0 || ch >= channels.length)
    throw new WavError(src, 'channel', `option channel=${ch} but the file has ${channels.length} channel(s)`, `pass a channel in 0..${channels.length - 1} or 'mix'`);
  out.set(channels[ch], at);
}

function finish(info: WavInfo, samples: Float32Array, opts: WavReadOptions): WavAudio {
  let rate = info.sampleRateHz;
  if (opts.targetSampleRateHz !== undefined && opts.targetSampleRateHz !== rate) {
    samples = resample(samples, rate, opts.targetSampleRateHz);
    rate = opts.targetSampleRateHz;
  }
  return {
    samples,
    sampleRateHz: rate,
    originalSampleRateHz: info.sampleRateHz,
    numChannels: info.numChannels,
    bitDepth: info.bitDepth,
    format: info.format,
    durationSec: info.durationSec,
    source: info.source,
  };
}

function readAll(info: WavInfo, bytes: ByteSource, opts: WavFileReadOptions): WavAudio {
  if (typeof opts.channel === 'number') selectChannel(info.source, new Array(info.numChannels).fill(new Float32Array(0)), opts.channel, new Float32Array(0), 0);
  const out = new Float32Array(info.numFrames);
  const framesPerChunk = Math.max(1, Math.floor((opts.chunkBytes ?? 8 << 20) / info.blockAlign));
  for (let f = 0; f < info.numFrames; f += framesPerChunk) {
    const n = Math.min(framesPerChunk, info.numFrames - f);
    const raw = bytes.read(info.dataOffset + f * info.blockAlign, n * info.blockAlign);
    selectChannel(info.source, decodeSlice(info, raw), opts.channel, out, f);
  }
  return finish(info, out, opts);
}

function bufferSource(b: Uint8Array): ByteSource {
  return { size: b.length, read: (o, n) => b.subarray(o, Math.min(b.length, o + n)) };
}

/** Header facts of a WAV held in memory (no samples decoded). */
export function parseWavHeader(bytes: Uint8Array, opts: { source?: string; allowTruncated?: boolean } = {}): WavInfo {
  return parseHeader(opts.source ?? '<buffer>', bufferSource(bytes), opts);
}

/** Decode a WAV held in memory. `source` names it in errors. */
export function decodeWav(bytes: Uint8Array, opts: WavFileReadOptions & { source?: string } = {}): WavAudio {
  const src = opts.source ?? '<buffer>';
  const b = bufferSource(bytes);
  return readAll(parseHeader(src, b, opts), b, opts);
}

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

export interface EncodeWavOptions {
  bitDepth: 8 | 16 | 24 | 32;
  /** IEEE float samples (bitDepth must be 32). */
  float?: boolean;
}

/**
 * Encode samples (mono, or one array per channel) as a canonical WAV. Integer PCM clips to [-1, 1) and
 * rounds to the nearest code (x * 2^(bits-1)), the inverse of readWav's scaling.
 */
export function encodeWav(samples: Float32Array | Float32Array[], sampleRateHz: number, opts: EncodeWavOptions = { bitDepth: 16 }): Uint8Array {
  const channels = Array.isArray(samples) ? samples : [samples];
  const { bitDepth, float = false } = opts;
  if (channels.length < 1) throw new Error('encodeWav: at least one channel is needed');
  const n = channels[0].length;
  if (channels.some((c) => c.length !== n)) throw new Error('encodeWav: all channels must have the same length');
  if (!Number.isInteger(sampleRateHz) || sampleRateHz < 1) throw new Error(`encodeWav: sampleRateHz must be a positive integer, got ${sampleRateHz}`);
  if (![8, 16, 24, 32].includes(bitDepth)) throw new Error(`encodeWav: bitDepth must be 8, 16, 24 or 32, got ${bitDepth}`);
  if (float && bitDepth !== 32) throw new Error('encodeWav: float WAVs must have bitDepth 32');
  const bytesPer = bitDepth / 8;
  const blockAlign = bytesPer * channels.length;
  const dataBytes = n * blockAlign;
  const out = new Uint8Array(44 + dataBytes + (dataBytes & 1));
  const v = new DataView(out.buffer);
  const put = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  put(0, 'RIFF');
  v.setUint32(4, out.length - 8, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, float ? 3 : 1, true);
  v.setUint16(22, channels.length, true);
  v.setUint32(24, sampleRateHz, true);
  v.setUint32(28, sampleRateHz * blockAlign, true);
  v.setUint16(32, blockAlign, true);
  v.setUint16(34, bitDepth, true);
  put(36, 'data');
  v.setUint32(40, dataBytes, true);
  const full = 2 ** (bitDepth - 1);
  let p = 44;
  for (let i = 0; i < n; i++) {
    for (const c of channels) {
      const x = c[i];
      if (float) {
        v.setFloat32(p, x, true);
      } else {
        const q = Math.max(-full, Math.min(full - 1, Math.round((Number.isFinite(x) ? x : 0) * full)));
        if (bitDepth === 8) v.setUint8(p, q + 128);
        else if (bitDepth === 16) v.setInt16(p, q, true);
        else if (bitDepth === 24) {
          v.setUint8(p, q & 0xff);
          v.setUint8(p + 1, (q >> 8) & 0xff);
          v.setUint8(p + 2, (q >> 16) & 0xff);
        } else v.setInt32(p, q, true);
      }
      p += bytesPer;
    }
  }
  return out;
}
