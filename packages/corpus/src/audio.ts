/** Small audio helpers over @kdasr/audio-features (header reads, sox availability and conversion). */
import { spawnSync } from 'node:child_process';
import { renameSync, rmSync, mkdirSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { WavFile, type WavInfo } from '@kdasr/audio-features';

/** Header of a wav file (no samples decoded). Throws WavError naming the file and field. */
export function wavInfo(path: string): WavInfo {
  const f = new WavFile(path);
  try {
    return f.info;
  } finally {
    f.close();
  }
}

let soxCache: boolean | undefined;
/** Whether the `sox` command runs here (it converts FLAC; Debian package `sox`). */
export function soxAvailable(): boolean {
  if (soxCache === undefined) {
    const r = spawnSync('sox', ['--version'], { stdio: 'ignore' });
    soxCache = r.status === 0;
  }
  return soxCache;
}

/** Convert any sox-readable file to 16-bit PCM wav at `out` (atomically: temp name, then rename). */
export function soxToWav(input: string, out: string): void {
  mkdirSync(dirname(out), { recursive: true });
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}.wav`);
  const r = spawnSync('sox', [input, '-b', '16', '-e', 'signed-integer', tmp], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`sox could not convert ${input}: ${(r.stderr || r.error?.message || '').trim()}`);
  }
  renameSync(tmp, out);
}
