// Property tests: whatever bytes come in, decodeWav/readWav either return sane audio or throw a WavError
// (a message naming source, field and fix) — never a RangeError from deep inside, never a hang.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '@kdasr/core';
import { decodeWav, encodeWav, readWav, WavError } from './index.js';

const rng = new Rng(20240601);
const base = [
  encodeWav(Float32Array.from({ length: 257 }, () => rng.uniform(-1, 1)), 16000, { bitDepth: 16 }),
  encodeWav([Float32Array.from({ length: 99 }, () => rng.uniform(-1, 1)), new Float32Array(99)], 44100, { bitDepth: 24 }),
  encodeWav(Float32Array.from({ length: 64 }, () => rng.uniform(-1, 1)), 8000, { bitDepth: 32, float: true }),
  encodeWav(Float32Array.from({ length: 33 }, () => rng.uniform(-1, 1)), 8000, { bitDepth: 8 }),
];

type Outcome = 'ok' | 'error';
function check(bytes: Uint8Array, label: string): Outcome {
  const t0 = performance.now();
  try {
    const a = decodeWav(bytes, { source: label });
    expect(a.samples.length).toBeGreaterThan(0);
    expect(a.samples.length).toBeLessThanOrEqual(bytes.length);
    for (const v of a.samples) if (!(Math.abs(v) <= 1) && a.format === 'pcm') throw new Error(`${label}: PCM sample ${v} out of range`);
    return 'ok';
  } catch (e) {
    if (!(e instanceof WavError)) throw new Error(`${label}: threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    expect(e.message.startsWith(`${label}: WAV `)).toBe(true);
    expect(e.message).toContain('Fix: ');
    return 'error';
  } finally {
    expect(performance.now() - t0).toBeLessThan(2000);
  }
}

describe('WAV reader fuzz', () => {
  it('truncation at every byte of the header (and a few in the data)', () => {
    let errors = 0;
    for (const [k, w] of base.entries()) {
      for (let n = 0; n <= 60; n++) if (check(w.subarray(0, n), `trunc${k}@${n}`) === 'error') errors++;
      for (const n of [w.length - 1, w.length - 3]) check(w.subarray(0, n), `trunc${k}@${n}`);
    }
    // Every cut inside the 44-byte header must be reported, not silently decoded.
    expect(errors).toBeGreaterThanOrEqual(base.length * 45);
  });

  it('random byte corruption of the header', () => {
    const r = new Rng(7);
    const seen = { ok: 0, error: 0 };
    for (let trial = 0; trial < 3000; trial++) {
      const w = base[trial % base.length].slice();
      const flips = 1 + r.int(4);
      for (let f = 0; f < flips; f++) w[r.int(44)] = r.int(256);
      seen[check(w, `flip${trial}`)]++;
    }
    expect(seen.error).toBeGreaterThan(100);
    expect(seen.ok).toBeGreaterThan(100);
  });

  it('garbage files and random chunk soups', () => {
    const r = new Rng(11);
    const ids = ['fmt ', 'data', 'LIST', 'fact', 'junk', '\0\0\0\0'];
    for (let trial = 0; trial < 1500; trial++) {
      let bytes: Uint8Array;
      if (trial % 3 === 0) {
        bytes = Uint8Array.from({ length: r.int(200) }, () => r.int(256));
        if (trial % 2 === 0 && bytes.length >= 12) bytes.set([0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x41, 0x56, 0x45]);
      } else {
        const parts: number[] = [0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x41, 0x56, 0x45];
        const nChunks = r.int(5);
        for (let c = 0; c < nChunks; c++) {
          const id = ids[r.int(ids.length)];
          const body = id === 'fmt ' ? Array.from(base[r.int(base.length)].subarray(20, 36)) : Array.from({ length: r.int(40) }, () => r.int(256));
          const size = r.next() < 0.2 ? r.nextUint32() : body.length;
          for (const ch of id) parts.push(ch.charCodeAt(0));
          parts.push(size & 0xff, (size >> 8) & 0xff, (size >> 16) & 0xff, (size >>> 24) & 0xff, ...body);
        }
        bytes = Uint8Array.from(parts);
      }
      check(bytes, `soup${trial}`);
    }
  });

  it('zero-length data and odd chunk orders are errors or correct audio, also from files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdasr-fuzz-'));
    const r = new Rng(3);
    for (let trial = 0; trial < 100; trial++) {
      const w = base[trial % base.length].slice();
      const cut = 12 + r.int(w.length - 12);
      const p = join(dir, `f${trial}.wav`);
      writeFileSync(p, w.subarray(0, cut));
      try {
        readWav(p, { chunkBytes: 1 + r.int(64) });
      } catch (e) {
        expect(e).toBeInstanceOf(WavError);
        expect((e as Error).message).toContain(p);
      }
    }
  });
});
