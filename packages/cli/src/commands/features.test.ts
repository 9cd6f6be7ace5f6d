import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FeatureArchive, readNpy } from '@kdasr/audio-features';
import { command, readUtteranceList } from './features.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const fixtures = join(repo, 'packages/audio-features/src/__fixtures__');
const bin = join(repo, 'packages/cli/bin/kdasr.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'kdasr-cli-features-'));

function kdasr(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('readUtteranceList', () => {
  it('reads `id path` lines and JSONL, rejects duplicates', () => {
    const a = join(tmp, 'a.scp');
    writeFileSync(a, '# comment\nu1 /x/a.wav\n\nu2   /x/b c.wav\n');
    expect(readUtteranceList(a)).toEqual([
      { id: 'u1', path: '/x/a.wav' },
      { id: 'u2', path: '/x/b c.wav' },
    ]);
    const j = join(tmp, 'a.jsonl');
    writeFileSync(j, '{"id":"u1","path":"/x/a.wav"}\n{"id":"u1","path":"/x/b.wav"}\n');
    expect(() => readUtteranceList(j)).toThrow(/"u1" appears twice/);
    writeFileSync(j, '{"id":"u1"}\n');
    expect(() => readUtteranceList(j)).toThrow(/:1: expected \{"id"/);
  });
});

describe('kdasr features (worker processes)', () => {
  const bad = join(tmp, 'corrupt.wav');
  writeFileSync(bad, readFileSync(join(fixtures, 'fsdd_0_george_0.wav')).subarray(0, 30));
  const list = join(tmp, 'list.txt');
  writeFileSync(
    list,
    [
      `george0 ${join(fixtures, 'fsdd_0_george_0.wav')}`,
      `jackson5 ${join(fixtures, 'fsdd_3_jackson_5.wav')}`,
      `broken ${bad}`,
      `synth ${join(fixtures, 'synth16k.wav')}`,
    ].join('\n'),
  );
  const out = join(tmp, 'arch');

  it('computes, skips the corrupt file with a reason, summarises; resumes; dumps .npy', async () => {
    const r = kdasr(['features', '--input', list, '--out', out, '--jobs', '2']);
    expect(r.err).toMatch(/skipped broken: .*corrupt\.wav: WAV .*Fix/);
    expect(r.out).toMatch(/features: 3 utterances computed, 0 already present, \d+ frames, [\d.]+ s of audio .*real-time factor [\d.]+.*1 failures/);
    expect(r.code).toBe(0);
    const a = FeatureArchive.open(out);
    expect(a.ids().sort()).toEqual(['george0', 'jackson5', 'synth']);
    expect(a.get('george0').numCols).toBe(40);
    a.close();

    const again = kdasr(['features', '--input', list, '--out', out, '--jobs', '2', '--strict']);
    expect(again.err).toMatch(/3 of 4 utterances already in/);
    expect(again.out).toMatch(/0 utterances computed, 3 already present/);
    expect(again.code).toBe(1); // --strict: the corrupt file is fatal

    // dump runs in-process (it forks nothing).
    const npy = join(tmp, 'g.npy');
    expect(await command.run(['dump', '--archive', out, '--id', 'george0', '--npy', npy])).toBe(0);
    const m = readNpy(npy);
    const b = FeatureArchive.open(out);
    expect(Array.from(m.data)).toEqual(Array.from(b.get('george0').data));
    b.close();
    await expect(command.run(['dump', '--archive', out, '--id', 'nope', '--npy', npy])).rejects.toThrow(/no utterance "nope"/);
  });

  it('honours --config (MFCC, torchaudio option names) and JSONL lists', async () => {
    const cfg = join(tmp, 'mfcc.json');
    writeFileSync(cfg, JSON.stringify({ kind: 'mfcc', options: { num_ceps: 20, num_mel_bins: 40 } }));
    const jl = join(tmp, 'list.jsonl');
    copyFileSync(join(fixtures, 'fsdd_7_theo_12.wav'), join(tmp, 'theo.wav'));
    writeFileSync(jl, JSON.stringify({ id: 'theo', path: join(tmp, 'theo.wav') }) + '\n');
    const r = kdasr(['features', '--input', jl, '--out', join(tmp, 'mfcc'), '--config', cfg, '--jobs', '1']);
    expect(r.code).toBe(0);
    const a = FeatureArchive.open(join(tmp, 'mfcc'));
    expect(a.get('theo').numCols).toBe(20);
    expect(a.index.config).toMatchObject({ kind: 'mfcc' });
    a.close();
    const badCfg = join(tmp, 'bad.json');
    writeFileSync(badCfg, JSON.stringify({ num_mel_binz: 3 }));
    // A bad config fails before any worker is forked, so this runs in-process.
    await expect(command.run(['--input', jl, '--out', join(tmp, 'x'), '--config', badCfg])).rejects.toThrow(/num_mel_binz/);
  });
});
