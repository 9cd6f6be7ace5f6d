/**
 * The manifests of one split, named the way commands take them: a corpus directory and a split name
 * (`--corpus DIR --split NAME`), a manifest file (`--manifest FILE`), or a directory that is already one split
 * (`--corpus DIR`). A split is DIR/NAME/ when that holds manifests (FSDD's connected/train), else the speakers
 * DIR/splits.json lists under NAME (the synthesiser's layout).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AlignmentSchema, MANIFEST_FILES, RecordingSchema, SupervisionSchema, readJsonl, type Alignment, type Recording, type Supervision } from './manifest.js';
import { readSplits } from './splits.js';

export interface CorpusInput {
  /** A corpus directory (with `split`), or one split's manifest directory (without). */
  corpus?: string;
  /** A split name: a subdirectory of `corpus`, a key of `corpus`/splits.json (train, dev, test), or `all`. */
  split?: string;
  /** A supervisions manifest (JSONL); recordings.jsonl and alignments.jsonl beside it are read when present. */
  manifest?: string;
}

export interface CorpusSplit {
  supervisions: Supervision[];
  /** Recordings the supervisions refer to ([] when the manifest directory has no recordings.jsonl). */
  recordings: Recording[];
  /** Phone/word alignments by supervision id (empty when there is no alignments.jsonl). */
  alignments: Map<string, Alignment>;
  /** The directory that holds the manifests (recording paths are relative to it). */
  dir: string;
  /** How the split was named, for messages and provenance: `DIR`, `DIR (split train)` or `FILE`. */
  source: string;
}

const SPLIT_KEYS = ['train', 'dev', 'test'] as const;

function readDir(dir: string, supervisionsFile: string, source: string, keep?: (s: Supervision) => boolean): CorpusSplit {
  const all = readJsonl(supervisionsFile, SupervisionSchema);
  const supervisions = keep ? all.filter(keep) : all;
  const ids = new Set(supervisions.map((s) => s.id));
  const recIds = new Set(supervisions.map((s) => s.recordingId));
  const rf = join(dir, MANIFEST_FILES.recordings);
  const af = join(dir, MANIFEST_FILES.alignments);
  const recordings = existsSync(rf) ? readJsonl(rf, RecordingSchema).filter((r) => recIds.has(r.id)) : [];
  const alignments = new Map<string, Alignment>(existsSync(af) ? readJsonl(af, AlignmentSchema).filter((a) => ids.has(a.id)).map((a) => [a.id, a]) : []);
  return { supervisions, recordings, alignments, dir, source };
}

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();

/** Read one split's manifests; errors name the path and say which flags to pass. */
export function readCorpusSplit(input: CorpusInput): CorpusSplit {
  const { corpus, split, manifest } = input;
  if (manifest !== undefined) {
    if (corpus !== undefined || split !== undefined) throw new Error(`--manifest ${manifest} names the split by itself; drop --corpus/--split`);
    if (!existsSync(manifest)) throw new Error(`--manifest ${manifest} does not exist; pass a supervisions manifest (${MANIFEST_FILES.supervisions})`);
    if (isDir(manifest)) throw new Error(`--manifest ${manifest} is a directory; pass its ${MANIFEST_FILES.supervisions}, or --corpus ${manifest}`);
    if (basename(manifest) === MANIFEST_FILES.recordings) throw new Error(`--manifest ${manifest} is a recordings manifest; pass the ${MANIFEST_FILES.supervisions} beside it`);
    return readDir(dirname(manifest), manifest, manifest);
  }
  if (corpus === undefined) throw new Error(split !== undefined ? `--split ${split} needs --corpus DIR` : 'no corpus given; pass --corpus DIR [--split NAME] or --manifest FILE');
  if (!isDir(corpus)) throw new Error(`--corpus ${corpus} is not a directory; pass a corpus directory (kdasr corpus ... --out DIR)`);
  if (split === undefined) {
    const f = join(corpus, MANIFEST_FILES.supervisions);
    if (!existsSync(f)) {
      const subs = SPLIT_KEYS.filter((k) => existsSync(join(corpus, k, MANIFEST_FILES.supervisions)));
      const hint = subs.length || existsSync(join(corpus, MANIFEST_FILES.splits)) ? `; add --split ${subs[0] ?? 'train'}` : '';
      throw new Error(`${f} does not exist${hint}`);
    }
    return readDir(corpus, f, corpus);
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(split) || split.includes('..')) throw new Error(`--split "${split}" is not a split name (letters, digits, _ . -)`);
  // `all`: the whole corpus, as kdasr features --split all.
  if (split === 'all' && !existsSync(join(corpus, split, MANIFEST_FILES.supervisions))) return readCorpusSplit({ corpus });
  const sub = join(corpus, split);
  if (existsSync(join(sub, MANIFEST_FILES.supervisions))) return readDir(sub, join(sub, MANIFEST_FILES.supervisions), `${corpus} (split ${split})`);
  const sf = join(corpus, MANIFEST_FILES.splits);
  if (existsSync(sf)) {
    if (!(SPLIT_KEYS as readonly string[]).includes(split)) throw new Error(`--split ${split}: ${sf} has splits ${SPLIT_KEYS.join(', ')} and ${sub} holds no manifests`);
    const speakers = new Set(readSplits(sf)[split as (typeof SPLIT_KEYS)[number]]);
    const out = readDir(corpus, join(corpus, MANIFEST_FILES.supervisions), `${corpus} (split ${split})`, (s) => speakers.has(s.speaker));
    if (out.supervisions.length === 0) throw new Error(`--split ${split}: no supervision of ${corpus} has a speaker listed under "${split}" in ${sf}`);
    return out;
  }
  throw new Error(`--split ${split}: ${corpus} has neither ${join(split, MANIFEST_FILES.supervisions)} nor ${MANIFEST_FILES.splits}; pass the split's own directory as --corpus`);
}
