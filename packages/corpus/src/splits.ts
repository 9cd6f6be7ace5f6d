/**
 * Speaker-disjoint train/dev/test splits: no speaker's voice is heard in more than one split, so dev and
 * test measure generalisation to new speakers. Reproducible: the same speakers and seed give the same split
 * whatever order the speakers come in.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Rng, writeJsonAtomic } from '@kdasr/core';
import { SplitsSchema, type Splits, type Supervision } from './manifest.js';
import { CorpusError } from './problems.js';

export interface SplitOptions {
  seed: number;
  /** Number of dev speakers, or a fraction in (0, 1) of all speakers. */
  dev: number;
  /** Number of test speakers, or a fraction in (0, 1). */
  test: number;
}

function count(x: number, n: number, what: string): number {
  if (!(x >= 0)) throw new Error(`splitBySpeaker: ${what} must be >= 0, got ${x}`);
  return x > 0 && x < 1 ? Math.max(1, Math.round(x * n)) : Math.round(x);
}

export function splitBySpeaker(speakers: Iterable<string>, opts: SplitOptions): Splits {
  const all = [...new Set(speakers)].sort();
  const nDev = count(opts.dev, all.length, 'dev');
  const nTest = count(opts.test, all.length, 'test');
  if (nDev + nTest >= all.length)
    throw new Error(`splitBySpeaker: ${all.length} speakers cannot give ${nDev} dev + ${nTest} test speakers and leave any for training; lower dev/test`);
  const order = new Rng(opts.seed).fork('speaker-split').shuffle([...all]);
  return {
    seed: opts.seed,
    test: order.slice(0, nTest).sort(),
    dev: order.slice(nTest, nTest + nDev).sort(),
    train: order.slice(nTest + nDev).sort(),
  };
}

export type SplitName = 'train' | 'dev' | 'test';

/** Supervisions of one split (by speaker). */
export function selectSplit<T extends Pick<Supervision, 'speaker'>>(items: readonly T[], splits: Splits, name: SplitName): T[] {
  const set = new Set(splits[name]);
  return items.filter((x) => set.has(x.speaker));
}

export function writeSplits(file: string, s: Splits): void {
  writeJsonAtomic(file, SplitsSchema.parse(s));
}

export function readSplits(file: string): Splits {
  if (!existsSync(file)) throw new CorpusError('cannot read splits', [{ file, message: 'file does not exist' }]);
  const r = SplitsSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!r.success) throw new CorpusError(`invalid splits ${file}`, r.error.issues.map((i) => ({ file, field: i.path.join('.'), message: i.message })));
  const seen = new Map<string, string>();
  const problems = [];
  for (const name of ['train', 'dev', 'test'] as const)
    for (const spk of r.data[name]) {
      const prev = seen.get(spk);
      if (prev) problems.push({ file, field: name, message: `speaker ${spk} is in both ${prev} and ${name}; splits must be speaker-disjoint` });
      seen.set(spk, name);
    }
  if (problems.length) throw new CorpusError(`invalid splits ${file}`, problems);
  return r.data;
}
