import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FeatureArchive, FeatureExtractor, kaldiSegmentSamples, readNpy } from '@kdasr/audio-features';
import { soxAvailable } from '@kdasr/corpus';
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
    writeFileSync(a, '# comment\nu1 /x/a.wav\n\nu2   /x/b c.wav\nu3 sox /x/c.flac -t wav - |\n');
    expect(readUtteranceList(a)).toEqual([
      { id: 'u1', source: { type: 'file', path: '/x/a.wav' } },
      { id: 'u2', source: { type: 'file', path: '/x/b c.wav' } },
      { id: 'u3', source: { type: 'command', command: 'sox /x/c.flac -t wav -' } },
    ]);
    expect(() => readUtteranceList(tmp)).toThrow(new RegExp(`cannot read --input ${tmp}: is a directory`));
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

describe('kdasr features exit status (Kaldi "done N of M", --max-failures, --strict)', () => {
  const good = join(fixtures, 'fsdd_0_george_0.wav');
  const dirAsWav = join(tmp, 'a-directory.wav');
  mkdirSync(dirAsWav, { recursive: true });
  const list = join(tmp, 'mixed.scp');
  writeFileSync(list, `ok1 ${good}\nok2 ${join(fixtures, 'fsdd_3_jackson_5.wav')}\nisdir ${dirAsWav}\nfails false |\n`);

  it('names the path of a directory in the list and the command that failed; exit 0 when some succeeded', { timeout: 240_000 }, () => {
    const r = kdasr(['features', '--input', list, '--out', join(tmp, 'mixed'), '--jobs', '1']);
    expect(r.err).toMatch(new RegExp(`skipped isdir: ${dirAsWav}: WAV file: is a directory`));
    expect(r.err).toMatch(/skipped fails: utterance fails: the command `false` exited with status 1/);
    expect(r.out).toMatch(/2 utterances computed, .* 2 failures/);
    expect(r.code).toBe(0);
  });

  it('exits 1 when failures exceed --max-failures, 0 within it, and 1 when nothing succeeded', { timeout: 240_000 }, () => {
    const over = kdasr(['features', '--input', list, '--out', join(tmp, 'mf1'), '--jobs', '1', '--max-failures', '1']);
    expect(over.err).toMatch(/2 of 4 utterances failed, more than --max-failures 1/);
    expect(over.code).toBe(1);
    expect(kdasr(['features', '--input', list, '--out', join(tmp, 'mf2'), '--jobs', '1', '--max-failures', '2']).code).toBe(0);
    const none = join(tmp, 'none.scp');
    writeFileSync(none, `isdir ${dirAsWav}\nfails false |\n`);
    const r = kdasr(['features', '--input', none, '--out', join(tmp, 'none'), '--jobs', '1']);
    expect(r.err).toMatch(/none of the 2 utterances could be computed/);
    expect(r.code).toBe(1);
  });
});

describe.skipIf(!soxAvailable())('kdasr features --corpus from a Kaldi data dir with a piped wav.scp and segments (needs sox)', () => {
  it('computes one matrix per segment, equal to the sox-cut plain files, and writes feats.scp + cmvn.scp; kdasr train reads a Kaldi-only data dir (feats.scp + ark) as --feats', { timeout: 300_000 }, () => {
    const d = join(tmp, 'kaldi-data');
    mkdirSync(d, { recursive: true });
    const flac = join(tmp, 'rec.flac');
    const wav = join(tmp, 'rec.wav');
    const sox = (args: string[]) => expect(spawnSync('sox', args).status).toBe(0);
    sox(['-R', '-n', '-r', '16000', '-b', '16', '-c', '1', wav, 'synth', '3', 'sine', '300-2500', 'vol', '0.4']);
    sox([wav, flac]);
    writeFileSync(join(d, 'wav.scp'), `rec sox ${flac} -t wav - |\n`);
    const segs = [['a1', 0.11, 1.05], ['a2', 1.2, 2.01], ['b1', 2.1, 2.95]] as const;
    writeFileSync(join(d, 'segments'), segs.map(([u, s0, s1]) => `${u} rec ${s0} ${s1}`).join('\n') + '\n');
    writeFileSync(join(d, 'text'), 'a1 one\na2 two\nb1 three\n');
    writeFileSync(join(d, 'utt2spk'), 'a1 spk1\na2 spk1\nb1 spk1\n');
    const corpus = join(tmp, 'kaldi-corpus');
    expect(kdasr(['corpus', 'kaldi', '--src', d, '--out', corpus]).code).toBe(0);
    const out = join(tmp, 'kaldi-feats');
    const r = kdasr(['features', '--corpus', corpus, '--split', 'all', '--out', out, '--jobs', '1', '--kaldi']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/3 utterances computed/);
    expect(r.out).toMatch(/Kaldi copy: 3 utterances -> .*feats\.scp, 1 speakers -> .*cmvn\.scp/);
    const a = FeatureArchive.open(out);
    const k = FeatureArchive.open(join(out, 'feats.scp'));
    expect(k.isKaldi).toBe(true);
    expect(k.index.config).toEqual(a.index.config);
    const ex = new FeatureExtractor({});
    for (const [u, s0, s1] of segs) {
      const { start, end } = kaldiSegmentSamples(s0, s1, 16000, 48000);
      const cut = join(tmp, `${u}.wav`);
      sox([wav, cut, 'trim', `${start}s`, `${end - start}s`]);
      const ref = ex.fromFile(cut).features;
      const got = a.get(u);
      expect(got.numFrames).toBe(ref.numFrames);
      let m = 0;
      for (let i = 0; i < ref.data.length; i++) m = Math.max(m, Math.abs(got.data[i] - ref.data[i]), Math.abs(k.get(u).data[i] - ref.data[i]));
      expect(m).toBeLessThanOrEqual(1e-5);
    }
    a.close();
    k.close();
    // A Kaldi data dir holding only feats.scp/feats.ark (no kdasr index beside it) is a --feats source for train.
    const kd = join(tmp, 'kaldi-only');
    mkdirSync(kd, { recursive: true });
    copyFileSync(join(out, 'feats.ark'), join(kd, 'feats.ark'));
    writeFileSync(join(kd, 'feats.scp'), readFileSync(join(out, 'feats.scp'), 'utf8').replaceAll(join(out, 'feats.ark'), 'feats.ark'));
    const t = kdasr(['train', '--corpus', corpus, '--feats', kd, '--exp', join(tmp, 'kaldi-exp'), '--whole-word', '2', '--preset', 'tiny', '--epochs', '1', '--dev-fraction', '0.34']);
    expect(t.code, t.err).toBe(0);
    expect(t.err + t.out).toMatch(/2 train \/ 1 dev utterances/);
  });
});
