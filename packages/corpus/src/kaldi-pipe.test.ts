import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FeatureExtractor, featuresFromSource, kaldiSegmentSamples, readWav } from '@kdasr/audio-features';
import { soxAvailable } from './audio.js';
import { importKaldiDir } from './kaldi.js';
import { formatProblem } from './problems.js';
import { corpusSegments } from './segments.js';
import { validateCorpus } from './validate.js';
import { tempDir } from './test/helpers.js';

const t = tempDir('pipe');
afterAll(t.cleanup);
const sox = soxAvailable();

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

describe.skipIf(!sox)('Kaldi data dir with a piped wav.scp and segments (needs sox)', () => {
  // Two recordings of noise-like speech-band audio made by sox; r2 is stored as FLAC, so only a pipe can read it.
  const audio = join(t.dir, 'audio');
  const segments = 'u1 r1 0.29 1.37\nu2 r1 1.5 2.01\nu3 r2 0.0 1.1\nu4 r2 1.2 -1\n';
  const text = 'u1 one two\nu2 three\nu3 four\nu4 five six\n';
  const utt2spk = 'u1 alice\nu2 alice\nu3 bob\nu4 bob\n';

  function kaldiDir(name: string, wavScp: string): string {
    const d = join(t.dir, name);
    run('mkdir', ['-p', d]);
    writeFileSync(join(d, 'wav.scp'), wavScp);
    writeFileSync(join(d, 'segments'), segments);
    writeFileSync(join(d, 'text'), text);
    writeFileSync(join(d, 'utt2spk'), utt2spk);
    return d;
  }

  it('imports the piped dir, and its features match the plain-file dir and sox-cut segment files (max abs diff <= 1e-5)', () => {
    run('mkdir', ['-p', audio]);
    const r1 = join(audio, 'r1.wav');
    const r2 = join(audio, 'r2.wav');
    run('sox', ['-R', '-n', '-r', '16000', '-b', '16', '-c', '1', r1, 'synth', '2.3', 'pinknoise', 'vol', '0.3']);
    run('sox', ['-R', '-n', '-r', '16000', '-b', '16', '-c', '1', r2, 'synth', '2.0', 'sine', '200-3000', 'vol', '0.5']);
    run('sox', [r2, join(audio, 'r2.flac')]);
    const piped = kaldiDir('piped', `r1 sox ${r1} -t wav - |\nr2 sox ${join(audio, 'r2.flac')} -t wav - |\n`);
    const plain = kaldiDir('plain', `r1 ${r1}\nr2 ${r2}\n`);
    const pipedOut = join(t.dir, 'piped-corpus');
    const plainOut = join(t.dir, 'plain-corpus');
    const a = importKaldiDir(piped, pipedOut);
    const b = importKaldiDir(plain, plainOut);
    expect(a.recordings.map((r) => [r.id, r.command, r.path, r.numSamples])).toEqual([
      ['r1', `sox ${r1} -t wav -`, undefined, 36800],
      ['r2', `sox ${join(audio, 'r2.flac')} -t wav -`, undefined, 32000],
    ]);
    expect(a.supervisions).toEqual(b.supervisions);
    expect(validateCorpus(pipedOut).problems.map(formatProblem)).toEqual([]);

    const ex = new FeatureExtractor({});
    const jobsA = corpusSegments({ corpus: pipedOut });
    const jobsB = corpusSegments({ corpus: plainOut });
    expect(jobsA.map((j) => j.id)).toEqual(['u1', 'u2', 'u3', 'u4']);
    expect(jobsA.map((j) => j.source.type)).toEqual(['command', 'command', 'command', 'command']);
    for (let i = 0; i < jobsA.length; i++) {
      const ja = jobsA[i];
      const fa = featuresFromSource(ex, ja.source, { what: ja.id, segment: ja.segment });
      const fb = featuresFromSource(ex, jobsB[i].source, { what: ja.id, segment: jobsB[i].segment });
      expect(fa.features.numFrames).toBe(fb.features.numFrames);
      expect(maxAbsDiff(fa.features.data, fb.features.data)).toBeLessThanOrEqual(1e-5);
      // The same samples cut out by sox at Kaldi's sample indices (truncation of time x rate), as plain files.
      const rec = ja.recordingId === 'r1' ? r1 : r2;
      const n = readWav(rec).samples.length;
      const seg = segments.split('\n').find((l) => l.startsWith(`${ja.id} `))!.split(' ');
      const { start, end } = kaldiSegmentSamples(Number(seg[2]), Number(seg[3]), 16000, n);
      const cut = join(audio, `${ja.id}.wav`);
      run('sox', [rec, cut, 'trim', `${start}s`, `${end - start}s`]);
      const fc = ex.fromFile(cut);
      expect(fa.features.numFrames).toBe(fc.features.numFrames);
      expect(maxAbsDiff(fa.features.data, fc.features.data)).toBeLessThanOrEqual(1e-5);
    }
    // Kaldi truncates 2.01 * 16000 (32159.999...) to 32159; the end stored as start + duration gives the same.
    expect(kaldiSegmentSamples(1.5, 2.01, 16000, 36800)).toEqual({ start: 24000, end: 32159 });
    expect(jobsA[1].segment).toEqual({ startSec: 1.5, endSec: 2.01 });
    // End -1 is the recording's end.
    expect(jobsA[3].segment).toEqual({ startSec: 1.2, endSec: 2 });
  });

  it('a failing command is an error naming the recording, the line and the command', () => {
    const d = kaldiDir('failing', `r1 sox ${join(audio, 'nope.flac')} -t wav - |\nr2 false |\n`);
    expect(() => importKaldiDir(d)).toThrow(/wav\.scp:1: r1: recording r1 \(.*wav\.scp:1\): the command `sox .*nope\.flac -t wav -` exited with status 2/);
    expect(() => importKaldiDir(d)).toThrow(/wav\.scp:2: r2: recording r2 \(.*\): the command `false` exited with status 1/);
  });

  it('runCommands: false reports piped entries instead of running them', () => {
    const marker = join(t.dir, 'ran');
    const d = kaldiDir('refused', `r1 touch ${marker} |\nr2 touch ${marker} |\n`);
    expect(() => importKaldiDir(d, undefined, { runCommands: false })).toThrow(/wav\.scp:1: r1: recording r1: "touch .*ran \|" is a piped command and running commands is turned off/);
    expect(existsSync(marker)).toBe(false);
  });

  it('a command failing at feature time names the utterance and the command', () => {
    const ex = new FeatureExtractor({});
    expect(() => featuresFromSource(ex, { type: 'command', command: 'echo not-a-wav' }, { what: 'utterance u9' })).toThrow(
      /^utterance u9: the command `echo not-a-wav` did not write a readable WAV: .*RIFF/,
    );
    expect(() => featuresFromSource(ex, { type: 'command', command: 'exit 3' }, { what: 'utterance u9' })).toThrow(/^utterance u9: the command `exit 3` exited with status 3/);
  });
});
