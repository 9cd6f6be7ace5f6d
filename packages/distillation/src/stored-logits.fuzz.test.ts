// Fuzz the stored-logits reader (index.json and chunk files are outside bytes): truncation, bit flips, adversarial
// index fields (huge, negative, fractional counts, chunk files with path components, inconsistent sizes) and a
// chunk rewritten with a matching checksum but NaN logits or out-of-range top-k indices. Every outcome is the
// logits that were written or an Error naming the file, never a RangeError, a hang or wrong numbers.
// Seed-pinned; KDASR_FUZZ_RUNS / KDASR_FUZZ_SEED make a longer run (tools/fuzz-long.sh).
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrayDataset, Rng, initRuntime } from '@kdasr/core';
import { MlpClassifier, StoredLogitsTeacher, TEACHER_LOGITS_INDEX, writeTeacherLogits } from './index.js';

const runs = (n: number) => Number(process.env.KDASR_FUZZ_RUNS ?? n);
const seed = Number(process.env.KDASR_FUZZ_SEED ?? 20261207);
const root = mkdtempSync(join(tmpdir(), 'kdasr-logits-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const N = 23;
const C = 5;
const ds = (() => {
  const rng = new Rng(3);
  return new ArrayDataset({ features: Float32Array.from({ length: N * 4 }, () => rng.normal()), featureDim: 4, numClasses: C });
})();
const all = Int32Array.from({ length: N }, (_, i) => i);
const written: Record<'dense' | 'topk', { dir: string; index: Buffer; logits: Float32Array }> = {} as never;

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
  const model = new MlpClassifier({ inputDim: 4, hiddenSizes: [6], numClasses: C, seed: 2 });
  for (const layout of ['dense', 'topk'] as const) {
    const dir = join(root, layout);
    await writeTeacherLogits(dir, model, ds, { chunkRows: 8, ...(layout === 'topk' ? { topK: 2 } : {}) });
    written[layout] = { dir, index: readFileSync(join(dir, TEACHER_LOGITS_INDEX)), logits: StoredLogitsTeacher.open(dir).gatherLogits(all) };
  }
});

let n = 0;
function copy(layout: 'dense' | 'topk', index?: Uint8Array | string, chunk?: { file: string; bytes: Uint8Array }): string {
  const dir = join(root, `case-${n++}`);
  cpSync(written[layout].dir, dir, { recursive: true });
  if (index !== undefined) writeFileSync(join(dir, TEACHER_LOGITS_INDEX), index);
  if (chunk) writeFileSync(join(dir, chunk.file), chunk.bytes);
  return dir;
}

/** Open and gather every example: the written logits exactly, or an Error naming the artifact. */
function gatherAll(layout: 'dense' | 'topk', dir: string): 'ok' | 'error' {
  const t0 = performance.now();
  try {
    const got = StoredLogitsTeacher.open(dir).gatherLogits(all);
    expect(Array.from(got)).toEqual(Array.from(written[layout].logits));
    return 'ok';
  } catch (e) {
    if (!(e instanceof Error) || e.constructor !== Error) throw e;
    expect(e.message, e.message).toMatch(/^StoredLogitsTeacher(\.open)?: /);
    expect(e.message).toContain(dir);
    return 'error';
  } finally {
    rmSync(dir, { recursive: true, force: true });
    expect(performance.now() - t0).toBeLessThan(2000);
  }
}

const layouts = fc.constantFrom('dense' as const, 'topk' as const);

describe('stored-logits reader fuzz', () => {
  it('reads both untouched layouts', () => {
    expect(gatherAll('dense', copy('dense'))).toBe('ok');
    expect(gatherAll('topk', copy('topk'))).toBe('ok');
  });

  it('truncated and bit-flipped index.json', () => {
    fc.assert(
      fc.property(layouts, fc.nat(), (layout, cut) => {
        const idx = written[layout].index;
        expect(gatherAll(layout, copy(layout, idx.subarray(0, cut % (idx.length - 1))))).toBe('error');
      }),
      { seed, numRuns: runs(30) },
    );
    fc.assert(
      fc.property(layouts, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 7 })), { minLength: 1, maxLength: 3 }), (layout, flips) => {
        const b = Uint8Array.from(written[layout].index);
        for (const [at, bit] of flips) b[at % b.length] ^= 1 << bit;
        void gatherAll(layout, copy(layout, b));
      }),
      { seed, numRuns: runs(80) },
    );
  });

  it('adversarial index fields', () => {
    const weird = fc.oneof(
      fc.constantFrom(-1, 0, 0.5, 2 ** 31, 2 ** 53, 1e308, '8', null, [], {}, '../../escape', '/etc/passwd', '.hidden', 'chunk-000000.bin'),
      fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
      fc.double(),
    );
    const fields = ['numExamples', 'numClasses', 'chunkRows', 'layout', 'topK', 'chunks', 'chunks.0.file', 'chunks.1.rows', 'chunks.2.rows', 'chunks.0.bytes', 'chunks.0.sha256'];
    fc.assert(
      fc.property(layouts, fc.constantFrom(...fields), weird, (layout, field, v) => {
        const j = JSON.parse(written[layout].index.toString('utf8'));
        const path = field.split('.');
        let o = j;
        for (const p of path.slice(0, -1)) o = o[p];
        o[path[path.length - 1]] = v;
        void gatherAll(layout, copy(layout, JSON.stringify(j)));
      }),
      { seed, numRuns: runs(150) },
    );
    const j = JSON.parse(written.dense.index.toString('utf8'));
    j.chunks[0].file = '../../escape';
    expect(() => StoredLogitsTeacher.open(copy('dense', JSON.stringify(j)))).toThrow(/chunks\[0\]\.file "\.\.\/\.\.\/escape" contains "\/"/);
  });

  it('a chunk rewritten with a matching checksum but NaN logits or out-of-range top-k indices', () => {
    fc.assert(
      fc.property(layouts, fc.nat(), fc.constantFrom(NaN, Infinity, -Infinity, 7, -1, 1e9), (layout, at, v) => {
        const j = JSON.parse(written[layout].index.toString('utf8'));
        const meta = j.chunks[0];
        const bytes = Uint8Array.from(readFileSync(join(written[layout].dir, meta.file)));
        const f32 = new Float32Array(bytes.buffer);
        const i32 = new Int32Array(bytes.buffer);
        const k = 2;
        if (layout === 'topk' && Number.isInteger(v)) i32[meta.rows * k + (at % (meta.rows * k))] = v; // an index
        else if (!Number.isInteger(v)) f32[at % (layout === 'dense' ? f32.length : meta.rows * k)] = v; // a value
        else return; // dense: integers are fine logits
        meta.sha256 = createHash('sha256').update(bytes).digest('hex');
        expect(gatherAll(layout, copy(layout, JSON.stringify(j), { file: meta.file, bytes }))).toBe('error');
      }),
      { seed, numRuns: runs(40) },
    );
  });

  it('random JSON as the index and random bytes as a chunk', () => {
    fc.assert(fc.property(layouts, fc.jsonValue(), (layout, v) => void expect(gatherAll(layout, copy(layout, JSON.stringify(v)))).toBe('error')), { seed, numRuns: runs(40) });
    fc.assert(
      fc.property(layouts, fc.uint8Array({ maxLength: 400 }), (layout, bytes) => {
        const file = JSON.parse(written[layout].index.toString('utf8')).chunks[1].file;
        expect(gatherAll(layout, copy(layout, undefined, { file, bytes }))).toBe('error');
      }),
      { seed, numRuns: runs(30) },
    );
  });
});
