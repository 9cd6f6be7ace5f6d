// Real-time factor of our fbank vs torchaudio.compliance.kaldi.fbank on the same 10 minutes of 16 kHz audio.
// Run: npm run bench -w @kdasr/audio-features   (or, in this directory, npm run bench)
// Not a test: timings on a shared machine are noisy, so each side reports the median of several runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@kdasr/core';
import { encodeWav, Fbank, readWav } from '../src/index.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 600);
const repeats = Number(process.env.BENCH_REPEATS ?? 5);
const rate = 16000;
const python = process.env.BENCH_PYTHON ?? '/usr/bin/python3';

// Speech-like synthetic audio: gliding harmonics with noise, so no frame is digital silence.
const rng = new Rng(1);
const n = seconds * rate;
const x = new Float32Array(n);
let phase = 0;
for (let i = 0; i < n; i++) {
  const t = i / rate;
  phase += (2 * Math.PI * (150 + 50 * Math.sin(2 * Math.PI * 0.3 * t))) / rate;
  x[i] = 0.2 * Math.sin(phase) + 0.1 * Math.sin(3 * phase) + 0.02 * rng.normal();
}
const dir = mkdtempSync(join(tmpdir(), 'kdasr-bench-'));
const wavPath = join(dir, 'bench.wav');
writeFileSync(wavPath, encodeWav(x, rate, { bitDepth: 16 }));
const samples = readWav(wavPath).samples.map((v) => v * 32768);

const fb = new Fbank({ sampleRateHz: rate, numMelBins: 40 });
fb.compute(samples.subarray(0, rate * 10)); // warm-up (JIT)
const times: number[] = [];
let ours = fb.compute(samples);
for (let r = 0; r < repeats; r++) {
  const t0 = performance.now();
  ours = fb.compute(samples);
  times.push((performance.now() - t0) / 1000);
}
const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const oursSec = median(times);

let taSec = NaN;
let maxDiff = NaN;
let taNote = '';
if (existsSync(python)) {
  const outPath = join(dir, 'ta.f32');
  const snippet = `
import sys, time, wave, numpy as np, torch, torchaudio, torchaudio.compliance.kaldi as k
w = wave.open(sys.argv[1]); x = np.frombuffer(w.readframes(w.getnframes()), dtype='<i2').astype(np.float32)
wf = torch.from_numpy(x)[None]
k.fbank(wf[:, :160000], num_mel_bins=40, sample_frequency=16000.0, dither=0.0)
ts = []
for _ in range(int(sys.argv[3])):
    t0 = time.perf_counter(); y = k.fbank(wf, num_mel_bins=40, sample_frequency=16000.0, dither=0.0); ts.append(time.perf_counter() - t0)
y.numpy().astype('<f4').tofile(sys.argv[2])
print(sorted(ts)[len(ts) // 2], torch.get_num_threads(), torchaudio.__version__)
`;
  const r = spawnSync(python, ['-c', snippet, wavPath, outPath, String(Math.max(3, Math.min(repeats, 5)))], { encoding: 'utf8' });
  if (r.status === 0) {
    const [t, threads, ver] = r.stdout.trim().split(/\s+/);
    taSec = Number(t);
    taNote = `torchaudio ${ver}, ${threads} torch threads`;
    const ref = new Float32Array(new Uint8Array(readFileSync(outPath)).buffer);
    maxDiff = 0;
    for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i] - ours.data[i]));
    if (ref.length !== ours.data.length) taNote += ` (shape mismatch: ${ref.length} vs ${ours.data.length})`;
  } else taNote = `torchaudio run failed: ${r.stderr.trim().split('\n').pop()}`;
} else taNote = `${python} not found: torchaudio side skipped`;

const rtf = (s: number) => (s / seconds).toFixed(5);
console.log(`fbank benchmark: ${seconds} s of 16 kHz audio, 40 mel bins, 25/10 ms, povey, dither 0; median of ${repeats} runs`);
console.log('| implementation | seconds | real-time factor |');
console.log('| --- | --- | --- |');
console.log(`| @kdasr/audio-features (fft.js, 1 thread) | ${oursSec.toFixed(3)} | ${rtf(oursSec)} |`);
console.log(`| torchaudio.compliance.kaldi.fbank (${taNote}) | ${taSec.toFixed(3)} | ${rtf(taSec)} |`);
console.log(`speed-up: ${(taSec / oursSec).toFixed(2)}x; max |log-mel difference| ${maxDiff.toExponential(2)}`);
