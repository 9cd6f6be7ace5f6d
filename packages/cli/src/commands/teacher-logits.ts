/** `kdasr teacher-logits`: store a teacher's logits on a transfer set (runTeacherLogits in @kdasr/experiments). */
import { initRuntime } from '@kdasr/core';
import { ConfigError, resolveCommandConfig, runTeacherLogits, teacherLogitsConfigSchema } from '@kdasr/experiments';
import { CliError, parseCommandArgs } from '../args.js';
import type { Command } from './registry.js';

const HELP = `usage: kdasr teacher-logits --model DIR [--model DIR ...] --feats DIR [--corpus DIR [--split S]] [--utts FILE]
                            --out DIR [options]

Runs a teacher over every frame of a transfer set and stores its logits as a stored-logits artifact (chunked
float32, a sha256 per chunk, optional top-k with a tail value), which kdasr distill --logits DIR reads.
The transfer set needs no labels: an unlabelled corpus (no alignments) is as valid as a labelled one, and its
frames are spliced with the teacher's context inside each utterance, as in training.
Writes DIR/member-<i>/ (one per teacher model) or DIR/combined/ (--combine), DIR/transfer.json (the set: its
utterances, frames, label source and frame hash; the teachers) and DIR/config.json (--config on it reruns it).
Frames are written in shards; an interrupted run resumes at its next shard when rerun with the same settings.

  --model DIR           a teacher: a kdasr train output (DIR/model or an ensemble's DIR/member-<i>/model) or a
                        model dir; repeatable (one artifact per model, or one combined with --combine)
  --combine C           arithmetic | geometric: store the ensemble's combined logits once (geometric: the mean
                        logits, exact at every temperature; arithmetic: log of the mean posteriors, exact at T=1)
  --feats DIR           feature archive of the transfer set (kdasr features)
  --corpus DIR          manifest directory: selects utterances (and labels from its phone alignments)
  --split S             a split of --corpus (CORPUS/S/, or CORPUS/splits.json's speakers)
  --utts FILE           utterance list (first field of each line); without --corpus and --utts, every archive id
  --exclude FILE        utterances to leave out (e.g. the dev-utts.txt that kdasr train held out)
  --ali DIR             frame labels from kdasr align (recorded only: the logits do not depend on labels)
  --unlabelled          treat the set as unlabelled even where alignments exist
  --top-k K             store the K largest logits per frame plus one tail value (default dense)
  --tail-temperature T  temperature at which top-k keeps the tail mass exactly (default 1; use distill's T)
  --chunk-rows N        frames per chunk file (default 4096); --shard-chunks N chunks per resumable shard (default 4)
  --batch-size N        inference batch (default 1024)
  --engine E            native | tfjs | auto (default auto)
  --backend B           tensor backend (default: best available)
  --config FILE         JSON or YAML config (fields: models, combine, transfer {feats, corpus, split, utts, ali,
                        exclude, labels}, topK, tailTemperature, chunkRows, shardChunks, batchSize, engine); flags win
  --set K=V             override one config field (e.g. --set transfer.split=dev); repeatable
  --print-config        print the resolved config as JSON and exit`;

function int(v: string | undefined, name: string, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new CliError(`teacher-logits: --${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

export const command: Command = {
  name: 'teacher-logits',
  summary: 'store a teacher\u2019s (or ensemble\u2019s) logits on a transfer set, labelled or not (for kdasr distill)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'teacher-logits',
      argv,
      {
        model: { type: 'string', multiple: true },
        combine: { type: 'string' },
        feats: { type: 'string' },
        corpus: { type: 'string' },
        split: { type: 'string' },
        utts: { type: 'string' },
        exclude: { type: 'string' },
        ali: { type: 'string' },
        unlabelled: { type: 'boolean' },
        'top-k': { type: 'string' },
        'tail-temperature': { type: 'string' },
        'chunk-rows': { type: 'string' },
        'shard-chunks': { type: 'string' },
        'batch-size': { type: 'string' },
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
    if (positionals.length) throw new CliError(`teacher-logits: unexpected argument "${positionals[0]}"\n\n${HELP}`);
    const tail = values['tail-temperature'] === undefined ? undefined : Number(values['tail-temperature']);
    const flags = {
      models: values.model,
      combine: values.combine,
      topK: int(values['top-k'], 'top-k'),
      tailTemperature: tail,
      chunkRows: int(values['chunk-rows'], 'chunk-rows'),
      shardChunks: int(values['shard-chunks'], 'shard-chunks'),
      batchSize: int(values['batch-size'], 'batch-size'),
      engine: values.engine,
      transfer: { feats: values.feats, corpus: values.corpus, split: values.split, utts: values.utts, exclude: values.exclude, ali: values.ali, labels: values.unlabelled ? 'none' : undefined },
    };
    let config;
    try {
      config = resolveCommandConfig(teacherLogitsConfigSchema, { file: values.config, flags, sets: values.set, where: 'teacher-logits' });
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(`${e.message}\n\n${HELP}`);
      throw e;
    }
    if (values['print-config']) return (console.log(JSON.stringify(config, null, 2)), 0);
    if (!values.out) throw new CliError(`teacher-logits: --out DIR is required\n\n${HELP}`);
    const rt = await initRuntime(values.backend ? { backend: values.backend as 'auto' } : {});
    console.error(`kdasr: backend ${rt.backend}, ${rt.threads} thread(s)`);
    const t0 = Date.now();
    let lastTenth = -1;
    const tty = process.stderr.isTTY;
    let r;
    try {
      r = await runTeacherLogits({
        config,
        outDir: values.out,
        onProgress: (done, total) => {
          const s = (Date.now() - t0) / 1000;
          const eta = done > 0 ? Math.round((s * (total - done)) / done) : 0;
          const line = `teacher-logits: ${done}/${total} frames (${((100 * done) / total).toFixed(0)}%), ETA ${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, '0')}`;
          const tenth = Math.floor((10 * done) / total);
          if (tty) process.stderr.write(`\r${line}${done === total ? '\n' : ''}`);
          else if (tenth > lastTenth) process.stderr.write(line + '\n');
          lastTenth = tenth;
        },
      });
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(`teacher-logits: ${e.message}`);
      throw e;
    }
    const t = r.manifest.transfer;
    console.log(
      `stored ${r.manifest.artifacts.length} artifact(s) in ${values.out}: ${t.utterances} utterances, ${t.frames} frames x ${r.manifest.numClasses} classes (${t.labelledFrames} labelled), ` +
        `${(r.bytes / 2 ** 20).toFixed(1)} MiB written now; ${r.shardsWritten} shard(s) computed, ${r.shardsReused} reused; ${r.seconds.toFixed(1)} s`,
    );
    return 0;
  },
};
