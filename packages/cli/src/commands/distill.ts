/** `kdasr distill`: train a student from stored logits or teacher models (runDistill in @kdasr/experiments). */
import { initRuntime } from '@kdasr/core';
import { ConfigError, distillConfigSchema, resolveCommandConfig, runDistill } from '@kdasr/experiments';
import { CliError, parseCommandArgs } from '../args.js';
import type { Command } from './registry.js';

const HELP = `usage: kdasr distill (--logits DIR ... | --teacher DIR ... --feats DIR [--corpus DIR --split S]) --out DIR [options]

Trains a student acoustic model on the soft targets of a teacher (Hinton et al. 2015 §2): from logits stored
by kdasr teacher-logits (--logits, which names its own transfer set), or directly from teacher models
(--teacher). Several transfer sets can be mixed, labelled and unlabelled, each with a weight; the hard-label
term uses the labelled frames only. Writes DIR/model (TF.js + kdasr.json: inventory, priors, frontend, and the
teachers, transfer sets with their frame hashes, and loss settings), lang.json and lm-text.txt from the teacher's
experiment, so kdasr decode/eval --model DIR read it like a trained model; DIR/distill.json and DIR/config.json
(--config on it reruns it). Training resumes from DIR/checkpoint after an interruption. Ends with dev frame
accuracy of the student and the teachers (and with --baseline, the share of the teacher's gain kept).

teachers and transfer sets:
  --logits DIR          a kdasr teacher-logits output (its members are combined by --combine); repeatable
  --teacher DIR         a teacher model (train output, ensemble or model dir) for sets without stored logits;
                        repeatable (combined by --combine)
  --feats DIR, --corpus DIR, --split S, --utts FILE, --ali DIR, --unlabelled
                        one transfer set given by flags (soft targets from --teacher)
  --transfer SPEC       a transfer set as key=value pairs, repeatable: logits=DIR or feats=DIR, and corpus=DIR,
                        split=S, utts=FILE, exclude=FILE (utterances to leave out), ali=DIR, weight=W
                        (default 1), unlabelled
                        e.g. --transfer logits=exp/logits,weight=1 --transfer logits=exp/logits-unlab,unlabelled
  --combine C           arithmetic | geometric (default arithmetic)
  --dev SPEC            labelled dev frames (feats=DIR,corpus=DIR,split=S,utts=FILE,ali=DIR): early stopping, table
  --baseline DIR        a hard-label model for the "gain kept" line
loss:
  --temperature T       softmax temperature of the soft term (default 2)
  --soft-weight W       weight of the soft term (default 1)
  --hard-weight W       weight of the hard-label term (default 0.5; 0 = soft targets only)
  --no-t2               do not multiply the soft term by T^2
  --loss L              cross-entropy | kl | logit-matching (default cross-entropy; kl trains identically)
  --top-k K             keep the teacher's K largest logits per frame (plus a tail fill exact at T)
student and training:
  --hidden-layers N, --hidden-units N, --dropout P, --context L,R   (default: the teacher's)
  --epochs N, --batch-size N, --learning-rate LR (Adam), --patience N (needs --dev): default the teacher's
  --seed N              student init and shuffle seed (default 0)
  --engine E            native | tfjs | auto (default auto)
  --backend B           tensor backend (default: best available)
  --config FILE         JSON or YAML config (teachers, combine, transfer [..], dev, loss, student, training,
                        engine, baseline); flags win over the file
  --set K=V             override one config field (e.g. --set loss.temperature=5); repeatable
  --print-config        print the resolved config as JSON and exit`;

const SPEC_KEYS = ['logits', 'feats', 'corpus', 'split', 'utts', 'exclude', 'ali', 'weight', 'labels', 'unlabelled'];

/** "k=v,k=v,flag" -> a transfer entry. */
export function parseSetSpec(spec: string, flag: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const part of spec.split(',').filter(Boolean)) {
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? undefined : part.slice(eq + 1);
    if (!SPEC_KEYS.includes(k)) throw new CliError(`distill: ${flag} ${spec}: unknown key "${k}"; expected ${SPEC_KEYS.join(', ')}`);
    if (k === 'unlabelled') out.labels = 'none';
    else if (v === undefined || v === '') throw new CliError(`distill: ${flag} ${spec}: ${k} needs a value (${k}=...)`);
    else if (k === 'weight') {
      const w = Number(v);
      if (!(w > 0)) throw new CliError(`distill: ${flag} ${spec}: weight must be a positive number, got "${v}"`);
      out.weight = w;
    } else out[k] = v;
  }
  return out;
}

function num(v: string | undefined, name: string, ok: (n: number) => boolean, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!ok(n)) throw new CliError(`distill: --${name} must be ${what}, got "${v}"`);
  return n;
}

export const command: Command = {
  name: 'distill',
  summary: 'train a student on soft targets from stored logits or teacher models (labelled and unlabelled transfer sets)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'distill',
      argv,
      {
        logits: { type: 'string', multiple: true },
        teacher: { type: 'string', multiple: true },
        transfer: { type: 'string', multiple: true },
        feats: { type: 'string' },
        corpus: { type: 'string' },
        split: { type: 'string' },
        utts: { type: 'string' },
        ali: { type: 'string' },
        unlabelled: { type: 'boolean' },
        combine: { type: 'string' },
        dev: { type: 'string' },
        baseline: { type: 'string' },
        temperature: { type: 'string' },
        'soft-weight': { type: 'string' },
        'hard-weight': { type: 'string' },
        'no-t2': { type: 'boolean' },
        loss: { type: 'string' },
        'top-k': { type: 'string' },
        'hidden-layers': { type: 'string' },
        'hidden-units': { type: 'string' },
        dropout: { type: 'string' },
        context: { type: 'string' },
        epochs: { type: 'string' },
        'batch-size': { type: 'string' },
        'learning-rate': { type: 'string' },
        patience: { type: 'string' },
        seed: { type: 'string' },
        engine: { type: 'string' },
        backend: { type: 'string' },
        out: { type: 'string' },
        config: { type: 'string' },
        set: { type: 'string', multiple: true },
        'print-config': { type: 'boolean' },
      },
      HELP,
    );
    if (values.help) return (console.log(HELP), 0);
    if (positionals.length) throw new CliError(`distill: unexpected argument "${positionals[0]}"\n\n${HELP}`);
    const int = (k: string, min: number) => num(values[k as keyof typeof values] as string | undefined, k, (n) => Number.isInteger(n) && n >= min, `an integer >= ${min}`);
    const pos = (k: string) => num(values[k as keyof typeof values] as string | undefined, k, (n) => n > 0, 'a positive number');
    const nonneg = (k: string) => num(values[k as keyof typeof values] as string | undefined, k, (n) => n >= 0, 'a number >= 0');
    const transfer = [
      ...(values.logits ?? []).map((d) => ({ logits: d })),
      ...(values.transfer ?? []).map((s) => parseSetSpec(s, '--transfer')),
      ...(values.feats !== undefined ? [{ feats: values.feats, corpus: values.corpus, split: values.split, utts: values.utts, ali: values.ali, ...(values.unlabelled ? { labels: 'none' } : {}) }] : []),
    ];
    if (values.feats === undefined && (values.corpus ?? values.split ?? values.utts ?? values.ali) !== undefined)
      throw new CliError(`distill: --corpus/--split/--utts/--ali describe the --feats transfer set; give --feats too (or use --transfer)`);
    let context: { left: number; right: number } | undefined;
    if (values.context !== undefined) {
      const m = /^(\d+),(\d+)$/.exec(values.context);
      if (!m) throw new CliError(`distill: --context must be LEFT,RIGHT (e.g. 5,5), got "${values.context}"`);
      context = { left: Number(m[1]), right: Number(m[2]) };
    }
    const flags = {
      teachers: values.teacher,
      combine: values.combine,
      transfer: transfer.length ? transfer : undefined,
      dev: values.dev !== undefined ? parseSetSpec(values.dev, '--dev') : undefined,
      baseline: values.baseline,
      loss: { temperature: pos('temperature'), softWeight: nonneg('soft-weight'), hardWeight: nonneg('hard-weight'), t2: values['no-t2'] ? false : undefined, kind: values.loss, topK: int('top-k', 1) },
      student: { hiddenLayers: int('hidden-layers', 0), hiddenUnits: int('hidden-units', 1), dropout: nonneg('dropout'), context },
      training: { epochs: int('epochs', 1), batchSize: int('batch-size', 1), learningRate: pos('learning-rate'), patience: int('patience', 0), seed: int('seed', 0) },
      engine: values.engine,
    };
    let config;
    try {
      config = resolveCommandConfig(distillConfigSchema, { file: values.config, flags, sets: values.set, where: 'distill' });
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(`${e.message}\n\n${HELP}`);
      throw e;
    }
    if (values['print-config']) return (console.log(JSON.stringify(config, null, 2)), 0);
    if (!values.out) throw new CliError(`distill: --out DIR is required\n\n${HELP}`);
    const rt = await initRuntime(values.backend ? { backend: values.backend as 'auto' } : {});
    console.error(`kdasr: backend ${rt.backend}, ${rt.threads} thread(s)`);
    let r;
    try {
      r = await runDistill({ config, outDir: values.out });
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(e.message);
      throw e;
    }
    console.log(`\n${r.table}\n`);
    console.log(
      `${r.student.reused ? 'reused' : 'trained'} ${r.student.dir}: ${r.student.epochs} epoch(s)${r.student.resumedFromEpoch ? ` (resumed after epoch ${r.student.resumedFromEpoch})` : ''}, dev frame accuracy ${r.student.devFrameAccuracy?.toFixed(4) ?? '-'}; ${r.seconds.toFixed(1)} s`,
    );
    return 0;
  },
};
