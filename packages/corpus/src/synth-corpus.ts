/**
 * `kdasr corpus synth`: a synthetic read-speech corpus with exact alignments. The plan (speakers,
 * prompts, voice settings, conditions) is a pure function of (preset, seed); each utterance is written
 * as its wav plus a small JSON record under .work/, so a rerun skips finished utterances; at the end the
 * records are merged, in plan order, into the manifests. One espeak-ng per process: --jobs N forks N
 * worker processes.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, copyFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { encodeWav, resample } from '@kdasr/audio-features';
import { Logger, Rng, formatDuration, provenance, validateId, writeFileAtomic, writeJsonAtomic } from '@kdasr/core';
import type { Condition, NoiseType } from './conditions.js';
import { getEspeak } from './espeak.js';
import { Lexicon, buildPhoneSet, formatPhonesTxt, writeLexiconJsonl, writeLexiconTxt, writePhonesJsonl } from './lexicon.js';
import {
  AlignmentSchema,
  MANIFEST_FILES,
  RecordingSchema,
  SupervisionSchema,
  writeJsonl,
  type Alignment,
  type Recording,
  type Supervision,
} from './manifest.js';
import { splitBySpeaker, writeSplits } from './splits.js';
import { AlignmentError, synthesiseUtterance, textForEspeak, toSecondsAlignment, type UtteranceSpec } from './synth.js';
import { DEFAULT_TEXT_DIR, LM_TEXT_FILE, readTextSources } from './text.js';
import { planSpeakers, type SpeakerVoice } from './voices.js';

export const OUTPUT_RATE_HZ = 16000;

export interface ConditionMix {
  /** Probability that an utterance has no added noise. */
  clean: number;
  noiseTypes: Exclude<NoiseType, 'none'>[];
  snrDb: [number, number];
  /** Probability of reverberation, and the RT60 range (s). */
  reverb: number;
  rt60Sec: [number, number];
}

export interface Preset {
  name: string;
  speakers: number;
  utterancesPerSpeaker: number;
  /** Only prompts with at most this many words (tiny keeps tests fast). */
  maxWords?: number;
  conditions: ConditionMix;
  devSpeakers: number;
  testSpeakers: number;
  /** Speakers per worker process (a shard): fixed per preset so the audio does not depend on --jobs. */
  speakersPerShard: number;
}

const DEFAULT_MIX: ConditionMix = { clean: 0.15, noiseTypes: ['white', 'pink', 'babble'], snrDb: [0, 20], reverb: 0.35, rt60Sec: [0.15, 0.8] };

export const PRESETS: Record<string, Preset> = {
  tiny: { name: 'tiny', speakers: 6, utterancesPerSpeaker: 2, maxWords: 6, conditions: DEFAULT_MIX, devSpeakers: 1, testSpeakers: 1, speakersPerShard: 3 },
  small: { name: 'small', speakers: 60, utterancesPerSpeaker: 21, conditions: DEFAULT_MIX, devSpeakers: 6, testSpeakers: 6, speakersPerShard: 4 },
  medium: { name: 'medium', speakers: 200, utterancesPerSpeaker: 62, conditions: DEFAULT_MIX, devSpeakers: 16, testSpeakers: 16, speakersPerShard: 5 },
};

export interface PlannedUtterance {
  id: string;
  speaker: string;
  /** Worker process group: utterances of one shard are synthesised in one process, in plan order. */
  shard: number;
  words: string[];
  spec: UtteranceSpec;
}

export interface CorpusPlan {
  preset: Preset;
  seed: number;
  speakers: SpeakerVoice[];
  utterances: PlannedUtterance[];
  /** Sentences (from the held-out LM text) spoken by other voices to make babble noise. */
  babble: { words: string[]; voice: UtteranceSpec['voice'] }[];
  textDir: string;
  hash: string;
}

function drawCondition(mix: ConditionMix, rng: Rng): Condition {
  const c: Condition = { noise: 'none' };
  if (rng.next() >= mix.clean) {
    c.noise = mix.noiseTypes[rng.int(mix.noiseTypes.length)];
    c.snrDb = Math.round(rng.uniform(mix.snrDb[0], mix.snrDb[1]) * 10) / 10;
  }
  if (rng.next() < mix.reverb) c.rt60Sec = Math.round(rng.uniform(mix.rt60Sec[0], mix.rt60Sec[1]) * 100) / 100;
  return c;
}

export function planCorpus(preset: Preset, seed: number, textDir: string = DEFAULT_TEXT_DIR): CorpusPlan {
  const { prompts, lmText } = readTextSources(textDir);
  const usable = prompts.filter((p) => !preset.maxWords || p.split(' ').length <= preset.maxWords);
  if (usable.length === 0) throw new Error(`planCorpus: no prompt in ${textDir} has at most ${preset.maxWords} words`);
  const root = new Rng(seed);
  const speakers = planSpeakers(preset.speakers, seed);
  const order = root.fork('prompts').permutation(usable.length);
  const utterances: PlannedUtterance[] = [];
  let k = 0;
  for (const [si, spk] of speakers.entries()) {
    const shard = Math.floor(si / preset.speakersPerShard);
    for (let u = 0; u < preset.utterancesPerSpeaker; u++) {
      const id = validateId(`${spk.id}-${String(u).padStart(4, '0')}`, 'planCorpus: utterance id'); // becomes work/ID.json
      const rng = root.fork(`utt:${id}`);
      const words = usable[order[k++ % usable.length]].split(' ');
      const spec: UtteranceSpec = {
        words,
        voice: {
          voice: spk.voice,
          rate: Math.round(spk.rate * rng.uniform(0.9, 1.1)),
          pitch: Math.max(0, Math.min(100, Math.round(spk.pitch + rng.uniform(-6, 6)))),
          pitchRange: spk.pitchRange,
        },
        condition: drawCondition(preset.conditions, rng),
        leadSec: Math.round(rng.uniform(0.05, 0.3) * 1000) / 1000,
        tailSec: Math.round(rng.uniform(0.1, 0.3) * 1000) / 1000,
        seed: rng.nextSeed(),
      };
      utterances.push({ id, speaker: spk.id, shard, words, spec });
    }
  }
  const brng = root.fork('babble');
  const babbleVoices = planSpeakers(8, seed ^ 0x5bd1e995);
  const babble = babbleVoices.map((v) => ({
    words: lmText[brng.int(lmText.length)].split(' '),
    voice: { voice: v.voice, rate: v.rate, pitch: v.pitch, pitchRange: v.pitchRange },
  }));
  const hash = createHash('sha256').update(JSON.stringify({ preset, seed, speakers, utterances, babble })).digest('hex').slice(0, 16);
  return { preset, seed, speakers, utterances, babble, textDir, hash };
}

/** What a worker writes per utterance (.work/<id>.json); `skipped` when espeak's events could not be aligned. */
export interface UtteranceRecord {
  id: string;
  recording?: Recording;
  supervision?: Supervision;
  alignment?: Alignment;
  prons?: string[][];
  skipped?: string;
}

const WORK = '.work';
export function wavRelPath(u: PlannedUtterance): string {
  return `wav/${u.speaker}/${u.id}.wav`;
}

/** Synthesise babble sources once per process (deterministic: fixed voices and sentences). */
export function buildBabblePool(plan: CorpusPlan): Float32Array[] {
  const es = getEspeak();
  return plan.babble.map((b) => {
    const r = es.synth(textForEspeak(b.words), b.voice);
    const x = new Float32Array(r.samples.length);
    for (let i = 0; i < x.length; i++) x[i] = r.samples[i] / 32768;
    return resample(x, r.sampleRateHz, OUTPUT_RATE_HZ);
  });
}

/** Synthesise and write one planned utterance (wav + record), atomically. */
export function runUtterance(outDir: string, u: PlannedUtterance, babblePool: readonly Float32Array[]): UtteranceRecord {
  let rec: UtteranceRecord;
  try {
    const s = synthesiseUtterance(getEspeak(), u.spec, { outputRateHz: OUTPUT_RATE_HZ, babblePool });
    const path = wavRelPath(u);
    writeFileAtomic(join(outDir, path), encodeWav(s.samples, OUTPUT_RATE_HZ, { bitDepth: 16 }));
    const durationSec = s.samples.length / OUTPUT_RATE_HZ;
    rec = {
      id: u.id,
      recording: {
        id: u.id,
        path,
        sampleRateHz: OUTPUT_RATE_HZ,
        numSamples: s.samples.length,
        numChannels: 1,
        speaker: u.speaker,
        meta: { voice: u.spec.voice, condition: u.spec.condition, leadSec: u.spec.leadSec, tailSec: u.spec.tailSec },
      },
      supervision: { id: u.id, recordingId: u.id, startSec: 0, durationSec, text: u.words.join(' '), speaker: u.speaker },
      alignment: toSecondsAlignment(u.id, u.id, s.alignment, OUTPUT_RATE_HZ),
      prons: s.prons,
    };
  } catch (e) {
    if (!(e instanceof AlignmentError)) throw e;
    rec = { id: u.id, skipped: e.message };
  }
  writeJsonAtomic(join(outDir, WORK, `${u.id}.json`), rec);
  return rec;
}

export interface SynthOptions {
  preset: Preset | keyof typeof PRESETS;
  seed?: number;
  outDir: string;
  /** Worker processes at a time (default: number of CPUs). */
  jobs?: number;
  textDir?: string;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export interface SynthSummary {
  outDir: string;
  preset: string;
  seed: number;
  utterances: number;
  skipped: number;
  resumed: number;
  speakers: number;
  hours: number;
  wallSec: number;
  vocabulary: number;
  phones: number;
}

/** node flags for a worker: this process's (so it resolves modules the same way), plus tsx when run from sources without it. */
export function workerExecArgv(): string[] {
  const argv = [...process.execArgv];
  const fromSource = import.meta.url.endsWith('.ts');
  const hasLoader = argv.some((a, i) => /tsx/.test(a) || ((a === '--import' || a === '--loader') && /tsx/.test(argv[i + 1] ?? '')));
  if (fromSource && !hasLoader) {
    // Under vitest the parent transforms TS itself; the child needs tsx to load the worker's .ts source.
    argv.push('--import', createRequire(import.meta.url).resolve('tsx'));
  }
  if (fromSource && !argv.some((a) => a.includes('@kdasr/source'))) argv.push('--conditions=@kdasr/source');
  return argv;
}

export async function synthCorpus(opts: SynthOptions): Promise<SynthSummary> {
  const t0 = Date.now();
  const preset = typeof opts.preset === 'string' ? PRESETS[opts.preset] : opts.preset;
  if (!preset) throw new Error(`unknown preset "${String(opts.preset)}"; choose one of ${Object.keys(PRESETS).join(', ')}`);
  const seed = opts.seed ?? 1;
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const plan = planCorpus(preset, seed, opts.textDir);
  const outDir = opts.outDir;
  mkdirSync(join(outDir, WORK), { recursive: true });
  const planFile = join(outDir, WORK, 'plan.json');
  if (existsSync(planFile)) {
    const old = JSON.parse(readFileSync(planFile, 'utf8')) as { hash: string; preset: string; seed: number };
    if (old.hash !== plan.hash)
      throw new Error(
        `${outDir} holds a different corpus (preset ${old.preset}, seed ${old.seed}, plan ${old.hash}); this run is preset ${preset.name}, seed ${seed} (plan ${plan.hash}). Fix: use another --out or delete ${outDir}`,
      );
  } else writeJsonAtomic(planFile, { hash: plan.hash, preset: preset.name, seed });

  const todo = plan.utterances.filter((u) => !isDone(outDir, u));
  const resumed = plan.utterances.length - todo.length;
  const shards = [...new Set(todo.map((u) => u.shard))];
  const jobs = Math.max(1, Math.min(opts.jobs ?? cpus().length, shards.length));
  log(
    `corpus synth: preset ${preset.name}, seed ${seed}, ${plan.utterances.length} utterances from ${plan.speakers.length} voices; ${resumed} already done, ${todo.length} to go on ${jobs} process(es)`,
  );

  // The shared progress module, writing its plain lines through `log` (the caller's sink).
  const bar = new Logger('corpus synth', { sink: { write: (chunk: string) => log(chunk.replace(/\n$/, '')) } }).progress(todo.length, { unit: 'utterances', rateUnit: 'utt', plainIntervalMs: 2000 });
  let audioSec = 0;
  const progress = (durSec: number) => {
    audioSec += durSec;
    bar.tick(1, 0, `${(audioSec / 3600).toFixed(2)} h of audio`);
  };
  if (shards.length > 0) await runWorkers(outDir, plan, shards, jobs, progress);
  const summary = finalise(outDir, plan, resumed, t0);
  log(
    `corpus synth: wrote ${summary.utterances} utterances (${summary.skipped} skipped), ${summary.hours.toFixed(3)} h, ${summary.speakers} voices, ${summary.vocabulary} words, ${summary.phones} phones in ${formatDuration(summary.wallSec)} -> ${outDir}`,
  );
  return summary;
}

/** An utterance is done when its record exists and (unless it was skipped) its wav too. */
export function isDone(outDir: string, u: PlannedUtterance): boolean {
  const file = join(outDir, WORK, `${u.id}.json`);
  if (!existsSync(file)) return false;
  try {
    const rec = JSON.parse(readFileSync(file, 'utf8')) as UtteranceRecord;
    return Boolean(rec.skipped) || existsSync(join(outDir, wavRelPath(u)));
  } catch {
    return false;
  }
}

export interface WorkerRequest {
  outDir: string;
  preset: Preset;
  seed: number;
  textDir: string;
  /** The shard whose utterances this process synthesises, in plan order. */
  shard: number;
}
export type WorkerMessage = { type: 'done'; id: string; durationSec: number } | { type: 'error'; message: string } | { type: 'finished' };

/**
 * One fresh process per shard (a fixed group of speakers), at most `jobs` at a time. A fresh process per shard makes the
 * audio independent of --jobs and of resuming: espeak's hidden state only ever carries over within one
 * shard's utterances, which are always synthesised in the same order (done ones are re-synthesised
 * without writing, to reproduce that state).
 */
async function runWorkers(outDir: string, plan: CorpusPlan, shards: number[], jobs: number, progress: (durSec: number) => void): Promise<void> {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const script = fileURLToPath(new URL(`./synth-worker.${ext}`, import.meta.url));
  const execArgv = workerExecArgv();
  const queue = [...shards];
  const runShard = (shard: number) =>
    new Promise<void>((resolve, reject) => {
      const child = fork(script, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      let failed: string | null = null;
      let ok = false;
      child.on('message', (m: WorkerMessage) => {
        if (m.type === 'done') progress(m.durationSec);
        else if (m.type === 'error') failed = m.message;
        else if (m.type === 'finished') ok = true;
      });
      child.on('error', (e) => reject(new Error(`corpus synth worker for shard ${shard} could not start: ${e.message}`)));
      child.on('exit', (code, signal) => {
        if (ok && code === 0) resolve();
        else reject(new Error(`corpus synth worker for shard ${shard} failed (exit ${code ?? signal}): ${failed ?? 'no message'}; rerun the same command to resume`));
      });
      const req: WorkerRequest = { outDir, preset: plan.preset, seed: plan.seed, textDir: plan.textDir, shard };
      child.send(req);
    });
  const lane = async () => {
    for (let s = queue.shift(); s !== undefined; s = queue.shift()) await runShard(s);
  };
  await Promise.all(Array.from({ length: jobs }, lane));
}

/** Merge the per-utterance records (in plan order) into manifests, lexicon, phone set and splits. */
function finalise(outDir: string, plan: CorpusPlan, resumed: number, t0: number): SynthSummary {
  const recordings: Recording[] = [];
  const supervisions: Supervision[] = [];
  const alignments: Alignment[] = [];
  const lexicon = new Lexicon();
  let skipped = 0;
  for (const u of plan.utterances) {
    const file = join(outDir, WORK, `${u.id}.json`);
    if (!existsSync(file)) throw new Error(`${file} is missing after synthesis; rerun the command to resume`);
    const rec = JSON.parse(readFileSync(file, 'utf8')) as UtteranceRecord;
    if (rec.skipped) {
      skipped++;
      continue;
    }
    recordings.push(rec.recording!);
    supervisions.push(rec.supervision!);
    alignments.push(rec.alignment!);
    rec.prons!.forEach((p, i) => lexicon.add(u.words[i], p));
  }
  const phoneSet = buildPhoneSet(alignments.flatMap((a) => a.phones.map((p) => p.phone)));
  writeJsonl(join(outDir, MANIFEST_FILES.recordings), recordings, RecordingSchema);
  writeJsonl(join(outDir, MANIFEST_FILES.supervisions), supervisions, SupervisionSchema);
  writeJsonl(join(outDir, MANIFEST_FILES.alignments), alignments, AlignmentSchema);
  writeLexiconJsonl(join(outDir, MANIFEST_FILES.lexicon), lexicon);
  writeLexiconTxt(join(outDir, MANIFEST_FILES.lexiconTxt), lexicon);
  writePhonesJsonl(join(outDir, MANIFEST_FILES.phones), phoneSet);
  writeFileAtomic(join(outDir, 'phones.txt'), formatPhonesTxt(phoneSet));
  writeFileAtomic(join(outDir, 'speakers.jsonl'), plan.speakers.map((s) => JSON.stringify(s)).join('\n') + '\n');
  const speakersWithAudio = [...new Set(recordings.map((r) => r.speaker))];
  writeSplits(join(outDir, MANIFEST_FILES.splits), splitBySpeaker(speakersWithAudio, { seed: plan.seed, dev: plan.preset.devSpeakers, test: plan.preset.testSpeakers }));
  const lmSrc = join(plan.textDir, LM_TEXT_FILE);
  if (existsSync(lmSrc)) copyFileSync(lmSrc, join(outDir, 'lm-text.txt'));
  const hours = recordings.reduce((s, r) => s + r.numSamples / r.sampleRateHz, 0) / 3600;
  const summary: SynthSummary = {
    outDir,
    preset: plan.preset.name,
    seed: plan.seed,
    utterances: recordings.length,
    skipped,
    resumed,
    speakers: speakersWithAudio.length,
    hours,
    wallSec: (Date.now() - t0) / 1000,
    vocabulary: lexicon.size,
    phones: phoneSet.length,
  };
  writeJsonAtomic(join(outDir, 'corpus.json'), { kind: 'synthetic-espeak-ng', plan: plan.hash, conditions: plan.preset.conditions, ...summary, provenance: provenance({ backend: 'none' }) });
  return summary;
}
