import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '@kdasr/core';
import { decodeWav, encodeWav, readWav, resample, WavError, WavFile } from './index.js';

const tmp = mkdtempSync(join(tmpdir(), 'kdasr-wav-'));

function noise(n: number, seed = 1, amp = 0.9): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.uniform(-amp, amp));
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Build a RIFF file from chunks in the given order. */
function riff(chunks: Array<[string, Uint8Array]>): Uint8Array {
  const parts: number[] = [];
  const push32 = (v: number) => parts.push(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
  for (const c of 'WAVE') parts.push(c.charCodeAt(0));
  for (const [id, body] of chunks) {
    for (const c of id) parts.push(c.charCodeAt(0));
    push32(body.length);
    parts.push(...body);
    if (body.length & 1) parts.push(0);
  }
  const out = new Uint8Array(8 + parts.length);
  out.set([0x52, 0x49, 0x46, 0x46]);
  new DataView(out.buffer).setUint32(4, parts.length, true);
  out.set(parts, 8);
  return out;
}
function chunksOf(wav: Uint8Array): { fmt: Uint8Array; data: Uint8Array } {
  return { fmt: wav.slice(20, 36), data: wav.slice(44) };
}

describe('encodeWav / decodeWav round trip', () => {
  const x = noise(1000);
  for (const [bitDepth, tol] of [
    [8, 1 / 128],
    [16, 1 / 32768],
    [24, 1 / 8388608],
    [32, 1e-7],
  ] as const) {
    it(`${bitDepth}-bit PCM within half a quantisation step`, () => {
      const a = decodeWav(encodeWav(x, 16000, { bitDepth }));
      expect(a.bitDepth).toBe(bitDepth);
      expect(a.sampleRateHz).toBe(16000);
      expect(maxAbs(a.samples, x)).toBeLessThanOrEqual(tol / 2 + 1e-7);
    });
  }
  it('32-bit float is exact', () => {
    const a = decodeWav(encodeWav(x, 8000, { bitDepth: 32, float: true }));
    expect(a.format).toBe('float');
    expect(maxAbs(a.samples, x)).toBeLessThan(1e-9);
  });
  it('full-scale codes map to torchaudio scale (int / 2^(bits-1))', () => {
    const extremes = Float32Array.of(-1, 0, 0.5, -0.5);
    for (const bitDepth of [8, 16, 24, 32] as const) {
      const a = decodeWav(encodeWav(extremes, 8000, { bitDepth }));
      expect(maxAbs(a.samples, extremes)).toBeLessThan(1e-9);
    }
  });
  it('clips out-of-range samples instead of wrapping', () => {
    const a = decodeWav(encodeWav(Float32Array.of(2, -3), 8000, { bitDepth: 16 }));
    expect(a.samples[0]).toBeCloseTo(32767 / 32768, 6);
    expect(a.samples[1]).toBeCloseTo(-1, 6);
  });
  it('rejects bad encode options', () => {
    expect(() => encodeWav(x, 8000, { bitDepth: 16, float: true })).toThrow(/float/);
    expect(() => encodeWav([x, x.subarray(1)], 8000, { bitDepth: 16 })).toThrow(/same length/);
  });
});

describe('channels', () => {
  const l = noise(500, 2, 0.5);
  const r = noise(500, 3, 0.5);
  const stereo = encodeWav([l, r], 22050, { bitDepth: 24 });
  it('selects a channel', () => {
    expect(maxAbs(decodeWav(stereo, { channel: 1 }).samples, r)).toBeLessThan(1e-6);
    expect(decodeWav(stereo).numChannels).toBe(2);
  });
  it('mixes down by default', () => {
    const mix = l.map((v, i) => (v + r[i]) / 2);
    expect(maxAbs(decodeWav(stereo).samples, mix)).toBeLessThan(1e-6);
  });
  it('names the channel problem', () => {
    expect(() => decodeWav(stereo, { channel: 2, source: 'st.wav' })).toThrow(/st\.wav: WAV channel: .*2 channel.*Fix/);
  });
});

describe('chunk layout', () => {
  const x = noise(301, 4);
  const canon = encodeWav(x, 16000, { bitDepth: 16 });
  const { fmt, data } = chunksOf(canon);
  const list = new TextEncoder().encode('INFOISFT\x05\x00\x00\x00sox!\x00');
  it('LIST before fmt, odd-sized chunk with pad byte, fact chunk', () => {
    const w = riff([['LIST', list.subarray(0, 17)], ['fmt ', fmt], ['fact', new Uint8Array(4)], ['data', data]]);
    expect(maxAbs(decodeWav(w).samples, decodeWav(canon).samples)).toBe(0);
  });
  it('fmt after data', () => {
    const w = riff([['data', data], ['fmt ', fmt]]);
    expect(maxAbs(decodeWav(w).samples, decodeWav(canon).samples)).toBe(0);
  });
  it('WAVE_FORMAT_EXTENSIBLE', () => {
    const ext = new Uint8Array(40);
    ext.set(fmt);
    new DataView(ext.buffer).setUint16(0, 0xfffe, true);
    new DataView(ext.buffer).setUint16(16, 22, true);
    new DataView(ext.buffer).setUint16(24, 1, true); // SubFormat PCM
    const w = riff([['fmt ', ext], ['data', data]]);
    expect(maxAbs(decodeWav(w).samples, decodeWav(canon).samples)).toBe(0);
  });
});

describe('clear errors', () => {
  const good = encodeWav(noise(100), 16000, { bitDepth: 16 });
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['empty', new Uint8Array(0), /RIFF header: file is 0 bytes/],
    ['not RIFF', new TextEncoder().encode('hello world, not a wav'), /RIFF id: expected "RIFF"/],
    ['not WAVE', Uint8Array.from([...good.subarray(0, 8), ...new TextEncoder().encode('AVI '), ...good.subarray(12)]), /form type/],
    ['truncated data', good.subarray(0, 100), /data chunk size: declares 200 bytes .* only 56 remain/],
    ['no data chunk', good.subarray(0, 36), /data chunk: not found/],
    ['zero-length data', riff([['fmt ', chunksOf(good).fmt], ['data', new Uint8Array(0)]]), /zero-length audio/],
    ['compressed', (() => {
      const b = good.slice();
      b[20] = 0x55; // MP3 format tag
      return b;
    })(), /audioFormat: 0x55/],
    ['12-bit', (() => {
      const b = good.slice();
      b[34] = 12;
      return b;
    })(), /bitsPerSample: 12/],
    ['garbage chunk id', (() => {
      const b = good.slice();
      b.set([0, 1, 2, 3], 12);
      return b;
    })(), /chunk id at byte 12/],
  ];
  for (const [name, bytes, re] of cases) {
    it(name, () => {
      let err: unknown;
      try {
        decodeWav(bytes, { source: 'bad.wav' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(WavError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).toMatch(/^bad\.wav: WAV .*Fix: /);
    });
  }
  it('allowTruncated reads the bytes present', () => {
    const a = decodeWav(good.subarray(0, 100), { allowTruncated: true });
    expect(a.samples.length).toBe(28);
  });
  it('readWav names the path', () => {
    const p = join(tmp, 'missing.wav');
    expect(() => readWav(p)).toThrow(new RegExp(`${p}: WAV file: cannot open`));
  });
});

describe('files and chunked reading', () => {
  const x = noise(100_003, 5);
  const path = join(tmp, 'long.wav');
  writeFileSync(path, encodeWav([x, x.map((v) => -v)], 16000, { bitDepth: 16 }));
  it('small chunks give the same samples as one decode', () => {
    const whole = readWav(path, { channel: 0 }).samples;
    const chunked = readWav(path, { channel: 0, chunkBytes: 4 * 1001 }).samples;
    expect(chunked.length).toBe(100_003);
    expect(maxAbs(chunked, whole)).toBe(0);
    expect(maxAbs(whole, x)).toBeLessThan(1 / 32768);
  });
  it('WavFile iterates chunks without reading the whole file', () => {
    const f = new WavFile(path);
    try {
      expect(f.info.numFrames).toBe(100_003);
      let n = 0;
      for (const [c0, c1] of f.chunks(30_000)) {
        expect(c0.length).toBeLessThanOrEqual(30_000);
        expect(c1[0]).toBeCloseTo(-c0[0], 4);
        n += c0.length;
      }
      expect(n).toBe(100_003);
    } finally {
      f.close();
    }
  });
  it('resamples on read', () => {
    const a = readWav(path, { targetSampleRateHz: 8000 });
    expect(a.sampleRateHz).toBe(8000);
    expect(a.originalSampleRateHz).toBe(16000);
    expect(a.samples.length).toBe(Math.ceil(100_003 / 2));
  });
});

describe('resample: analytic sine tones', () => {
  function sine(hz: number, rate: number, n: number, amp = 0.5) {
    return Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / rate));
  }
  function rmsError(y: Float32Array, ref: Float32Array, skip: number) {
    let s = 0;
    let n = 0;
    for (let i = skip; i < y.length - skip; i++, n++) s += (y[i] - ref[i]) ** 2;
    return Math.sqrt(s / n);
  }
  for (const [from, to] of [
    [8000, 16000],
    [16000, 8000],
    [44100, 16000],
    [16000, 22050],
  ]) {
    it(`${from} -> ${to}: an in-band tone survives`, () => {
      const y = resample(sine(440, from, from), from, to);
      expect(y.length).toBe(to);
      // Away from the edges (zero padding there), the tone is reproduced to ~1e-3.
      expect(rmsError(y, sine(440, to, to), 100)).toBeLessThan(2e-3);
    });
  }
  it('a tone above the new Nyquist is removed (anti-aliasing)', () => {
    const y = resample(sine(6000, 16000, 16000), 16000, 8000);
    expect(rmsError(y, new Float32Array(y.length), 100)).toBeLessThan(5e-3);
  });
  it('awkward rate pairs (no cached table) still work', () => {
    const y = resample(sine(300, 44100, 4410), 44100, 16001);
    expect(y.length).toBe(Math.ceil((4410 * 16001) / 44100));
    expect(rmsError(y, sine(300, 16001, y.length), 100)).toBeLessThan(2e-3);
  });
});
