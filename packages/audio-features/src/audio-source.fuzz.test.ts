// Fuzz the piped-audio path (a Kaldi wav.scp entry ending in "|", a lhotse command source) and Kaldi segment
// times. The command is never fuzzed: it is a fixed `cat FILE`, and what is fuzzed is the WAV it writes to stdout
// (streamed headers with placeholder sizes, truncation, bit flips, random bytes) and the wav.scp / segments values
// parsed around it. Every outcome is sane audio or an AudioCommandError naming the utterance and the command;
// segment times give an in-range sample span or an Error, never NaN indices. Seed-pinned; KDASR_FUZZ_RUNS /
// KDASR_FUZZ_SEED make a longer run (npm run fuzz -w @kdasr/base).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { AudioCommandError, kaldiPipeCommand, kaldiSegmentSamples, readCommandWav, segmentEndSec } from './audio-source.js';
import { encodeWav } from './wav.js';

const runs = (n: number) => Number(process.env.KDASR_FUZZ_RUNS ?? n);
const seed = Number(process.env.KDASR_FUZZ_SEED ?? 20261207);
const root = mkdtempSync(join(tmpdir(), 'kdasr-audio-source-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tone = Float32Array.from({ length: 400 }, (_, i) => 0.5 * Math.sin(i / 5));
const goods = [encodeWav(tone, 16000, { bitDepth: 16 }), encodeWav([tone.subarray(0, 101), tone.subarray(0, 101)], 8000, { bitDepth: 24 }), encodeWav(tone, 22050, { bitDepth: 32, float: true })];
/** sox writing to a pipe: RIFF and data sizes it cannot know, as 0, 0xFFFFFFFF or 0x7FFFF000. */
function streamed(wav: Uint8Array, riff: number, data: number): Uint8Array {
  const b = Uint8Array.from(wav);
  const v = new DataView(b.buffer);
  v.setUint32(4, riff, true);
  v.setUint32(40, data, true); // encodeWav writes a plain 44-byte header: "data" at 36
  return b;
}

let n = 0;
/** Run the fixed command `cat FILE` over `bytes`, as a piped wav.scp entry would. */
function viaPipe(bytes: Uint8Array): { command: string; read: () => ReturnType<typeof readCommandWav> } {
  const f = join(root, `case-${n++}.wav`);
  writeFileSync(f, bytes);
  const command = `cat '${f}'`;
  return { command, read: () => readCommandWav(command, 'utterance u1') };
}

function check(bytes: Uint8Array): 'ok' | 'error' {
  const { command, read } = viaPipe(bytes);
  const t0 = performance.now();
  try {
    const a = read();
    expect(a.samples.length).toBeLessThanOrEqual(bytes.length);
    expect(a.sampleRateHz).toBeGreaterThan(0);
    for (const v of a.samples) if (!Number.isFinite(v) || (a.format === 'pcm' && Math.abs(v) > 1)) throw new Error(`wrong result: sample ${v}`);
    return 'ok';
  } catch (e) {
    if (!(e instanceof AudioCommandError)) throw e;
    expect(e.message.startsWith(`utterance u1: the command \`${command}\` `), e.message).toBe(true);
    return 'error';
  } finally {
    expect(performance.now() - t0).toBeLessThan(2000);
  }
}

/** What a streaming writer puts in the size fields (any size past the end of the stream means "to the end"). */
const placeholder = fc.constantFrom(0, 0xffffffff, 0x7ffff000, 0x80000000);
/** Declared data sizes, placeholders and real ones (shorter than the stream, odd). */
const dataSize = fc.oneof(placeholder, fc.constantFrom(1, 36, 37, 799));

describe('piped wav.scp audio and segments fuzz', () => {
  it('streamed headers with placeholder sizes read every sample the command wrote', () => {
    fc.assert(
      fc.property(fc.constantFrom(0, 1, 2), placeholder, placeholder, (k, riff, data) => {
        const good = goods[k];
        const { read } = viaPipe(streamed(good, riff, data));
        const a = read();
        const want = readCommandWav(viaPipe(good).command, 'u');
        expect(a.samples).toEqual(want.samples);
      }),
      { seed, numRuns: runs(12) },
    );
  });

  it('truncated, bit-flipped and random output: audio or an error naming the utterance and the command', () => {
    fc.assert(
      fc.property(fc.constantFrom(0, 1, 2), dataSize, fc.nat({ max: 2000 }), (k, data, at) => {
        const s = streamed(goods[k], 0xffffffff, data);
        void check(s.subarray(0, at % s.length));
      }),
      { seed, numRuns: runs(20) },
    );
    fc.assert(
      fc.property(fc.constantFrom(0, 1, 2), fc.array(fc.record({ at: fc.nat({ max: 60 }), bit: fc.nat({ max: 7 }) }), { minLength: 1, maxLength: 3 }), (k, fs) => {
        const b = streamed(goods[k], 0, 0);
        for (const f of fs) b[f.at] ^= 1 << f.bit; // the header: the data is any bytes
        void check(b);
      }),
      { seed, numRuns: runs(20) },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (b) => void check(b)), { seed, numRuns: runs(10) });
    expect(check(new Uint8Array(0))).toBe('error'); // "wrote nothing to stdout"
  });

  it('wav.scp values: only a trailing "|" makes a command, and the command is the text before it', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.constantFrom('', ' ', '\t', '  '), fc.boolean(), (text, pad, pipe) => {
        const spec = `${pad}${text}${pipe ? '|' : ''}${pad}`;
        const c = kaldiPipeCommand(spec);
        if (spec.trim().endsWith('|')) expect(c).toBe(spec.trim().slice(0, -1).trim());
        else expect(c).toBeNull();
      }),
      { seed, numRuns: runs(100) },
    );
  });

  it('segment times (NaN, Inf, negative, huge, past the end): an in-range span or an Error', () => {
    const time = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, -1, 0, 0.5, 1, 2.5, 1e308, -0), fc.double({ min: 0, max: 3, noNaN: true }));
    fc.assert(
      fc.property(time, fc.option(time, { nil: undefined }), fc.constantFrom(8000, 16000, 44100, 0, -1, NaN, 0.5), fc.oneof(fc.nat({ max: 48000 }), fc.constantFrom(NaN, -1, 2 ** 60)), (start, end, rate, samples) => {
        let r: { start: number; end: number };
        try {
          r = kaldiSegmentSamples(start, end, rate, samples);
        } catch (e) {
          if (!(e instanceof Error) || e.constructor !== Error) throw e;
          expect(e.message).toMatch(/^segment /);
          return;
        }
        expect(Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end)).toBe(true);
        expect(0 <= r.start && r.start < r.end && r.end <= samples).toBe(true);
      }),
      { seed, numRuns: runs(300) },
    );
    expect(() => kaldiSegmentSamples(NaN, 1, 16000, 16000)).toThrow(/times must be finite numbers/);
    expect(() => kaldiSegmentSamples(0, NaN, 16000, 16000)).toThrow(/times must be finite numbers/);
    expect(kaldiSegmentSamples(0, segmentEndSec(0.5, 0.5), 16000, 16000)).toEqual({ start: 0, end: 16000 });
  });
});
