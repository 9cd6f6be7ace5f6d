/**
 * `kdasr train`: parses its flags and calls trainFromCorpus (@kdasr/experiments), which trains a hybrid DNN-HMM
 * acoustic model on a corpus split from kdasr align labels, the corpus' phone alignments or a flat start.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger, lockDirectory } from '@kdasr/core';
import { ACOUSTIC_PRESETS, type AcousticModelConfigInput } from '@kdasr/acoustic-models';
import { trainFromCorpus } from '@kdasr/experiments';
import { CliError, parseCommandArgs } from '../args.js';
import { CORPUS_OPTIONS, corpusInput, engineFlag, intFlag, noPositionals, requireFlags, startRuntime } from '../flags.js';
import type { Command } from './registry.js';

const HELP = `usage: kdasr train (--corpus DIR [--split NAME] | --manifest FILE) --feats DIR --exp DIR [--ali DIR | --lexicon FILE | --whole-word N] [options]

Train a DNN acoustic model (MLP on CMVN'd, spliced frames; targets = monophone HMM states, or with
--tree-leaves the context-dependent pdfs of a phonetic decision tree).
Targets, first that applies: --ali DIR (labels.jsonl + lang.json from kdasr align); phone alignments in the
corpus' alignments.jsonl; else a flat start (each transcript's states spread evenly, silence at both edges).

  --corpus DIR        the corpus, or the training split's manifest directory (supervisions.jsonl, alignments.jsonl)
  --split NAME        a split of --corpus: DIR/NAME/, a splits.json key (train, dev, test) or all
  --manifest FILE     instead of --corpus: the split's supervisions.jsonl (alignments.jsonl beside it is read too)
  --feats DIR         feature archive whose ids are the supervision ids (kdasr features)
  --exp DIR           output: model/, lang.json, lm-text.txt, dev-utts.txt (held out), train.json
  --ali DIR           frame labels from kdasr align (its lang.json is reused)
  --lexicon FILE      Kaldi lexicon.txt (word phone1 phone2 ...); silence phone "sil" is added
  --tree-leaves N     context-dependent targets (needs --ali; Kaldi build-tree): a phonetic decision tree with N
                      leaves (pdfs) from the alignment's per-frame states, saved as EXPDIR/tree.json; the DNN
                      is trained on its pdf ids (N >= the monophone state count; fewer when no split gains)
  --tree-min-count N  frames each side of a tree split must keep (default 20)
  --whole-word N      no lexicon: each word is one N-state model (e.g. FSDD digits)
  --states N          states per phone with --lexicon (default 3)
  --preset P          tiny | quick | paper (default quick)
  --config FILE       JSON fields that override the preset's acoustic model config
  --epochs N          override the preset's epochs
  --hidden-layers N   override the preset's hidden layers
  --hidden-units N    override the preset's hidden units
  --context L,R       override the preset's splice context (frames left, right)
  --dev-fraction F    utterances held out for newbob/early stopping (default 0.1)
  --seed N            init + shuffle seed (default 0)
  --members N         train an ensemble: N models that differ only in seed (seed, seed+1, ...), one data split,
                      in EXPDIR/member-<i>/ (align/decode/eval take EXPDIR and combine them; default 1)
  --engine E          native | tfjs | auto (default auto: native C + OpenBLAS engine when it loads)
  --backend B         tensor backend (default: best available)`;

export const OPTIONS = {
  ...CORPUS_OPTIONS,
  feats: { type: 'string' },
  exp: { type: 'string' },
  ali: { type: 'string' },
  lexicon: { type: 'string' },
  'whole-word': { type: 'string' },
  states: { type: 'string' },
  preset: { type: 'string' },
  config: { type: 'string' },
  epochs: { type: 'string' },
  'hidden-layers': { type: 'string' },
  'hidden-units': { type: 'string' },
  context: { type: 'string' },
  'dev-fraction': { type: 'string' },
  seed: { type: 'string' },
  members: { type: 'string' },
  'tree-leaves': { type: 'string' },
  'tree-min-count': { type: 'string' },
  engine: { type: 'string' },
  backend: { type: 'string' },
} as const;

export const command: Command = {
  name: 'train',
  summary: 'train a DNN-HMM acoustic model (flat start, corpus or kdasr-align labels)',
  options: OPTIONS,
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('train', argv, OPTIONS, HELP);
    if (values.help) return (console.log(HELP), 0);
    noPositionals(positionals, 'train', HELP);
    const input = corpusInput(values, 'train', HELP);
    requireFlags(values, ['feats', 'exp'], 'train', HELP);
    lockDirectory(values.exp!, { command: ['kdasr', 'train', ...argv].join(' ') }); // one writer per --exp; released at exit
    const int = (name: string, v: string | undefined, min: number) => intFlag('train', name, v, min);
    const preset = values.preset ?? 'quick';
    if (!(preset in ACOUSTIC_PRESETS)) throw new CliError(`train: --preset is "${preset}"; expected one of ${Object.keys(ACOUSTIC_PRESETS).join(', ')}`);
    let config: AcousticModelConfigInput = { ...ACOUSTIC_PRESETS[preset as keyof typeof ACOUSTIC_PRESETS] };
    if (values.config) config = { ...config, ...(JSON.parse(readFileSync(values.config, 'utf8')) as AcousticModelConfigInput) };
    const epochs = int('epochs', values.epochs, 1);
    if (epochs) config.epochs = epochs;
    const hl = int('hidden-layers', values['hidden-layers'], 0);
    if (hl !== undefined) config.hiddenLayers = hl;
    const hu = int('hidden-units', values['hidden-units'], 1);
    if (hu) config.hiddenUnits = hu;
    if (values.context) {
      const m = /^(\d+),(\d+)$/.exec(values.context);
      if (!m) throw new CliError(`train: --context must be LEFT,RIGHT (e.g. 20,5), got "${values.context}"`);
      config.frontend = { ...(config.frontend ?? {}), splice: { left: Number(m[1]), right: Number(m[2]) } };
    }
    const devFraction = values['dev-fraction'] === undefined ? 0.1 : Number(values['dev-fraction']);
    if (!(devFraction >= 0 && devFraction < 1)) throw new CliError(`train: --dev-fraction must be in [0, 1), got "${values['dev-fraction']}"`);
    const engine = engineFlag(values.engine, 'train');
    const members = int('members', values.members, 1) ?? 1;
    const treeLeaves = int('tree-leaves', values['tree-leaves'], 1);
    if (treeLeaves !== undefined && !values.ali) throw new CliError('train: --tree-leaves needs --ali DIR (tree statistics come from aligned features: train a monophone model and kdasr align first)');
    await startRuntime(values.backend);
    const r = await trainFromCorpus({
      input,
      feats: values.feats!,
      exp: values.exp!,
      config,
      ali: values.ali,
      lexicon: values.lexicon,
      wholeWordStates: int('whole-word', values['whole-word'], 1),
      statesPerPhone: int('states', values.states, 1),
      devFraction,
      seed: int('seed', values.seed, 0) ?? 0,
      members,
      treeLeaves,
      treeMinCount: int('tree-min-count', values['tree-min-count'], 1),
      engine,
      command: ['kdasr', 'train', ...argv],
      log: new Logger('kdasr train'),
    });
    if (members > 1)
      console.log(`trained ${members} members in ${values.exp}: dev frame accuracy ${r.members.map((m) => m.devFrameAccuracy?.toFixed(4) ?? '-').join(', ')}, ensemble ${r.ensembleDevFrameAccuracy?.toFixed(4) ?? '-'} (engine ${r.engine})`);
    else console.log(`trained ${join(values.exp!, 'model')}: dev frame accuracy ${r.devFrameAccuracy?.toFixed(4) ?? '-'} after ${r.epochs} epochs (engine ${r.engine})`);
    return 0;
  },
};
