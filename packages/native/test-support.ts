// Shared by the tests: the engine, or a skip only where the build's prerequisites are genuinely absent.
// With compiler and OpenBLAS present, an engine that does not load is a failure, not a skip.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadNativeEngine, type NativeEngine } from './src/index.js';

const statusPath = fileURLToPath(new URL('./build/native-status.json', import.meta.url));

export interface NativeForTests {
  engine: NativeEngine | null;
  /** Non-null when the tests may skip: the build could not be attempted on this machine. */
  skipReason: string | null;
  /** Non-null when the engine should be there and is not. */
  failure: string | null;
}

export function nativeForTests(): NativeForTests {
  const r = loadNativeEngine();
  if (r.available) return { engine: r.engine, skipReason: null, failure: null };
  let missing: string[] = [];
  if (existsSync(statusPath)) {
    try {
      missing = (JSON.parse(readFileSync(statusPath, 'utf8')) as { missing?: string[] }).missing ?? [];
    } catch {
      missing = [];
    }
  }
  const cpuOrPlatform = /CPU lacks|linux\/x64 only/.test(r.reason);
  if ((missing.length > 0 || cpuOrPlatform) && process.env.KDASR_REQUIRE_NATIVE !== '1') {
    console.warn(`@kdasr/native tests skipped: ${r.reason}`);
    return { engine: null, skipReason: r.reason, failure: null };
  }
  return { engine: null, skipReason: null, failure: r.reason };
}

export async function useCpuBackend(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

/** Deterministic pseudo-random floats in [lo, hi). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[i] = lo + ((s >>> 0) / 4294967296) * (hi - lo);
  }
  return a;
}

/** max |a - b| <= atol + rtol * max |b|, with a message naming the worst index. */
export function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  if (a.length !== b.length) throw new Error(`${what}: length ${a.length} vs ${b.length}`);
  let worst = 0;
  let at = -1;
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  const tol = atol + rtol * scale;
  if (!(worst <= tol)) throw new Error(`${what}: max |diff| ${worst} at ${at} (${a[at]} vs ${b[at]}) exceeds ${tol}`);
}
