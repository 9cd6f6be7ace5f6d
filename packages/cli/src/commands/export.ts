/** `kdasr export`: a trained model as a deployment artifact (TF.js float32/float16/uint8, ONNX), or the deployment table. */
import { resolve } from 'node:path';
import { initRuntime } from '@kdasr/core';
import { REPORT_VARIANTS, deploymentReport, exportModel, type ReportVariant } from '@kdasr/export';
import { CliError, parseCommandArgs } from '../args.js';
import type { Command } from './registry.js';

const HELP = `usage: kdasr export --model EXPDIR --out DIR [--format tfjs|onnx] [--dtype float32|float16|uint8]
                    [--dev-feats DIR --dev-ali DIR [--dev-corpus DIR [--dev-split NAME]]] [--lang DIR]
                    [--combine C] [--prior-scale S] [--no-loglikes]
       kdasr export --report --model [NAME=]EXPDIR ... --corpus DIR [--split NAME] --feats DIR [--ali DIR]
                    [--lang DIR] [--browser] --out DIR

Writes DIR in the EXPDIR layout (model/ or member-<i>/model, lang.json, lm-text.txt, tree.json copied), so
kdasr decode/eval read a TF.js export unchanged, plus DIR/export.json: source model (path, sha256), dtype, bytes
on disk, parameters, and the frame-accuracy cost of the export against the source on the dev split (or why it
was not measured).

  --format F        tfjs (default): TF.js layers model, weights stored as --dtype in the stock weights manifest
                    (tf.loadLayersModel dequantizes on load); onnx: DIR/model.onnx, opset 13, input "features"
                    [N, inputDim] (the model's frontend output: CMVN then splice), output "logits" and, when the
                    model has priors, "loglikes" = log_softmax(logits) - prior-scale * log prior. An ensemble is
                    one graph (members combined by --combine); TF.js keeps its members.
  --dtype D         float32 (default) | float16 | uint8 (tfjs only; uint8 is per-tensor affine, as tfjs-converter)
  --dev-feats DIR   features of a labelled dev split (kdasr features), with
  --dev-ali DIR     its frame labels (kdasr align); --dev-corpus DIR [--dev-split NAME] gives speakers for
                    speaker CMVN and limits the scored utterances to that split
  --lang DIR        lang.json, lm-text.txt and tree.json when EXPDIR lacks them: a kdasr experiment asr run keeps
                    them in RUN/data (its models are RUN/models and RUN/students/NAME)
  --combine C       ensemble posteriors: arithmetic | geometric (default arithmetic)
  --prior-scale S   prior scale of the ONNX loglikes output (default 1, as kdasr decode)
  --no-loglikes     ONNX: logits output only
  --backend B       tensor backend for loading and measuring (auto, cpu, wasm)

  --report          the deployment table: export float32, float16, uint8 and ONNX of every --model (repeat it;
                    NAME=EXPDIR names the rows), then parameters, bytes on disk, frame accuracy (with --ali), WER
                    on --corpus/--feats with kdasr decode's defaults, and forward frames/s in Node (tfjs;
                    onnxruntime-node, 1 thread). Writes DIR/report.md and DIR/report.json. --split NAME scores one
                    split of --corpus (a subdirectory or a splits.json key), as the model commands take it.
  --acoustic-scale S  with --report: the decoder's acoustic scale (default 0.1, kdasr decode's; a recipe's
                    score stage tunes it on dev, see its results.json)
  --variants LIST   with --report: some of float32,float16,uint8,onnx (default all)
  --browser         with --report: also run each single-model TF.js variant and each ONNX variant
                    (onnxruntime-web) in the kdasr demo page in headless Chromium (the split's WAV files through the file input): forward frames/s and real-time
                    factor in the browser, and how many hypotheses equal Node's
  --chromium PATH   the browser binary (default: KDASR_CHROMIUM, else chromium on PATH)`;

export const command: Command = {
  name: 'export',
  summary: 'export a model for deployment: TF.js float16/uint8, ONNX; --report gives the size/accuracy/speed table',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'export',
      argv,
      {
        model: { type: 'string', multiple: true },
        out: { type: 'string' },
        format: { type: 'string' },
        dtype: { type: 'string' },
        'dev-feats': { type: 'string' },
        'dev-ali': { type: 'string' },
        'dev-corpus': { type: 'string' },
        'dev-split': { type: 'string' },
        split: { type: 'string' },
        lang: { type: 'string' },
        combine: { type: 'string' },
        'prior-scale': { type: 'string' },
        'no-loglikes': { type: 'boolean' },
        backend: { type: 'string' },
        report: { type: 'boolean' },
        corpus: { type: 'string' },
        feats: { type: 'string' },
        ali: { type: 'string' },
        variants: { type: 'string' },
        browser: { type: 'boolean' },
        'acoustic-scale': { type: 'string' },
        chromium: { type: 'string' },
      },
      HELP,
    );
    if (values.help) return (console.log(HELP), 0);
    if (positionals.length) throw new CliError(`export: unexpected argument "${positionals[0]}"\n\n${HELP}`);
    if (!values.model?.length || !values.out) throw new CliError(`export: --model and --out are required\n\n${HELP}`);
    const combine = values.combine ?? 'arithmetic';
    if (combine !== 'arithmetic' && combine !== 'geometric') throw new CliError(`export: --combine is "${combine}"; expected arithmetic or geometric`);
    const priorScale = values['prior-scale'] === undefined ? undefined : Number(values['prior-scale']);
    if (priorScale !== undefined && !(priorScale >= 0)) throw new CliError(`export: --prior-scale got "${values['prior-scale']}"; expected a number >= 0`);
    await initRuntime(values.backend ? { backend: values.backend as 'auto' } : {});
    if (values.report) {
      if (!values.corpus || !values.feats) throw new CliError(`export --report: --corpus and --feats (the split to score) are required\n\n${HELP}`);
      const acousticScale = values['acoustic-scale'] === undefined ? undefined : Number(values['acoustic-scale']);
      if (acousticScale !== undefined && !(acousticScale > 0)) throw new CliError(`export --report: --acoustic-scale got "${values['acoustic-scale']}"; expected a number > 0`);
      const variants = (values.variants ?? REPORT_VARIANTS.join(',')).split(',') as ReportVariant[];
      for (const v of variants) if (!(REPORT_VARIANTS as readonly string[]).includes(v)) throw new CliError(`export --report: --variants has "${v}"; expected some of ${REPORT_VARIANTS.join(',')}`);
      const models = values.model.map((m) => {
        const i = m.indexOf('=');
        return i > 0 ? { name: m.slice(0, i), dir: m.slice(i + 1) } : { name: resolve(m).split('/').pop()!, dir: m };
      });
      // The page in Chromium, started once for every variant (the web package owns driving it).
      const browser = values.browser ? await (await import('@kdasr/web')).browserMeasure(values.chromium ? { executablePath: values.chromium } : {}) : undefined;
      try {
        const r = await deploymentReport({ models, corpus: values.corpus, split: values.split, lang: values.lang, feats: values.feats, ali: values.ali, out: values.out, combine, variants, settings: { ...(priorScale === undefined ? {} : { priorScale }), ...(acousticScale === undefined ? {} : { acousticScale }) }, log: (l) => console.error(`kdasr export: ${l}`), ...(browser ? { browser: browser.measure } : {}) });
        console.log(r.markdown);
      } finally {
        await browser?.close();
      }
      return 0;
    }
    if (values.browser || values.chromium) throw new CliError('export: --browser and --chromium go with --report');
    if (values.model.length > 1) throw new CliError('export: one --model per export (several only with --report)');
    if ((values['dev-feats'] === undefined) !== (values['dev-ali'] === undefined)) throw new CliError('export: --dev-feats and --dev-ali go together (features and frame labels of one dev split)');
    const rec = await exportModel({
      model: values.model[0],
      out: values.out,
      format: (values.format ?? 'tfjs') as 'tfjs',
      dtype: (values.dtype ?? 'float32') as 'float32',
      combine,
      loglikes: !values['no-loglikes'],
      ...(priorScale === undefined ? {} : { priorScale }),
      ...(values.lang ? { lang: values.lang } : {}),
      ...(values['dev-feats'] ? { dev: { feats: values['dev-feats'], ali: values['dev-ali']!, ...(values['dev-corpus'] ? { corpus: values['dev-corpus'] } : {}), ...(values['dev-split'] ? { split: values['dev-split'] } : {}) } } : {}),
    });
    const acc = rec.accuracy.measured
      ? `dev frame accuracy ${rec.accuracy.exportedFrameAccuracy.toFixed(4)} (source ${rec.accuracy.sourceFrameAccuracy.toFixed(4)}, ${rec.accuracy.frameAccuracyDelta >= 0 ? '+' : ''}${rec.accuracy.frameAccuracyDelta.toFixed(4)}), argmax agreement ${rec.accuracy.argmaxAgreement.toFixed(4)}`
      : `accuracy not measured: ${rec.accuracy.reason}`;
    console.log(`exported ${values.out} (${rec.format} ${rec.dtype}): ${rec.parameters} parameters, ${rec.bytesOnDisk} bytes (source ${rec.sourceBytesOnDisk}); ${acc}`);
    return 0;
  },
};
