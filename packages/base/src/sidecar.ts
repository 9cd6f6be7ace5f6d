// The kdasr.json sidecar written beside every artifact. Parsing is browser-safe (the page reads a sidecar it
// fetched); reading and writing files is in sidecar-io.ts.
import { z } from 'zod';
import type { Provenance } from './provenance.js';

/** The JSON written beside every artifact: what made it, from what, with which code and backend. */
export interface Sidecar {
  kind: string;
  config: unknown;
  seed: number | null;
  provenance: Provenance;
  /** Free-form results (metrics, history) the producer wants kept with the artifact. */
  metrics?: Record<string, unknown>;
}

export const SIDECAR_FILE = 'kdasr.json';

const provenanceSchema = z.looseObject({
  kdasrVersion: z.string(),
  gitCommit: z.string(),
  backend: z.string(),
  threads: z.number().int().positive().optional(),
  patchedKernels: z.boolean().optional(),
  versions: z.record(z.string(), z.string()),
  createdAt: z.string(),
  hostname: z.string(),
});

export const sidecarSchema = z.looseObject({
  kind: z.string().min(1),
  config: z.unknown(),
  seed: z.number().nullable(),
  provenance: provenanceSchema,
  metrics: z.record(z.string(), z.unknown()).optional(),
});

/** Parse a sidecar's text; `where` (its path or URL) names it in the error. */
export function parseSidecar(text: string, where: string): Sidecar {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not valid JSON (${(e as Error).message}); a ${SIDECAR_FILE} sidecar is written by makeSidecar`);
  }
  const r = sidecarSchema.safeParse(json);
  if (!r.success) throw new Error(`${where}: not a kdasr sidecar: ${z.prettifyError(r.error)}`);
  return r.data as Sidecar;
}
