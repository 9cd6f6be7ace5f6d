import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger, Rng } from '@kdasr/core';
import { lockDirectory } from '@kdasr/core';
import { FeatureArchive, FeatureArchiveWriter, FeatureExtractor, parsePipelineConfig, type FeaturePipelineConfig } from '@kdasr/audio-features';
import { CliError, parseCommandArgs } from '../args.js';
import type { Command } from './registry.js';

const help = `usage: kdasr features --input LIST --out DIR [--config FILE] [--jobs N] [--strict] [--seed N]
       kdasr features dump --archive DIR [--id ID] --npy FILE

Compute Kaldi-compatible features (fbank by default: 40 bins, 25/10 ms, povey window, dither 0) for every
WAV in LIST and append them to the feature archive in DIR (feats.bin + index.json). Utterances already in
the archive are skipped, so an interrupted run resumes where it stopped.

LIST: lines \`id path\` (Kaldi wav.scp style; relative paths are relative to the current directory), or JSONL
with one {"id": ..., "path": ...} object per line.

options:
  --config FILE  JSON pipeline config {"kind": "fbank"|"mfcc", "options": {...}, "waveformScale": 32768,
                 "targetSampleRateHz": N, "channel": 0|"mix", "deltas": {"order": 2, "window": 2}}, or bare fbank
                 options (our names, torchaudio's like num_mel_bins, or Kaldi's like num-mel-bins)
  --jobs N       worker processes (default: available cores, at most 8)
  --strict       stop at the first unreadable or corrupt file (default: report it, skip it, carry on)
  --seed N       seed for dither noise, forked per utterance id (default 0; only used when dither > 0)

dump:
  --archive DIR  a feature archive
  --id ID        the utterance to export; without it, the whole archive as one stacked [rows, cols] .npy
                 plus FILE.json mapping id -> [firstRow, rows]
  --npy FILE     output .npy ('<f4', NPY v1.0)`;

interface Job {
  id: string;
  path: string;
}

type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; id: string; rows: number; cols: number; data: Float32Array; durationSec: number; sampleRateHz: number }
  | { type: 'failed'; id: string; message: string };

type ToWorker = { type: 'init'; config: FeaturePipelineConfig; seed: number } | { type: 'job'; job: Job } | { type: 'exit' };

/** Parse a `id path` list or a JSONL list of {id, path}. */
export function readUtteranceList(file: string): Job[] {
  let text: string;
  try {
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
      ({ id, path } = o as Job);
    } else {
      const m = /^(\S+)\s+(.+)$/.exec(line);
      if (!m) throw new CliError(`features: ${file}:${i + 1}: expected "id path", got "${line.slice(0, 80)}"`);
      [, id, path] = m;
    }
    if (seen.has(id)) throw new CliError(`features: ${file}:${i + 1}: utterance id "${id}" appears twice`);
    seen.add(id);
    jobs.push({ id, path: resolve(path) });
  }
  return jobs;
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
        const r = extractor!.fromFile(m.job.path, { rng: new Rng(seed).fork(m.job.id) });
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

async function extract(values: { input?: string; out?: string; config?: string; jobs?: string; strict?: boolean; seed?: string }): Promise<number> {
  if (!values.input || !values.out) throw new CliError(`features: --input and --out are both required\n\n${help}`);
  lockDirectory(values.out, { command: `kdasr features --input ${values.input} --out ${values.out}` }); // one writer per --out; released at exit
  const config = loadConfig(values.config);
  const jobsN = values.jobs === undefined ? Math.min(8, availableParallelism()) : Number(values.jobs);
  if (!Number.isInteger(jobsN) || jobsN < 1) throw new CliError(`features: --jobs must be a positive integer, got ${values.jobs}`);
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new CliError(`features: --seed must be a non-negative integer, got ${values.seed}`);
  const all = readUtteranceList(values.input);
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
  if (fatal) {
    console.error(`kdasr features: ${(fatal as Error).message}`);
    return 1;
  }
  return 0;
}

function dump(argv: string[]): number {
  const { values, positionals } = parseCommandArgs('features dump', argv, { archive: { type: 'string' }, id: { type: 'string' }, npy: { type: 'string' } }, help);
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (positionals.length) throw new CliError(`features dump: unexpected argument "${positionals[0]}"\n\n${help}`);
  if (!values.archive || !values.npy) throw new CliError(`features dump: --archive and --npy are required\n\n${help}`);
  if (!existsSync(values.archive) || !FeatureArchive.exists(values.archive)) throw new CliError(`features dump: ${values.archive} is not a feature archive (no index.json)`);
  const a = FeatureArchive.open(values.archive);
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
        out: { type: 'string' },
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
