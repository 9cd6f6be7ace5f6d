// Fuzz the feature-archive reader (index.json + feats.bin are outside bytes): truncated, bit-flipped and
// adversarial indexes (huge, negative, fractional, NaN-like sizes) and damaged data. Every outcome is either the
// exact matrices that were written or an Error naming the archive and what is wrong, never a RangeError from an
// allocation, a hang, or wrong numbers. Seed-pinned; KDASR_FUZZ_RUNS / KDASR_FUZZ_SEED make a longer run
// (tools/fuzz-long.sh).
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ARCHIVE_DATA, ARCHIVE_INDEX, FeatureArchive, FeatureArchiveWriter } from './archive.js';

const runs = (n: number) => Number(process.env.KDASR_FUZZ_RUNS ?? n);
const seed = Number(process.env.KDASR_FUZZ_SEED ?? 20261207);
const root = mkdtempSync(join(tmpdir(), 'kdasr-archive-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const original = new Map<string, Float32Array>([
  ['u1', Float32Array.from({ length: 3 * 4 }, (_, i) => Math.sin(i))],
  ['u2', Float32Array.from({ length: 5 * 4 }, (_, i) => i / 7)],
  ['u3', Float32Array.from({ length: 1 * 4 }, (_, i) => -i)],
]);
const good = join(root, 'good');
{
  const w = FeatureArchiveWriter.open(good, { config: { kind: 'fbank' } });
  for (const [id, data] of original) w.append(id, { data, numFrames: data.length / 4, numCols: 4 });
  w.close();
}
const goodIndex = readFileSync(join(good, ARCHIVE_INDEX));
const goodData = readFileSync(join(good, ARCHIVE_DATA));

let n = 0;
/** A copy of the good archive with index.json and feats.bin replaced. */
function archive(index: Uint8Array | string, data: Uint8Array = goodData): string {
  const dir = join(root, `case-${n++}`);
  cpSync(good, dir, { recursive: true });
  writeFileSync(join(dir, ARCHIVE_INDEX), index);
  writeFileSync(join(dir, ARCHIVE_DATA), data);
  return dir;
}

/** Open and read everything: the written matrices exactly, or an Error naming the archive. */
function readAll(dir: string): 'ok' | 'error' {
  const t0 = performance.now();
  let a: FeatureArchive | undefined;
  try {
    a = FeatureArchive.open(dir);
    for (const id of a.ids()) {
      const m = a.get(id);
      const want = original.get(id);
      // An id the writer never wrote can only appear with a matching CRC by a collision: treat as a failure.
      if (!want) throw new Error(`wrong result: archive returned unknown id ${id}`);
      expect(Array.from(m.data)).toEqual(Array.from(want));
    }
    return 'ok';
  } catch (e) {
    if (!(e instanceof Error) || e instanceof RangeError || e.constructor !== Error) throw e;
    if (/wrong result/.test(e.message)) throw e;
    expect(e.message.startsWith(`feature archive ${dir}`), e.message).toBe(true);
    rmSync(dir, { recursive: true, force: true });
    return 'error';
  } finally {
    a?.close();
    expect(performance.now() - t0).toBeLessThan(2000);
  }
}

describe('feature archive reader fuzz', () => {
  it('reads the untouched archive', () => expect(readAll(archive(goodIndex))).toBe('ok'));

  it('truncated index.json and feats.bin', () => {
    fc.assert(
      fc.property(fc.nat({ max: goodIndex.length - 2 }) /* the last byte is the newline */, (cut) => {
        expect(readAll(archive(goodIndex.subarray(0, cut)))).toBe('error');
      }),
      { seed, numRuns: runs(40) },
    );
    fc.assert(fc.property(fc.nat({ max: goodData.length - 1 }), (cut) => {
      expect(readAll(archive(goodIndex, goodData.subarray(0, cut)))).toBe('error');
    }), { seed, numRuns: runs(30) });
  });

  it('bit flips in index.json and in feats.bin', () => {
    const flip = (buf: Uint8Array) =>
      fc.array(fc.record({ at: fc.nat({ max: buf.length - 1 }), bit: fc.nat({ max: 7 }) }), { minLength: 1, maxLength: 4 }).map((fs) => {
        const b = Uint8Array.from(buf);
        for (const f of fs) b[f.at] ^= 1 << f.bit;
        return b;
      });
    fc.assert(fc.property(flip(goodIndex), (idx) => void readAll(archive(idx))), { seed, numRuns: runs(80) });
    // Data flips: the CRC catches every one.
    fc.assert(fc.property(flip(goodData), (data) => {
      expect(readAll(archive(goodIndex, data))).toBe('error');
    }), { seed, numRuns: runs(40) });
  });

  it('adversarial entries: huge, negative, fractional, non-numeric sizes and offsets', () => {
    const parsed = JSON.parse(goodIndex.toString('utf8'));
    const weird = fc.oneof(
      fc.constantFrom(-1, 2 ** 31, 2 ** 53, 1e308, 0.5, -0, Number.MAX_SAFE_INTEGER, '12', null, true, [], {}),
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      fc.double(),
    );
    fc.assert(
      fc.property(fc.constantFrom('u1', 'u2', 'u3'), fc.constantFrom('offset', 'rows', 'cols', 'crc32'), weird, fc.option(weird), (id, field, v, dataBytes) => {
        const j = structuredClone(parsed);
        j.entries[id][field] = v;
        if (dataBytes !== null) j.dataBytes = dataBytes;
        void readAll(archive(JSON.stringify(j)));
      }),
      { seed, numRuns: runs(120) },
    );
    const j = structuredClone(parsed);
    j.entries.u1.rows = 2 ** 40;
    expect(() => FeatureArchive.open(archive(JSON.stringify(j)))).toThrow(/entries\["u1"\].*past dataBytes/);
  });

  it('random JSON as the index', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      expect(readAll(archive(JSON.stringify(v)))).toBe('error');
    }), { seed, numRuns: runs(60) });
    truncateSync(join(good, ARCHIVE_DATA), goodData.length); // the good copy is untouched
  });
});
