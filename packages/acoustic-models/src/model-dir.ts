/**
 * A `kdasr train` output directory (EXPDIR) as a unit: EXPDIR/model, or EXPDIR/member-<i>/model of an ensemble,
 * plus EXPDIR/tree.json when the outputs are tree pdfs. Loading one here keeps the layout in one place for the
 * CLI, the recipes and any other reader.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Classifier } from '@kdasr/core';
import { PhoneticTree, type TreeJson } from './tree.js';
import { EnsembleClassifier, loadAcousticModel, type AcousticModelMeta } from './train.js';
import type { StateInventory } from './states.js';
import type { Frontend } from './dataset.js';

export const TREE_FILE = 'tree.json';

/** EXPDIR/tree.json: the phonetic tree (context-dependent pdfs) and the settings that built it. */
export interface TreeFile {
  tree: TreeJson;
  config: { targetLeaves: number; minCount: number; ali: string };
  numPdfs: number;
}

/** The experiment's phonetic tree, or undefined for a monophone model (no EXPDIR/tree.json). */
export function readTree(expDir: string): PhoneticTree | undefined {
  const f = join(expDir, TREE_FILE);
  if (!existsSync(f)) return undefined;
  let j: TreeFile;
  try {
    j = JSON.parse(readFileSync(f, 'utf8')) as TreeFile;
  } catch (e) {
    throw new Error(`${f}: not valid JSON (${(e as Error).message}); rerun kdasr train --tree-leaves to rewrite it`);
  }
  if (!j || typeof j !== 'object' || !j.tree) throw new Error(`${f}: field "tree" is missing; rerun kdasr train --tree-leaves to rewrite it`);
  return PhoneticTree.fromJSON(j.tree, `${f}: tree`);
}

export const ENGINES = ['native', 'tfjs', 'auto'] as const;
export type EngineChoice = (typeof ENGINES)[number];
export type CombineRule = 'arithmetic' | 'geometric';

/** A model directory loaded for inference: one model, or an ensemble whose members' posteriors are combined. */
export interface LoadedModelDir {
  model: Classifier & { dispose(): void };
  meta: AcousticModelMeta;
  inventory: StateInventory;
  /** EXPDIR/tree.json when the model's outputs are context-dependent pdfs (shared by an ensemble's members). */
  tree?: PhoneticTree;
  frontend: Frontend;
  /** 1 for a single model. */
  members: number;
  engine: 'native' | 'tfjs';
}

/** Member directories of an ensemble experiment (EXPDIR/member-<i>/model), in member order; [] for a single model. */
export function ensembleMembers(expDir: string): string[] {
  if (!existsSync(expDir)) return [];
  return readdirSync(expDir)
    .map((d) => /^member-(\d+)$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(join(expDir, m[0], 'model')))
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => join(expDir, m[0], 'model'));
}

/**
 * Load EXPDIR/model, or every EXPDIR/member-<i>/model of an ensemble (kdasr train --members N), combined by
 * `combine`. Posteriors run on `engine` (auto: native when the addon loads). Members share the inventory, frontend
 * and priors (they differ only in seed), so member 0's sidecar stands for all.
 */
export async function loadModelDir(expDir: string, options: { engine?: EngineChoice; combine?: CombineRule } = {}): Promise<LoadedModelDir> {
  const single = join(expDir, 'model');
  const engine = options.engine ?? 'auto';
  const tree = readTree(expDir);
  const check = (numClasses: number, dir: string): void => {
    const want = tree ? tree.numPdfs : undefined;
    if (want !== undefined && numClasses !== want) throw new Error(`${dir} has ${numClasses} outputs but ${join(expDir, TREE_FILE)} ${want} pdfs; the tree is from another training run`);
  };
  if (existsSync(join(single, 'kdasr.json'))) {
    const am = await loadAcousticModel(single, { engine });
    check(am.model.numClasses, single);
    return { ...am, tree, members: 1, engine: am.model.engine };
  }
  const dirs = ensembleMembers(expDir);
  if (dirs.length === 0) throw new Error(`${expDir} holds neither model/ nor member-<i>/model; pass a kdasr train output`);
  const loaded = [];
  for (const d of dirs) loaded.push(await loadAcousticModel(d, { engine }));
  loaded.forEach((l, i) => check(l.model.numClasses, dirs[i]));
  const ens = new EnsembleClassifier(loaded.map((l) => l.model), options.combine ?? 'arithmetic');
  return { model: ens, meta: loaded[0].meta, inventory: loaded[0].inventory, tree, frontend: loaded[0].frontend, members: dirs.length, engine: loaded[0].model.engine };
}
