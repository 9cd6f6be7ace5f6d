import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readWav } from '@kdasr/audio-features';
import { soxAvailable } from './audio.js';
import { importKaldiDir, importLibriSpeech } from './kaldi.js';
import { CorpusError, formatProblem } from './problems.js';
import { validateCorpus } from './validate.js';
import { tempDir, writeTone } from './test/helpers.js';

const t = tempDir('import');
afterAll(t.cleanup);

function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof CorpusError) return e.problems.map(formatProblem);
    throw e;
  }
  throw new Error('expected a CorpusError');
}

describe('Kaldi data directory import', () => {
  it('reads wav.scp, text, utt2spk and segments into valid manifests', () => {
    const src = join(t.dir, 'kaldi-good');
    writeTone(join(src, 'audio/r1.wav'), 3, 16000);
    writeTone(join(src, 'audio/r2.wav'), 1, 16000);
    writeFileSync(join(src, 'wav.scp'), `r1 ${join(src, 'audio/r1.wav')}\nr2 audio/r2.wav\n`);
    writeFileSync(join(src, 'segments'), 'u1 r1 0.0 1.2\nu2 r1 1.5 2.9\nu3 r2 0 1\n');
    writeFileSync(join(src, 'text'), 'u1 HELLO, World\nu2 good  morning\nu3 yes\n');
    writeFileSync(join(src, 'utt2spk'), 'u1 alice\nu2 alice\nu3 bob\n');
    const out = join(t.dir, 'kaldi-good-out');
    const r = importKaldiDir(src, out);
    expect(r.supervisions.map((s) => [s.id, s.recordingId, s.startSec, s.durationSec, s.text, s.speaker])).toEqual([
      ['u1', 'r1', 0, 1.2, 'hello world', 'alice'],
      ['u2', 'r1', 1.5, expect.closeTo(1.4, 9), 'good morning', 'alice'],
      ['u3', 'r2', 0, 1, 'yes', 'bob'],
    ]);
    expect(r.recordings.map((x) => [x.id, x.sampleRateHz, x.numSamples, x.speaker])).toEqual([
      ['r1', 16000, 48000, 'alice'],
      ['r2', 16000, 16000, 'bob'],
    ]);
    expect(validateCorpus(out).problems.map(formatProblem)).toEqual([]);
  });

  it('lists every problem: failing piped commands, missing wavs, unsupported formats, dangling ids, bad segments', () => {
    const src = join(t.dir, 'kaldi-bad');
    writeTone(join(src, 'a.wav'), 1, 16000);
    writeFileSync(join(src, 'b.flac'), 'fLaC not really');
    writeFileSync(
      join(src, 'wav.scp'),
      ['ra a.wav', 'rp sox x.flac -t wav - |', 'rm missing.wav', 'rf b.flac', ''].join('\n'),
    );
    writeFileSync(join(src, 'segments'), 'u1 ra 0 0.5\nu2 ra 0.6 1.8\nu3 rx 0 1\nu4 ra 0.9 0.2\n');
    writeFileSync(join(src, 'text'), 'u1 a\nu2 b\nu3 c\nu4 d\nu5 e\n');
    writeFileSync(join(src, 'utt2spk'), 'u1 s\nu2 s\nu3 s\nu4 s\nu6 s\n');
    const p = problemsOf(() => importKaldiDir(src));
    const f = (n: string) => join(src, n);
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${f('wav.scp')}:2: rp: recording rp \\(.*wav.scp:2\\): the command \`sox x.flac -t wav -\` exited with status 2: .*x.flac`)),
        expect.stringMatching(new RegExp(`^${f('wav.scp')}:3: rm: audio file .*missing\\.wav is missing`)),
        expect.stringMatching(new RegExp(`^${f('wav.scp')}:4: rf: .*b\\.flac: unsupported audio format \\(only \\.wav`)),
        expect.stringMatching(new RegExp(`^${f('segments')}:2: segment u2 ends at 1.800 s, more than 0.5 s after recording ra ends \\(1.000 s\\)`)),
        expect.stringMatching(new RegExp(`^${f('segments')}:3: recording "rx" of utterance u3 is not in`)),
        expect.stringMatching(new RegExp(`^${f('segments')}:4: expected "utt rec start end \\[channel\\]" with 0 <= start < end`)),
        expect.stringMatching(new RegExp(`^${f('text')}:5: utterance u5 has no line in .*utt2spk`)),
        expect.stringMatching(new RegExp(`^${f('utt2spk')}:5: utterance u6 has no transcript`)),
      ]),
    );
    expect(p).toHaveLength(8);
  });

  it('says which required files are missing', () => {
    const src = join(t.dir, 'kaldi-empty');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'text'), 'u1 a\n');
    expect(problemsOf(() => importKaldiDir(src))).toEqual([
      `${join(src, 'wav.scp')}: file does not exist (a Kaldi data dir needs wav.scp, text and utt2spk)`,
      `${join(src, 'utt2spk')}: file does not exist (a Kaldi data dir needs wav.scp, text and utt2spk)`,
    ]);
  });
});

describe('LibriSpeech-style tree import', () => {
  /** speaker/chapter/*.{wav|flac} + trans.txt; returns each utterance's samples (for FLAC round-trip checks). */
  function tree(root: string, ext: 'wav' | 'flac'): Map<string, Float32Array> {
    const samples = new Map<string, Float32Array>();
    for (const [spk, chap, n] of [
      ['19', '198', 2],
      ['26', '495', 1],
    ] as const) {
      const dir = join(root, spk, chap);
      mkdirSync(dir, { recursive: true });
      const lines: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = `${spk}-${chap}-${String(i).padStart(4, '0')}`;
        const wav = join(dir, `${id}.wav`);
        writeTone(wav, 0.5 + i * 0.25, 16000, 300 + 100 * i);
        samples.set(id, readWav(wav).samples);
        if (ext === 'flac') {
          // sox picks the output format from the extension.
          const r = spawnSync('sox', [wav, join(dir, `${id}.flac`)]);
          if (r.status !== 0) throw new Error(`sox failed: ${r.stderr}`);
          rmSync(wav);
        }
        lines.push(`${id} NORTHANGER ABBEY CHAPTER ${i}`);
      }
      writeFileSync(join(dir, `${spk}-${chap}.trans.txt`), lines.join('\n') + '\n');
    }
    return samples;
  }

  it('imports wav trees with speaker ids and normalised transcripts', () => {
    const root = join(t.dir, 'libri-wav');
    tree(root, 'wav');
    const out = join(t.dir, 'libri-wav-out');
    const r = importLibriSpeech(root, { outDir: out });
    expect(r.supervisions.map((s) => [s.id, s.speaker, s.text, s.durationSec])).toEqual([
      ['19-198-0000', '19', 'northanger abbey chapter 0', 0.5],
      ['19-198-0001', '19', 'northanger abbey chapter 1', 0.75],
      ['26-495-0000', '26', 'northanger abbey chapter 0', 0.5],
    ]);
    expect(validateCorpus(out).problems).toEqual([]);
  });

  it.skipIf(!soxAvailable())('converts FLAC with sox, sample-exact (skipped without sox)', () => {
    const root = join(t.dir, 'libri-flac');
    const keep = tree(root, 'flac');
    const out = join(t.dir, 'libri-flac-out');
    const r = importLibriSpeech(root, { outDir: out });
    expect(r.recordings).toHaveLength(3);
    for (const rec of r.recordings) expect(readWav(rec.path!).samples).toEqual(keep.get(rec.id));
    expect(validateCorpus(out).problems).toEqual([]);
    const p = problemsOf(() => importLibriSpeech(root, { outDir: join(t.dir, 'x'), convertFlac: false }));
    expect(p).toHaveLength(3);
    expect(p[0]).toMatch(/19-198-0000\.flac: FLAC is unsupported without sox\. Fix: apt-get install sox/);
  });

  it('lists missing audio, unknown formats, stray audio and missing transcripts', () => {
    const root = join(t.dir, 'libri-bad');
    mkdirSync(join(root, '7', '11'), { recursive: true });
    mkdirSync(join(root, '8', '12'), { recursive: true });
    writeTone(join(root, '7', '11', '7-11-0000.wav'), 0.5, 16000);
    writeTone(join(root, '7', '11', '7-11-0009.wav'), 0.5, 16000);
    writeFileSync(join(root, '7', '11', '7-11-0001.mp3'), 'ID3');
    writeFileSync(join(root, '7', '11', '7-11.trans.txt'), '7-11-0000 A\n7-11-0001 B\n7-11-0002 C\n');
    const p = problemsOf(() => importLibriSpeech(root));
    const trans = join(root, '7', '11', '7-11.trans.txt');
    expect(p).toEqual([
      `${trans}:2: 7-11-0001: ${join(root, '7', '11', '7-11-0001.mp3')}: unsupported audio format (only .wav, or .flac with sox)`,
      `${trans}:3: 7-11-0002: audio file ${join(root, '7', '11', '7-11-0002')}.flac|.wav is missing`,
      `${join(root, '7', '11', '7-11-0009.wav')}: audio has no line in ${trans}`,
      `${join(root, '8', '12', '8-12.trans.txt')}: transcript missing (every speaker/chapter dir needs 8-12.trans.txt)`,
    ]);
  });
});
