/** Synthetic speakers: espeak-ng base English voices × voice variants (voices/!v), with pitch and rate. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '@kdasr/core';
import { espeakDataDir } from './espeak.js';

export const BASE_VOICES = ['en-us', 'en', 'en-gb-x-rp', 'en-gb-scotland', 'en-gb-x-gbclan', 'en-gb-x-gbcwmd', 'en-029', 'en-us-nyc'] as const;

export interface SpeakerVoice {
  id: string;
  /** espeak voice name: base+variant. */
  voice: string;
  base: string;
  variant: string;
  /** The speaker's habitual rate (words per minute), pitch and pitch range (0..100). */
  rate: number;
  pitch: number;
  pitchRange: number;
}

/** Variant names from espeak-ng-data/voices/!v (names with spaces cannot be passed as +variant). */
export function listVariants(dataDir = espeakDataDir()): string[] {
  const dir = dataDir ? join(dataDir, 'voices', '!v') : null;
  if (!dir || !existsSync(dir)) return ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'f1', 'f2', 'f3', 'f4', 'f5'];
  return readdirSync(dir)
    .filter((n) => /^[A-Za-z0-9_-]+$/.test(n))
    .sort();
}

/**
 * `n` distinct speakers drawn from (variant × base voice), deterministic for the seed: variants are
 * spread first (each variant used once before any repeats), then base voices, rate and pitch vary.
 */
export function planSpeakers(n: number, seed: number, variants = listVariants()): SpeakerVoice[] {
  const rng = new Rng(seed).fork('speakers');
  const vs = rng.shuffle([...variants]);
  const out: SpeakerVoice[] = [];
  const used = new Set<string>();
  for (let i = 0; out.length < n; i++) {
    if (i > n * 20 + 1000) throw new Error(`planSpeakers: cannot find ${n} distinct voices among ${variants.length} variants × ${BASE_VOICES.length} bases`);
    const variant = vs[i % vs.length];
    const base = BASE_VOICES[rng.int(BASE_VOICES.length)];
    const voice = `${base}+${variant}`;
    if (used.has(voice)) continue;
    used.add(voice);
    out.push({
      id: `spk${String(out.length).padStart(3, '0')}`,
      voice,
      base,
      variant,
      rate: Math.round(rng.uniform(135, 205)),
      pitch: Math.round(rng.uniform(25, 75)),
      pitchRange: Math.round(rng.uniform(25, 85)),
    });
  }
  return out;
}
