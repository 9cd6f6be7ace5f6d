/**
 * Importers for existing corpora: Kaldi data directories (wav.scp with paths or piped commands ending in `|`,
 * text, utt2spk, optional segments) and
 * LibriSpeech-style trees (speaker/chapter/*.flac|wav + speaker-chapter.trans.txt). Both collect every
 * problem (with file and line) and throw one CorpusError listing them all.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { kaldiPipeCommand, readCommandWav } from '@kdasr/audio-features';
import { soxAvailable, soxToWav, wavInfo } from './audio.js';
import { MANIFEST_FILES, RecordingSchema, SupervisionSchema, normaliseText, writeJsonl, type Recording, type Supervision } from './manifest.js';
import { CorpusError, type Problem } from './problems.js';
import { idProblem, unsafeIdMessage } from '@kdasr/core';

/** The problem for an unsafe id read at file:line, or null when it is safe (ids become file names). */
function idCheck(file: string, line: number, id: string, what: string): Problem | null {
  const bad = idProblem(id);
  return bad === null ? null : { file, line, message: unsafeIdMessage(id, bad, what) };
}

export interface ImportResult {
  recordings: Recording[];
  supervisions: Supervision[];
}

/** Speaker of a recording holding utterances of several speakers. */
export const MULTIPLE_SPEAKERS = 'multiple';

interface Line {
  line: number;
  key: string;
  rest: string;
}

function readTable(file: string, problems: Problem[], required: boolean): Line[] | null {
  if (!existsSync(file)) {
    if (required) problems.push({ file, message: 'file does not exist (a Kaldi data dir needs wav.scp, text and utt2spk)' });
    return null;
  }
  const out: Line[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const l = raw.trim();
      if (!l) return;
      const m = /^(\S+)\s*(.*)$/.exec(l)!;
      const bad = idCheck(file, i + 1, m[1], 'id (first token)');
      if (bad) return void problems.push(bad);
      out.push({ line: i + 1, key: m[1], rest: m[2] });
    });
  return out;
}

function indexUnique(file: string, rows: Line[], problems: Problem[]): Map<string, Line> {
  const m = new Map<string, Line>();
  for (const r of rows) {
    const prev = m.get(r.key);
    if (prev) problems.push({ file, line: r.line, message: `duplicate id "${r.key}" (first on line ${prev.line})` });
    else m.set(r.key, r);
  }
  return m;
}

const SUPPORTED_AUDIO = /\.wav$/i;

/** Read one audio entry: header facts, or a problem naming the file and the fix. */
function audioFacts(path: string, where: Problem): { sampleRateHz: number; numSamples: number; numChannels: number } | null {
  if (!existsSync(path)) {
    where.message = `audio file ${path} is missing`;
    return null;
  }
  if (!SUPPORTED_AUDIO.test(path)) {
    where.message = `${path}: unsupported audio format (only .wav is read; convert it, e.g. sox ${path} out.wav)`;
    return null;
  }
  try {
    const info = wavInfo(path);
    return { sampleRateHz: info.sampleRateHz, numSamples: info.numFrames, numChannels: info.numChannels };
  } catch (e) {
    where.message = `cannot read ${path}: ${(e as Error).message}`;
    return null;
  }
}

export interface KaldiImportOptions {
  /**
   * Run `wav.scp` entries ending in `|` (default true, as Kaldi does). False reports each one as a problem
   * instead: for data dirs from untrusted sources, and for fuzzing (random text must not reach a shell).
   */
  runCommands?: boolean;
}

export function importKaldiDir(src: string, outDir?: string, opts: KaldiImportOptions = {}): ImportResult {
  const problems: Problem[] = [];
  const f = (n: string) => join(src, n);
  const wavScp = readTable(f('wav.scp'), problems, true);
  const text = readTable(f('text'), problems, true);
  const utt2spk = readTable(f('utt2spk'), problems, true);
  const segments = readTable(f('segments'), problems, false);
  if (!wavScp || !text || !utt2spk) throw new CorpusError(`cannot import Kaldi data dir ${src}`, problems);

  const recs = new Map<string, Recording>();
  for (const row of indexUnique(f('wav.scp'), wavScp, problems).values()) {
    const spec = row.rest.trim();
    const command = kaldiPipeCommand(spec);
    if (command !== null) {
      if (opts.runCommands === false) {
        problems.push({ file: f('wav.scp'), line: row.line, field: row.key, message: `recording ${row.key}: "${spec}" is a piped command and running commands is turned off; run it yourself to write a wav file and list that path` });
        continue;
      }
      // As Kaldi does: the line is a shell command writing the WAV to stdout. Run it once for the header facts.
      try {
        const a = readCommandWav(command, `recording ${row.key} (${f('wav.scp')}:${row.line})`);
        recs.set(row.key, { id: row.key, command, sampleRateHz: a.sampleRateHz, numSamples: a.samples.length, numChannels: a.numChannels, speaker: '' });
      } catch (e) {
        problems.push({ file: f('wav.scp'), line: row.line, field: row.key, message: (e as Error).message });
      }
      continue;
    }
    if (/\s/.test(spec)) {
      problems.push({
        file: f('wav.scp'),
        line: row.line,
        message: `recording ${row.key}: "${spec}" has spaces but does not end in "|"; a wav.scp value is a path, or a command ending in "|". Fix: quote nothing, rename the file, or end the command with "|"`,
      });
      continue;
    }
    const path = isAbsolute(spec) ? spec : resolve(src, spec);
    const p: Problem = { file: f('wav.scp'), line: row.line, field: row.key, message: '' };
    const facts = audioFacts(path, p);
    if (!facts) {
      problems.push(p);
      continue;
    }
    recs.set(row.key, { id: row.key, path, ...facts, speaker: '' });
  }
  const spk = indexUnique(f('utt2spk'), utt2spk, problems);
  const txt = indexUnique(f('text'), text, problems);
  const seg = segments ? indexUnique(f('segments'), segments, problems) : null;
  const supervisions: Supervision[] = [];
  for (const [utt, t] of txt) {
    const s = spk.get(utt);
    if (!s) {
      problems.push({ file: f('text'), line: t.line, message: `utterance ${utt} has no line in ${f('utt2spk')}` });
      continue;
    }
    const speaker = s.rest.trim();
    const badSpk = idCheck(f('utt2spk'), s.line, speaker, 'speaker (second token)');
    if (badSpk) {
      problems.push(badSpk);
      continue;
    }
    let recId = utt;
    let start = 0;
    let dur: number | null = null;
    let channel: number | undefined;
    if (seg) {
      const g = seg.get(utt);
      if (!g) {
        problems.push({ file: f('text'), line: t.line, message: `utterance ${utt} has no line in ${f('segments')}` });
        continue;
      }
      const [r, a, b, c, ...extra] = g.rest.split(/\s+/);
      const badRec = r ? idCheck(f('segments'), g.line, r, 'recording id (second token)') : null;
      if (badRec) {
        problems.push(badRec);
        continue;
      }
      const st = Number(a);
      // Kaldi: end -1 means "to the end of the recording"; an optional 5th field is the channel.
      const en = Number(b);
      const ch = c === undefined ? undefined : Number(c);
      if (!r || !Number.isFinite(st) || !Number.isFinite(en) || (en !== -1 && en <= st) || st < 0 || extra.length || (ch !== undefined && !(Number.isInteger(ch) && ch >= 0))) {
        problems.push({ file: f('segments'), line: g.line, message: `expected "utt rec start end [channel]" with 0 <= start < end (or end -1), got "${g.key} ${g.rest}"` });
        continue;
      }
      recId = r;
      start = st;
      dur = en === -1 ? null : en - st;
      channel = ch;
    }
    const rec = recs.get(recId);
    if (!rec) {
      // A recording that failed above already has its problem; only report ids wav.scp never lists.
      if (!wavScp.some((w) => w.key === recId))
        problems.push({ file: seg ? f('segments') : f('text'), line: seg ? seg.get(utt)!.line : t.line, message: `recording "${recId}" of utterance ${utt} is not in ${f('wav.scp')}` });
      continue;
    }
    const recDur = rec.numSamples / rec.sampleRateHz;
    if (dur === null) dur = recDur - start;
    if (!(dur > 0)) {
      problems.push({ file: f('segments'), line: seg!.get(utt)!.line, message: `segment ${utt} starts at ${start} s, at or after recording ${recId} ends (${recDur.toFixed(3)} s)` });
      continue;
    }
    if (channel !== undefined && channel >= rec.numChannels) {
      problems.push({ file: f('segments'), line: seg!.get(utt)!.line, message: `segment ${utt} is on channel ${channel} but recording ${recId} has ${rec.numChannels} channel(s)` });
      continue;
    }
    if (start + dur > recDur + 0.5)
      problems.push({ file: f('segments'), line: seg!.get(utt)!.line, message: `segment ${utt} ends at ${(start + dur).toFixed(3)} s, more than 0.5 s after recording ${recId} ends (${recDur.toFixed(3)} s)` });
    // Kaldi's extract-segments cuts an end less than 0.5 s past the recording to its end; so do we.
    else if (start + dur > recDur) dur = recDur - start;
    rec.speaker = rec.speaker && rec.speaker !== speaker ? MULTIPLE_SPEAKERS : speaker;
    supervisions.push({ id: utt, recordingId: recId, startSec: start, durationSec: dur, text: normaliseText(t.rest), speaker, ...(channel !== undefined ? { channel } : {}) });
  }
  for (const u of spk.keys())
    if (!txt.has(u)) problems.push({ file: f('utt2spk'), line: spk.get(u)!.line, message: `utterance ${u} has no transcript in ${f('text')}` });
  const recordings = [...recs.values()].filter((r) => r.speaker !== '');
  for (const r of recs.values())
    if (r.speaker === '') problems.push({ file: f('wav.scp'), line: wavScp.find((w) => w.key === r.id)!.line, message: `recording ${r.id} has no utterance (no text/segments line uses it)` });
  if (problems.length) throw new CorpusError(`cannot import Kaldi data dir ${src}`, problems);
  if (outDir) writeManifests(outDir, recordings, supervisions);
  return { recordings, supervisions };
}

function writeManifests(outDir: string, recordings: Recording[], supervisions: Supervision[]): void {
  writeJsonl(join(outDir, MANIFEST_FILES.recordings), recordings, RecordingSchema);
  writeJsonl(join(outDir, MANIFEST_FILES.supervisions), supervisions, SupervisionSchema);
}

export interface LibriSpeechOptions {
  /** Where converted wavs (from FLAC) go; manifests are written there too when given. */
  outDir?: string;
  /** Convert FLAC with sox when it is installed (default true). */
  convertFlac?: boolean;
}

function subdirs(dir: string): string[] {
  return readdirSync(dir)
    .filter((d) => statSync(join(dir, d)).isDirectory())
    .sort();
}

export function importLibriSpeech(root: string, opts: LibriSpeechOptions = {}): ImportResult {
  const problems: Problem[] = [];
  if (!existsSync(root)) throw new CorpusError('cannot import LibriSpeech', [{ file: root, message: 'directory does not exist' }]);
  const recordings: Recording[] = [];
  const supervisions: Supervision[] = [];
  for (const spk of subdirs(root)) {
    for (const chap of subdirs(join(root, spk))) {
      const dir = join(root, spk, chap);
      const trans = join(dir, `${spk}-${chap}.trans.txt`);
      const files = readdirSync(dir).sort();
      if (!existsSync(trans)) {
        problems.push({ file: trans, message: `transcript missing (every speaker/chapter dir needs ${spk}-${chap}.trans.txt)` });
        continue;
      }
      const listed = new Set<string>();
      readFileSync(trans, 'utf8')
        .split('\n')
        .forEach((raw, i) => {
          const l = raw.trim();
          if (!l) return;
          const [id, ...words] = l.split(/\s+/);
          listed.add(id);
          const badId = idCheck(trans, i + 1, id, 'utterance id (first token)');
          if (badId) return void problems.push(badId);
          const where: Problem = { file: trans, line: i + 1, field: id, message: '' };
          if (!id.startsWith(`${spk}-${chap}-`)) {
            problems.push({ ...where, message: `utterance id ${id} does not start with ${spk}-${chap}-` });
            return;
          }
          let audio: string | null = null;
          if (files.includes(`${id}.wav`)) audio = join(dir, `${id}.wav`);
          else if (files.includes(`${id}.flac`)) {
            const flac = join(dir, `${id}.flac`);
            if (opts.convertFlac === false || !soxAvailable()) {
              problems.push({
                ...where,
                message: `${flac}: FLAC is unsupported without sox. Fix: apt-get install sox (then it is converted to wav), or convert the tree to wav first`,
              });
              return;
            }
            if (!opts.outDir) {
              problems.push({ ...where, message: `${flac}: FLAC needs converting; pass an output directory for the converted wavs` });
              return;
            }
            audio = join(opts.outDir, 'wav', spk, chap, `${id}.wav`);
            try {
              if (!existsSync(audio)) soxToWav(flac, audio);
            } catch (e) {
              problems.push({ ...where, message: (e as Error).message });
              return;
            }
          } else {
            const other = files.find((f) => f.startsWith(`${id}.`) && !f.endsWith('.txt'));
            problems.push({
              ...where,
              message: other ? `${join(dir, other)}: unsupported audio format (only .wav, or .flac with sox)` : `audio file ${join(dir, id)}.flac|.wav is missing`,
            });
            return;
          }
          const facts = audioFacts(audio, where);
          if (!facts) return void problems.push(where);
          recordings.push({ id, path: resolve(audio), ...facts, speaker: spk });
          supervisions.push({ id, recordingId: id, startSec: 0, durationSec: facts.numSamples / facts.sampleRateHz, text: normaliseText(words.join(' ')), speaker: spk });
        });
      for (const f of files) {
        const m = /^(.+)\.(flac|wav)$/.exec(f);
        if (m && !listed.has(m[1])) problems.push({ file: join(dir, f), message: `audio has no line in ${trans}` });
      }
    }
  }
  if (problems.length) throw new CorpusError(`cannot import LibriSpeech tree ${root}`, problems);
  if (opts.outDir) writeManifests(opts.outDir, recordings, supervisions);
  return { recordings, supervisions };
}
