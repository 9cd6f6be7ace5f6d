import { describe, expect, it, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/kdasr.mjs', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'kdasr-cli-corpus-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function kdasr(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: '/', timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

describe('kdasr corpus', () => {
  it('usage errors exit 2 and name the flag', async () => {
    const r = await kdasr(['corpus', 'synth', '--preset', 'huge', '--out', join(tmp, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--preset is "huge"; expected one of tiny, small, medium/);
    const r2 = await kdasr(['corpus', 'synth', '--preset', 'tiny']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/corpus synth: --out is required/);
  });

  it('validate lists every problem with file and line and exits 1', async () => {
    const dir = join(tmp, 'bad');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'recordings.jsonl'),
      [
        JSON.stringify({ id: 'a', path: 'a.wav', sampleRateHz: 16000, numSamples: 10, numChannels: 1, speaker: 's' }),
        JSON.stringify({ id: 'b', path: 'b.wav', sampleRateHz: 16000, numSamples: 10, numChannels: 1, speaker: 's' }),
      ].join('\n') + '\n',
    );
    writeFileSync(join(dir, 'supervisions.jsonl'), '');
    const r = await kdasr(['corpus', 'validate', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(dir, 'recordings.jsonl')}:1: path: audio file ${join(dir, 'a.wav')} of recording a is missing`);
    expect(r.stderr).toContain(`${join(dir, 'recordings.jsonl')}:2: path: audio file ${join(dir, 'b.wav')} of recording b is missing`);
    expect(r.stdout).toMatch(/2 problem\(s\)/);
  });

  it('kaldi import runs piped wav.scp entries; a failing command names the recording and the command, exit 1', async () => {
    const src = join(tmp, 'kaldi');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'wav.scp'), 'r1 flac -c -d r1.flac |\n');
    writeFileSync(join(src, 'text'), 'r1 hello\n');
    writeFileSync(join(src, 'utt2spk'), 'r1 s\n');
    const r = await kdasr(['corpus', 'kaldi', '--src', src, '--out', join(tmp, 'k-out')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/wav\.scp:1: r1: recording r1 \(.*wav\.scp:1\): the command `flac -c -d r1\.flac` exited with status \d+/);
  });

  it('fsdd --help shows no absolute default path', async () => {
    const r = await kdasr(['corpus', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/default --src: shared\/data\/fsdd beside the repository/);
    expect(r.stdout).not.toMatch(/\s\/[a-z]+\/\S*fsdd/);
  });

  it('export-lhotse then import-lhotse round-trips a corpus (lhotse schema in between)', { timeout: 180_000 }, async () => {
    const dir = join(tmp, 'ours');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'recordings.jsonl'),
      JSON.stringify({ id: 'r1', command: 'sox -n -r 8000 -b 16 -t wav - synth 1 sine 300', sampleRateHz: 8000, numSamples: 8000, numChannels: 1, speaker: 's1' }) + '\n',
    );
    const sup = { id: 'u1', recordingId: 'r1', startSec: 0.25, durationSec: 0.5, text: 'hello there', speaker: 's1' };
    writeFileSync(join(dir, 'supervisions.jsonl'), JSON.stringify(sup) + '\n');
    const lh = join(tmp, 'lh');
    const e = await kdasr(['corpus', 'export-lhotse', dir, '--out', lh]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/exported 1 recordings, 1 supervisions \(0 with alignments\) -> .*recordings\.jsonl\.gz/);
    const back = join(tmp, 'back');
    const i = await kdasr(['corpus', 'import-lhotse', lh, '--out', back]);
    expect(i.code, i.stderr).toBe(0);
    expect(readFileSync(join(back, 'supervisions.jsonl'), 'utf8')).toBe(JSON.stringify(sup) + '\n');
    expect(readFileSync(join(back, 'recordings.jsonl'), 'utf8')).toBe(readFileSync(join(dir, 'recordings.jsonl'), 'utf8'));
    const bad = await kdasr(['corpus', 'import-lhotse', tmp, '--out', join(tmp, 'x')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/expected exactly one recordings manifest .* pass --recordings and --supervisions/);
  });
});
