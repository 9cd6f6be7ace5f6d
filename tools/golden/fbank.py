#!/usr/bin/python3
"""Golden fixtures for @kdasr/audio-features: torchaudio.compliance.kaldi fbank/mfcc over an option matrix,
torchaudio.functional.resample, and numpy references for Kaldi add-deltas and CMVN.

Run from the repository root with Debian's python (the pyenv `python3` on PATH has no torch):
    /usr/bin/python3 tools/golden/fbank.py
Writes packages/audio-features/src/__fixtures__/{golden.json,golden.bin,*.wav}. See tools/golden/fbank.md.
"""
import json
import os
import shutil
import struct
import sys
import wave

import numpy as np
import torch
import torchaudio
import torchaudio.compliance.kaldi as kaldi

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUT = os.path.join(ROOT, 'packages', 'audio-features', 'src', '__fixtures__')
FSDD = os.path.join(ROOT, '..', 'shared', 'data', 'fsdd', 'recordings')
FSDD_PICKS = ['0_george_0.wav', '3_jackson_5.wav', '7_theo_12.wav']


def write_wav16(path, x, rate):
    q = np.clip(np.round(x * 32768), -32768, 32767).astype('<i2')
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(q.tobytes())


def read_wav16(path):
    with wave.open(path, 'rb') as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1, path
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype='<i2').astype(np.float32) / 32768.0
    return x, rate


def synth16k():
    """1.6 s of speech-like audio at 16 kHz: a gliding harmonic tone with vibrato, noise bursts, a quiet gap."""
    rng = np.random.default_rng(1234)
    rate = 16000
    t = np.arange(int(1.6 * rate)) / rate
    f0 = 120 + 80 * t + 10 * np.sin(2 * np.pi * 5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = sum((0.3 / k) * np.sin(k * phase) for k in range(1, 12))
    x *= 0.5 + 0.5 * np.sin(2 * np.pi * 2.5 * t) ** 2
    x[int(0.6 * rate):int(0.75 * rate)] = 0
    x += 0.01 * rng.standard_normal(len(t))
    burst = slice(int(1.1 * rate), int(1.25 * rate))
    x[burst] += 0.2 * rng.standard_normal(burst.stop - burst.start)
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32), rate


def add_deltas(x, order=2, window=2):
    """Kaldi DeltaFeatures (add-deltas): scales built by repeated convolution, edges clamped."""
    scales = [np.array([1.0])]
    for i in range(1, order + 1):
        prev = scales[-1]
        norm = sum(j * j for j in range(-window, window + 1))
        cur = np.zeros(len(prev) + 2 * window)
        for j in range(-window, window + 1):
            for k in range(len(prev)):
                cur[j + k + window] += j * prev[k]
        scales.append(cur / norm)
    T = x.shape[0]
    out = [x.astype(np.float64)]
    for i in range(1, order + 1):
        s = scales[i]
        w = (len(s) - 1) // 2
        d = np.zeros_like(x, dtype=np.float64)
        for j in range(-w, w + 1):
            idx = np.clip(np.arange(T) + j, 0, T - 1)
            d += s[j + w] * x[idx]
        out.append(d)
    return np.concatenate(out, axis=1)


def cmvn(mats, norm_vars):
    allx = np.concatenate(mats, axis=0).astype(np.float64)
    mean = allx.mean(axis=0)
    out = [m - mean for m in mats]
    if norm_vars:
        var = np.maximum((allx ** 2).mean(axis=0) - mean ** 2, 1e-20)
        out = [o / np.sqrt(var) for o in out]
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in FSDD_PICKS:
        src = os.path.join(FSDD, name)
        if not os.path.exists(os.path.join(OUT, 'fsdd_' + name)):
            shutil.copyfile(src, os.path.join(OUT, 'fsdd_' + name))
    x16, r16 = synth16k()
    write_wav16(os.path.join(OUT, 'synth16k.wav'), x16, r16)
    # 44.1 kHz source for the resampler (read back from the 16-bit file so both sides see the same samples).
    x44 = np.sin(2 * np.pi * 440 * np.arange(22050) / 44100) * 0.3 + np.sin(2 * np.pi * 7000 * np.arange(22050) / 44100) * 0.2
    write_wav16(os.path.join(OUT, 'tones44k.wav'), x44.astype(np.float32), 44100)

    wavs = {f'fsdd_{n}': read_wav16(os.path.join(OUT, 'fsdd_' + n)) for n in FSDD_PICKS}
    wavs['synth16k.wav'] = read_wav16(os.path.join(OUT, 'synth16k.wav'))
    wavs['tones44k.wav'] = read_wav16(os.path.join(OUT, 'tones44k.wav'))

    cases = []
    blob = bytearray()

    def add(case, arr):
        arr = np.ascontiguousarray(arr, dtype='<f4')
        if arr.ndim == 1:
            arr = arr[None, :] if arr.size else arr.reshape(0, 0)
        case.update(offset=len(blob) // 4, rows=int(arr.shape[0]), cols=int(arr.shape[1]))
        blob.extend(arr.tobytes())
        cases.append(case)

    # Option matrix: torchaudio keyword names, exactly as passed (the TS side maps them to ours).
    base = dict(dither=0.0, energy_floor=0.0)
    matrix = [
        {},
        dict(num_mel_bins=23),
        dict(num_mel_bins=80),
        dict(window_type='hamming'),
        dict(window_type='hanning'),
        dict(window_type='rectangular'),
        dict(window_type='blackman'),
        dict(snip_edges=False),
        dict(snip_edges=False, window_type='hamming', num_mel_bins=23),
        dict(remove_dc_offset=False),
        dict(preemphasis_coefficient=0.0),
        dict(preemphasis_coefficient=0.5),
        dict(low_freq=100.0, high_freq=-400.0),
        dict(low_freq=0.0, high_freq=3000.0),
        dict(use_energy=True),
        dict(use_energy=True, raw_energy=False),
        dict(use_energy=True, energy_floor=1000.0),
        dict(use_log_fbank=False),
        dict(use_power=False),
        dict(frame_length=20.0, frame_shift=5.0),
        dict(frame_length=32.0, frame_shift=12.0, snip_edges=False),
        dict(round_to_power_of_two=False),
    ]
    for wav in ['fsdd_0_george_0.wav', 'fsdd_3_jackson_5.wav', 'synth16k.wav']:
        x, rate = wavs[wav]
        wf = torch.from_numpy(x * 32768.0)[None, :]
        for opts in matrix:
            if wav == 'fsdd_3_jackson_5.wav' and len(opts) > 1:
                continue  # keep the fixture small: the second FSDD file gets the single-option cases
            o = dict(base, num_mel_bins=40, sample_frequency=float(rate))
            o.update(opts)
            if o.get('num_mel_bins') == 80 and rate == 8000:
                o['num_mel_bins'] = 64  # 80 bins do not fit a 256-point FFT at 8 kHz (empty bins)
            y = kaldi.fbank(wf, **o).numpy()
            add(dict(kind='fbank', wav=wav, options=o), y)
    mfcc_matrix = [dict(), dict(num_ceps=20, num_mel_bins=40, cepstral_lifter=0.0), dict(use_energy=True), dict(snip_edges=False, window_type='hamming')]
    for wav in ['fsdd_7_theo_12.wav', 'synth16k.wav']:
        x, rate = wavs[wav]
        wf = torch.from_numpy(x * 32768.0)[None, :]
        for opts in mfcc_matrix:
            o = dict(dither=0.0, energy_floor=0.0, use_energy=False, sample_frequency=float(rate))
            o.update(opts)
            add(dict(kind='mfcc', wav=wav, options=o), kaldi.mfcc(wf, **o).numpy())

    # Resampling: torchaudio.functional.resample, 'sinc_interpolation' (renamed sinc_interp_hann in torchaudio 2.x), on [-1, 1] samples.
    for wav, new in [('fsdd_0_george_0.wav', 16000), ('tones44k.wav', 16000), ('synth16k.wav', 8000), ('synth16k.wav', 22050)]:
        x, rate = wavs[wav]
        y = torchaudio.functional.resample(torch.from_numpy(x)[None, :], rate, new, resampling_method='sinc_interpolation').numpy()[0]
        add(dict(kind='resample', wav=wav, fromHz=rate, toHz=new), y)

    # Deltas and CMVN references over fbank of the FSDD files.
    feats = []
    for wav in ['fsdd_0_george_0.wav', 'fsdd_3_jackson_5.wav']:
        x, rate = wavs[wav]
        f = kaldi.fbank(torch.from_numpy(x * 32768.0)[None, :], num_mel_bins=23, sample_frequency=8000.0, dither=0.0).numpy()
        feats.append(f)
        add(dict(kind='input', wav=wav, name=f'fbank23:{wav}'), f)
        add(dict(kind='deltas', wav=wav, order=2, window=2), add_deltas(f))
    for norm_vars in [False, True]:
        for i, o in enumerate(cmvn([feats[0]], norm_vars)):
            add(dict(kind='cmvn', scope='utterance', normVars=norm_vars, wav=['fsdd_0_george_0.wav'][i]), o)
        for i, o in enumerate(cmvn(feats, norm_vars)):
            add(dict(kind='cmvn', scope='speaker', normVars=norm_vars, wav=['fsdd_0_george_0.wav', 'fsdd_3_jackson_5.wav'][i]), o)

    with open(os.path.join(OUT, 'golden.bin'), 'wb') as f:
        f.write(bytes(blob))
    meta = dict(
        generator='tools/golden/fbank.py',
        command='/usr/bin/python3 tools/golden/fbank.py',
        versions=dict(python=sys.version.split()[0], torch=torch.__version__, torchaudio=torchaudio.__version__, numpy=np.__version__),
        waveformScale=32768,
        note='fbank/mfcc inputs are the WAV samples scaled to int16 range (x * 32768), as Kaldi reads 16-bit PCM; resample inputs are in [-1, 1].',
        cases=cases,
    )
    with open(os.path.join(OUT, 'golden.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    print(f'{len(cases)} cases, {len(blob)} bytes -> {OUT}')


if __name__ == '__main__':
    main()
