import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { provenance } from './provenance.js';
import { parseSidecar, SIDECAR_FILE, type Sidecar } from './sidecar.js';

export function makeSidecar(kind: string, config: unknown, seed: number | null, metrics?: Record<string, unknown>): Sidecar {
  return { kind, config, seed, provenance: provenance(), metrics };
}

/** Read and check the sidecar of an artifact directory (DIR/kdasr.json). */
export function readSidecar(dir: string): Sidecar {
  const path = join(dir, SIDECAR_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${path} does not exist; ${dir} is not an artifact directory written by kdasr`);
    throw new Error(`${path}: cannot read (${(e as Error).message})`);
  }
  return parseSidecar(text, path);
}
