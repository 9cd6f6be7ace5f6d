// Fuzz the lhotse manifest importer (recordings and supervisions as JSONL, JSONL.gz or a JSON array are outside
// bytes): truncated and bit-flipped files, damaged gzip, adversarial fields (unsafe ids such as ../../escape,
// NaN/Inf/huge/negative numbers, wrong types, deep nesting, cut items in place of recordings, supervisions past
// their recording) and random JSON. The importer either returns manifests that pass our schemas and agree with
// each other, or throws one CorpusError whose problems name the file and line, never another exception or a
// hang. Seed-pinned; KDASR_FUZZ_RUNS / KDASR_FUZZ_SEED make a longer run (npm run fuzz -w @kdasr/base).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { importLhotse, readLhotseItems, type LhotseImportResult } from './lhotse.js';
import { AlignmentSchema, RecordingSchema, SupervisionSchema } from './manifest.js';
import { CorpusError } from './problems.js';
import { tempDir } from './test/helpers.js';

const runs = (n: number) => Number(process.env.KDASR_FUZZ_RUNS ?? n);
const seed = Number(process.env.KDASR_FUZZ_SEED ?? 20261207);
const t = tempDir('lhotse-fuzz');
afterAll(t.cleanup);

const fixture = (f: string) => readFileSync(fileURLToPath(new URL(`./__fixtures__/lhotse/${f}`, import.meta.url)), 'utf8');
const recText = fixture('recordings.jsonl');
const supText = fixture('supervisions.jsonl');
const recItems = recText.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const supItems = supText.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

let n = 0;
const file = (content: string | Uint8Array, ext = 'jsonl') => {
  const f = join(t.dir, `case-${n++}.${ext}`);
  writeFileSync(f, content);
  return f;
};
const goodRecs = file(recText);
const goodSups = file(supText);
const base = importLhotse(goodRecs, goodSups);

/** Import; a success must be self-consistent and schema-valid, a failure one CorpusError naming the files. */
function check(recs: string, sups: string): LhotseImportResult | 'error' {
  const t0 = performance.now();
  try {
    const r = importLhotse(recs, sups);
    const byId = new Map(r.recordings.map((x) => [x.id, x]));
    for (const x of r.recordings) expect(RecordingSchema.safeParse(x).success, JSON.stringify(x)).toBe(true);
    for (const s of r.supervisions) {
      expect(SupervisionSchema.safeParse(s).success, JSON.stringify(s)).toBe(true);
      const rec = byId.get(s.recordingId)!;
      expect(rec).toBeDefined();
      expect(s.startSec + s.durationSec).toBeLessThanOrEqual(rec.numSamples / rec.sampleRateHz + 0.025 + 1e-9);
      if (s.channel !== undefined) expect(s.channel).toBeLessThan(rec.numChannels);
    }
    for (const a of r.alignments) {
      expect(AlignmentSchema.safeParse(a).success, JSON.stringify(a)).toBe(true);
      expect(r.supervisions.some((s) => s.id === a.id)).toBe(true);
    }
    return r;
  } catch (e) {
    if (!(e instanceof CorpusError)) throw e;
    expect(e.problems.length).toBeGreaterThan(0);
    for (const p of e.problems) {
      expect([recs, sups]).toContain(p.file);
      expect(p.message.length).toBeGreaterThan(0);
    }
    return 'error';
  } finally {
    expect(performance.now() - t0).toBeLessThan(2000);
  }
}

const flips = (buf: Uint8Array) =>
  fc.array(fc.record({ at: fc.nat({ max: buf.length - 1 }), bit: fc.nat({ max: 7 }) }), { minLength: 1, maxLength: 4 }).map((fs) => {
    const b = Uint8Array.from(buf);
    for (const f of fs) b[f.at] ^= 1 << f.bit;
    return b;
  });

/** Raw JSON text for values JSON.stringify cannot write (1e999 parses as Infinity). */
const RAW = '@@raw@@';
const raw = (text: string) => `${RAW}${text}${RAW}`;
const toText = (items: unknown[]) => items.map((x) => JSON.stringify(x).replace(new RegExp(`"${RAW}(.*?)${RAW}"`, 'g'), '$1')).join('\n') + '\n';
/** Nesting too deep for JSON.stringify (JSON.parse takes it): the reader must not echo it back whole. */
const deep = raw('['.repeat(100_000) + ']'.repeat(100_000));

const weird = fc.oneof(
  fc.constantFrom<unknown>(
    '../../escape', '.hidden', 'a b', 'x\u0000', '', 'rec-1', 'rec-2', 'spk-a', '__proto__',
    raw('1e999'), raw('-1e999'), -1, -0, 0, 0.5, 2 ** 53 + 2, 1e300, 16000, 3, null, true, [], {}, [0, 1], [0], [5], [-1],
    { word: [['w', 0, raw('1e308'), null], ['v', raw('1e308'), raw('1e308'), null]] },
    { word: 'x' }, { phone: [[1, 2, 3]] }, deep, 'x'.repeat(5000),
  ),
  fc.jsonValue({ maxDepth: 2 }),
);
const recFields = ['id', 'sampling_rate', 'num_samples', 'duration', 'sources', 'channel_ids', 'transforms', 'type', 'recording', 'supervisions'];
const srcFields = ['type', 'channels', 'source'];
const supFields = ['id', 'recording_id', 'start', 'duration', 'channel', 'text', 'speaker', 'alignment', 'type'];

describe('lhotse manifest importer fuzz', () => {
  it('imports the untouched fixture the same from JSONL, a JSON array and JSONL.gz', () => {
    expect(base.recordings.length).toBe(2);
    expect(check(file(JSON.stringify(recItems), 'json'), file(JSON.stringify(supItems), 'json'))).toEqual(base);
    expect(check(file(gzipSync(recText), 'jsonl.gz'), file(gzipSync(supText), 'jsonl.gz'))).toEqual(base);
  });

  it('truncated manifests', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.nat({ max: 10_000 }), fc.boolean(), (recs, at, gz) => {
        const text = recs ? recText : supText;
        const cut = text.slice(0, at % text.length);
        const f = gz ? file(gzipSync(cut), 'jsonl.gz') : file(cut);
        void check(recs ? f : goodRecs, recs ? goodSups : f);
      }),
      { seed, numRuns: runs(60) },
    );
  });

  it('bit flips in JSONL and in JSONL.gz (gzip damage is an error; a flip gzip does not check changes nothing)', () => {
    fc.assert(
      fc.property(flips(Buffer.from(supText)), (b) => void check(goodRecs, file(b))),
      { seed, numRuns: runs(60) },
    );
    const gz = gzipSync(recText);
    fc.assert(
      fc.property(flips(gz), (b) => {
        const r = check(file(b, 'jsonl.gz'), goodSups);
        if (r !== 'error') expect(r).toEqual(base);
      }),
      { seed, numRuns: runs(60) },
    );
  });

  it('adversarial fields in recordings, their sources and supervisions', () => {
    const edit = (items: Array<Record<string, unknown>>, fields: string[], source = false) =>
      fc.tuple(fc.nat({ max: items.length - 1 }), fc.constantFrom(...fields), weird, fc.boolean()).map(([i, field, v, drop]) => {
        const out = structuredClone(items);
        const target = source ? ((out[i].sources as Array<Record<string, unknown>>)[0]) : out[i];
        if (drop) delete target[field];
        else target[field] = v;
        return toText(out);
      });
    fc.assert(fc.property(edit(recItems, recFields), (text) => void check(file(text), goodSups)), { seed, numRuns: runs(120) });
    fc.assert(fc.property(edit(recItems, srcFields, true), (text) => void check(file(text), goodSups)), { seed, numRuns: runs(60) });
    fc.assert(fc.property(edit(supItems, supFields), (text) => void check(goodRecs, file(text))), { seed, numRuns: runs(120) });
  });

  it('random JSON lines and random JSON as a .json manifest', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }), fc.boolean(), (items, asArray) => {
        const f = asArray ? file(JSON.stringify(items), 'json') : file(items.map((x) => JSON.stringify(x)).join('\n'));
        void check(goodRecs, f);
        void check(f, goodSups);
      }),
      { seed, numRuns: runs(80) },
    );
  });

  it('names the field for the cases that matter: unsafe ids, cut items, overruns, deep nesting, gzip bombs', () => {
    const problems = (recs: unknown[], sups: unknown[]) => {
      try {
        importLhotse(file(toText(recs)), file(toText(sups)));
      } catch (e) {
        if (e instanceof CorpusError) return e.problems.map((p) => `${p.line}: ${p.field}: ${p.message}`).join('\n');
        throw e;
      }
      return '';
    };
    const esc = <T extends Record<string, unknown>>(items: T[], i: number, over: Record<string, unknown>) => items.map((x, j) => (j === i ? { ...x, ...over } : x));
    expect(problems(esc(recItems, 0, { id: '../../escape' }), supItems)).toMatch(/^1: id: id "\.\.\/\.\.\/escape" contains "\/": ids become file names/m);
    expect(problems(recItems, esc(supItems, 1, { id: '../../escape' }))).toMatch(/^2: id: id "\.\.\/\.\.\/escape" contains "\/"/m);
    expect(problems(recItems, esc(supItems, 2, { speaker: '../../escape' }))).toMatch(/^3: speaker: speaker "\.\.\/\.\.\/escape" contains "\/"/m);
    expect(problems(recItems, esc(supItems, 0, { recording_id: '../../escape' }))).toMatch(/^1: recording_id: recording_id "\.\.\/\.\.\/escape"/m);
    expect(problems([{ id: 'c1', type: 'MonoCut', start: 0, duration: 1, recording: recItems[0], supervisions: [] }], supItems)).toMatch(/^1: \(root\): a lhotse cut, not a Recording.*lhotse cut decompose/m);
    expect(problems(recItems, esc(supItems, 1, { start: 1.2, duration: 0.9 }))).toMatch(/^2: duration: the segment \[1\.2, 2\.1\] s runs past the end of recording rec-1 \(2 s\)/m);
    expect(problems(esc(recItems, 0, { num_samples: 2 ** 53 + 2 }), supItems)).toMatch(/^1: num_samples: must be a non-negative integer, got 9007199254740994/m);
    expect(problems(recItems, esc(supItems, 0, { text: deep }))).toMatch(/^1: text: must be a string, got \[\.\.\.\]$/m);
    const bomb = file(gzipSync(Buffer.alloc(1 << 20, 0x20)), 'jsonl.gz');
    expect(() => readLhotseItems(bomb, 1 << 16)).toThrow(/decompresses to more than 65536 bytes; split it/);
  });
});
