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
function checkUnit(name: string, v: number, where: string): void {
  if (!(v >= 0 && v < 1)) throw new Error(`${where}: ${name} must be in [0, 1), got ${v}`);
}

/** Momentum SGD with PyTorch semantics: v = μv + (1−d)(g + λw) (v = g on the first step), w −= lr·v. */
export class SgdMomentum {
  readonly kind = 'sgd' as const;
  learningRate: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  /** Velocity per parameter, in NativeMlp parameter order [W0, b0, W1, b1, ...]. */
  state: Float32Array[] | null = null;
  steps = 0;

  constructor(options: SgdOptions) {
    const where = 'SgdMomentum';
    checkPositive('learningRate', options.learningRate, where);
    this.learningRate = options.learningRate;
    this.momentum = options.momentum ?? 0.9;
    this.dampening = options.dampening ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    checkUnit('momentum', this.momentum, where);
    checkUnit('dampening', this.dampening, where);
    if (!(this.weightDecay >= 0)) throw new Error(`${where}: weightDecay must be >= 0, got ${this.weightDecay}`);
    if (this.nesterov && (this.momentum === 0 || this.dampening !== 0))
      throw new Error(`${where}: Nesterov momentum requires momentum > 0 and dampening 0 (as in PyTorch)`);
  }
}

/** Adam with PyTorch semantics (bias-corrected, ε outside the square root). */
export class Adam {
  readonly kind = 'adam' as const;
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  /** [m, v] per parameter: [mW0, vW0, mb0, vb0, ...]. */
  state: Float32Array[] | null = null;
  steps = 0;

  constructor(options: AdamOptions) {
    const where = 'Adam';
    checkPositive('learningRate', options.learningRate, where);
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    checkUnit('beta1', this.beta1, where);
    checkUnit('beta2', this.beta2, where);
    checkPositive('epsilon', this.epsilon, where);
    if (!(this.weightDecay >= 0)) throw new Error(`${where}: weightDecay must be >= 0, got ${this.weightDecay}`);
  }
}

export type NativeOptimizer = SgdMomentum | Adam;
