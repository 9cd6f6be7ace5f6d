/**
 * Loss settings of the native engine, with the same meaning and defaults as @kdasr/distillation's
 * distillationLoss: total = softWeight·(T²)·soft + hardWeight·hard, soft at temperature T, hard at T = 1 over
 * labelled rows (label −1 excluded).
 */
export interface NativeLossOptions {
  /** Default 1. */
  temperature?: number;
  /** Default 1. */
  softWeight?: number;
  /** Default 0.5 (the paper's speech setting). */
  hardWeight?: number;
  /** Multiply the soft term by T² (default true). Not applied to logit matching. */
  scaleByTemperatureSquared?: boolean;
  /**
   * 'soft': cross-entropy against the teacher distribution at T (the paper); 'kl': KL divergence (same gradient,
   * 0 at a perfect match); 'logit-matching': ½‖z − v‖² per row against teacher logits (no T, no T²).
   */
  lossKind?: 'soft' | 'kl' | 'logit-matching';
}

export interface ResolvedLoss {
  temperature: number;
  softWeight: number;
  hardWeight: number;
  scale: boolean;
  lossKind: 'soft' | 'kl' | 'logit-matching';
}

export interface LossParts {
  /** softWeight·(T²)·soft + hardWeight·hard, at the weights before the update. */
  total: number;
  /** Unweighted, unscaled soft term (0 when skipped). */
  soft: number;
  /** Unweighted hard term (0 when skipped). */
  hard: number;
  /** Rows with a label ≥ 0 (the hard term's denominator). */
  labelledRows: number;
}

export function resolveLoss(o: NativeLossOptions = {}, where = 'NativeMlp'): ResolvedLoss {
  const r: ResolvedLoss = {
    temperature: o.temperature ?? 1,
    softWeight: o.softWeight ?? 1,
    hardWeight: o.hardWeight ?? 0.5,
    scale: o.scaleByTemperatureSquared ?? true,
    lossKind: o.lossKind ?? 'soft',
  };
  if (!(Number.isFinite(r.temperature) && r.temperature > 0)) throw new Error(`${where}: temperature must be a positive finite number, got ${r.temperature}`);
  for (const [k, v] of [['softWeight', r.softWeight], ['hardWeight', r.hardWeight]] as const)
    if (!(Number.isFinite(v) && v >= 0)) throw new Error(`${where}: ${k} must be a finite number >= 0, got ${v}`);
  if (r.softWeight === 0 && r.hardWeight === 0) throw new Error(`${where}: softWeight and hardWeight are both 0; the loss would be identically zero`);
  if (!['soft', 'kl', 'logit-matching'].includes(r.lossKind))
    throw new Error(`${where}: lossKind must be 'soft', 'kl' or 'logit-matching', got ${String(r.lossKind)}`);
  return r;
}
