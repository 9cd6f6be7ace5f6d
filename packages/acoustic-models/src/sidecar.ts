/**
 * Reading an acoustic model's kdasr.json without the training stack (no tfjs-layers, engines or Node I/O), so a
 * browser page or another host can rebuild the frontend, state inventory and priors from the fetched sidecar.
 */
import type { CmvnStatsJson } from '@kdasr/audio-features';
import { Frontend, type FrontendConfig } from './dataset.js';
import { StateInventory, type StateInventoryJson } from './states.js';

export const ACOUSTIC_MODEL_KIND = 'kdasr-acoustic-model';

/** The inference half of AcousticModelMeta (train.ts), without the training config's types. */
export interface AcousticSidecarMeta {
  config: unknown;
  inventory: StateInventoryJson;
  frontend: { config: FrontendConfig; globalStats?: CmvnStatsJson };
  logPriors?: number[];
  numPdfs?: number;
}

export interface AcousticSidecar {
  meta: AcousticSidecarMeta;
  inventory: StateInventory;
  frontend: Frontend;
}

/** The model description in a parsed kdasr.json (`source` names it in errors); throws when it is not an acoustic model's. */
export function acousticSidecar(sidecar: unknown, source: string): AcousticSidecar {
  const s = sidecar as { kind?: unknown; config?: unknown } | null;
  if (!s || typeof s !== 'object' || s.kind !== ACOUSTIC_MODEL_KIND)
    throw new Error(`${source}: kind is ${s && typeof s === 'object' ? JSON.stringify(s.kind) : 'missing'}; expected "${ACOUSTIC_MODEL_KIND}" (a model saved by saveAcousticModel / kdasr train)`);
  const meta = s.config as AcousticSidecarMeta;
  if (!meta || typeof meta !== 'object' || !meta.inventory || !meta.frontend)
    throw new Error(`${source}: config lacks inventory or frontend; re-save the model with kdasr train`);
  return { meta, inventory: StateInventory.fromJSON(meta.inventory), frontend: new Frontend(meta.frontend.config, meta.frontend.globalStats) };
}
