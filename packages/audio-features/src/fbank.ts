/**
 * Kaldi-compatible log-mel filterbanks and MFCCs (feature-window.cc, mel-computations.cc, feature-fbank.cc,
 * feature-mfcc.cc; torchaudio.compliance.kaldi follows the same code). Everything that can be precomputed is:
 * the window, the mel bank as sparse [first bin, weights] rows, the FFT plan and all scratch buffers, so
 * computing a matrix allocates only the output. Framing comes from @kdasr/base's frames helpers.
 */
import FFT from 'fft.js';
import { Rng, numFrames, frameStartSample, windowLengthSamples, windowShiftSamples, type FrameOptions } from '@kdasr/base';
import { parseFbankConfig, parseMfccConfig, type FbankConfig, type FbankOptions, type MfccConfig, type MfccOptions, type WindowType } from './config.js';

/** A row-major [numFrames, numCols] float32 matrix. */
export interface FeatureMatrix {
  data: Float32Array;
  numFrames: number;
  numCols: number;
}

const FLT_EPSILON = 1.1920928955078125e-7;

export function melScale(hz: number): number {
  return 1127 * Math.log(1 + hz / 700);
}

export function featureWindow(type: WindowType, n: number, blackmanCoeff = 0.42): Float64Array {
  const w = new Float64Array(n);
  const a = (2 * Math.PI) / (n - 1);
  for (let i = 0; i < n; i++) {
    switch (type) {
      case 'hanning':
        w[i] = 0.5 - 0.5 * Math.cos(a * i);
        break;
      case 'povey':
        w[i] = Math.pow(0.5 - 0.5 * Math.cos(a * i), 0.85);
        break;
      case 'hamming':
        w[i] = 0.54 - 0.46 * Math.cos(a * i);
        break;
      case 'blackman':
        w[i] = blackmanCoeff - 0.5 * Math.cos(a * i) + (0.5 - blackmanCoeff) * Math.cos(2 * a * i);
        break;
      case 'rectangular':
        w[i] = 1;
        break;
    }
  }
  return w;
}

/** Triangular mel bank (Kaldi MelBanks, no VTLN): per bin, its first FFT bin and weights. */
export interface MelBank {
  first: Int32Array;
  weights: Float64Array[];
  centerHz: Float64Array;
}

export function melBank(numBins: number, paddedWindowSize: number, sampleRateHz: number, lowFreqHz: number, highFreqHz: number): MelBank {
  const nyquist = 0.5 * sampleRateHz;
  const high = highFreqHz > 0 ? highFreqHz : nyquist + highFreqHz;
  if (lowFreqHz < 0 || lowFreqHz >= nyquist || high <= 0 || high > nyquist || high <= lowFreqHz)
    throw new Error(`fbank: bad mel range lowFreqHz=${lowFreqHz}, highFreqHz=${highFreqHz} (-> ${high}) at Nyquist ${nyquist} Hz: need 0 <= low < high <= Nyquist`);
  const numFftBins = paddedWindowSize / 2;
  const binWidth = sampleRateHz / paddedWindowSize;
  const melLow = melScale(lowFreqHz);
  const melHigh = melScale(high);
  const delta = (melHigh - melLow) / (numBins + 1);
  const first = new Int32Array(numBins);
  const weights: Float64Array[] = [];
  const centerHz = new Float64Array(numBins);
  for (let b = 0; b < numBins; b++) {
    const left = melLow + b * delta;
    const center = melLow + (b + 1) * delta;
    const right = melLow + (b + 2) * delta;
    centerHz[b] = 700 * (Math.exp(center / 1127) - 1);
    let lo = -1;
    const w: number[] = [];
    for (let i = 0; i < numFftBins; i++) {
      const mel = melScale(binWidth * i);
      if (mel > left && mel < right) {
        if (lo < 0) lo = i;
        w[i - lo] = mel <= center ? (mel - left) / (center - left) : (right - mel) / (right - center);
      }
    }
    if (lo < 0) throw new Error(`fbank: mel bin ${b} is empty: numMelBins=${numBins} is too many for a ${paddedWindowSize}-point FFT over ${lowFreqHz}-${high} Hz; use fewer bins or a longer frame`);
    first[b] = lo;
    weights.push(Float64Array.from(w));
  }
  return { first, weights, centerHz };
}

/** A real DFT of any length into interleaved [re, im] for bins 0..n/2: fft.js for powers of two, Bluestein otherwise. */
class RealDft {
  private fft: FFT | null = null;
  private out: Float64Array;
  // Bluestein state (non-power-of-two sizes, i.e. roundToPowerOfTwo=false).
  private m = 0;
  private big: FFT | null = null;
  private chirp: Float64Array | null = null;
  private bHat: Float64Array | null = null;
  private a: Float64Array | null = null;
  private aHat: Float64Array | null = null;

  constructor(readonly n: number) {
    this.out = new Float64Array(2 * n);
    if ((n & (n - 1)) === 0 && n >= 4) {
      this.fft = new FFT(n);
      return;
    }
    let m = 1;
    while (m < 2 * n - 1) m <<= 1;
    this.m = m;
    this.big = new FFT(m);
    // chirp w_k = exp(-i pi k^2 / n); k^2 mod 2n keeps the angle exact for large k.
    const chirp = new Float64Array(2 * n);
    for (let k = 0; k < n; k++) {
      const ang = (Math.PI * ((k * k) % (2 * n))) / n;
      chirp[2 * k] = Math.cos(ang);
      chirp[2 * k + 1] = -Math.sin(ang);
    }
    this.chirp = chirp;
    const b = new Float64Array(2 * m);
    for (let k = 0; k < n; k++) {
      b[2 * k] = chirp[2 * k];
      b[2 * k + 1] = -chirp[2 * k + 1];
      if (k > 0) {
        b[2 * (m - k)] = chirp[2 * k];
        b[2 * (m - k) + 1] = -chirp[2 * k + 1];
      }
    }
    this.bHat = new Float64Array(2 * m);
    this.big.transform(this.bHat, b);
    this.a = new Float64Array(2 * m);
    this.aHat = new Float64Array(2 * m);
  }

  /** Returns interleaved spectrum; entries 0..n/2 (inclusive) are valid. */
  run(x: Float64Array): Float64Array {
    if (this.fft) {
      this.fft.realTransform(this.out, x);
      return this.out;
    }
    const { n, m, chirp, a, aHat, bHat, big } = this as unknown as { n: number; m: number; chirp: Float64Array; a: Float64Array; aHat: Float64Array; bHat: Float64Array; big: FFT };
    a.fill(0);
    for (let k = 0; k < n; k++) {
      a[2 * k] = x[k] * chirp[2 * k];
      a[2 * k + 1] = x[k] * chirp[2 * k + 1];
    }
    big.transform(aHat, a);
    for (let k = 0; k < m; k++) {
      const re = aHat[2 * k] * bHat[2 * k] - aHat[2 * k + 1] * bHat[2 * k + 1];
      const im = aHat[2 * k] * bHat[2 * k + 1] + aHat[2 * k + 1] * bHat[2 * k];
      aHat[2 * k] = re;
      aHat[2 * k + 1] = im;
    }
    big.inverseTransform(a, aHat);
    const out = this.out;
    for (let k = 0; k <= n >> 1; k++) {
      const re = a[2 * k];
      const im = a[2 * k + 1];
      out[2 * k] = re * chirp[2 * k] - im * chirp[2 * k + 1];
      out[2 * k + 1] = re * chirp[2 * k + 1] + im * chirp[2 * k];
    }
    return out;
  }
}

/**
 * The shared front end: framing, dither, DC removal, energy, preemphasis, window, |FFT|^p, mel bank.
 * Writes log (or linear) mel energies for one frame into `mel` and returns the frame's log energy.
 */
class MelFrontEnd {
  readonly frameOpts: FrameOptions;
  readonly windowLength: number;
  readonly windowShift: number;
  readonly paddedSize: number;
  private window: Float64Array;
  private bank: MelBank;
  private dft: RealDft;
  private frame: Float64Array;
  private spec: Float64Array;
  private dither: number;
  private removeDc: boolean;
  private rawEnergy: boolean;
  private preemph: number;
  private logEnergyFloor: number;
  private bankFirst: Int32Array;
  private bankLen: Int32Array;
  private bankFlat: Float64Array;

  constructor(readonly c: FbankConfig | MfccConfig, private usePower: boolean, private useLog: boolean) {
    this.frameOpts = { frameLengthMs: c.frameLengthMs, frameShiftMs: c.frameShiftMs, sampleRateHz: c.sampleRateHz, snipEdges: c.snipEdges };
    this.windowLength = windowLengthSamples(this.frameOpts);
    this.windowShift = windowShiftSamples(this.frameOpts);
    let padded = this.windowLength;
    if (c.roundToPowerOfTwo) {
      padded = 1;
      while (padded < this.windowLength) padded <<= 1;
    }
    this.paddedSize = padded;
    this.window = featureWindow(c.windowType, this.windowLength, c.blackmanCoeff);
    this.bank = melBank(c.numMelBins, padded, c.sampleRateHz, c.lowFreqHz, c.highFreqHz);
    this.dft = new RealDft(padded);
    this.frame = new Float64Array(padded);
    this.spec = new Float64Array((padded >> 1) + 1);
    this.dither = c.dither;
    this.removeDc = c.removeDcOffset;
    this.rawEnergy = c.rawEnergy;
    this.preemph = c.preemphasisCoefficient;
    this.logEnergyFloor = c.energyFloor > 0 ? Math.log(c.energyFloor) : -Infinity;
    // The sparse bank flattened into one array: fewer objects on the hot path.
    this.bankFirst = this.bank.first;
    this.bankLen = Int32Array.from(this.bank.weights, (w) => w.length);
    this.bankFlat = new Float64Array(this.bankLen.reduce((a, b) => a + b, 0));
    let o = 0;
    for (const w of this.bank.weights) {
      this.bankFlat.set(w, o);
      o += w.length;
    }
  }

  get bankInfo(): MelBank {
    return this.bank;
  }

  numFrames(numSamples: number): number {
    return numFrames(numSamples, this.frameOpts);
  }

  /** Process frame t of `x` into `mel` (length numMelBins); returns the log energy (floored). */
  processFrame(x: Float32Array, t: number, mel: Float64Array, rng: Rng | null): number {
    // Hot path: config scalars are read into locals once per frame; loops are fused where the maths allows.
    const L = this.windowLength;
    const f = this.frame;
    const n = x.length;
    const start = frameStartSample(t, this.frameOpts);
    let sum = 0;
    if (start >= 0 && start + L <= n) {
      for (let i = 0; i < L; i++) {
        const v = x[start + i];
        f[i] = v;
        sum += v;
      }
    } else {
      // Kaldi's ExtractWindow: reflect around the edges ([2,1,0 | 0,1,2 ... n-1 | n-1, n-2]).
      for (let i = 0; i < L; i++) {
        let s = start + i;
        while (s < 0 || s >= n) s = s < 0 ? -s - 1 : 2 * n - 1 - s;
        const v = x[s];
        f[i] = v;
        sum += v;
      }
    }
    if (rng && this.dither !== 0) {
      sum = 0;
      for (let i = 0; i < L; i++) sum += f[i] += this.dither * rng.normal();
    }
    let e = 0;
    if (this.removeDc) {
      const mean = sum / L;
      for (let i = 0; i < L; i++) {
        const v = f[i] - mean;
        f[i] = v;
        e += v * v;
      }
    } else if (this.rawEnergy) {
      for (let i = 0; i < L; i++) e += f[i] * f[i];
    }
    let logEnergy = 0;
    if (this.rawEnergy) logEnergy = Math.log(Math.max(e, FLT_EPSILON));
    // Preemphasis and window in one backward pass (each sample needs its predecessor before it is changed).
    const p = this.preemph;
    const w = this.window;
    e = 0;
    for (let i = L - 1; i > 0; i--) {
      const v = (f[i] - p * f[i - 1]) * w[i];
      f[i] = v;
      e += v * v;
    }
    const v0 = (f[0] - p * f[0]) * w[0];
    f[0] = v0;
    e += v0 * v0;
    // f[L..padded) stays zero: nothing writes there.
    if (!this.rawEnergy) logEnergy = Math.log(Math.max(e, FLT_EPSILON));
    if (this.logEnergyFloor > -Infinity && logEnergy < this.logEnergyFloor) logEnergy = this.logEnergyFloor;
    const z = this.dft.run(f);
    const spec = this.spec;
    const half = this.paddedSize >> 1;
    if (this.usePower) {
      for (let k = 0; k < half; k++) spec[k] = z[2 * k] * z[2 * k] + z[2 * k + 1] * z[2 * k + 1];
    } else {
      for (let k = 0; k < half; k++) spec[k] = Math.sqrt(z[2 * k] * z[2 * k] + z[2 * k + 1] * z[2 * k + 1]);
    }
    const first = this.bankFirst;
    const len = this.bankLen;
    const wts = this.bankFlat;
    const nb = mel.length;
    let o = 0;
    for (let b = 0; b < nb; b++) {
      const lo = first[b];
      const m = len[b];
      let s = 0;
      for (let k = 0; k < m; k++) s += wts[o + k] * spec[lo + k];
      o += m;
      mel[b] = this.useLog ? Math.log(s > FLT_EPSILON ? s : FLT_EPSILON) : s;
    }
    return logEnergy;
  }
}

export interface ComputeOptions {
  /** Dither noise source; default a new Rng(config.ditherSeed) per call (only used when dither > 0). */
  rng?: Rng;
}

function checkRate(c: { sampleRateHz: number }, sampleRateHz: number | undefined): void {
  if (sampleRateHz !== undefined && sampleRateHz !== c.sampleRateHz)
    throw new Error(`fbank: audio is ${sampleRateHz} Hz but the config says sampleRateHz=${c.sampleRateHz}: set sampleRateHz or resample first`);
}

/** Log-mel filterbank computer (Kaldi compute-fbank-feats). Build once per config, call compute per utterance. */
export class Fbank {
  readonly config: FbankConfig;
  private fe: MelFrontEnd;
  private mel: Float64Array;

  constructor(options: FbankOptions | FbankConfig = {}) {
    this.config = parseFbankConfig(options);
    this.fe = new MelFrontEnd(this.config, this.config.usePower, this.config.useLogFbank);
    this.mel = new Float64Array(this.config.numMelBins);
  }

  get numCols(): number {
    return this.config.numMelBins + (this.config.useEnergy ? 1 : 0);
  }
  get paddedWindowSize(): number {
    return this.fe.paddedSize;
  }
  get melBank(): MelBank {
    return this.fe.bankInfo;
  }
  numFrames(numSamples: number): number {
    return this.fe.numFrames(numSamples);
  }

  compute(samples: Float32Array, opts: ComputeOptions & { sampleRateHz?: number } = {}): FeatureMatrix {
    checkRate(this.config, opts.sampleRateHz);
    const c = this.config;
    const rows = this.fe.numFrames(samples.length);
    const cols = this.numCols;
    const data = new Float32Array(rows * cols);
    const rng = c.dither > 0 ? (opts.rng ?? new Rng(c.ditherSeed)) : null;
    const mel = this.mel;
    const off = c.useEnergy ? 1 : 0;
    for (let t = 0; t < rows; t++) {
      const e = this.fe.processFrame(samples, t, mel, rng);
      const row = t * cols;
      if (c.useEnergy) data[row] = e;
      for (let b = 0; b < mel.length; b++) data[row + off + b] = mel[b];
    }
    return { data, numFrames: rows, numCols: cols };
  }
}

/** Kaldi's ComputeDctMatrix: orthonormal DCT-II rows 0..numCeps-1 over numMelBins inputs. */
export function dctMatrix(numCeps: number, numMelBins: number): Float64Array {
  const m = new Float64Array(numCeps * numMelBins);
  for (let k = 0; k < numCeps; k++) {
    const norm = k === 0 ? Math.sqrt(1 / numMelBins) : Math.sqrt(2 / numMelBins);
    for (let n = 0; n < numMelBins; n++) m[k * numMelBins + n] = norm * Math.cos((Math.PI / numMelBins) * (n + 0.5) * k);
  }
  return m;
}

/** MFCC computer (Kaldi compute-mfcc-feats): log-mel from the same front end, DCT, liftering, optional energy as C0. */
export class Mfcc {
  readonly config: MfccConfig;
  private fe: MelFrontEnd;
  private mel: Float64Array;
  private dct: Float64Array;
  private lifter: Float64Array;

  constructor(options: MfccOptions | MfccConfig = {}) {
    this.config = parseMfccConfig(options);
    const c = this.config;
    if (c.numCeps > c.numMelBins) throw new Error(`mfcc: numCeps=${c.numCeps} must be <= numMelBins=${c.numMelBins}`);
    this.fe = new MelFrontEnd(c, true, true);
    this.mel = new Float64Array(c.numMelBins);
    this.dct = dctMatrix(c.numCeps, c.numMelBins);
    this.lifter = new Float64Array(c.numCeps);
    const Q = c.cepstralLifter;
    for (let i = 0; i < c.numCeps; i++) this.lifter[i] = Q === 0 ? 1 : 1 + 0.5 * Q * Math.sin((Math.PI * i) / Q);
  }

  get numCols(): number {
    return this.config.numCeps;
  }
  numFrames(numSamples: number): number {
    return this.fe.numFrames(numSamples);
  }

  compute(samples: Float32Array, opts: ComputeOptions & { sampleRateHz?: number } = {}): FeatureMatrix {
    checkRate(this.config, opts.sampleRateHz);
    const c = this.config;
    const rows = this.fe.numFrames(samples.length);
    const C = c.numCeps;
    const M = c.numMelBins;
    const data = new Float32Array(rows * C);
    const rng = c.dither > 0 ? (opts.rng ?? new Rng(c.ditherSeed)) : null;
    const mel = this.mel;
    for (let t = 0; t < rows; t++) {
      const e = this.fe.processFrame(samples, t, mel, rng);
      for (let k = 0; k < C; k++) {
        let s = 0;
        const d = k * M;
        for (let n = 0; n < M; n++) s += this.dct[d + n] * mel[n];
        data[t * C + k] = s * this.lifter[k];
      }
      if (c.useEnergy) data[t * C] = e;
    }
    return { data, numFrames: rows, numCols: C };
  }
}

/** One-shot helpers (build the computer each call: prefer `new Fbank(cfg)` in loops). */
export function fbank(samples: Float32Array, options: FbankOptions = {}, opts: ComputeOptions = {}): FeatureMatrix {
  return new Fbank(options).compute(samples, opts);
}
export function mfcc(samples: Float32Array, options: MfccOptions = {}, opts: ComputeOptions = {}): FeatureMatrix {
  return new Mfcc(options).compute(samples, opts);
}
