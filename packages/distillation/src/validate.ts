import * as tf from '@tensorflow/tfjs-core';

/** Errors name the offending value so a misconfigured run fails with something actionable. */
export function checkTemperature(temperature: number, where: string): void {
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature <= 0)
    throw new Error(`${where}: temperature must be a finite number > 0, got ${String(temperature)}`);
}

export function checkWeight(name: string, value: number, where: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new Error(`${where}: ${name} must be a finite number >= 0, got ${String(value)}`);
}

export function checkLogits2d(x: tf.Tensor, name: string, where: string): asserts x is tf.Tensor2D {
  if (!(x instanceof tf.Tensor)) throw new Error(`${where}: ${name} must be a tf.Tensor2D, got ${typeof x}`);
  if (x.rank !== 2) throw new Error(`${where}: ${name} must be 2-D [batch, classes], got shape [${x.shape.join(', ')}]`);
  if (x.shape[1] === 0) throw new Error(`${where}: ${name} has 0 classes (shape [${x.shape.join(', ')}])`);
}

export function checkSameShape(a: tf.Tensor, aName: string, b: tf.Tensor, bName: string, where: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i]))
    throw new Error(`${where}: ${aName} has shape [${a.shape.join(', ')}] but ${bName} has shape [${b.shape.join(', ')}]`);
}

/** First non-finite entry of a host array, or -1. */
export function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return i;
  return -1;
}

/**
 * Throws if a tensor holds NaN or ±Inf. Cost: one sum reduction over the tensor plus a download of one scalar
 * (a pipeline sync on GPU-like backends); only when the sum is non-finite is the tensor downloaded to locate the
 * entry. A finite sum proves every entry finite unless values near float32 max overflow it; that case falls back
 * to the full scan, so there are no false alarms.
 */
export function checkFiniteTensor(x: tf.Tensor, name: string, where: string): void {
  const s = tf.tidy(() => tf.sum(x.dtype === 'float32' ? x : tf.cast(x, 'float32')));
  const v = s.dataSync()[0];
  s.dispose();
  if (Number.isFinite(v)) return;
  const data = x.dataSync();
  const i = firstNonFinite(data);
  if (i < 0) return;
  const cols = x.rank === 2 ? x.shape[1] : 0;
  const at = cols ? `row ${Math.floor(i / cols)}, class ${i % cols}` : `flat index ${i}`;
  throw new Error(`${where}: ${name} contains ${data[i]} at ${at} (shape [${x.shape.join(', ')}]); inputs must be finite`);
}

export function checkFiniteHost(a: ArrayLike<number>, name: string, where: string, cols = 0): void {
  const i = firstNonFinite(a);
  if (i < 0) return;
  const at = cols ? `row ${Math.floor(i / cols)}, column ${i % cols}` : `index ${i}`;
  throw new Error(`${where}: ${name} contains ${a[i]} at ${at}; inputs must be finite`);
}
