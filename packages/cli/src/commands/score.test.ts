import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// End to end through the real bin (which re-execs node with tsx), from the workspace root.
const root = resolve(import.meta.dirname, '../../../..');
const dir = mkdtempSync(join(tmpdir(), 'kdasr-score-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kdasr(...args: string[]) {
  const r = spawnSync(process.execPath, ['packages/cli/bin/kdasr.mjs', 'score', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

describe('kdasr score', () => {
  const ref = file('ref.txt', 'u1 the cat sat on the mat\nu2 hello world\nu3 a b c\n');
  const hyp = file('hyp.txt', 'u1 the bat sat on mat today\nu2 hello world\n');

  it('prints Kaldi compute-wer lines and writes an sclite-style report', () => {
    const report = join(dir, 'out', 'report.txt');
    const r = kdasr('--ref', ref, '--hyp', hyp, '--report', report);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // u1: 1 sub, 1 del, 1 ins; u3 missing: 3 del. 11 ref words.
    expect(r.stdout).toBe('%WER 54.55 [ 6 / 11, 1 ins, 4 del, 1 sub ]\n%SER 66.67 [ 2 / 3 ]\nScored 3 sentences, 1 not present in hyp.\n');
    const text = readFileSync(report, 'utf8');
    expect(text).toContain('REF:  the CAT sat on THE mat ***');
    expect(text).toContain('HYP:  the BAT sat on *** mat TODAY');
    expect(text).toContain('id: (u3) [missing from hyp]');
  });

  it('--json gives the totals as JSON', () => {
    const r = kdasr('--ref', ref, '--hyp', hyp, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ refWords: 11, errors: 6, insertions: 1, deletions: 4, substitutions: 1, sentences: 3, sentenceErrors: 2, missingInHyp: ['u3'] });
    expect(j.wer).toBeCloseTo(54.545, 2);
    expect(j.utterances).toHaveLength(3);
  });

  it('an id only in HYP is an error, or a warning with --allow-extra', () => {
    const extra = file('extra.txt', 'u1 the cat sat on the mat\nzz oops\n');
    const bad = kdasr('--ref', ref, '--hyp', extra);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/"zz".*--allow-extra/);
    const ok = kdasr('--ref', ref, '--hyp', extra, '--allow-extra');
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/warning: ignored 1 utterance/);
    expect(ok.stdout).toMatch(/^%WER 45\.45 \[ 5 \/ 11, 0 ins, 5 del, 0 sub \]/);
  });

  it('usage errors exit 2; file errors name the file and line', () => {
    const usage = kdasr('--ref', ref);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--ref and --hyp are both required/);
    const dup = file('dup.txt', 'u1 a\nu1 b\n');
    const r = kdasr('--ref', dup, '--hyp', hyp);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${dup}:2: duplicate utterance id "u1"`);
  });
});
