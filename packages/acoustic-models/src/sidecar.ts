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
  if (!meta || typeof meta !== 'object' || !meta.inventory || !meta.frontend || typeof meta.frontend !== 'object')
    throw new Error(`${source}: config lacks inventory or frontend; re-save the model with kdasr train`);
  const field = <T>(name: string, make: () => T): T => {
    try {
      return make();
    } catch (e) {
      throw new Error(`${source}: config.${name}: ${(e as Error).message}; re-save the model with kdasr train`);
    }
  };
  const inventory = field('inventory', () => StateInventory.fromJSON(meta.inventory));
  const frontend = field('frontend', () => new Frontend(meta.frontend.config, meta.frontend.globalStats));
  const { numPdfs, logPriors } = meta;
  if (numPdfs !== undefined && !(Number.isSafeInteger(numPdfs) && numPdfs >= 1)) throw new Error(`${source}: config.numPdfs must be a positive integer, got ${JSON.stringify(numPdfs)}`);
  const classes = numPdfs ?? inventory.numClasses;
  if (logPriors !== undefined) {
    // JSON has no -Infinity (a pdf never seen): it comes back as null, which must not decode as log-prior 0.
    if (!Array.isArray(logPriors) || logPriors.length !== classes || !logPriors.every((x) => typeof x === 'number' && Number.isFinite(x)))
      throw new Error(`${source}: config.logPriors must be ${classes} finite numbers (one per output class), got ${Array.isArray(logPriors) ? `${logPriors.length} entries` : typeof logPriors}`);
  }
  return { meta, inventory, frontend };
}
