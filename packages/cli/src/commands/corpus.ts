import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import {
  CorpusError,
  DEFAULT_FSDD_DIR,
  PRESETS,
  formatProblem,
  importFsdd,
  importKaldiDir,
  importLibriSpeech,
  synthCorpus,
  validateCorpus,
  writeTextSources,
  DEFAULT_TEXT_DIR,
  LHOTSE_FILES,
  exportLhotse,
  findLhotseManifests,
  importLhotse,
} from '@kdasr/corpus';
import { CliError, parseCommandArgs } from '../args.js';
import type { Command } from './registry.js';
import { lockDirectory } from '@kdasr/core';

const HELP = `usage: kdasr corpus <subcommand> [options]

  synth --preset tiny|small|medium --out DIR [--seed S] [--jobs N]
        Synthesise a read-speech corpus with espeak-ng (≈100 voices, noise and reverberation, 16 kHz) with
        exact phone and word alignments, lexicon, phone set and speaker-disjoint splits. One process per
        job; progress and ETA on stderr; rerun the same command to resume. Deterministic for a seed.
        tiny: 12 utterances (tests); small: ≈1 h, 60 voices, 1,260 utterances; medium: ≈10 h, 200 voices, 12,400 utterances.
  fsdd --out DIR [--src DIR] [--seed S]
        Import the Free Spoken Digit Dataset (default --src: shared/data/fsdd beside the repository, i.e.
        ../shared/data/fsdd from its root): isolated digits with the official split (take 0-4 test, 5-49 train)
        and connected-digit utterances with word boundaries.
  kaldi --src DATADIR --out DIR        import a Kaldi data dir: wav.scp (wav paths, or commands ending in "|",
                                       run with /bin/sh -c as Kaldi does), text, utt2spk, [segments]
  export-lhotse DIR --out D            write D/recordings.jsonl.gz and D/supervisions.jsonl.gz in lhotse's schema
                                       (file/command sources; word and phone alignments under "alignment")
  import-lhotse SRC --out DIR          read lhotse manifests (.jsonl.gz, .jsonl or a .json array): SRC is a
        [--recordings F --supervisions F]  directory with one *recordings* and one *supervisions* file, or give both
  librispeech --src ROOT --out DIR [--no-flac]
                                       import a LibriSpeech-style tree (FLAC is converted with sox when installed;
                                       --no-flac: report FLAC files instead of converting them)
  validate DIR [--rate HZ] [--no-audio]  list every problem in a corpus directory (exit 1 if any)
  text [--dir DIR]                     regenerate prompts.txt and lm-heldout.txt from grammar.txt (data/corpus-text)`;

function int(name: string, v: string | undefined, dflt: number, min = 0): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new CliError(`corpus: --${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

function need(sub: string, name: string, v: string | undefined): string {
  if (!v) throw new CliError(`corpus ${sub}: --${name} is required\n\n${HELP}`);
  return v;
}

/** Import errors list every problem; print them one per line and exit 1 (not a usage error). */
async function reportingProblems(f: () => Promise<number> | number): Promise<number> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof CorpusError) {
      console.error(`kdasr corpus: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

export const command: Command = {
  name: 'corpus',
  summary: 'build speech corpora: espeak-ng synthesis with alignments, FSDD, Kaldi/LibriSpeech import, validate',
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseCommandArgs(
      'corpus',
      argv,
      {
        preset: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        jobs: { type: 'string' },
        src: { type: 'string' },
        rate: { type: 'string' },
        dir: { type: 'string' },
        'no-audio': { type: 'boolean' },
        'no-flac': { type: 'boolean' },
        recordings: { type: 'string' },
        supervisions: { type: 'string' },
      },
      HELP,
    );
    const [sub, ...rest] = positionals;
    if (values.help || !sub) {
      console.log(HELP);
      return values.help ? 0 : 2;
    }
    if (values.out) lockDirectory(values.out, { command: ['kdasr', 'corpus', ...argv].join(' ') }); // one writer per --out; released at exit
    switch (sub) {
      case 'synth': {
        const preset = need(sub, 'preset', values.preset);
        if (!PRESETS[preset]) throw new CliError(`corpus synth: --preset is "${preset}"; expected one of ${Object.keys(PRESETS).join(', ')}`);
        const out = resolve(need(sub, 'out', values.out));
        const s = await synthCorpus({
          preset,
          seed: int('seed', values.seed, 1),
          outDir: out,
          jobs: int('jobs', values.jobs, availableParallelism(), 1),
        });
        console.log(JSON.stringify(s, null, 2));
        return 0;
      }
      case 'fsdd':
        return reportingProblems(() => {
          const s = importFsdd({ src: resolve(values.src ?? DEFAULT_FSDD_DIR), outDir: resolve(need(sub, 'out', values.out)), seed: int('seed', values.seed, 1) });
          console.log(JSON.stringify(s, null, 2));
          return 0;
        });
      case 'kaldi':
        return reportingProblems(() => {
          const r = importKaldiDir(resolve(need(sub, 'src', values.src)), resolve(need(sub, 'out', values.out)));
          console.log(`imported ${r.recordings.length} recordings, ${r.supervisions.length} supervisions -> ${values.out}`);
          return 0;
        });
      case 'export-lhotse':
        return reportingProblems(() => {
          const dir = rest[0] ?? values.src;
          if (!dir) throw new CliError(`corpus export-lhotse: give the corpus directory\n\n${HELP}`);
          const out = resolve(need(sub, 'out', values.out));
          const n = exportLhotse(resolve(dir), out);
          console.log(`exported ${n.recordings} recordings, ${n.supervisions} supervisions (${n.alignments} with alignments) -> ${join(out, LHOTSE_FILES.recordings)}, ${join(out, LHOTSE_FILES.supervisions)}`);
          return 0;
        });
      case 'import-lhotse':
        return reportingProblems(() => {
          const src = rest[0] ?? values.src;
          if (!src === !(values.recordings && values.supervisions))
            throw new CliError(`corpus import-lhotse: give a directory of lhotse manifests, or --recordings and --supervisions\n\n${HELP}`);
          const files = src ? findLhotseManifests(resolve(src)) : { recordings: resolve(values.recordings!), supervisions: resolve(values.supervisions!) };
          const r = importLhotse(files.recordings, files.supervisions, { outDir: resolve(need(sub, 'out', values.out)) });
          console.log(`imported ${r.recordings.length} recordings, ${r.supervisions.length} supervisions, ${r.alignments.length} alignments -> ${values.out}`);
          return 0;
        });
      case 'librispeech':
        return reportingProblems(() => {
          const r = importLibriSpeech(resolve(need(sub, 'src', values.src)), { outDir: resolve(need(sub, 'out', values.out)), convertFlac: !values['no-flac'] });
          console.log(`imported ${r.recordings.length} recordings, ${r.supervisions.length} supervisions -> ${values.out}`);
          return 0;
        });
      case 'validate': {
        const dir = rest[0] ?? values.dir;
        if (!dir) throw new CliError(`corpus validate: give the corpus directory\n\n${HELP}`);
        const r = validateCorpus(resolve(dir), { expectedSampleRateHz: values.rate ? int('rate', values.rate, 0, 1) : undefined, checkAudio: !values['no-audio'] });
        for (const p of r.problems) console.error(formatProblem(p));
        console.log(`${dir}: ${JSON.stringify(r.counts)}; ${r.problems.length} problem(s)`);
        return r.problems.length ? 1 : 0;
      }
      case 'text': {
        const t = writeTextSources(values.dir ? resolve(values.dir) : DEFAULT_TEXT_DIR, { seed: values.seed ? int('seed', values.seed, 0) : undefined });
        console.log(`wrote ${t.prompts.length} prompts and ${t.lmText.length} held-out LM sentences`);
        return 0;
      }
      default:
        throw new CliError(`corpus: unknown subcommand "${sub}"\n\n${HELP}`);
    }
  },
};
