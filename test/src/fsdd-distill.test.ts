// The distillation workflow as a CLI user runs it on FSDD's recorded digits, with no glue code and no hand-made
// lists: corpus -> features (corpus dir + split) -> flat start + alignment -> 3 members -> teacher-logits on the
// members -> distill a smaller student at T=2 from the stored logits -> eval. The same commands are in
// packages/experiments/README.md ("The FSDD sequence"). Skips with a message where FSDD is absent.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const kdasr = join(repoRoot, 'packages', 'cli', 'bin', 'kdasr.mjs');
const FSDD = process.env.KDASR_FSDD_DIR || resolve(repoRoot, '..', 'shared', 'data', 'fsdd');
const fsddOk = existsSync(join(FSDD, 'recordings'));
if (!fsddOk) console.warn(`fsdd-distill: skipped: FSDD is absent (${FSDD}/recordings; set KDASR_FSDD_DIR)`);

const root = mkdtempSync(join(tmpdir(), 'kdasr-fsdd-distill-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const c = spawn(process.execPath, [kdasr, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KDASR_BACKEND: 'wasm' } });
  let stdout = '';
  let stderr = '';
  c.stdout!.on('data', (d) => (stdout += d));
  c.stderr!.on('data', (d) => (stderr += d));
  return new Promise((res) => c.on('exit', (code) => res({ code, stdout, stderr })));
}

async function ok(args: string[]): Promise<string> {
  const r = await run(args);
  if (r.code !== 0) throw new Error(`kdasr ${args.join(' ')} exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}

describe.skipIf(!fsddOk)('FSDD: train members, teacher-logits, distill, eval from the CLI', () => {
  it('distils 3 members into a smaller student that is far above chance, and eval reads it', async () => {
    const E = root;
    const TR = ['--corpus', join(E, 'corpus', 'connected'), '--split', 'train', '--feats', join(E, 'feats-train')];
    const TE = ['--corpus', join(E, 'corpus', 'connected'), '--split', 'test', '--feats', join(E, 'feats-test')];
    const M = ['--hidden-layers', '2', '--hidden-units', '128', '--context', '5,5'];
    await ok(['corpus', 'fsdd', '--src', FSDD, '--out', join(E, 'corpus')]);
    for (const s of ['train', 'test']) await ok(['features', '--corpus', join(E, 'corpus', 'connected'), '--split', s, '--out', join(E, `feats-${s}`)]);
    await ok(['train', ...TR, '--exp', join(E, 'mono0'), '--whole-word', '8', ...M, '--epochs', '2']);
    await ok(['align', '--model', join(E, 'mono0'), ...TR, '--out', join(E, 'ali0')]);
    await ok(['train', ...TR, '--exp', join(E, 'ens'), '--ali', join(E, 'ali0'), ...M, '--epochs', '3', '--members', '3']);
    await ok(['train', ...TR, '--exp', join(E, 'base'), '--ali', join(E, 'ali0'), '--hidden-layers', '1', '--hidden-units', '64', '--context', '5,5', '--epochs', '3']);
    const devUtts = join(E, 'ens', 'dev-utts.txt');
    expect(existsSync(devUtts)).toBe(true);
    await ok(['teacher-logits', '--model', join(E, 'ens'), ...TR, '--exclude', devUtts, '--ali', join(E, 'ali0'), '--out', join(E, 'logits')]);
    const summary = await ok([
      'distill', '--logits', join(E, 'logits'), '--temperature', '2', '--hidden-layers', '1', '--hidden-units', '64', '--epochs', '3',
      '--dev', `feats=${join(E, 'feats-train')},corpus=${join(E, 'corpus', 'connected', 'train')},utts=${devUtts},ali=${join(E, 'ali0')}`,
      '--baseline', join(E, 'base'), '--out', join(E, 'student'),
    ]);
    const d = JSON.parse(readFileSync(join(E, 'student', 'distill.json'), 'utf8')) as { rows: { system: string; devFrameAccuracy: number }[]; student: { devFrameAccuracy: number } };
    // 10 digits x 8 states + silence: chance is about 1/81. The student must be far above it and within reach of the teacher.
    const byName = Object.fromEntries(d.rows.map((r) => [r.system, r.devFrameAccuracy]));
    console.log(`fsdd-distill dev frame accuracy: ${JSON.stringify(byName)}\n${summary}`);
    expect(d.rows.length).toBeGreaterThanOrEqual(3);
    expect(d.student.devFrameAccuracy).toBeGreaterThan(0.3);
    const teacherBest = Math.max(...d.rows.filter((r) => !/student|baseline/i.test(r.system)).map((r) => r.devFrameAccuracy));
    expect(d.student.devFrameAccuracy).toBeGreaterThan(teacherBest - 0.2);
    await ok(['eval', '--model', join(E, 'student'), ...TE, '--out', join(E, 'student', 'eval-test')]);
    const ev = JSON.parse(readFileSync(join(E, 'student', 'eval-test', 'eval.json'), 'utf8')) as { wer: { errors?: number; words?: number; wer?: number } };
    expect(ev.wer).toBeDefined();
    expect(readFileSync(join(E, 'student', 'eval-test', 'wer.txt'), 'utf8')).toMatch(/WER/);
  }, 1_200_000);
});
