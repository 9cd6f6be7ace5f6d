import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWholeWordSplit } from '../../test-support.js';

// kdasr export through the real bin on the synthetic whole-word task of train.test.ts: train, align, export every
// format, decode the exports with kdasr decode, and build the deployment table.
const root = resolve(import.meta.dirname, '../../../..');
const dir = mkdtempSync(join(tmpdir(), 'kdasr-export-cli-'));
afterAll(() => (process.env.KEEP ? console.log('kept', dir) : rmSync(dir, { recursive: true, force: true })));

function kdasr(...args: string[]) {
  const backend = ['train', 'align', 'decode', 'export'].includes(args[0]) && !args.includes('--help') ? ['--backend', 'cpu'] : [];
  // Frames are independent given the state here, so unscaled likelihoods are right (see train.test.ts).
  const scale = args[0] === 'decode' && !args.includes('--acoustic-scale') ? ['--acoustic-scale', '1'] : [];
  const r = spawnSync(process.execPath, ['packages/cli/bin/kdasr.mjs', ...args, ...backend, ...scale], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const makeSplit = (name: string, n: number, seed: number) => makeWholeWordSplit(dir, name, n, seed);

const TR = () => ['--corpus', join(dir, 'train'), '--feats', join(dir, 'feats-train')];
const TE = () => ['--corpus', join(dir, 'test'), '--feats', join(dir, 'feats-test')];

describe('kdasr export', () => {
  beforeAll(() => {
    makeSplit('train', 60, 1);
    makeSplit('test', 12, 2);
    let r = kdasr('train', ...TR(), '--exp', join(dir, 'mono0'), '--whole-word', '2', '--preset', 'tiny', '--epochs', '6', '--hidden-units', '64');
    expect(r.code, r.stderr).toBe(0);
    r = kdasr('align', '--model', join(dir, 'mono0'), ...TE(), '--out', join(dir, 'ali-test'));
    expect(r.code, r.stderr).toBe(0);
  }, 240_000);

  it('exports float32/uint8 TF.js that kdasr decode reads (float32: the same hypotheses), and ONNX', { timeout: 240_000 }, () => {
    let r = kdasr('export', '--model', join(dir, 'mono0'), '--out', join(dir, 'x-f32'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/exported .*x-f32 \(tfjs float32\): \d+ parameters, \d+ bytes .*accuracy not measured: no dev split/);
    r = kdasr('export', '--model', join(dir, 'mono0'), '--out', join(dir, 'x-u8'), '--dtype', 'uint8', '--dev-feats', join(dir, 'feats-test'), '--dev-ali', join(dir, 'ali-test'), '--dev-corpus', join(dir, 'test'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\(tfjs uint8\).*dev frame accuracy 0\.\d{4} \(source 0\.\d{4}, [+-]0\.\d{4}\), argmax agreement 0?1?\.\d{4}/);
    const hyps: Record<string, string> = {};
    for (const m of ['mono0', 'x-f32', 'x-u8']) {
      r = kdasr('decode', '--model', join(dir, m), ...TE(), '--out', join(dir, `dec-${m}`));
      expect(r.code, `${m}: ${r.stderr}`).toBe(0);
      hyps[m] = readFileSync(join(dir, `dec-${m}`, 'hyp.txt'), 'utf8');
    }
    expect(hyps['x-f32']).toBe(hyps.mono0);
    expect(hyps['x-u8'].split('\n').length).toBe(hyps.mono0.split('\n').length);

    r = kdasr('export', '--model', join(dir, 'mono0'), '--out', join(dir, 'x-onnx'), '--format', 'onnx', '--prior-scale', '0.5');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'x-onnx', 'model.onnx'))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'x-onnx', 'export.json'), 'utf8')).metrics.onnx).toEqual({ opset: 13, outputs: ['logits', 'loglikes'], priorScale: 0.5 });
  });

  it('refuses bad flags with the fix', { timeout: 120_000 }, () => {
    let r = kdasr('export', '--model', join(dir, 'mono0'), '--out', join(dir, 'bad'), '--dtype', 'int4');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/dtype/);
    r = kdasr('export', '--model', join(dir, 'mono0'), '--out', join(dir, 'bad'), '--dev-feats', join(dir, 'feats-test'));
    expect(r.stderr).toMatch(/--dev-feats and --dev-ali go together/);
    expect(existsSync(join(dir, 'bad'))).toBe(false);
  });

  it('--report builds the deployment table: four variants, float32 WER as kdasr decode scores it', { timeout: 240_000 }, () => {
    const r = kdasr('export', '--report', '--model', `mono0=${join(dir, 'mono0')}`, ...TE(), '--ali', join(dir, 'ali-test'), '--out', join(dir, 'report'));
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(readFileSync(join(dir, 'report', 'report.json'), 'utf8')) as { rows: { variant: string; wer: number; frameAccuracy: number; framesPerSecond: number; bytesOnDisk: number }[]; utterances: number };
    expect(rep.rows.map((x) => x.variant)).toEqual(['float32', 'float16', 'uint8', 'onnx']);
    expect(rep.utterances).toBe(12);
    for (const row of rep.rows) {
      expect(row.framesPerSecond).toBeGreaterThan(0);
      expect(row.frameAccuracy).toBeGreaterThan(0);
    }
    expect(rep.rows[2].bytesOnDisk).toBeLessThan(rep.rows[0].bytesOnDisk / 2);
    // The table's decoder is kdasr decode's: float32 and ONNX give its WER (acoustic scale 0.1 here, the default).
    const dec = kdasr('decode', '--model', join(dir, 'mono0'), ...TE(), '--out', join(dir, 'dec-default'), '--acoustic-scale', '0.1');
    expect(dec.code, dec.stderr).toBe(0);
    const score = kdasr('score', '--ref', join(dir, 'dec-default', 'ref.txt'), '--hyp', join(dir, 'dec-default', 'hyp.txt'), '--json');
    expect(score.code, score.stderr).toBe(0);
    expect(rep.rows[0].wer).toBeCloseTo(JSON.parse(score.stdout).wer, 9);
    expect(r.stdout).toContain('| mono0 | float32 |');
    expect(readFileSync(join(dir, 'report', 'report.md'), 'utf8')).toContain('frames/s (Node)');
    expect(Math.abs(rep.rows[3].wer - rep.rows[0].wer)).toBeLessThan(1e-9);
  });
});
