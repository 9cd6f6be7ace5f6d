import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng, initRuntime } from '@kdasr/core';
import { runTeacherLogits } from '@kdasr/experiments';
import { FeatureArchiveWriter } from '@kdasr/audio-features';
import { AlignmentSchema, SupervisionSchema, writeJsonl, type Alignment, type Supervision } from '@kdasr/corpus';

// The distillation workflow end to end through the real bin on a synthetic whole-word task (words x/y/z of 2
// states with distinct means, as in train.test.ts): train an ensemble, store its logits, distil a smaller
// student at T=2, evaluate it; an unlabelled transfer set; and resuming an interrupted distill.
const root = resolve(import.meta.dirname, '../../../..');
const dir = mkdtempSync(join(tmpdir(), 'kdasr-distill-cli-'));
afterAll(() => (process.env.KEEP ? console.log('kept', dir) : rmSync(dir, { recursive: true, force: true })));

const BIN = 'packages/cli/bin/kdasr.mjs';
function kdasr(...args: string[]) {
  // Deterministic cpu backend for every model command.
  const backend = ['train', 'teacher-logits', 'distill', 'eval'].includes(args[0]) ? ['--backend', 'cpu'] : [];
  const r = spawnSync(process.execPath, [BIN, ...args, ...backend], { cwd: root, encoding: 'utf8', timeout: 170_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A split: features, supervisions and (labelled) the words' exact spans as one-"phone"-per-word alignments. */
function makeSplit(name: string, n: number, seed: number, labelled: boolean): void {
  const rng = new Rng(seed);
  const means = new Rng(7);
  const D = 6;
  const classMean = new Map<string, Float32Array>();
  for (const k of ['sil0', 'sil1', 'sil2', 'x0', 'x1', 'y0', 'y1', 'z0', 'z1']) classMean.set(k, Float32Array.from({ length: D }, () => means.normal() * 3));
  const w = FeatureArchiveWriter.open(join(dir, `feats-${name}`), { config: { kind: 'synthetic' } });
  const sups: Supervision[] = [];
  const alis: Alignment[] = [];
  for (let u = 0; u < n; u++) {
    const words = Array.from({ length: 2 + rng.int(3) }, () => ['x', 'y', 'z'][rng.int(3)]);
    const seq: string[] = [];
    const phones: Alignment['phones'] = [];
    const wordSegs: Alignment['words'] = [];
    const push = (k: string, frames: number) => {
      for (let i = 0; i < frames; i++) seq.push(k);
    };
    // Times at the frame shift (10 ms); each segment's frames split evenly over its states (3 for silence, 2 per word).
    const seg = (phone: string, frames: number, wordIndex?: number) => {
      const start = seq.length;
      if (phone === 'sil') (push('sil0', frames / 3), push('sil1', frames / 3), push('sil2', frames / 3));
      else (push(`${phone}0`, frames / 2), push(`${phone}1`, frames / 2));
      phones.push({ phone, startSec: start / 100, endSec: seq.length / 100, ...(wordIndex !== undefined ? { wordIndex } : {}) });
    };
    seg('sil', 6);
    words.forEach((wd, i) => {
      const s0 = seq.length / 100;
      seg(wd, 2 * (4 + rng.int(4)), i);
      wordSegs.push({ word: wd, startSec: s0, endSec: seq.length / 100 });
      if (rng.uniform() < 0.3) seg('sil', 3);
    });
    seg('sil', 6);
    const data = new Float32Array(seq.length * D);
    seq.forEach((k, t) => classMean.get(k)!.forEach((m, d) => (data[t * D + d] = m + rng.normal())));
    const id = `${name}-${String(u).padStart(3, '0')}`;
    w.append(id, { data, numFrames: seq.length, numCols: D }, { sampleRateHz: 16000 });
    sups.push({ id, recordingId: id, startSec: 0, durationSec: seq.length / 100, text: words.join(' '), speaker: `s${u % 3}` });
    alis.push({ id, recordingId: id, words: wordSegs, phones });
  }
  w.close();
  writeJsonl(join(dir, name, 'supervisions.jsonl'), sups, SupervisionSchema);
  if (labelled) writeJsonl(join(dir, name, 'alignments.jsonl'), alis, AlignmentSchema);
}

/** Dev frame accuracy of a table row. */
function acc(table: string, system: string): number {
  const m = new RegExp(`\\| ${system.replace(/[()]/g, '\\$&')} +\\| +(\\d+\\.\\d+)% \\|`).exec(table);
  if (!m) throw new Error(`no row "${system}" in\n${table}`);
  return Number(m[1]) / 100;
}

describe('kdasr teacher-logits / distill', () => {
  beforeAll(() => {
    makeSplit('train', 60, 1, true);
    makeSplit('dev', 12, 3, true);
    makeSplit('test', 10, 2, true);
    makeSplit('unlab', 60, 4, false);
  });

  it('trains 2 members, stores their logits, distils a smaller student at T=2 and evaluates it', { timeout: 300_000 }, () => {
    let r = kdasr('train', '--corpus', join(dir, 'train'), '--feats', join(dir, 'feats-train'), '--exp', join(dir, 'ens'), '--whole-word', '2', '--members', '2', '--preset', 'tiny', '--epochs', '6', '--hidden-units', '64');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('labels: corpus phone alignments');
    r = kdasr('train', '--corpus', join(dir, 'train'), '--feats', join(dir, 'feats-train'), '--exp', join(dir, 'base'), '--whole-word', '2', '--preset', 'tiny', '--epochs', '6', '--hidden-units', '16', '--seed', '5');
    expect(r.code, r.stderr).toBe(0);

    r = kdasr('teacher-logits', '--model', join(dir, 'ens'), '--corpus', join(dir, 'train'), '--feats', join(dir, 'feats-train'), '--out', join(dir, 'logits'), '--chunk-rows', '256', '--shard-chunks', '2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/stored 2 artifact\(s\) .*: 60 utterances, \d+ frames x 9 classes \(\d+ labelled\)/);
    expect(r.stderr).toMatch(/teacher-logits: \d+\/\d+ frames \(100%\)/);
    const manifest = JSON.parse(readFileSync(join(dir, 'logits', 'transfer.json'), 'utf8')) as { transfer: { frames: number; labelSource: string }; artifacts: { dir: string }[] };
    expect(manifest.artifacts.map((a) => a.dir)).toEqual(['member-0', 'member-1']);
    expect(manifest.transfer.labelSource).toBe('corpus phone alignments');
    const side = JSON.parse(readFileSync(join(dir, 'logits', 'member-0', 'kdasr.json'), 'utf8')) as { kind: string; provenance: { backend?: string }; config: { teachers: { dir: string }[] } };
    expect(side.kind).toBe('teacher-logits');
    expect(side.config.teachers[0].dir).toBe(join(dir, 'ens', 'member-0', 'model'));
    expect(side.provenance).toBeDefined();
    // Rerun: nothing to compute.
    r = kdasr('teacher-logits', '--model', join(dir, 'ens'), '--corpus', join(dir, 'train'), '--feats', join(dir, 'feats-train'), '--out', join(dir, 'logits'), '--chunk-rows', '256', '--shard-chunks', '2');
    expect(r.stdout).toMatch(/0 shard\(s\) computed/);

    r = kdasr('distill', '--logits', join(dir, 'logits'), '--dev', `feats=${join(dir, 'feats-dev')},corpus=${join(dir, 'dev')}`, '--baseline', join(dir, 'base'), '--temperature', '2', '--hidden-units', '16', '--epochs', '6', '--out', join(dir, 'student'));
    expect(r.code, r.stderr).toBe(0);
    const table = r.stdout;
    expect(table).toMatch(/\| system +\| dev frame accuracy \|/);
    const student = acc(table, 'student (distilled)');
    const ensemble = acc(table, 'teacher ensemble (arithmetic)');
    expect(acc(table, 'teacher member 0')).toBeGreaterThan(0.6);
    expect(ensemble).toBeGreaterThan(0.6);
    expect(student).toBeGreaterThan(0.6);
    expect(table).toMatch(/\| share of the teacher’s gain kept +\| +-?\d+\.\d% \|/);
    const sidecar = JSON.parse(readFileSync(join(dir, 'student', 'model', 'kdasr.json'), 'utf8')) as { config: { inventory: unknown; logPriors: number[]; frontend: unknown }; metrics: { distillation: { transferSets: { framesSha256: string }[]; loss: { temperature: number } } } };
    expect(sidecar.config.inventory).toBeDefined();
    expect(sidecar.config.logPriors).toHaveLength(9);
    expect(sidecar.metrics.distillation.loss.temperature).toBe(2);
    expect(sidecar.metrics.distillation.transferSets[0].framesSha256).toMatch(/^[0-9a-f]{64}$/);
    for (const f of ['lang.json', 'lm-text.txt', 'distill.json', 'config.json']) expect(existsSync(join(dir, 'student', f)), f).toBe(true);

    // The student decodes like a trained model.
    r = kdasr('eval', '--model', join(dir, 'student'), '--corpus', join(dir, 'test'), '--feats', join(dir, 'feats-test'), '--out', join(dir, 'eval'), '--acoustic-scale', '1');
    expect(r.code, r.stderr).toBe(0);
    // WER in percent: the teachers decode this task perfectly; the small student within a few errors.
    const wer = (JSON.parse(readFileSync(join(dir, 'eval', 'eval.json'), 'utf8')) as { wer: { wer: number } }).wer.wer;
    expect(wer).toBeLessThan(20);
    expect(r.stdout).toMatch(/%WER \d+\.\d+ \[ \d+ \/ \d+/);

    // Its config.json reruns it: the finished student is reused.
    r = kdasr('distill', '--config', join(dir, 'student', 'config.json'), '--out', join(dir, 'student'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/reused .*student/);
    expect(acc(r.stdout, 'student (distilled)')).toBeCloseTo(student, 6);
  });

  it('learns from an unlabelled transfer set alone (hard weight 0): well above chance on labelled dev', { timeout: 200_000 }, () => {
    let r = kdasr('teacher-logits', '--model', join(dir, 'ens'), '--corpus', join(dir, 'unlab'), '--feats', join(dir, 'feats-unlab'), '--out', join(dir, 'logits-unlab'), '--combine', 'geometric');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/stored 1 artifact\(s\) .*\(0 labelled\)/);
    r = kdasr('distill', '--logits', join(dir, 'logits-unlab'), '--hard-weight', '0', '--dev', `feats=${join(dir, 'feats-dev')},corpus=${join(dir, 'dev')}`, '--hidden-units', '16', '--epochs', '6', '--out', join(dir, 'student-unlab'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/0 labelled: none/);
    // 9 classes: chance is about 11% (the majority state is under 25% of the frames).
    expect(acc(r.stdout, 'student (distilled)')).toBeGreaterThan(0.6);
  });

  it('a mixture, straight from the teacher models: labelled + unlabelled sets with weights', { timeout: 200_000 }, () => {
    const r = kdasr(
      'distill',
      '--teacher', join(dir, 'ens'),
      '--transfer', `feats=${join(dir, 'feats-train')},corpus=${join(dir, 'train')},weight=0.5`,
      '--transfer', `feats=${join(dir, 'feats-unlab')},corpus=${join(dir, 'unlab')},unlabelled,weight=1`,
      '--dev', `feats=${join(dir, 'feats-dev')},corpus=${join(dir, 'dev')}`,
      '--hidden-units', '16', '--epochs', '4', '--context', '1,1', '--out', join(dir, 'student-mix'),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/transfer\[1\]: 60 utterances, \d+ frames \(0 labelled: none\), weight 1/);
    expect(acc(r.stdout, 'student (distilled)')).toBeGreaterThan(0.6);
    const d = JSON.parse(readFileSync(join(dir, 'student-mix', 'distill.json'), 'utf8')) as { transfer: { weight: number; labelled: boolean }[] };
    expect(d.transfer.map((t) => [t.weight, t.labelled])).toEqual([[0.5, true], [1, false]]);
  });

  it('rejects bad flags and config keys with the key path', () => {
    let r = kdasr('distill', '--logits', join(dir, 'logits'), '--set', 'loss.temprature=3', '--print-config');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/loss\.temprature: unknown key; did you mean "loss\.temperature"\?/);
    r = kdasr('distill', '--logits', join(dir, 'logits'), '--loss', 'mse', '--print-config');
    expect(r.stderr).toMatch(/loss\.kind: "mse" is not allowed; allowed values: "cross-entropy", "kl", "logit-matching"/);
    r = kdasr('distill', '--transfer', 'feats=a,wieght=2', '--print-config');
    expect(r.stderr).toMatch(/unknown key "wieght"/);
    r = kdasr('teacher-logits', '--model', join(dir, 'ens'), '--print-config');
    expect(r.stderr).toMatch(/transfer\.feats: required/);
  });

  it('resumes an interrupted distill (killed mid-run) to the same student as an uninterrupted run', { timeout: 300_000 }, async () => {
    const args = (out: string) => [BIN, 'distill', '--logits', join(dir, 'logits'), '--dev', `feats=${join(dir, 'feats-dev')},corpus=${join(dir, 'dev')}`, '--hidden-units', '16', '--epochs', '8', '--patience', '0', '--engine', 'tfjs', '--backend', 'cpu', '--out', out];
    const whole = spawnSync(process.execPath, args(join(dir, 'full')), { cwd: root, encoding: 'utf8', timeout: 170_000 });
    expect(whole.status, whole.stderr).toBe(0);
    // Kill -9 once the second epoch is logged (its checkpoint may or may not be written yet). The bin re-executes
    // node with tsx, so the process that trains is started directly here, with the bin's flags, and killed by pid.
    const tsx = createRequire(import.meta.url).resolve('tsx');
    const direct = ['--conditions=@kdasr/source', '--import', tsx, '--no-warnings=ExperimentalWarning', 'packages/cli/src/main.ts', ...args(join(dir, 'killed')).slice(1)];
    const child = spawn(process.execPath, direct, { cwd: root });
    await new Promise<void>((done) => {
      let err = '';
      child.stderr.on('data', (b: Buffer) => {
        err += b.toString();
        if (/epoch 2\/8/.test(err)) child.kill('SIGKILL');
      });
      child.on('exit', () => done());
    });
    expect(existsSync(join(dir, 'killed', 'model', 'kdasr.json'))).toBe(false);
    expect(existsSync(join(dir, 'killed', 'checkpoint'))).toBe(true);
    const again = spawnSync(process.execPath, args(join(dir, 'killed')), { cwd: root, encoding: 'utf8', timeout: 170_000 });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/resumed after epoch [1-7]/);
    const weights = (d: string) => readFileSync(join(dir, d, 'model', 'weights.bin'));
    expect(existsSync(join(dir, 'full', 'model', 'weights.bin'))).toBe(true);
    expect(weights('killed').equals(weights('full'))).toBe(true);
  });

  it('teacher-logits interrupted mid-run resumes at its next shard and writes the same artifact', { timeout: 200_000 }, async () => {
    await initRuntime({ backend: 'cpu' });
    const config = { models: [join(dir, 'ens')], transfer: { feats: join(dir, 'feats-train'), corpus: join(dir, 'train') }, chunkRows: 128, shardChunks: 1, engine: 'tfjs' as const };
    const quiet = () => {};
    await runTeacherLogits({ config, outDir: join(dir, 'tl-full'), log: quiet });
    // A crash after the third shard's first batch of member 0 (an exception stands in for the kill).
    let calls = 0;
    await expect(
      runTeacherLogits({
        config,
        outDir: join(dir, 'tl-cut'),
        log: quiet,
        onProgress: (done) => {
          if (++calls > 0 && done > 2 * 128 + 1) throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    expect(existsSync(join(dir, 'tl-cut', 'member-0', 'index.json'))).toBe(false);
    const shards = readdirSync(join(dir, 'tl-cut', 'member-0.shards')).filter((d) => d.startsWith('shard-'));
    expect(shards.length).toBeGreaterThanOrEqual(2);
    const r = await runTeacherLogits({ config, outDir: join(dir, 'tl-cut'), log: quiet });
    expect(r.shardsReused).toBe(shards.length);
    for (const m of ['member-0', 'member-1']) {
      const a = JSON.parse(readFileSync(join(dir, 'tl-full', m, 'index.json'), 'utf8')) as { chunks: { sha256: string }[] };
      const b = JSON.parse(readFileSync(join(dir, 'tl-cut', m, 'index.json'), 'utf8')) as typeof a;
      expect(b.chunks.map((c) => c.sha256)).toEqual(a.chunks.map((c) => c.sha256));
      expect(existsSync(join(dir, 'tl-cut', `${m}.shards`))).toBe(false);
    }
  });
});
