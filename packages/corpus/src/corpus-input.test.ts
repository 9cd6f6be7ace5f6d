import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCorpusSplit } from './corpus-input.js';

const dir = mkdtempSync(join(tmpdir(), 'kdasr-corpus-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sup = (id: string, speaker: string) => ({ id, recordingId: id, startSec: 0, durationSec: 1, text: 'one two', speaker });
const rec = (id: string) => ({ id, path: `${id}.wav`, sampleRateHz: 16000, numSamples: 16000, numChannels: 1, speaker: 'x' });
const ali = (id: string) => ({ id, recordingId: id, words: [], phones: [] });
const jsonl = (f: string, xs: unknown[]) => writeFileSync(f, xs.map((x) => JSON.stringify(x)).join('\n') + '\n');

// Layout 1: one directory per split (FSDD's connected/train, connected/test).
const perSplit = join(dir, 'per-split');
for (const [split, ids] of [['train', ['a', 'b']], ['test', ['c']]] as const) {
  mkdirSync(join(perSplit, split), { recursive: true });
  jsonl(join(perSplit, split, 'supervisions.jsonl'), ids.map((i) => sup(i, `s-${i}`)));
  jsonl(join(perSplit, split, 'recordings.jsonl'), ids.map(rec));
}
// Layout 2: one directory and splits.json by speaker (the synthesiser's).
const bySpeaker = join(dir, 'by-speaker');
mkdirSync(bySpeaker);
jsonl(join(bySpeaker, 'supervisions.jsonl'), [sup('u1', 'alice'), sup('u2', 'bob'), sup('u3', 'alice'), sup('u4', 'carol')]);
jsonl(join(bySpeaker, 'recordings.jsonl'), ['u1', 'u2', 'u3', 'u4'].map(rec));
jsonl(join(bySpeaker, 'alignments.jsonl'), ['u1', 'u2', 'u3', 'u4'].map(ali));
writeFileSync(join(bySpeaker, 'splits.json'), JSON.stringify({ seed: 0, train: ['alice'], dev: ['carol'], test: ['bob'] }));

describe('readCorpusSplit', () => {
  it('reads a split subdirectory', () => {
    const s = readCorpusSplit({ corpus: perSplit, split: 'train' });
    expect(s.supervisions.map((x) => x.id)).toEqual(['a', 'b']);
    expect(s.recordings.map((x) => x.id)).toEqual(['a', 'b']);
    expect(s.dir).toBe(join(perSplit, 'train'));
    expect(s.source).toBe(`${perSplit} (split train)`);
  });

  it('selects a split by the speakers in splits.json, with its recordings and alignments', () => {
    const s = readCorpusSplit({ corpus: bySpeaker, split: 'train' });
    expect(s.supervisions.map((x) => x.id)).toEqual(['u1', 'u3']);
    expect(s.recordings.map((x) => x.id)).toEqual(['u1', 'u3']);
    expect([...s.alignments.keys()]).toEqual(['u1', 'u3']);
    expect(readCorpusSplit({ corpus: bySpeaker, split: 'test' }).supervisions.map((x) => x.id)).toEqual(['u2']);
    expect(readCorpusSplit({ corpus: bySpeaker, split: 'all' }).supervisions).toHaveLength(4);
  });

  it('reads a split directory as it is, and a manifest file with the files beside it', () => {
    expect(readCorpusSplit({ corpus: join(perSplit, 'test') }).supervisions.map((x) => x.id)).toEqual(['c']);
    const m = readCorpusSplit({ manifest: join(bySpeaker, 'supervisions.jsonl') });
    expect(m.supervisions).toHaveLength(4);
    expect(m.alignments.size).toBe(4);
    expect(m.dir).toBe(bySpeaker);
  });

  it('says what to pass when the input does not name a split', () => {
    expect(() => readCorpusSplit({ corpus: perSplit })).toThrow(`${join(perSplit, 'supervisions.jsonl')} does not exist; add --split train`);
    expect(() => readCorpusSplit({ corpus: perSplit, split: 'dev' })).toThrow(`--split dev: ${perSplit} has neither dev/supervisions.jsonl nor splits.json`);
    expect(() => readCorpusSplit({ corpus: bySpeaker, split: 'eval' })).toThrow('has splits train, dev, test');
    expect(() => readCorpusSplit({ corpus: bySpeaker, split: '../x' })).toThrow('is not a split name');
    expect(() => readCorpusSplit({ split: 'train' })).toThrow('--split train needs --corpus DIR');
    expect(() => readCorpusSplit({})).toThrow('pass --corpus DIR [--split NAME] or --manifest FILE');
    expect(() => readCorpusSplit({ corpus: join(dir, 'nope') })).toThrow('is not a directory');
    expect(() => readCorpusSplit({ manifest: bySpeaker })).toThrow('is a directory; pass its supervisions.jsonl');
    expect(() => readCorpusSplit({ manifest: join(bySpeaker, 'recordings.jsonl') })).toThrow('is a recordings manifest');
    expect(() => readCorpusSplit({ manifest: join(bySpeaker, 'supervisions.jsonl'), split: 'train' })).toThrow('drop --corpus/--split');
  });
});
