import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWav } from '@kdasr/audio-features';
import { writeFileAtomic } from '@kdasr/core';

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `kdasr-corpus-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A sine tone wav (so headers and lengths are real). */
export function writeTone(path: string, seconds: number, rateHz: number, freq = 440): number {
  const n = Math.round(seconds * rateHz);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.3 * Math.sin((2 * Math.PI * freq * i) / rateHz);
  writeFileAtomic(path, encodeWav(x, rateHz, { bitDepth: 16 }));
  return n;
}

export function jsonl(items: unknown[]): string {
  return items.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join('\n') + '\n';
}
