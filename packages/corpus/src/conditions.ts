/**
 * Acoustic conditions applied to clean synthetic speech so the task is not trivially separable:
 * additive white / pink / babble noise at a chosen SNR, and reverberation from a synthetic room impulse
 * response (exponentially decaying Gaussian noise whose envelope falls 60 dB in RT60 seconds).
 */
import { Rng } from '@kdasr/core';

export type NoiseType = 'none' | 'white' | 'pink' | 'babble';

export interface Condition {
  noise: NoiseType;
  /** Signal-to-noise ratio in dB (ignored for noise 'none'). */
  snrDb?: number;
  /** Reverberation time in seconds; absent or 0 for no reverberation. */
  rt60Sec?: number;
}

export function whiteNoise(n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

/** Pink (1/f) noise: white noise through Paul Kellet's economy filter (within ±0.5 dB above 40 Hz at 44.1 kHz, close enough at 16 kHz). */
export function pinkNoise(n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  let b0 = 0,
    b1 = 0,
    b2 = 0;
  for (let i = 0; i < n; i++) {
    const w = rng.normal();
    b0 = 0.99765 * b0 + w * 0.099046;
    b1 = 0.963 * b1 + w * 0.2965164;
    b2 = 0.57 * b2 + w * 1.0526913;
    out[i] = b0 + b1 + b2 + w * 0.1848;
  }
  return out;
}

/**
 * Babble: the sum of `talkers` speech signals from `pool`, each starting at a random offset and looping,
 * so every sample has several overlapping voices.
 */
export function babbleNoise(n: number, pool: readonly Float32Array[], rng: Rng, talkers = 4): Float32Array {
  const out = new Float32Array(n);
  const usable = pool.filter((p) => p.length > 0);
  if (usable.length === 0) throw new Error('babbleNoise: the babble pool is empty; synthesise some utterances for it first');
  for (let t = 0; t < talkers; t++) {
    const src = usable[rng.int(usable.length)];
    let k = rng.int(src.length);
    for (let i = 0; i < n; i++) {
      out[i] += src[k];
      if (++k >= src.length) k = 0;
    }
  }
  return out;
}

export function power(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return x.length ? s / x.length : 0;
}

/**
 * Power of the speech-active part (samples whose 20 ms frame is within 40 dB of the loudest frame), so
 * the SNR means the same for short and long pauses.
 */
export function activePower(x: Float32Array, frame = 320): number {
  const energies: number[] = [];
  for (let s = 0; s < x.length; s += frame) {
    let e = 0;
    const end = Math.min(x.length, s + frame);
    for (let i = s; i < end; i++) e += x[i] * x[i];
    energies.push(e / Math.max(1, end - s));
  }
  const max = Math.max(0, ...energies);
  if (max === 0) return 0;
  const active = energies.filter((e) => e >= max * 1e-4);
  return active.reduce((a, b) => a + b, 0) / active.length;
}

/** Return speech + noise scaled so that activePower(speech) / power(noise) = 10^(snrDb/10). */
export function mixAtSnr(speech: Float32Array, noise: Float32Array, snrDb: number): Float32Array {
  if (noise.length < speech.length) throw new Error(`mixAtSnr: noise (${noise.length}) shorter than speech (${speech.length})`);
  const ps = activePower(speech);
  const pn = power(noise.subarray(0, speech.length));
  const g = pn > 0 && ps > 0 ? Math.sqrt(ps / (pn * 10 ** (snrDb / 10))) : 0;
  const out = new Float32Array(speech.length);
  for (let i = 0; i < speech.length; i++) out[i] = speech[i] + g * noise[i];
  return out;
}

/**
 * Synthetic room impulse response: a unit direct path at t=0 (so alignments keep their timing) followed by
 * Gaussian noise under exp(-6.9 t / RT60) (60 dB decay in RT60), starting after a short pre-delay.
 */
export function syntheticRir(rt60Sec: number, sampleRateHz: number, rng: Rng, directToReverbDb = 0): Float32Array {
  if (!(rt60Sec > 0)) throw new Error(`syntheticRir: rt60Sec must be > 0, got ${rt60Sec}`);
  const n = Math.max(2, Math.ceil(rt60Sec * sampleRateHz));
  const h = new Float32Array(n);
  const decay = Math.log(1000) / (rt60Sec * sampleRateHz); // amplitude falls by 1000 (60 dB) over RT60
  const preDelay = Math.round(0.002 * sampleRateHz);
  let tail = 0;
  for (let i = preDelay; i < n; i++) {
    h[i] = rng.normal() * Math.exp(-decay * i);
    tail += h[i] * h[i];
  }
  // Scale the tail so its energy relative to the direct path is directToReverbDb below it.
  const g = tail > 0 ? Math.sqrt(10 ** (-directToReverbDb / 10) / tail) : 0;
  for (let i = preDelay; i < n; i++) h[i] *= g;
  h[0] = 1;
  return h;
}

/** In-place iterative radix-2 complex FFT (n a power of two); inverse when `inverse`, unscaled. */
function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1,
        ci = 0;
      const half = len >> 1;
      for (let k = 0; k < half; k++) {
        const a = i + k;
        const b = a + half;
        const tr = re[b] * cr - im[b] * ci;
        const ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
        const nr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = nr;
      }
    }
  }
}

/** Linear convolution via FFT, truncated to x.length (the reverberant tail past the end is dropped). */
export function convolve(x: Float32Array, h: Float32Array): Float32Array {
  let n = 1;
  while (n < x.length + h.length - 1) n <<= 1;
  const ar = new Float64Array(n),
    ai = new Float64Array(n),
    br = new Float64Array(n),
    bi = new Float64Array(n);
  ar.set(x);
  br.set(h);
  fft(ar, ai, false);
  fft(br, bi, false);
  for (let i = 0; i < n; i++) {
    const r = ar[i] * br[i] - ai[i] * bi[i];
    ai[i] = ar[i] * bi[i] + ai[i] * br[i];
    ar[i] = r;
  }
  fft(ar, ai, true);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = ar[i] / n;
  return out;
}

export interface ApplyOptions {
  sampleRateHz: number;
  rng: Rng;
  /** Speech signals to build babble from (required for noise 'babble'). */
  babblePool?: readonly Float32Array[];
}

/** Apply a condition: reverberate first (the room), then add noise (the noise is not in the room). */
export function applyCondition(x: Float32Array, c: Condition, o: ApplyOptions): Float32Array {
  let y = x;
  if (c.rt60Sec && c.rt60Sec > 0) {
    const dry = activePower(x);
    y = convolve(x, syntheticRir(c.rt60Sec, o.sampleRateHz, o.rng.fork('rir')));
    // Keep the speech level: reverberation adds the tail's energy.
    const wet = activePower(y);
    if (wet > 0) {
      const g = Math.sqrt(dry / wet);
      for (let i = 0; i < y.length; i++) y[i] *= g;
    }
  }
  if (c.noise !== 'none') {
    const nrng = o.rng.fork('noise');
    const noise =
      c.noise === 'white' ? whiteNoise(y.length, nrng) : c.noise === 'pink' ? pinkNoise(y.length, nrng) : babbleNoise(y.length, o.babblePool ?? [], nrng);
    y = mixAtSnr(y, noise, c.snrDb ?? 10);
  }
  return y;
}

/** Scale down (never up) so the peak stays below `peak`; returns the gain used. */
export function limitPeak(x: Float32Array, peak = 0.95): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  if (m <= peak) return 1;
  const g = peak / m;
  for (let i = 0; i < x.length; i++) x[i] *= g;
  return g;
}
