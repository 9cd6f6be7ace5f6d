/**
 * The CLI's commands. Each command lives in its own file under commands/ and is listed here once;
 * `kdasr help` prints the summaries in this order.
 */
import type { OptionSpec } from '../args.js';

export interface Command {
  name: string;
  summary: string;
  /** The flags run() parses (besides --help), so a test can check that the help text names each one. */
  options?: OptionSpec;
  /** The text --help prints. */
  help?: string;
  /** Runs the command with the arguments after its name; returns the exit code. */
  run(argv: string[]): Promise<number>;
}

export const commandLoaders: Record<string, { summary: string; load: () => Promise<Command> }> = {
  env: { summary: 'show the tensor backend, threads and versions (--json)', load: async () => (await import('./env.js')).command },
  experiment: { summary: 'rerun one of the paper\u2019s experiments and print our numbers beside its (mnist, asr, specialists)', load: async () => (await import('./experiment.js')).command },
  features: { summary: 'compute fbank/MFCC features for a list of WAVs into an archive (dump: export .npy)', load: async () => (await import('./features.js')).command },
  score: { summary: 'word error rate of hypothesis vs reference Kaldi text files (--json, --report)', load: async () => (await import('./score.js')).command },
  train: { summary: 'train a DNN-HMM acoustic model (flat start, corpus or kdasr-align labels)', load: async () => (await import('./train.js')).command },
  align: { summary: 'forced-align a corpus with a trained acoustic model (frame labels for retraining)', load: async () => (await import('./align.js')).command },
  decode: { summary: 'decode a corpus split with a trained acoustic model and a bigram LM (Kaldi-style hyp text)', load: async () => (await import('./decode.js')).command },
  eval: { summary: 'evaluate an acoustic model: WER (decode + score) and frame accuracy / ECE / confusions', load: async () => (await import('./eval.js')).command },
  worker: { summary: 'run kdasr jobs from a BullMQ queue on Redis (--redis URL --artifacts DIR)', load: async () => (await import('./worker.js')).command },
  jobs: { summary: 'the BullMQ queue: waiting, active, failed and completed jobs with failure reasons (jobs status)', load: async () => (await import('./jobs.js')).command },
  demo: { summary: 'serve a browser page that recognises WAV files and microphone speech with a trained model', load: async () => (await import('./demo.js')).command },
  'teacher-logits': { summary: 'store a teacher\u2019s (or ensemble\u2019s) logits on a transfer set, labelled or not (for kdasr distill)', load: async () => (await import('./teacher-logits.js')).command },
  distill: { summary: 'train a student on soft targets from stored logits or teacher models (labelled and unlabelled transfer sets)', load: async () => (await import('./distill.js')).command },
  corpus: { summary: 'build speech corpora: espeak-ng synthesis with alignments, FSDD, Kaldi/LibriSpeech import, validate', load: async () => (await import('./corpus.js')).command },
  export: { summary: 'export a model for deployment: TF.js float16/uint8, ONNX; --report gives the size/accuracy/speed table', load: async () => (await import('./export.js')).command },
};
