import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWholeWordSplit } from '../../test-support.js';
import { DEFAULT_FSDD_DIR, fsddAvailable } from '@kdasr/corpus';
import { loadNativeEngine } from '@kdasr/native';

const nativeLoad = loadNativeEngine();
const requireNative = process.env.KDASR_REQUIRE_NATIVE === '1';
if (!nativeLoad.available && !requireNative) console.warn(`kdasr train --engine native test skipped: ${nativeLoad.reason} (KDASR_REQUIRE_NATIVE=1 makes this a failure)`);

// The hybrid pipeline end to end through the real bin on a synthetic whole-word task: flat start -> train ->
// align -> retrain -> eval (decode + WER + frame metrics). Words x/y/z have 2 states with distinct means.
const root = resolve(import.meta.dirname, '../../../..');
const dir = mkdtempSync(join(tmpdir(), 'kdasr-am-cli-'));
afterAll(() => (process.env.KEEP ? console.log('kept', dir) : rmSync(dir, { recursive: true, force: true })));

function kdasr(...args: string[]) {
  // The model commands run on the deterministic cpu backend; corpus/features take no --backend.
  const backend = ['train', 'align', 'decode', 'eval'].includes(args[0]) ? ['--backend', 'cpu'] : [];
  // This task's frames are independent given the state, so unscaled likelihoods are exact: acoustic scale 1, not
  // the default 0.1 that suits real speech (whose spliced-context posteriors are strongly correlated across frames).
  const scale = ['decode', 'eval'].includes(args[0]) && !args.includes('--acoustic-scale') && !args.includes('--help') ? ['--acoustic-scale', '1'] : [];
  const r = spawnSync(process.execPath, ['packages/cli/bin/kdasr.mjs', ...args, ...backend, ...scale], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const makeSplit = (name: string, n: number, seed: number) => makeWholeWordSplit(dir, name, n, seed);

describe('kdasr train / align / decode / eval', () => {
  beforeAll(() => {
    makeSplit('train', 80, 1);
    makeSplit('test', 15, 2);
  });

  // Spawns ~12 CLI runs; generous timeouts because the 2 dev cores are shared.
  it('flat start, realign, retrain, then decode the test split with a low WER', { timeout: 240_000 }, () => {
    const common = ['--preset', 'tiny', '--epochs', '8', '--hidden-units', '64'];
    let r = kdasr('train', '--corpus', join(dir, 'train'), '--feats', join(dir, 'feats-train'), '--exp', join(dir, 'mono0'), '--whole-word', '2', ...common);
    expect(r.stderr).toContain('labels: flat start');
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['model/model.json', 'model/kdasr.json', 'lang.json', 'lm-text.txt', 'train.json']) expect(existsSync(join(dir, 'mono0', f)), f).toBe(true);

    r = kdasr('align', '--model', join(dir, 'mono0'), '--corpus', join(dir, 'train'), '--feats', join(dir, 'feats-train'), '--out', join(dir, 'ali0'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/aligned 80 utterances .* 0 failed/);
    const first = JSON.parse(readFileSync(join(dir, 'ali0', 'labels.jsonl'), 'utf8').split('\n')[0]) as { labels: number[]; phones: { startFrame: number; endFrame: number; wordIndex: number }[] };
    expect(first.labels.length).toBeGreaterThan(20);
    // Phone spans are end-exclusive and tile the frames: each starts where the previous ended.
    expect(first.phones[0].startFrame).toBe(0);
    expect(first.phones.at(-1)!.endFrame).toBe(first.labels.length);
    for (let i = 1; i < first.phones.length; i++) expect(first.phones[i].startFrame).toBe(first.phones[i - 1].endFrame);
    expect(first.phones.some((p) => p.wordIndex === -1)).toBe(true);

    // Two realign/retrain passes: the flat-start model is weak, each pass sharpens the alignments.
    for (const [ali, exp, next] of [['ali0', 'mono1', 'ali1'], ['ali1', 'mono2', '']]) {
      r = kdasr('train', '--corpus', join(dir, 'train'), '--feats', join(dir, 'feats-train'), '--exp', join(dir, exp), '--ali', join(dir, ali), ...common);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('labels: alignments');
      if (next) expect(kdasr('align', '--model', join(dir, exp), '--corpus', join(dir, 'train'), '--feats', join(dir, 'feats-train'), '--out', join(dir, next)).code).toBe(0);
    }
    const devAcc = JSON.parse(readFileSync(join(dir, 'mono2', 'train.json'), 'utf8')).devFrameAccuracy as number;
    expect(devAcc).toBeGreaterThan(0.7);

    r = kdasr('align', '--model', join(dir, 'mono2'), '--corpus', join(dir, 'test'), '--feats', join(dir, 'feats-test'), '--out', join(dir, 'ali-test'));
    expect(r.code, r.stderr).toBe(0);
    r = kdasr('eval', '--model', join(dir, 'mono2'), '--corpus', join(dir, 'test'), '--feats', join(dir, 'feats-test'), '--out', join(dir, 'eval'), '--ali', join(dir, 'ali-test'));
    expect(r.code, r.stderr).toBe(0);
    const ev = JSON.parse(readFileSync(join(dir, 'eval', 'eval.json'), 'utf8'));
    const wer = ev.wer.wer as number;
    expect(r.stdout).toMatch(/^%WER /);
    expect(wer).toBeLessThan(10);
    expect(ev.frames.frameAccuracy).toBeGreaterThan(0.7);
    expect(ev.frames.ece).toBeLessThan(0.2);

    r = kdasr('decode', '--model', join(dir, 'mono2'), '--corpus', join(dir, 'test'), '--feats', join(dir, 'feats-test'), '--out', join(dir, 'dec'));
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'dec', 'hyp.txt'), 'utf8')).toBe(readFileSync(join(dir, 'eval', 'hyp.txt'), 'utf8'));

    // Tuning data: the utterances train held out, decoded alone with --utts.
    const devIds = readFileSync(join(dir, 'mono2', 'dev-utts.txt'), 'utf8').trim().split('\n').sort();
    expect(devIds).toHaveLength(8);
    r = kdasr('decode', '--model', join(dir, 'mono2'), '--corpus', join(dir, 'train'), '--feats', join(dir, 'feats-train'), '--out', join(dir, 'dec-dev'), '--utts', join(dir, 'mono2', 'dev-utts.txt'));
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'dec-dev', 'hyp.txt'), 'utf8').trim().split('\n').map((l) => l.split(' ')[0]).sort()).toEqual(devIds);
  });

  // Uses mono2 from the test above: an interrupted decode (partial.jsonl with K results and a line cut mid-write)
  // resumes to the same hypotheses; a partial file from other settings is refused.
  it('decode reports progress and resumes from OUT/partial.jsonl', { timeout: 300_000 }, () => {
    const inputs = { model: join(dir, 'mono2'), corpus: join(dir, 'test'), feats: join(dir, 'feats-test') };
    const args = (out: string) => ['decode', '--model', inputs.model, '--corpus', inputs.corpus, '--feats', inputs.feats, '--out', join(dir, out)];
    let r = kdasr(...args('res-full'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/decode: 15\/15 utterances, [\d.]+ utt\/s, elapsed \d+s, ETA 0s/);
    expect(r.stderr.match(/decode: \d+\/15 utterances/g)!.length).toBeLessThanOrEqual(11);
    expect(existsSync(join(dir, 'res-full', 'partial.jsonl'))).toBe(false);
    const hyp = readFileSync(join(dir, 'res-full', 'hyp.txt'), 'utf8');
    const refs = readFileSync(join(dir, 'res-full', 'ref.txt'), 'utf8').split('\n');
    const K = 6;
    const out = join(dir, 'res-part');
    mkdirSync(out);
    writeFileSync(join(out, 'partial.json'), JSON.stringify({ ...inputs, options: { 'acoustic-scale': '1', corpus: inputs.corpus, feats: inputs.feats, model: inputs.model } }));
    const done = hyp.trim().split('\n').slice(0, K).map((h, i) => JSON.stringify({ id: h.split(' ')[0], r: { hyp: h, ref: refs[i], reachedFinal: true } }) + '\n');
    writeFileSync(join(out, 'partial.jsonl'), done.join('') + '{"id":"test-0');
    r = kdasr(...args('res-part'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`decode: resuming, ${K} utterances already done`);
    expect(readFileSync(join(out, 'hyp.txt'), 'utf8')).toBe(hyp);
    expect(existsSync(join(out, 'partial.jsonl')) || existsSync(join(out, 'partial.json'))).toBe(false);

    // A partial file from an older kdasr (`final` where this one writes `reachedFinal`) is upgraded, not misread
    // as "no final state"; a line with neither field is refused with the file, line and field.
    const settings = JSON.stringify({ ...inputs, options: { 'acoustic-scale': '1', corpus: inputs.corpus, feats: inputs.feats, model: inputs.model } });
    const old = (h: string, i: number, extra: Record<string, unknown>) => JSON.stringify({ id: h.split(' ')[0], r: { hyp: h, ref: refs[i], ...extra } }) + '\n';
    const full = JSON.parse(readFileSync(join(dir, 'res-full', 'decode.json'), 'utf8')) as { notReachedFinal: number };
    mkdirSync(join(dir, 'res-old'));
    writeFileSync(join(dir, 'res-old', 'partial.json'), settings);
    writeFileSync(join(dir, 'res-old', 'partial.jsonl'), hyp.trim().split('\n').slice(0, K).map((h, i) => old(h, i, { final: true })).join(''));
    r = kdasr(...args('res-old'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`decode: resuming, ${K} utterances already done`);
    expect(r.stderr).toContain(`${K} results from an older kdasr upgraded`);
    expect(readFileSync(join(dir, 'res-old', 'hyp.txt'), 'utf8')).toBe(hyp);
    expect((JSON.parse(readFileSync(join(dir, 'res-old', 'decode.json'), 'utf8')) as { notReachedFinal: number }).notReachedFinal).toBe(full.notReachedFinal);
    mkdirSync(join(dir, 'res-bad'));
    writeFileSync(join(dir, 'res-bad', 'partial.json'), settings);
    writeFileSync(join(dir, 'res-bad', 'partial.jsonl'), old(hyp.split('\n')[0], 0, {}));
    r = kdasr(...args('res-bad'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'res-bad', 'partial.jsonl')} line 1: field "reachedFinal" (or the older "final") is missing or not a boolean`);

    mkdirSync(join(dir, 'res-other'));
    writeFileSync(join(dir, 'res-other', 'partial.json'), JSON.stringify({ ...inputs, options: {} }));
    writeFileSync(join(dir, 'res-other', 'partial.jsonl'), '');
    r = kdasr(...args('res-other'), '--beam', '8');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'res-other', 'partial.jsonl')} is from a run with different settings`);
    expect(r.stderr).toContain('delete it to start over, or use another --out');
  });

  // Uses mono2 and res-full from the tests above: the split named as corpus + split, or as a manifest file, decodes
  // exactly like the split's own directory (no hand-made lists).
  it('takes --corpus DIR --split NAME or --manifest FILE', { timeout: 300_000 }, () => {
    const common = ['--model', join(dir, 'mono2'), '--feats', join(dir, 'feats-test')];
    const want = readFileSync(join(dir, 'res-full', 'hyp.txt'), 'utf8');
    let r = kdasr('decode', ...common, '--corpus', dir, '--split', 'test', '--out', join(dir, 'by-split'));
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'by-split', 'hyp.txt'), 'utf8')).toBe(want);
    r = kdasr('decode', ...common, '--manifest', join(dir, 'test', 'supervisions.jsonl'), '--out', join(dir, 'by-manifest'));
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'by-manifest', 'hyp.txt'), 'utf8')).toBe(want);
    // --log-json: every stderr line is one JSON object, progress included; --quiet: nothing on stderr.
    r = kdasr('decode', ...common, '--corpus', dir, '--split', 'test', '--out', join(dir, 'by-json'), '--log-json');
    expect(r.code, r.stderr).toBe(0);
    const events = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { level: string; name: string; done?: number; final?: boolean });
    expect(events.find((e) => e.level === 'progress' && e.final)).toMatchObject({ name: 'decode', done: 15 });
    r = kdasr('decode', ...common, '--corpus', dir, '--split', 'test', '--out', join(dir, 'by-quiet'), '--quiet');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    r = kdasr('decode', ...common, '--corpus', dir, '--split', 'dev', '--out', join(dir, 'by-dev'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--split dev: ${dir} has neither dev/supervisions.jsonl nor splits.json`);
    r = kdasr('decode', ...common, '--out', join(dir, 'no-corpus'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('decode: pass --corpus DIR [--split NAME] or --manifest FILE');
  });

  // Uses ali1 from the test above (same file, run in order).
  const trainArgs = () => ['--corpus', join(dir, 'train'), '--feats', join(dir, 'feats-train'), '--ali', join(dir, 'ali1'), '--preset', 'tiny', '--epochs', '6', '--hidden-units', '64'];
  const trainJson = (exp: string) => JSON.parse(readFileSync(join(dir, exp, 'train.json'), 'utf8'));

  it('--engine tfjs is honoured; native trains the same config as well', { timeout: 300_000 }, () => {
    let r = kdasr('train', ...trainArgs(), '--exp', join(dir, 'eng-tfjs'), '--engine', 'tfjs');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('engine tfjs (requested)');
    expect(trainJson('eng-tfjs').engine).toBe('tfjs');
    expect(JSON.parse(readFileSync(join(dir, 'eng-tfjs', 'model', 'kdasr.json'), 'utf8')).config.engine).toBe('tfjs');
    expect(trainJson('eng-tfjs').devFrameAccuracy).toBeGreaterThan(0.7);
    // A tfjs-trained model decodes with posteriors on either engine.
    r = kdasr('decode', '--model', join(dir, 'eng-tfjs'), '--corpus', join(dir, 'test'), '--feats', join(dir, 'feats-test'), '--out', join(dir, 'eng-tfjs-dec'), '--engine', 'tfjs');
    expect(r.code, r.stderr).toBe(0);
    expect(kdasr('train', ...trainArgs(), '--exp', join(dir, 'x'), '--engine', 'gpu').stderr).toContain('--engine is "gpu"');
  });

  it.skipIf(!nativeLoad.available && !requireNative)('--engine native trains on the synthetic data and decodes like tfjs', { timeout: 120_000 }, () => {
    let r = kdasr('train', ...trainArgs(), '--exp', join(dir, 'eng-native'), '--engine', 'native');
    expect(r.code, r.stderr).toBe(0);
    expect(trainJson('eng-native').engine).toBe('native');
    expect(trainJson('eng-native').devFrameAccuracy).toBeGreaterThan(0.7);
    expect(Math.abs(trainJson('eng-native').devFrameAccuracy - trainJson('eng-tfjs').devFrameAccuracy)).toBeLessThan(0.1);
    r = kdasr('decode', '--model', join(dir, 'eng-tfjs'), '--corpus', join(dir, 'test'), '--feats', join(dir, 'feats-test'), '--out', join(dir, 'eng-tfjs-dec-native'), '--engine', 'native');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'eng-tfjs-dec-native', 'decode.json'), 'utf8')).engine).toBe('native');
    expect(readFileSync(join(dir, 'eng-tfjs-dec-native', 'hyp.txt'), 'utf8')).toBe(readFileSync(join(dir, 'eng-tfjs-dec', 'hyp.txt'), 'utf8'));
  });

  it('--members N trains an ensemble that align/decode/eval combine', { timeout: 180_000 }, () => {
    let r = kdasr('train', ...trainArgs(), '--exp', join(dir, 'ens'), '--members', '3');
    expect(r.code, r.stderr).toBe(0);
    for (let i = 0; i < 3; i++) expect(existsSync(join(dir, 'ens', `member-${i}`, 'model', 'model.json'))).toBe(true);
    const tj = trainJson('ens');
    expect(tj.members.map((m: { seed: number }) => m.seed)).toEqual([0, 1, 2]);
    expect(tj.ensembleDevFrameAccuracy).toBeGreaterThan(0.7);
    r = kdasr('align', '--model', join(dir, 'ens'), '--corpus', join(dir, 'test'), '--feats', join(dir, 'feats-test'), '--out', join(dir, 'ens-ali'));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'ens-ali', 'align.json'), 'utf8')).members).toBe(3);
    for (const combine of ['arithmetic', 'geometric']) {
      r = kdasr('eval', '--model', join(dir, 'ens'), '--corpus', join(dir, 'test'), '--feats', join(dir, 'feats-test'), '--out', join(dir, `ens-eval-${combine}`), '--ali', join(dir, 'ens-ali'), '--combine', combine);
      expect(r.code, r.stderr).toBe(0);
      const ev = JSON.parse(readFileSync(join(dir, `ens-eval-${combine}`, 'eval.json'), 'utf8'));
      expect(ev.members).toBe(3);
      expect(ev.combine).toBe(combine);
      expect(ev.wer.wer).toBeLessThan(10);
      expect(ev.frames.frameAccuracy).toBeGreaterThan(0.7);
    }
    expect(kdasr('decode', '--model', join(dir, 'ens'), '--corpus', join(dir, 'test'), '--feats', join(dir, 'feats-test'), '--out', join(dir, 'ens-dec'), '--combine', 'median').stderr).toContain('--combine is "median"');
  });

  // Context-dependent pdfs: with the lexicon x = "a b", y = "b a", z = "a c" (1 state per phone) the synthetic means
  // make "a" three sounds (before b, after b, before c) and "b" two: 6 monophone states, 9 true context classes.
  // Kaldi-style: mono (flat start) -> align -> tree + train -> realign with the tree model -> tree + train again.
  // (The monophone model cannot separate a's three sounds well: its test WER is ~44%.)
  it('--tree-leaves trains on tree pdfs that align/decode/eval use', { timeout: 180_000 }, () => {
    writeFileSync(join(dir, 'lexicon.txt'), 'x a b\ny b a\nz a c\n');
    const tr = ['--corpus', join(dir, 'train'), '--feats', join(dir, 'feats-train')];
    const te = ['--corpus', join(dir, 'test'), '--feats', join(dir, 'feats-test')];
    const common = ['--preset', 'tiny', '--epochs', '8', '--hidden-units', '64'];
    let r = kdasr('train', ...tr, '--exp', join(dir, 'lex0'), '--lexicon', join(dir, 'lexicon.txt'), '--states', '1', ...common);
    expect(r.code, r.stderr).toBe(0);
    expect(trainJson('lex0').states).toBe(6);
    expect(kdasr('align', '--model', join(dir, 'lex0'), ...tr, '--out', join(dir, 'lex-ali0')).code).toBe(0);
    expect(kdasr('train', ...tr, '--exp', join(dir, 'x'), '--tree-leaves', '9', ...common).stderr).toContain('--tree-leaves needs --ali');
    expect(kdasr('train', ...tr, '--exp', join(dir, 'x'), '--ali', join(dir, 'lex-ali0'), '--tree-leaves', '4', ...common).stderr).toMatch(/targetLeaves must be an integer ≥ the 6/);

    r = kdasr('train', ...tr, '--exp', join(dir, 'cd1'), '--ali', join(dir, 'lex-ali0'), '--tree-leaves', '9', ...common);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('tree with 9 pdfs (requested 9) from 6 monophone states');
    expect(trainJson('cd1').numPdfs).toBe(9);
    const treeFile = JSON.parse(readFileSync(join(dir, 'cd1', 'tree.json'), 'utf8'));
    expect(treeFile.numPdfs).toBe(9);
    expect(treeFile.config.targetLeaves).toBe(9);
    expect(JSON.parse(readFileSync(join(dir, 'cd1', 'model', 'kdasr.json'), 'utf8')).config.numPdfs).toBe(9);

    r = kdasr('align', '--model', join(dir, 'cd1'), ...tr, '--out', join(dir, 'cd-ali1'));
    expect(r.code, r.stderr).toBe(0);
    const line = JSON.parse(readFileSync(join(dir, 'cd-ali1', 'labels.jsonl'), 'utf8').split('\n')[0]) as { labels: number[]; mono: number[] };
    expect(Math.max(...line.labels)).toBeLessThan(9);
    expect(Math.max(...line.mono)).toBeLessThan(6);
    expect(JSON.parse(readFileSync(join(dir, 'cd-ali1', 'align.json'), 'utf8')).numPdfs).toBe(9);

    // Second pass from the tree model's alignment ("mono" labels), as a 2-member ensemble sharing one tree.
    r = kdasr('train', ...tr, '--exp', join(dir, 'cd2'), '--ali', join(dir, 'cd-ali1'), '--tree-leaves', '9', '--members', '2', ...common);
    expect(r.code, r.stderr).toBe(0);
    expect(trainJson('cd2').numPdfs).toBe(9);
    expect(trainJson('cd2').ensembleDevFrameAccuracy).toBeGreaterThan(0.7);
    expect(kdasr('align', '--model', join(dir, 'cd2'), ...te, '--out', join(dir, 'cd-ali-test')).code).toBe(0);
    r = kdasr('eval', '--model', join(dir, 'cd2'), ...te, '--out', join(dir, 'cd-eval'), '--ali', join(dir, 'cd-ali-test'));
    expect(r.code, r.stderr).toBe(0);
    const ev = JSON.parse(readFileSync(join(dir, 'cd-eval', 'eval.json'), 'utf8'));
    expect(ev.numPdfs).toBe(9);
    expect(ev.members).toBe(2);
    expect(ev.wer.wer).toBeLessThan(10);
    expect(ev.frames.frameAccuracy).toBeGreaterThan(0.7);

    // A tree model's alignment also retrains a monophone model (from its "mono" labels).
    r = kdasr('train', ...te, '--exp', join(dir, 'lex-mono'), '--ali', join(dir, 'cd-ali-test'), ...common, '--epochs', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(trainJson('lex-mono').numPdfs).toBe(6);
  });

  it('names missing inputs', () => {
    const r = kdasr('train', '--corpus', join(dir, 'train'), '--feats', join(dir, 'feats-train'), '--exp', join(dir, 'x'));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('a flat start needs --lexicon FILE or --whole-word N');
  });
});

// Real speech: a slice of FSDD connected digits through corpus -> features -> flat start -> align -> eval. Small and
// short (tiny model, 40 utterances), so it checks the wiring on 8 kHz audio, not the WER (see the README for that).
const haveFsdd = fsddAvailable();
if (!haveFsdd) console.warn(`kdasr train/align/eval FSDD test skipped: ${DEFAULT_FSDD_DIR} is absent (put FSDD v1.0.10 there to run it)`);
describe.skipIf(!haveFsdd)('FSDD connected digits (smoke)', () => {
  it('runs the whole pipeline on real audio', { timeout: 240_000 }, () => {
    const corpus = join(dir, 'fsdd');
    expect(kdasr('corpus', 'fsdd', '--src', DEFAULT_FSDD_DIR, '--out', corpus).code).toBe(0);
    for (const [split, n] of [['train', 40], ['test', 8]] as const) {
      const sd = join(corpus, 'connected', split);
      const recs = readFileSync(join(sd, 'recordings.jsonl'), 'utf8').trim().split('\n').slice(0, n).map((l) => JSON.parse(l) as { id: string; path: string });
      writeFileSync(join(dir, `fsdd-${split}.scp`), recs.map((r) => `${r.id} ${resolve(sd, r.path)}`).join('\n') + '\n');
      const f = kdasr('features', '--input', join(dir, `fsdd-${split}.scp`), '--out', join(dir, `fsdd-feats-${split}`), '--jobs', '1');
      expect(f.code, f.stderr).toBe(0);
    }
    const train = ['--corpus', join(corpus, 'connected', 'train'), '--feats', join(dir, 'fsdd-feats-train')];
    const test = ['--corpus', join(corpus, 'connected', 'test'), '--feats', join(dir, 'fsdd-feats-test')];
    let r = kdasr('train', ...train, '--exp', join(dir, 'fsdd-mono0'), '--whole-word', '4', '--preset', 'tiny', '--epochs', '2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\d+ train \/ 4 dev utterances, .* 43 states, input 200; labels: flat start/);
    r = kdasr('align', '--model', join(dir, 'fsdd-mono0'), ...test, '--out', join(dir, 'fsdd-ali-test'));
    expect(r.code, r.stderr).toBe(0);
    r = kdasr('eval', '--model', join(dir, 'fsdd-mono0'), ...test, '--out', join(dir, 'fsdd-eval'), '--ali', join(dir, 'fsdd-ali-test'));
    expect(r.code, r.stderr).toBe(0);
    const ev = JSON.parse(readFileSync(join(dir, 'fsdd-eval', 'eval.json'), 'utf8'));
    expect(ev.wer.refWords).toBeGreaterThan(20);
    // Far above chance (1/43) even for this tiny flat-start model: labels and features line up.
    expect(ev.frames.frameAccuracy).toBeGreaterThan(0.15);
  });
});
