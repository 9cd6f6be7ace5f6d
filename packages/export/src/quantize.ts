/**
 * TF.js weight quantization in the stock weights-manifest format, so that plain `tf.loadLayersModel` (tfjs-core's
 * io.decodeWeights) dequantizes on load: a quantized entry keeps `dtype: 'float32'` and gains
 * `quantization: { dtype: 'float16' }` (IEEE half, little-endian) or `{ dtype: 'uint8', scale, min }`
 * (value = q * scale + min), the fields tfjs-converter writes. No Node built-ins: a page can quantize too.
 */
import type * as tf from '@tensorflow/tfjs-core';

export const WEIGHT_DTYPES = ['float32', 'float16', 'uint8'] as const;
export type WeightDtype = (typeof WEIGHT_DTYPES)[number];

type ManifestEntry = tf.io.WeightsManifestEntry;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits of a float32 value, rounded to nearest even; overflow gives ±Infinity, NaN stays NaN. */
export function float16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the full 24-bit significand; values under half the smallest subnormal -> 0.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, which is the correct rounding (up to Infinity).
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

/** Float32 values as packed half-precision bits. */
export function toFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float16Bits(values[i]);
  return out;
}

/**
 * Affine uint8 quantization of one tensor, as tfjs-converter does it: scale = (max − min) / 255 over the tensor,
 * with the range nudged so that 0 is exactly representable when [min, max] covers it (ReLU nets have many zeros,
 * and zero biases stay zero). A constant tensor gets scale 1 and min = its value, which decodes exactly.
 */
export function quantizeUint8(values: Float32Array): { data: Uint8Array; scale: number; min: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) throw new Error(`quantizeUint8: the tensor holds ${v}; only finite weights can be quantized (retrain or check the model)`);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const data = new Uint8Array(values.length);
  if (values.length === 0) return { data, scale: 1, min: 0 };
  if (lo === hi) return { data, scale: 1, min: lo };
  const scale = (hi - lo) / 255;
  let min = lo;
  if (lo <= 0 && hi >= 0) min = -Math.round(-lo / scale) * scale;
  const max = min + 255 * scale;
  for (let i = 0; i < values.length; i++) {
    const v = Math.min(Math.max(values[i], min), max);
    data[i] = Math.round((v - min) / scale);
  }
  return { data, scale, min };
}

/** Size in bytes of an entry's stored values (quantized or not). Strings are not supported here. */
function storedBytes(spec: ManifestEntry): number {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const dt = spec.quantization?.dtype ?? spec.dtype;
  const per: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };
  if (!(dt in per)) throw new Error(`weights manifest: entry "${spec.name}" has dtype ${dt}, which this exporter does not handle`);
  return n * per[dt];
}

export interface QuantizedWeights {
  specs: ManifestEntry[];
  data: Uint8Array;
}

/**
 * Re-encode an unquantized float32 weights buffer (`specs` in order, as tf.io save handlers give them) with
 * `dtype`. Non-float32 entries are copied as they are. 'float32' returns an identical copy. Each quantized
 * entry's bytes start at the running offset, as decodeWeights reads them; uint16 arrays need no alignment
 * there because decodeWeights slices each entry into its own buffer.
 */
export function quantizeWeights(specs: readonly ManifestEntry[], data: Uint8Array, dtype: WeightDtype): QuantizedWeights {
  if (!(WEIGHT_DTYPES as readonly string[]).includes(dtype)) throw new Error(`quantizeWeights: dtype is "${dtype}"; expected one of ${WEIGHT_DTYPES.join(', ')}`);
  const parts: Uint8Array[] = [];
  const out: ManifestEntry[] = [];
  let off = 0;
  for (const spec of specs) {
    if (spec.quantization) throw new Error(`quantizeWeights: weight "${spec.name}" is already quantized (${spec.quantization.dtype}); export from the float32 model`);
    const bytes = storedBytes(spec);
    if (off + bytes > data.length) throw new Error(`quantizeWeights: weight "${spec.name}" needs bytes ${off}..${off + bytes} but the buffer has ${data.length}; the manifest and weights file disagree`);
    const raw = data.subarray(off, off + bytes);
    off += bytes;
    if (spec.dtype !== 'float32' || dtype === 'float32') {
      parts.push(raw.slice());
      out.push({ ...spec });
      continue;
    }
    const values = new Float32Array(raw.slice().buffer);
    if (dtype === 'float16') {
      parts.push(new Uint8Array(toFloat16(values).buffer));
      out.push({ ...spec, quantization: { dtype: 'float16' } });
    } else {
      const q = quantizeUint8(values);
      parts.push(q.data);
      out.push({ ...spec, quantization: { dtype: 'uint8', scale: q.scale, min: q.min } });
    }
  }
  if (off !== data.length) throw new Error(`quantizeWeights: the manifest covers ${off} bytes but the buffer has ${data.length}; the manifest and weights file disagree`);
  const total = parts.reduce((s, p) => s + p.length, 0);
  const joined = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    joined.set(p, o);
    o += p.length;
  }
  return { specs: out, data: joined };
}
