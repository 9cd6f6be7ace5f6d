/** `kdasr demo`: the recogniser in a browser page, served locally for a trained model (or written as a static site). */
import { runDemo } from '@kdasr/web';
import { CliError, parseCommandArgs } from '../args.js';
import type { Command } from './registry.js';

const HELP = `usage: kdasr demo --model EXPDIR [--port N] [--host H] [--feats DIR] [--out DIR]

Build the page's bundle if needed and serve it with the model: recognise a dropped or chosen WAV file, or
speech from the microphone, in the browser (TF.js, wasm backend; threads, as the page is cross-origin isolated;
an ONNX export runs in onnxruntime-web). The server sends COOP/COEP headers, binds to 127.0.0.1 by default and
serves only the bundle and the model's files.

  --model EXPDIR   a kdasr train output, or a kdasr export --format tfjs output (float32, float16 or uint8 weights):
                   model/, lang.json, lm-text.txt, train.json (for the feature config), tree.json when present;
                   or a kdasr export --format onnx output (model.onnx + export.json; ensembles too)
  --feats DIR      the feature archive the model was trained on (default: the one train.json names)
  --port N         default 8080 (0: any free port)
  --host H         default 127.0.0.1 (0.0.0.0 exposes the page to the network)
  --out DIR        write the whole site (page, wasm, recognizer.json, model files) to DIR for a static host, and exit`;

export const command: Command = {
  name: 'demo',
  summary: 'serve a browser page that recognises WAV files and microphone speech with a trained model',
  async run(argv) {
    const { values, positionals } = parseCommandArgs('demo', argv, { model: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, feats: { type: 'string' }, out: { type: 'string' } }, HELP);
    if (values.help) return (console.log(HELP), 0);
    if (positionals.length) throw new CliError(`demo: unexpected argument "${positionals[0]}"\n\n${HELP}`);
    if (!values.model) throw new CliError(`demo: --model is required\n\n${HELP}`);
    const port = values.port === undefined ? 8080 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`demo: --port must be an integer in 0..65535, got "${values.port}"`);
    let r;
    try {
      r = await runDemo({ modelDir: values.model, feats: values.feats, port, host: values.host, out: values.out, log: (l) => console.error(l) });
    } catch (e) {
      throw new CliError(`demo: ${(e as Error).message}`);
    }
    if (!r.server) return 0;
    console.log(r.server.url);
    const server = r.server;
    await new Promise<void>((done) => {
      const stop = () => void server.close().then(done);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
