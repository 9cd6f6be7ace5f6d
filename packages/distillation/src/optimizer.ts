import * as tf from '@tensorflow/tfjs-core';

export type OptimizerConfig =
  | { kind: 'sgd'; learningRate: number; momentum: number; nesterov: boolean }
  | { kind: 'adam'; learningRate: number; beta1: number; beta2: number; epsilon: number };

/**
 * SGD with momentum (PyTorch/tfjs convention: m ← μm + g, w ← w − lr·m) and Adam. Written here rather than using
 * tf.train.* so the state is explicit: a checkpoint saves and restores it exactly, and the learning rate can change
 * between epochs without reaching into protected fields.
 */
export class StepOptimizer {
  private readonly slots: tf.Variable[][];
  /** Adam's step count. */
  step = 0;

  constructor(
    readonly config: OptimizerConfig,
    private readonly vars: tf.Variable[],
  ) {
    const nSlots = config.kind === 'adam' ? 2 : config.momentum > 0 ? 1 : 0;
    this.slots = vars.map((v) => Array.from({ length: nSlots }, () => tf.tidy(() => tf.variable(tf.zerosLike(v), false))));
  }

  /** grads keyed by variable name (tf.variableGrads' output). */
  apply(grads: tf.NamedTensorMap, learningRate: number): void {
    this.step++;
    const c = this.config;
    tf.tidy(() => {
      this.vars.forEach((v, i) => {
        const g = grads[v.name];
        if (!g) throw new Error(`StepOptimizer: no gradient for variable ${v.name}`);
        if (c.kind === 'sgd') {
          if (c.momentum === 0) {
            v.assign(tf.sub(v, tf.mul(g, learningRate)));
            return;
          }
          const m = this.slots[i][0];
          const mNew = tf.add(tf.mul(m, c.momentum), g);
          m.assign(mNew);
          const dir = c.nesterov ? tf.add(g, tf.mul(mNew, c.momentum)) : mNew;
          v.assign(tf.sub(v, tf.mul(dir, learningRate)));
        } else {
          const [m, s] = this.slots[i];
          const mNew = tf.add(tf.mul(m, c.beta1), tf.mul(g, 1 - c.beta1));
          const sNew = tf.add(tf.mul(s, c.beta2), tf.mul(tf.square(g), 1 - c.beta2));
          m.assign(mNew);
          s.assign(sNew);
          const mHat = tf.div(mNew, 1 - Math.pow(c.beta1, this.step));
          const sHat = tf.div(sNew, 1 - Math.pow(c.beta2, this.step));
          v.assign(tf.sub(v, tf.mul(tf.div(mHat, tf.add(tf.sqrt(sHat), c.epsilon)), learningRate)));
        }
      });
    });
  }

  /** Slot values in a fixed order (variable-major), for checkpoints. */
  getState(): { step: number; slots: Float32Array[] } {
    return { step: this.step, slots: this.slots.flat().map((s) => s.dataSync() as Float32Array) };
  }

  setState(state: { step: number; slots: Float32Array[] }): void {
    const flat = this.slots.flat();
    if (state.slots.length !== flat.length)
      throw new Error(`StepOptimizer: checkpoint has ${state.slots.length} optimizer slots, this optimizer has ${flat.length}`);
    flat.forEach((s, i) => {
      if (state.slots[i].length !== s.size)
        throw new Error(`StepOptimizer: checkpoint slot ${i} has ${state.slots[i].length} values, expected ${s.size}`);
      tf.tidy(() => s.assign(tf.tensor(state.slots[i], s.shape)));
    });
    this.step = state.step;
  }

  dispose(): void {
    this.slots.flat().forEach((s) => s.dispose());
  }
}
