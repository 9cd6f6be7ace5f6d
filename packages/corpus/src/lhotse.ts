/**
 * lhotse interop: our corpus manifests to and from lhotse's RecordingSet / SupervisionSet manifests, in lhotse's
 * own schema (lhotse/audio/recording.py `Recording.to_dict`, lhotse/audio/source.py `AudioSource`,
 * lhotse/supervision.py `SupervisionSegment.to_dict` and `AlignmentItem.serialize`):
 *
 *   recording:   {"id", "sources": [{"type": "file"|"command", "channels": [0, ...], "source": PATH|CMD}],
 *                 "sampling_rate", "num_samples", "duration", "channel_ids": [0, ...]}
 *   supervision: {"id", "recording_id", "start", "duration", "channel": 0 | [0, 1], "text", "speaker",
 *                 "alignment": {"word": [[symbol, start, duration, score|null], ...], "phone": [...]}}
 *
 * Alignment times are on the recording's timeline, as ours are. lhotse reads and writes JSONL, `.jsonl.gz` and
 * JSON arrays; so do we.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { idProblem, unsafeIdMessage, writeFileAtomic } from '@kdasr/core';
import { MULTIPLE_SPEAKERS } from './kaldi.js';
import {
  AlignmentSchema,
  MANIFEST_FILES,
  RecordingSchema,
  SupervisionSchema,
  normaliseText,
  readJsonl,
  writeJsonl,
  type Alignment,
  type PhoneSegment,
  type Recording,
  type Supervision,
  type WordSegment,
} from './manifest.js';
import { CorpusError, type Problem } from './problems.js';

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const count = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const intList = (x: unknown): x is number[] => Array.isArray(x) && x.every(count);

export const LHOTSE_FILES = { recordings: 'recordings.jsonl.gz', supervisions: 'supervisions.jsonl.gz' } as const;

export interface LhotseAudioSource {
  type: 'file' | 'command' | string;
  channels: number[];
  source: string;
}
export interface LhotseRecording {
  id: string;
  sources: LhotseAudioSource[];
  sampling_rate: number;
  num_samples: number;
  duration: number;
  channel_ids?: number[];
}
/** lhotse's AlignmentItem as serialised: [symbol, start, duration, score]. */
export type LhotseAlignmentItem = [string, number, number, number | null];
export interface LhotseSupervision {
  id: string;
  recording_id: string;
  start: number;
  duration: number;
  channel: number | number[];
  text?: string;
  speaker?: string;
  alignment?: Record<string, LhotseAlignmentItem[]>;
}

export interface LhotseManifests {
  recordings: LhotseRecording[];
  supervisions: LhotseSupervision[];
}

/** Our corpus (directory) as lhotse manifests. Paths become absolute (lhotse resolves them from the cwd). */
export function toLhotse(dir: string): LhotseManifests {
  const recs = readJsonl(join(dir, MANIFEST_FILES.recordings), RecordingSchema);
  const sups = readJsonl(join(dir, MANIFEST_FILES.supervisions), SupervisionSchema);
  const af = join(dir, MANIFEST_FILES.alignments);
  const alis = existsSync(af) ? new Map(readJsonl(af, AlignmentSchema).map((a) => [a.id, a])) : new Map<string, Alignment>();
  const channels = new Map(recs.map((r) => [r.id, Array.from({ length: r.numChannels }, (_, i) => i)]));
  const recordings = recs.map((r): LhotseRecording => ({
    id: r.id,
    sources: [
      r.command !== undefined
        ? { type: 'command', channels: channels.get(r.id)!, source: r.command }
        : { type: 'file', channels: channels.get(r.id)!, source: isAbsolute(r.path!) ? r.path! : resolve(dir, r.path!) },
    ],
    sampling_rate: r.sampleRateHz,
    num_samples: r.numSamples,
    duration: r.numSamples / r.sampleRateHz,
    channel_ids: channels.get(r.id)!,
  }));
  const supervisions = sups.map((s): LhotseSupervision => {
    const a = alis.get(s.id);
    const all = channels.get(s.recordingId) ?? [0];
    return {
      id: s.id,
      recording_id: s.recordingId,
      start: s.startSec,
      duration: s.durationSec,
      // Ours: no channel = all channels mixed (mono: channel 0); lhotse says that with the list of all channels.
      channel: s.channel ?? (all.length === 1 ? 0 : all),
      text: s.text,
      speaker: s.speaker,
      ...(a
        ? {
            alignment: {
              word: a.words.map((w): LhotseAlignmentItem => [w.word, w.startSec, w.endSec - w.startSec, null]),
              phone: a.phones.map((p): LhotseAlignmentItem => [p.phone, p.startSec, p.endSec - p.startSec, null]),
            },
          }
        : {}),
    };
  });
  return { recordings, supervisions };
}

function gzJsonl(items: readonly unknown[]): Uint8Array {
  return gzipSync(items.map((x) => JSON.stringify(x)).join('\n') + (items.length ? '\n' : ''));
}

/** `kdasr corpus export-lhotse`: write recordings.jsonl.gz and supervisions.jsonl.gz into `outDir`. */
export function exportLhotse(dir: string, outDir: string): { recordings: number; supervisions: number; alignments: number } {
  const m = toLhotse(dir);
  writeFileAtomic(join(outDir, LHOTSE_FILES.recordings), gzJsonl(m.recordings));
  writeFileAtomic(join(outDir, LHOTSE_FILES.supervisions), gzJsonl(m.supervisions));
  return { recordings: m.recordings.length, supervisions: m.supervisions.length, alignments: m.supervisions.filter((s) => s.alignment).length };
}

/**
 * The most bytes a manifest may hold, decompressed: V8's longest string (2^29 - 24 UTF-16 units), so a gzip
 * bomb or a huge file is a clear error instead of an allocation failure. Split larger manifests.
 */
export const MAX_LHOTSE_MANIFEST_BYTES = 2 ** 29 - 24;

/** A value for a message: JSON, cut to 80 characters (deeply nested input overflows JSON.stringify's stack). */
function show(v: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = undefined;
  }
  s ??= Array.isArray(v) ? '[...]' : typeof v;
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** A lhotse CutSet item (MonoCut, MixedCut, ...) carries its recording and supervisions inside. */
const isCut = (x: Obj) => (typeof x.type === 'string' && /Cut$/.test(x.type)) || (isObj(x.recording) && Array.isArray(x.supervisions));

/** Items of a lhotse manifest file: JSONL, `.jsonl.gz` or a JSON array (lhotse's `.json`), each with its line. */
export function readLhotseItems(file: string, maxBytes = MAX_LHOTSE_MANIFEST_BYTES): Array<{ value: unknown; line: number }> {
  if (!existsSync(file)) throw new CorpusError('cannot read lhotse manifest', [{ file, message: 'file does not exist' }]);
  const st = statSync(file);
  if (st.isDirectory()) throw new CorpusError('cannot read lhotse manifest', [{ file, message: 'is a directory; give a .jsonl, .jsonl.gz or .json manifest file' }]);
  const tooBig = (what: string) => new CorpusError('cannot read lhotse manifest', [{ file, message: `${what} more than ${maxBytes} bytes; split it into smaller manifests (lhotse split)` }]);
  if (st.size > maxBytes) throw tooBig(`is ${st.size} bytes,`);
  let bytes: Buffer = readFileSync(file);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: maxBytes });
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooBig('decompresses to');
      throw new CorpusError('cannot read lhotse manifest', [{ file, message: `corrupt gzip data (${(e as Error).message}); re-create or re-download it` }]);
    }
  }
  const text = bytes.toString('utf8');
  if (text.trimStart().startsWith('[')) {
    let arr: unknown;
    try {
      arr = JSON.parse(text);
    } catch (e) {
      throw new CorpusError('cannot read lhotse manifest', [{ file, message: `not valid JSON (${(e as Error).message})` }]);
    }
    if (!Array.isArray(arr)) throw new CorpusError('cannot read lhotse manifest', [{ file, message: 'expected a JSON array of objects' }]);
    // A JSON array has no useful line numbers: report the item's index (1-based) in the line field.
    return arr.map((value, i) => ({ value, line: i + 1 }));
  }
  const out: Array<{ value: unknown; line: number }> = [];
  const problems: Problem[] = [];
  text.split('\n').forEach((raw, i) => {
    if (!raw.trim()) return;
    try {
      out.push({ value: JSON.parse(raw), line: i + 1 });
    } catch (e) {
      problems.push({ file, line: i + 1, message: `not valid JSON (${(e as Error).message}); each line must be one JSON object` });
    }
  });
  if (problems.length) throw new CorpusError(`invalid lhotse manifest ${file}`, problems);
  return out;
}


export interface LhotseImportOptions {
  /** Write recordings.jsonl, supervisions.jsonl and (when any) alignments.jsonl here. */
  outDir?: string;
}

export interface LhotseImportResult {
  recordings: Recording[];
  supervisions: Supervision[];
  alignments: Alignment[];
}

/**
 * Read lhotse recordings and supervisions manifests into our schema, listing every problem with its file and
 * line. lhotse fields we do not carry (language, gender, custom, transforms, other alignment tiers) are
 * ignored; text is normalised as every importer does; a supervision without a speaker gets its recording id.
 */
export function importLhotse(recordingsFile: string, supervisionsFile: string, opts: LhotseImportOptions = {}): LhotseImportResult {
  const problems: Problem[] = [];
  const idOk = (file: string, line: number, v: unknown, what: string): v is string => {
    if (typeof v !== 'string') {
      problems.push({ file, line, field: what, message: `must be a string, got ${show(v)}` });
      return false;
    }
    const bad = idProblem(v);
    if (bad !== null) problems.push({ file, line, field: what, message: unsafeIdMessage(v, bad, what) });
    return bad === null;
  };
  const cutProblem = (file: string, line: number) =>
    problems.push({ file, line, field: '(root)', message: `a lhotse cut, not a ${file === recordingsFile ? 'Recording' : 'SupervisionSegment'}: CutSet manifests are not read directly. Fix: \`lhotse cut decompose CUTS.jsonl.gz OUTDIR\` writes the recordings and supervisions manifests to import` });
  const recs = new Map<string, Recording & { line: number }>();
  for (const { value: r, line } of readLhotseItems(recordingsFile)) {
    const p = (field: string, message: string) => problems.push({ file: recordingsFile, line, field, message });
    if (!isObj(r)) {
      p('(root)', `expected a lhotse Recording object, got ${show(r)}`);
      continue;
    }
    if (isCut(r)) {
      cutProblem(recordingsFile, line);
      continue;
    }
    if (!idOk(recordingsFile, line, r.id, 'id')) continue;
    if (recs.has(r.id)) {
      p('id', `duplicate recording id "${r.id}" (first on line ${recs.get(r.id)!.line})`);
      continue;
    }
    const rate = r.sampling_rate;
    const n = r.num_samples;
    const rateOk = count(rate) && rate > 0;
    if (!rateOk) p('sampling_rate', `must be a positive integer, got ${show(rate)}`);
    if (!count(n)) p('num_samples', `must be a non-negative integer, got ${show(n)}`);
    if (!Array.isArray(r.sources) || r.sources.length === 0) {
      p('sources', 'must be a non-empty list of {type, channels, source}');
      continue;
    }
    if (r.sources.length > 1) {
      p('sources', `${r.sources.length} sources (one per channel) are not supported; merge the channels into one file (sox -M a.wav b.wav out.wav) or use a command source`);
      continue;
    }
    const s = r.sources[0] as unknown;
    if (!isObj(s) || typeof s.source !== 'string' || !s.source) {
      p('sources.0', 'expected {"type": "file"|"command", "channels": [...], "source": string}');
      continue;
    }
    if (s.type !== 'file' && s.type !== 'command') {
      p('sources.0.type', `${show(s.type)} sources are not supported (file and command are); download or export the audio to files first`);
      continue;
    }
    if (!intList(s.channels) || s.channels.length === 0) {
      p('sources.0.channels', `must be a non-empty list of channel indices, got ${show(s.channels)}`);
      continue;
    }
    if (r.channel_ids !== undefined && !(intList(r.channel_ids) && r.channel_ids.length === s.channels.length))
      p('channel_ids', `must list the same number of channels as sources.0.channels (${s.channels.length})`);
    // lhotse's own tolerance for a duration that disagrees with num_samples (LHOTSE_AUDIO_DURATION_MISMATCH_TOLERANCE).
    if (r.duration !== undefined && rateOk && count(n) && !(num(r.duration) && Math.abs(r.duration - n / rate) <= 0.025))
      p('duration', `${show(r.duration)} disagrees with num_samples / sampling_rate = ${n / rate}`);
    if (Array.isArray(r.transforms) && r.transforms.length > 0) {
      p('transforms', 'audio transforms (speed/tempo/volume perturbation, resampling, reverb) are not supported: the audio would differ from its source. Fix: export the perturbed audio to files first (e.g. lhotse cut set save_audios)');
      continue;
    }
    if (!(rateOk && count(n))) continue;
    const path = s.type === 'file' ? (isAbsolute(s.source) ? s.source : resolve(s.source)) : undefined;
    recs.set(r.id, {
      id: r.id,
      ...(path !== undefined ? { path } : { command: s.source }),
      sampleRateHz: rate as number,
      numSamples: n as number,
      numChannels: s.channels.length,
      speaker: '',
      line,
    });
  }

  const supervisions: Supervision[] = [];
  const alignments: Alignment[] = [];
  const seen = new Map<string, number>();
  for (const { value: s, line } of readLhotseItems(supervisionsFile)) {
    const p = (field: string, message: string) => problems.push({ file: supervisionsFile, line, field, message });
    if (!isObj(s)) {
      p('(root)', `expected a lhotse SupervisionSegment object, got ${show(s)}`);
      continue;
    }
    if (isCut(s)) {
      cutProblem(supervisionsFile, line);
      continue;
    }
    if (!idOk(supervisionsFile, line, s.id, 'id') || !idOk(supervisionsFile, line, s.recording_id, 'recording_id')) continue;
    if (seen.has(s.id)) {
      p('id', `duplicate supervision id "${s.id}" (first on line ${seen.get(s.id)})`);
      continue;
    }
    seen.set(s.id, line);
    const rec = recs.get(s.recording_id);
    if (!rec) {
      p('recording_id', `recording "${s.recording_id}" is not in ${recordingsFile}`);
      continue;
    }
    const recSec = rec.numSamples / rec.sampleRateHz;
    const startOk = num(s.start) && s.start >= 0;
    const durOk = num(s.duration) && s.duration > 0;
    const start = startOk ? (s.start as number) : 0;
    const duration = durOk ? (s.duration as number) : 0;
    // lhotse's validate() allows a supervision to overrun its recording by its duration tolerance (0.025 s).
    const timesOk = startOk && durOk && start + duration <= recSec + 0.025;
    if (!startOk) p('start', `must be a number >= 0, got ${show(s.start)}`);
    if (!durOk) p('duration', `must be a number > 0, got ${show(s.duration)}`);
    else if (startOk && !timesOk)
      p('duration', `the segment [${start}, ${start + duration}] s runs past the end of recording ${rec.id} (${recSec} s). Fix: trim it (lhotse trim_to_supervisions / fix_manifests)`);
    if (s.speaker !== undefined && s.speaker !== null && !idOk(supervisionsFile, line, s.speaker, 'speaker')) continue;
    if (s.text !== undefined && s.text !== null && typeof s.text !== 'string') p('text', `must be a string, got ${show(s.text)}`);
    const ch = s.channel ?? 0;
    const all = Array.from({ length: rec.numChannels }, (_, i) => i);
    let channel: number | undefined;
    if (Number.isInteger(ch) && (ch as number) >= 0 && (ch as number) < rec.numChannels) channel = rec.numChannels > 1 ? (ch as number) : undefined;
    else if (intList(ch) && ch.length === 1 && ch[0] < rec.numChannels) channel = rec.numChannels > 1 ? ch[0] : undefined;
    else if (!(intList(ch) && ch.length === all.length && ch.every((c, i) => c === i))) {
      p('channel', `${show(ch)} is not one channel or all channels of recording ${rec.id} (${rec.numChannels} channel(s)); a subset of channels is not supported`);
      continue;
    }
    if (!timesOk) continue;
    const speaker = typeof s.speaker === 'string' ? s.speaker : rec.id;
    const sup: Supervision = {
      id: s.id,
      recordingId: rec.id,
      startSec: start,
      durationSec: duration,
      text: normaliseText(typeof s.text === 'string' ? s.text : ''),
      speaker,
      ...(channel !== undefined ? { channel } : {}),
    };
    rec.speaker = rec.speaker && rec.speaker !== speaker ? MULTIPLE_SPEAKERS : speaker;
    supervisions.push(sup);
    if (s.alignment !== undefined && s.alignment !== null) {
      const a = alignmentOf(s.alignment, sup, (field, message) => p(`alignment.${field}`, message));
      if (a) alignments.push(a);
    }
  }
  for (const r of recs.values())
    if (r.speaker === '') problems.push({ file: recordingsFile, line: r.line, field: 'id', message: `recording ${r.id} has no supervision in ${supervisionsFile}` });
  if (problems.length) throw new CorpusError(`cannot import lhotse manifests ${recordingsFile} + ${supervisionsFile}`, problems);
  const recordings = [...recs.values()].map(({ line: _line, ...r }) => r);
  if (opts.outDir) {
    writeJsonl(join(opts.outDir, MANIFEST_FILES.recordings), recordings, RecordingSchema);
    writeJsonl(join(opts.outDir, MANIFEST_FILES.supervisions), supervisions, SupervisionSchema);
    if (alignments.length) writeJsonl(join(opts.outDir, MANIFEST_FILES.alignments), alignments, AlignmentSchema);
  }
  return { recordings, supervisions, alignments };
}

/** lhotse's serialised AlignmentItem: a list [symbol, start, duration, score?], or a dict (lhotse < 1.8). */
function alignmentItem(x: unknown): { symbol: string; start: number; end: number } | null {
  let symbol: unknown, start: unknown, duration: unknown;
  if (Array.isArray(x)) [symbol, start, duration] = x;
  else if (isObj(x)) ({ symbol, start, duration } = x);
  else return null;
  if (typeof symbol !== 'string' || !symbol || !num(start) || start < 0 || !num(duration) || duration < 0 || !num(start + duration)) return null;
  return { symbol, start, end: start + duration };
}

/**
 * Word and phone tiers to our alignment. lhotse's phones carry no word index: a phone inside a word's span
 * (by its midpoint) belongs to that word, others (silence) to none.
 */
function alignmentOf(al: unknown, sup: Supervision, p: (field: string, message: string) => void): Alignment | null {
  if (!isObj(al)) {
    p('', 'must be an object of tiers {"word": [...], "phone": [...]}');
    return null;
  }
  const tier = (name: string) => {
    const t = al[name];
    if (t === undefined) return [];
    if (!Array.isArray(t)) {
      p(name, 'must be a list of [symbol, start, duration, score] items');
      return null;
    }
    const items = [];
    for (let i = 0; i < t.length; i++) {
      const it = alignmentItem(t[i]);
      if (!it) {
        p(`${name}.${i}`, `expected [symbol, start, duration, score] with start, duration >= 0, got ${show(t[i])}`);
        return null;
      }
      items.push(it);
    }
    return items;
  };
  const w = tier('word');
  const ph = tier('phone');
  if (!w || !ph) return null;
  if (w.length === 0 && ph.length === 0) return null;
  const words: WordSegment[] = w.map((x) => ({ word: normaliseText(x.symbol) || x.symbol, startSec: x.start, endSec: x.end }));
  const phones: PhoneSegment[] = ph.map((x) => {
    const mid = (x.start + x.end) / 2;
    const wi = words.findIndex((wd) => wd.startSec <= mid && mid < wd.endSec);
    return { phone: x.symbol, startSec: x.start, endSec: x.end, ...(wi >= 0 ? { wordIndex: wi } : {}) };
  });
  return { id: sup.id, recordingId: sup.recordingId, words, phones };
}

/**
 * The two manifest files of a lhotse directory: recordings*.jsonl[.gz]|.json and supervisions*.jsonl[.gz]|.json
 * (lhotse recipes name them e.g. `librispeech_recordings_dev-clean.jsonl.gz`; exactly one of each).
 */
export function findLhotseManifests(dir: string): { recordings: string; supervisions: string } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CorpusError('cannot find lhotse manifests', [{ file: dir, message: 'is not a directory' }]);
  const files = readdirSync(dir).filter((f) => /\.(jsonl|jsonl\.gz|json)$/.test(f));
  const pick = (kind: string) => {
    const c = files.filter((f) => f.includes(kind));
    if (c.length !== 1)
      throw new CorpusError('cannot find lhotse manifests', [
        {
          file: dir,
          message: `expected exactly one ${kind} manifest (*${kind}*.jsonl.gz, .jsonl or .json), found ${c.length ? c.join(', ') : 'none'}; pass --recordings and --supervisions${
            c.length === 0 && files.some((f) => f.includes('cuts')) ? ' (a CutSet manifest is not read directly: `lhotse cut decompose CUTS.jsonl.gz OUTDIR` writes both)' : ''
          }`,
        },
      ]);
    return join(dir, c[0]);
  };
  return { recordings: pick('recordings'), supervisions: pick('supervisions') };
}
