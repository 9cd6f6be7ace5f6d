// Fuzz the JSONL manifest reader and the Kaldi lexicon.txt parser (outside text): truncated, bit-flipped, random
// and adversarial lines (NaN/Inf/huge/negative numbers, unsafe ids, prototype keys). Every bad line becomes a
// Problem naming the file and line, never an exception; valid lines round-trip exactly. Seed-pinned;
// KDASR_FUZZ_RUNS / KDASR_FUZZ_SEED make a longer run (tools/fuzz-long.sh).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseLexiconTxt } from './lexicon.js';
import { AlignmentSchema, parseJsonl, RecordingSchema, SupervisionSchema, toJsonl } from './manifest.js';

const runs = (n: number) => Number(process.env.KDASR_FUZZ_RUNS ?? n);
const seed = Number(process.env.KDASR_FUZZ_SEED ?? 20261207);
const FILE = 'corpus/recordings.jsonl';

const recs = [
  { id: 'r1', path: 'wav/r1.wav', sampleRateHz: 16000, numSamples: 16000, numChannels: 1, speaker: 's1' },
  { id: 'r2', path: '/abs/r2.wav', sampleRateHz: 8000, numSamples: 0, numChannels: 2, speaker: 's2', meta: { snrDb: 5 } },
];
const text = toJsonl(recs);

function check(t: string, schema = RecordingSchema) {
  const t0 = performance.now();
  const r = parseJsonl(FILE, t, schema as typeof RecordingSchema);
  expect(performance.now() - t0).toBeLessThan(2000);
  const lines = t.split('\n').length;
  for (const p of r.problems) {
    expect(p.file).toBe(FILE);
    expect(p.line).toBeGreaterThanOrEqual(1);
    expect(p.line).toBeLessThanOrEqual(lines);
    expect(p.message.length).toBeGreaterThan(0);
  }
  // Every item that passed is a well-formed recording: finite, non-negative integers and safe ids.
  for (const { value } of r.items) {
    expect(Number.isSafeInteger(value.numSamples) && value.numSamples >= 0).toBe(true);
    expect(value.sampleRateHz > 0 && Number.isInteger(value.sampleRateHz)).toBe(true);
    expect(value.id).not.toMatch(/[/\\\s]|^\.|\.\./);
  }
  return r;
}

describe('JSONL manifest reader fuzz', () => {
  it('round-trips the valid manifest', () => {
    expect(check(text).items.map((x) => x.value)).toEqual(recs);
  });

  it('truncation: the cut line is a problem on that line, earlier lines still parse', () => {
    fc.assert(
      fc.property(fc.nat({ max: text.length - 2 }), (cut) => {
        const t = text.slice(0, cut);
        const r = check(t);
        const complete = t.split('\n').length - 1; // lines ended by a newline
        expect(r.items.length).toBeGreaterThanOrEqual(complete);
      }),
      { seed, numRuns: runs(80) },
    );
  });

  it('bit flips and random text never throw', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: text.length - 1 }), fc.nat({ max: 6 })), { minLength: 1, maxLength: 4 }), (fs) => {
        const b = Buffer.from(text);
        for (const [at, bit] of fs) b[at] ^= 1 << bit;
        check(b.toString('utf8'));
      }),
      { seed, numRuns: runs(150) },
    );
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (t) => void check(t)), { seed, numRuns: runs(100) });
    fc.assert(fc.property(fc.array(fc.jsonValue(), { maxLength: 5 }), (vs) => void check(vs.map((v) => JSON.stringify(v)).join('\n'))), { seed, numRuns: runs(100) });
  });

  it('adversarial field values are problems naming the field', () => {
    const weird = fc.constantFrom<unknown>(NaN, Infinity, -1, 0.5, 2 ** 53 + 2, 1e308, '16000', null, '', '../../escape', '.x', 'a b', '\u0000', { __proto__: null }, []);
    fc.assert(
      fc.property(fc.constantFrom('id', 'path', 'sampleRateHz', 'numSamples', 'numChannels', 'speaker'), weird, (field, v) => {
        const rec: Record<string, unknown> = { ...recs[0], [field]: v };
        // JSON cannot carry NaN/Infinity: JSON.stringify writes null (1e999, below, is how a file carries Inf).
        const r = check(JSON.stringify(rec));
        if (r.items.length === 0) expect(r.problems.some((p) => p.line === 1 && (p.field === field || p.field === undefined))).toBe(true);
      }),
      { seed, numRuns: runs(120) },
    );
    const r = check(JSON.stringify({ ...recs[0], numSamples: 1 }).replace('"numSamples":1', '"numSamples":1e999'));
    expect(r.problems[0]).toMatchObject({ line: 1, field: 'numSamples' });
    const line = '{"id":"u1","recordingId":"../r","startSec":-1,"durationSec":1e999,"text":"a","speaker":"s","words":[],"phones":[]}\n';
    for (const s of [parseJsonl('x.jsonl', line, SupervisionSchema), parseJsonl('x.jsonl', line, AlignmentSchema)]) {
      expect(s.items).toEqual([]);
      expect(s.problems.map((p) => p.field)).toContain('recordingId');
    }
  });
});

describe('Kaldi lexicon.txt parser fuzz', () => {
  it('never throws; every problem names the file and a line that exists', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('a 0.5', 'word', '# c', 'b 1.0 p q', '\t', 'w p\u0000')), { maxLength: 20 }), (lines) => {
        const t = lines.join('\n');
        const { lexicon, problems } = parseLexiconTxt('lang/lexicon.txt', t);
        expect(lexicon).toBeDefined();
        for (const p of problems) {
          expect(p.file).toBe('lang/lexicon.txt');
          expect(p.line).toBeLessThanOrEqual(lines.length);
        }
      }),
      { seed, numRuns: runs(150) },
    );
  });
});
