import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger, Rng, lockDirectory } from '@kdasr/core';
import {
  FeatureArchive,
  FeatureArchiveWriter,
  FeatureExtractor,
  featuresFromSource,
  kaldiPipeCommand,
  parsePipelineConfig,
  writeKaldiFeatureDir,
  type AudioSource,
  type FeaturePipelineConfig,
} from '@kdasr/audio-features';
import { CorpusError, corpusSegments } from '@kdasr/corpus';
import { CliError, parseCommandArgs } from '../args.js';
import type { Command } from './registry.js';

const help = `usage: kdasr features (--input LIST | --corpus DIR [--split NAME] | --manifest FILE) --out DIR
                      [--config FILE] [--jobs N] [--strict | --max-failures N] [--seed N] [--kaldi]
       kdasr features dump --archive DIR [--id ID] --npy FILE

Compute Kaldi-compatible features (fbank by default: 40 bins, 25/10 ms, povey window, dither 0) and append them
to the feature archive in DIR (feats.bin + index.json). Utterances already in the archive are skipped, so an
interrupted run resumes where it stopped.

inputs (one of):
  --input LIST     lines \`id path\` or \`id command |\` (a Kaldi wav.scp: a line ending in "|" is run with
                   /bin/sh -c and the WAV read from its stdout), or JSONL {"id": ..., "path": ...} per line.
                   Relative paths are relative to the current directory.
  --corpus DIR     a kdasr corpus (recordings.jsonl + supervisions.jsonl, e.g. from kdasr corpus kaldi):
                   one feature matrix per supervision, cut from its recording as Kaldi's extract-segments does
                   (sample = trunc(time x rate)); recordings may be files or commands
  --split NAME     with --corpus, as train/align/decode take it: DIR/NAME/ when it holds manifests (FSDD's
                   connected/train), else the speakers DIR/splits.json lists under NAME; all = everything
  --manifest FILE  a supervisions.jsonl (its directory holds recordings.jsonl), instead of --corpus

options:
  --config FILE    JSON pipeline config {"kind": "fbank"|"mfcc", "options": {...}, "waveformScale": 32768,
                   "targetSampleRateHz": N, "channel": 0|"mix", "deltas": {"order": 2, "window": 2}}, or bare
                   fbank options (our names, torchaudio's like num_mel_bins, or Kaldi's like num-mel-bins)
  --jobs N         worker processes (default: available cores, at most 8)
  --seed N         seed for dither noise, forked per utterance id (default 0; only used when dither > 0)
  --kaldi          also write Kaldi files into DIR: feats.ark + feats.scp (binary float matrices) and
                   per-speaker cmvn.ark + cmvn.scp (compute-cmvn-stats; with --input each utterance is its own
                   speaker). train/align/decode/eval read --feats DIR/feats.scp as well as DIR.

failures and exit status:
  An unreadable file or failing command is reported on stderr, skipped, and the run carries on. As Kaldi's
  tools ("Done N out of M"), the exit status is 1 when utterances were to be computed and none succeeded,
  and 0 otherwise, unless:
  --max-failures N exit 1 when more than N utterances failed (all others are still computed)
  --strict         stop at the first failure and exit 1 (= --max-failures 0, stopping early)

dump:
  --archive DIR    a feature archive, or a Kaldi feats.scp, .ark or data dir with feats.scp
  --id ID          the utterance to export; without it, the whole archive as one stacked [rows, cols] .npy
                   plus FILE.json mapping id -> [firstRow, rows]
  --npy FILE       output .npy ('<f4', NPY v1.0)`;

interface Job {
  id: string;
  source: AudioSource;
  segment?: { startSec: number; endSec: number };
  channel?: number;
  speaker?: string;
}

type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; id: string; rows: number; cols: number; data: Float32Array; durationSec: number; sampleRateHz: number }
  | { type: 'failed'; id: string; message: string };

type ToWorker = { type: 'init'; config: FeaturePipelineConfig; seed: number } | { type: 'job'; job: Job } | { type: 'exit' };

/** Parse an `id path` / `id command |` list (a Kaldi wav.scp) or a JSONL list of {id, path}. */
export function readUtteranceList(file: string): Job[] {
  let text: string;
  try {
    if (statSync(file).isDirectory()) throw new Error('is a directory; give a list file (id path lines or JSONL), or a corpus with --corpus DIR');
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`features: cannot read --input ${file}: ${(e as Error).message}`);
  }
  const jobs: Job[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line || line.startsWith('#')) continue;
    let id: string;
    let path: string;
    if (line.startsWith('{')) {
      let o: { id?: unknown; path?: unknown };
      try {
        o = JSON.parse(line) as typeof o;
      } catch (e) {
        throw new CliError(`features: ${file}:${i + 1}: invalid JSON (${(e as Error).message})`);
      }
      if (typeof o.id !== 'string' || typeof o.path !== 'string') throw new CliError(`features: ${file}:${i + 1}: expected {"id": string, "path": string}`);
      ({ id, path } = o as { id: string; path: string });
    } else {
      const m = /^(\S+)\s+(.+)$/.exec(line);
      if (!m) throw new CliError(`features: ${file}:${i + 1}: expected "id path", got "${line.slice(0, 80)}"`);
      [, id, path] = m;
    }
    if (seen.has(id)) throw new CliError(`features: ${file}:${i + 1}: utterance id "${id}" appears twice`);
    seen.add(id);
    const command = kaldiPipeCommand(path);
    jobs.push({ id, source: command !== null ? { type: 'command', command } : { type: 'file', path: resolve(path) } });
  }
  return jobs;
}

/** Jobs of a corpus split (readCorpusSplit's naming, as train/align/decode): one per supervision, segments cut Kaldi's way. */
function corpusJobs(input: { corpus?: string; split?: string; manifest?: string }): Job[] {
  try {
    return corpusSegments(input);
  } catch (e) {
    if (e instanceof CorpusError) throw new CliError(`features: ${e.message}`);
    throw e;
  }
}

/** @kdasr/core's progress line (redrawn on a TTY, plain lines otherwise, JSON with --log-json). */
class Progress {
  private readonly logger = new Logger('features');
  private readonly p;
  constructor(total: number) {
    this.p = this.logger.progress(total, { unit: 'utterances', rateUnit: 'utt' });
  }

  update(done: number, failed: number): void {
    this.p.update(done, failed);
  }

  breakLine(): void {
    this.logger.breakLine();
  }

  end(): void {
    this.p.end();
  }
}

function loadConfig(file: string | undefined): FeaturePipelineConfig {
  if (!file) return parsePipelineConfig({});
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(`features: cannot read --config ${file}: ${(e as Error).message}`);
  }
  try {
    return parsePipelineConfig(raw);
  } catch (e) {
    throw new CliError(`features: --config ${file}: ${(e as Error).message}`);
  }
}

/** Worker side: compute features for each job the parent sends, send them back. */
function runWorker(): void {
  let extractor: FeatureExtractor | null = null;
  let seed = 0;
  const send = (m: FromWorker) => process.send!(m);
  process.on('message', (m: ToWorker) => {
    if (m.type === 'init') {
      extractor = new FeatureExtractor(m.config);
      seed = m.seed;
      send({ type: 'ready' });
    } else if (m.type === 'job') {
      try {
        const j = m.job;
        const r = featuresFromSource(extractor!, j.source, { what: `utterance ${j.id}`, segment: j.segment, channel: j.channel, rng: new Rng(seed).fork(j.id) });
        send({ type: 'done', id: m.job.id, rows: r.features.numFrames, cols: r.features.numCols, data: r.features.data, durationSec: r.durationSec, sampleRateHz: r.sampleRateHz });
      } catch (e) {
        send({ type: 'failed', id: m.job.id, message: e instanceof Error ? e.message : String(e) });
      }
    } else if (m.type === 'exit') {
      process.disconnect();
    }
  });
}

if (process.env.KDASR_FEATURES_WORKER === '1' && process.send) runWorker();

interface ExtractFlags {
  input?: string;
  corpus?: string;
  split?: string;
  manifest?: string;
  out?: string;
  config?: string;
  jobs?: string;
  strict?: boolean;
  seed?: string;
  kaldi?: boolean;
  'max-failures'?: string;
}

async function extract(values: ExtractFlags): Promise<number> {
  const inputs = [values.input, values.corpus, values.manifest].filter((x) => x !== undefined);
  if (inputs.length !== 1 || !values.out) throw new CliError(`features: give one of --input, --corpus and --manifest, and --out\n\n${help}`);
  if (values.split !== undefined && values.corpus === undefined) throw new CliError('features: --split goes with --corpus');
  lockDirectory(values.out, { command: ['kdasr', 'features', ...Object.entries(values).flatMap(([k, v]) => (v === true ? [`--${k}`] : [`--${k}`, String(v)]))].join(' ') }); // one writer per --out; released at exit
  const config = loadConfig(values.config);
  const jobsN = values.jobs === undefined ? Math.min(8, availableParallelism()) : Number(values.jobs);
  if (!Number.isInteger(jobsN) || jobsN < 1) throw new CliError(`features: --jobs must be a positive integer, got ${values.jobs}`);
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new CliError(`features: --seed must be a non-negative integer, got ${values.seed}`);
  const maxFailures = values['max-failures'] === undefined ? (values.strict ? 0 : Infinity) : Number(values['max-failures']);
  if (!(Number.isInteger(maxFailures) || maxFailures === Infinity) || maxFailures < 0)
    throw new CliError(`features: --max-failures must be a non-negative integer, got ${values['max-failures']}`);
  const all = values.input !== undefined ? readUtteranceList(values.input) : corpusJobs({ corpus: values.corpus, split: values.split, manifest: values.manifest });
  let writer: FeatureArchiveWriter;
  try {
    writer = FeatureArchiveWriter.open(values.out, { config, commitEvery: 100 });
  } catch (e) {
    throw new CliError(`features: ${(e as Error).message}`);
  }
  const todo = all.filter((j) => !writer.has(j.id));
  const skipped = all.length - todo.length;
  if (skipped) process.stderr.write(`features: ${skipped} of ${all.length} utterances already in ${values.out}, resuming\n`);

  const t0 = performance.now();
  let frames = 0;
  let seconds = 0;
  let done = 0;
  const failures: Array<{ id: string; message: string }> = [];
  const progress = new Progress(todo.length);
  let next = 0;
  let fatal: Error | null = null;
  const workers: ChildProcess[] = [];
  const nWorkers = Math.max(1, Math.min(jobsN, todo.length));
  const self = fileURLToPath(import.meta.url);

  const onSigint = () => {
    writer.close();
    process.stderr.write(`\nfeatures: interrupted; ${done} utterances committed to ${values.out} (rerun to resume)\n`);
    process.exit(130);
  };
  process.once('SIGINT', onSigint);

  try {
    if (todo.length > 0) {
      await new Promise<void>((resolveAll, rejectAll) => {
        let live = nWorkers;
        const finishWorker = () => {
          if (--live === 0) resolveAll();
        };
        const feed = (w: ChildProcess) => {
          if (fatal || next >= todo.length) {
            w.send({ type: 'exit' } satisfies ToWorker);
            return;
          }
          w.send({ type: 'job', job: todo[next++] } satisfies ToWorker);
        };
        for (let i = 0; i < nWorkers; i++) {
          // Same node flags as this process (tsx loader, @kdasr/source condition), so the worker runs the sources too.
          const w = fork(self, [], { execArgv: process.execArgv, env: { ...process.env, KDASR_FEATURES_WORKER: '1' }, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
          workers.push(w);
          let current = 0;
          w.on('message', (m: FromWorker) => {
            if (m.type === 'ready') {
              feed(w);
              return;
            }
            current++;
            if (m.type === 'done') {
              writer.append(m.id, { data: m.data, numFrames: m.rows, numCols: m.cols }, { durationSec: m.durationSec, sampleRateHz: m.sampleRateHz });
              frames += m.rows;
              seconds += m.durationSec;
            } else {
              failures.push({ id: m.id, message: m.message });
              progress.breakLine();
              process.stderr.write(`features: skipped ${m.id}: ${m.message}\n`);
              if (values.strict) fatal = new Error(`--strict: ${m.id}: ${m.message}`);
            }
            done++;
            progress.update(done, failures.length);
            feed(w);
          });
          w.on('error', (e) => rejectAll(new Error(`features: worker failed: ${e.message}`)));
          w.on('exit', (code, signal) => {
            if (code !== 0 && !fatal && next < todo.length)
              rejectAll(new Error(`features: a worker exited unexpectedly (${signal ?? `code ${code}`}) after ${current} utterances`));
            finishWorker();
          });
          w.send({ type: 'init', config, seed } satisfies ToWorker);
        }
      });
    }
  } finally {
    for (const w of workers) if (w.exitCode === null) w.kill();
    process.removeListener('SIGINT', onSigint);
    writer.close();
    progress.update(done, failures.length);
    progress.end();
  }
  const wall = (performance.now() - t0) / 1000;
  const rtf = seconds > 0 ? wall / seconds : 0;
  console.log(
    `features: ${done - failures.length} utterances computed, ${skipped} already present, ${frames} frames, ${seconds.toFixed(1)} s of audio in ${wall.toFixed(1)} s (real-time factor ${rtf.toFixed(4)}, ${nWorkers} workers), ${failures.length} failures -> ${values.out}`,
  );
  if (values.kaldi) writeKaldiCopy(values.out, all);
  if (fatal) {
    console.error(`kdasr features: ${(fatal as Error).message}`);
    return 1;
  }
  return exitStatus(todo.length, failures.length, maxFailures);
}

/**
 * Kaldi's convention ("Done N out of M", exit status 0 when any succeeded), tightened by --max-failures.
 * A run with nothing left to do (everything already in the archive) succeeds.
 */
function exitStatus(todo: number, failed: number, maxFailures: number): number {
  if (todo > 0 && failed === todo) {
    console.error(`kdasr features: none of the ${todo} utterances could be computed (see the reasons above)`);
    return 1;
  }
  if (failed > maxFailures) {
    console.error(`kdasr features: ${failed} of ${todo} utterances failed, more than --max-failures ${maxFailures}`);
    return 1;
  }
  return 0;
}

/** Kaldi feats.ark/scp and per-speaker cmvn.ark/scp of the listed utterances present in the archive, in list order. */
function writeKaldiCopy(dir: string, jobs: Job[]): void {
  const a = FeatureArchive.open(dir);
  try {
    const present = jobs.filter((j) => a.has(j.id));
    const utt2spk = new Map(present.map((j) => [j.id, j.speaker ?? j.id]));
    const n = writeKaldiFeatureDir(dir, (function* () {
      for (const j of present) yield { id: j.id, features: a.get(j.id) };
    })(), { utt2spk });
    console.log(`features: Kaldi copy: ${n.utterances} utterances -> ${join(dir, 'feats.scp')}, ${n.speakers} speakers -> ${join(dir, 'cmvn.scp')}`);
  } finally {
    a.close();
  }
}

function dump(argv: string[]): number {
  const { values, positionals } = parseCommandArgs('features dump', argv, { archive: { type: 'string' }, id: { type: 'string' }, npy: { type: 'string' } }, help);
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (positionals.length) throw new CliError(`features dump: unexpected argument "${positionals[0]}"\n\n${help}`);
  if (!values.archive || !values.npy) throw new CliError(`features dump: --archive and --npy are required\n\n${help}`);
  if (!existsSync(values.archive.replace(/^(scp|ark):/, ''))) throw new CliError(`features dump: ${values.archive} does not exist`);
  let a: FeatureArchive;
  try {
    // A kdasr archive, or a Kaldi feats.scp / ark / data dir.
    a = FeatureArchive.open(values.archive);
  } catch (e) {
    throw new CliError(`features dump: ${(e as Error).message}`);
  }
  try {
    if (values.id !== undefined) {
      if (!a.has(values.id)) throw new CliError(`features dump: no utterance "${values.id}" in ${values.archive} (${a.size} utterances)`);
      a.exportNpy(values.id, values.npy);
      const e = a.entry(values.id);
      console.log(`features dump: ${values.id} [${e.rows}, ${e.cols}] -> ${values.npy}`);
    } else {
      a.exportAllNpy(values.npy);
      console.log(`features dump: ${a.size} utterances -> ${values.npy} (+ ${values.npy}.json)`);
    }
  } finally {
    a.close();
  }
  return 0;
}

export const command: Command = {
  name: 'features',
  summary: 'compute fbank/MFCC features for a list of WAVs into an archive (dump: export .npy)',
  async run(argv) {
    if (argv[0] === 'dump') return dump(argv.slice(1));
    const { values, positionals } = parseCommandArgs(
      'features',
      argv,
      {
        input: { type: 'string' },
        corpus: { type: 'string' },
        split: { type: 'string' },
        manifest: { type: 'string' },
        out: { type: 'string' },
        kaldi: { type: 'boolean' },
        'max-failures': { type: 'string' },
        config: { type: 'string' },
        jobs: { type: 'string' },
        strict: { type: 'boolean' },
        seed: { type: 'string' },
      },
      help,
    );
    if (values.help) {
      console.log(help);
      return 0;
    }
    if (positionals.length) throw new CliError(`features: unexpected argument "${positionals[0]}"\n\n${help}`);
    return extract(values);
  },
};
