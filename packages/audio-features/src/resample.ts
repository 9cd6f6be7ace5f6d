/**
 * Band-limited resampling: a Hann-windowed sinc polyphase filter, the same kernel as
 * torchaudio.functional.resample(..., resampling_method="sinc_interp_hann") (lowpass_filter_width 6,
 * rolloff 0.99), itself modelled on Kaldi's LinearResample. Both rates are reduced by their gcd; output j*new+i
 * (phase i) is a dot product of the zero-padded input starting at j*orig with phase i's kernel.
 */

export interface ResampleOptions {
  /** Zero crossings of the sinc on each side (torchaudio lowpass_filter_width). Larger: sharper, slower. */
  lowpassFilterWidth?: number;
  /** Cut-off as a fraction of the lower Nyquist rate (torchaudio rolloff): leaves a guard band against aliasing. */
  rolloff?: number;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

interface Kernel {
  orig: number;
  next: number;
  width: number;
  taps: number;
  /** next x taps, or null when too large to cache (computed per phase on demand). */
  table: Float64Array | null;
  phase(i: number, into: Float64Array): Float64Array;
}

const cache = new Map<string, Kernel>();

function makeKernel(origHz: number, newHz: number, width0: number, rolloff: number): Kernel {
  const key = `${origHz}:${newHz}:${width0}:${rolloff}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const g = gcd(origHz, newHz);
  const orig = origHz / g;
  const next = newHz / g;
  const base = Math.min(orig, next) * rolloff;
  const width = Math.ceil((width0 * orig) / base);
  const taps = 2 * width + orig;
  const scale = base / orig;
  const phase = (i: number, into: Float64Array): Float64Array => {
    for (let k = 0; k < taps; k++) {
      let t = (-i / next + (k - width) / orig) * base;
      t = Math.max(-width0, Math.min(width0, t));
      const w = Math.cos((t * Math.PI) / width0 / 2) ** 2;
      const pt = t * Math.PI;
      into[k] = (pt === 0 ? 1 : Math.sin(pt) / pt) * w * scale;
    }
    return into;
  };
  let table: Float64Array | null = null;
  // Awkward rate pairs (gcd 1, e.g. 44100 -> 16001) have huge tables: compute those phases on the fly.
  if (next * taps <= 1 << 22) {
    table = new Float64Array(next * taps);
    for (let i = 0; i < next; i++) phase(i, table.subarray(i * taps, (i + 1) * taps));
  }
  const k: Kernel = { orig, next, width, taps, table, phase };
  if (table) cache.set(key, k);
  return k;
}

/** Resample `x` from origHz to newHz. Output length is ceil(len * new / orig), as in torchaudio. */
export function resample(x: Float32Array, origHz: number, newHz: number, opts: ResampleOptions = {}): Float32Array {
  if (!Number.isInteger(origHz) || !Number.isInteger(newHz) || origHz < 1 || newHz < 1)
    throw new Error(`resample: rates must be positive integers, got ${origHz} -> ${newHz}`);
  if (origHz === newHz) return x.slice();
  const k = makeKernel(origHz, newHz, opts.lowpassFilterWidth ?? 6, opts.rolloff ?? 0.99);
  const { orig, next, width, taps } = k;
  const len = x.length;
  const outLen = Math.ceil((next * len) / orig);
  const out = new Float32Array(outLen);
  const scratch = new Float64Array(taps);
  const blocks = Math.ceil(outLen / next);
  for (let j = 0; j < blocks; j++) {
    // Input index of tap 0 for block j (padding of `width` zeros on the left).
    const start = j * orig - width;
    const kLo = Math.max(0, -start);
    const kHi = Math.min(taps, len - start);
    for (let i = 0; i < next; i++) {
      const o = j * next + i;
      if (o >= outLen) break;
      const h = k.table ? k.table.subarray(i * taps, (i + 1) * taps) : k.phase(i, scratch);
      let s = 0;
      for (let t = kLo; t < kHi; t++) s += x[start + t] * h[t];
      out[o] = s;
    }
  }
  return out;
}
