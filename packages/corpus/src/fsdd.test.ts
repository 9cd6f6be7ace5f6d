import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readWav } from '@kdasr/audio-features';
import { DEFAULT_FSDD_DIR, fsddAvailable, importFsdd, listFsdd } from './fsdd.js';
import { AlignmentSchema, RecordingSchema, readJsonl } from './manifest.js';
import { CorpusError } from './problems.js';
import { validateCorpus } from './validate.js';
import { tempDir } from './test/helpers.js';

const have = fsddAvailable();
if (!have) console.warn(`fsdd tests skipped: ${DEFAULT_FSDD_DIR} is absent (the FSDD copy lives in ../shared/data/fsdd relative to the repo root)`);
const t = tempDir('fsdd');
afterAll(t.cleanup);

describe.skipIf(!have)(`FSDD import (needs ${DEFAULT_FSDD_DIR})`, () => {
  it('uses the official split and builds connected-digit utterances with exact word boundaries', () => {
    const out = join(t.dir, 'fsdd');
    const s = importFsdd({ src: DEFAULT_FSDD_DIR, outDir: out, seed: 2 });
    expect(s.isolated).toEqual({ train: 2700, test: 300 });
    expect(s.speakers).toEqual(['george', 'jackson', 'lucas', 'nicolas', 'theo', 'yweweler']);
    const test = readJsonl(join(out, 'isolated/test/recordings.jsonl'), RecordingSchema);
    expect(test.every((r) => Number(r.id.split('-')[3]) <= 4)).toBe(true);
    for (const d of ['isolated/train', 'isolated/test', 'connected/train', 'connected/test']) expect(validateCorpus(join(out, d)).problems, d).toEqual([]);

    // Every take is used exactly once, and the joined audio at each word span is that take, sample for sample.
    const takes = listFsdd(DEFAULT_FSDD_DIR);
    let used = 0;
    for (const split of ['train', 'test'] as const) {
      const recs = readJsonl(join(out, `connected/${split}/recordings.jsonl`), RecordingSchema);
      const alis = new Map(readJsonl(join(out, `connected/${split}/alignments.jsonl`), AlignmentSchema).map((a) => [a.id, a]));
      for (const [k, r] of recs.entries()) {
        const files = (r.meta as { takes: string[] }).takes;
        const a = alis.get(r.id)!;
        expect(a.words.length).toBe(files.length);
        expect(a.words.length).toBeGreaterThanOrEqual(1);
        used += files.length;
        if (k % 25 !== 0) continue; // decode a sample of them
        const x = readWav(join(out, `connected/${split}`, r.path!)).samples;
        files.forEach((f, i) => {
          const src = readWav(join(DEFAULT_FSDD_DIR, 'recordings', f)).samples;
          const start = Math.round(a.words[i].startSec * 8000);
          expect(Math.round(a.words[i].endSec * 8000) - start).toBe(src.length);
          expect(x.subarray(start, start + src.length)).toEqual(src);
          expect(a.words[i].word).toBe(['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'][Number(f[0])]);
          // Gaps before each word are silent.
          const gapStart = i === 0 ? 0 : Math.round(a.words[i - 1].endSec * 8000);
          expect(x.subarray(gapStart, start).every((v) => v === 0)).toBe(true);
        });
      }
    }
    expect(used).toBe(takes.length);
    expect(JSON.parse(readFileSync(join(out, 'fsdd.json'), 'utf8')).licence).toMatch(/CC BY-SA 4\.0/);
  });
});

describe('FSDD import errors', () => {
  it('names the directory and the fix when --src is wrong', () => {
    expect(() => importFsdd({ src: join(t.dir, 'nowhere'), outDir: join(t.dir, 'o') })).toThrow(CorpusError);
    expect(() => importFsdd({ src: join(t.dir, 'nowhere'), outDir: join(t.dir, 'o') })).toThrow(/nowhere\/recordings: directory does not exist; --src must be the FSDD root/);
  });
});
