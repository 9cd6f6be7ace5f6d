/** Optimiser settings and state for NativeMlp.trainStep. State arrays are allocated on the first step. */

export interface SgdOptions {
  learningRate: number;
  /** Default 0.9. 0 gives plain SGD. */
  momentum?: number;
  /** PyTorch's dampening (default 0). */
  dampening?: number;
  /** L2 added to the gradient, PyTorch style (default 0). */
  weightDecay?: number;
  nesterov?: boolean;
}

export interface AdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  /** Added to sqrt(v̂) as in PyTorch (default 1e-8). tfjs adds its 1e-7 to sqrt(v) before bias correction. */
  epsilon?: number;
  /** L2 added to the gradient (PyTorch Adam, not AdamW). Default 0. */
  weightDecay?: number;
}

function checkPositive(name: string, v: number, where: string): void {
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`${where}: ${name} must be a positive number, got ${v}`);
}

/** Rates in [0, 1) with their defaults, checked in the order given. */
function unitRates(where: string, given: Partial<Record<string, number>>, defaults: Record<string, number>): Record<string, number> {
  const out = { ...defaults };
  for (const k of Object.keys(defaults)) {
    const v = given[k] ?? defaults[k];
    if (!(v >= 0 && v < 1)) throw new Error(`${where}: ${k} must be in [0, 1), got ${v}`);
    out[k] = v;
  }
  return out;
}

/** What both optimisers share: the learning rate (changeable between steps), L2 weight decay, state, step count. */
abstract class OptimizerBase {
  learningRate: number;
  readonly weightDecay: number;
  /** Slots per parameter in NativeMlp parameter order [W0, b0, W1, b1, ...] (see each optimiser); null before the first step. */
  state: Float32Array[] | null = null;
  steps = 0;

  /** `rates`: the subclass's settings in [0, 1) with their defaults, checked and assigned here. */
  protected constructor(where: string, options: { learningRate: number; weightDecay?: number }, rates: Record<string, number>) {
    checkPositive('learningRate', options.learningRate, where);
    this.learningRate = options.learningRate;
    this.weightDecay = options.weightDecay ?? 0;
    if (!(this.weightDecay >= 0)) throw new Error(`${where}: weightDecay must be >= 0, got ${this.weightDecay}`);
    Object.assign(this, unitRates(where, options as Partial<Record<string, number>>, rates));
  }
}

/** Momentum SGD with PyTorch semantics: v = μv + (1−d)(g + λw) (v = g on the first step), w −= lr·v. State: one velocity per parameter. */
export class SgdMomentum extends OptimizerBase {
  readonly kind = 'sgd' as const;
  declare readonly momentum: number;
  declare readonly dampening: number;
  readonly nesterov: boolean;

  constructor(options: SgdOptions) {
    super('SgdMomentum', options, { momentum: 0.9, dampening: 0 });
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && (this.momentum === 0 || this.dampening !== 0))
      throw new Error('SgdMomentum: Nesterov momentum requires momentum > 0 and dampening 0 (as in PyTorch)');
  }
}

/** Adam with PyTorch semantics (bias-corrected, ε outside the square root). State: [m, v] per parameter, [mW0, vW0, mb0, vb0, ...]. */
export class Adam extends OptimizerBase {
  readonly kind = 'adam' as const;
  declare readonly beta1: number;
  declare readonly beta2: number;
  readonly epsilon: number;

  constructor(options: AdamOptions) {
    super('Adam', options, { beta1: 0.9, beta2: 0.999 });
    this.epsilon = options.epsilon ?? 1e-8;
    checkPositive('epsilon', this.epsilon, 'Adam');
  }
}

export type NativeOptimizer = SgdMomentum | Adam;
