import { adjustBiasesHost, searchBiasAdjustment } from '@kdasr/distillation';

/** Host-side error counting on stored logits, so bias changes can be searched without re-running the net. */

export interface ErrorCount {
  errors: number;
  total: number;
  /** Errors among examples whose true label is c. */
  perClassErrors: number[];
  perClassTotal: number[];
}

/**
 * Errors of argmax(logits + bias) against labels. `bias` (length numClasses) is added to every row: the effect
 * of changing the output layer's biases.
 */
export function countErrors(logits: Float32Array, labels: ArrayLike<number>, numClasses: number, bias?: ArrayLike<number>): ErrorCount {
  const n = labels.length;
  if (logits.length !== n * numClasses) throw new Error(`countErrors: ${logits.length} logits for ${n} labels x ${numClasses} classes`);
  const perClassErrors = new Array<number>(numClasses).fill(0);
  const perClassTotal = new Array<number>(numClasses).fill(0);
  let errors = 0;
  for (let r = 0; r < n; r++) {
    let best = 0;
    let bv = -Infinity;
    for (let c = 0; c < numClasses; c++) {
      const v = logits[r * numClasses + c] + (bias ? bias[c] : 0);
      if (v > bv) {
        bv = v;
        best = c;
      }
    }
    const y = labels[r];
    perClassTotal[y]++;
    if (best !== y) {
      errors++;
      perClassErrors[y]++;
    }
  }
  return { errors, total: n, perClassErrors, perClassTotal };
}

export interface BiasSearchResult {
  /** The change added to the bias of every class in `classes`. */
  delta: number;
  /** Errors at the chosen delta on the search set. */
  errors: number;
  /** Errors with no change. */
  errorsAtZero: number;
  /** (delta, errors) for every candidate, for plots and reports. */
  curve: [number, number][];
}

/**
 * Grid search for one shared bias change of `classes` that minimises errors on a held-out (validation) set,
 * through @kdasr/distillation's searchBiasAdjustment. Ties go to the smallest |delta|: the least change that
 * achieves the best count (candidates are tried in order of |delta|, and the first best is kept).
 */
export async function searchSharedBias(
  logits: Float32Array,
  labels: ArrayLike<number>,
  numClasses: number,
  classes: number[],
  grid: { min: number; max: number; step: number },
): Promise<BiasSearchResult> {
  if (!(grid.step > 0) || !(grid.max >= grid.min)) throw new Error(`bias search grid needs min <= max and step > 0, got ${JSON.stringify(grid)}`);
  for (const c of classes) if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw new Error(`bias search: class ${c} not in [0, ${numClasses})`);
  const steps = Math.round((grid.max - grid.min) / grid.step);
  const candidates = Array.from({ length: steps + 1 }, (_, i) => Number((grid.min + i * grid.step).toFixed(10)));
  if (!candidates.includes(0) && grid.min <= 0 && grid.max >= 0) candidates.push(0);
  candidates.sort((a, b) => Math.abs(a) - Math.abs(b) || a - b);
  const errorsAt = (delta: number) => countErrors(adjustBiasesHost(logits, numClasses, classes, delta), labels, numClasses).errors;
  const search = await searchBiasAdjustment({ evaluate: errorsAt, candidates, method: 'grid', higherIsBetter: false });
  const curve = search.tried.map((t): [number, number] => [t.delta, t.score]).sort((a, b) => a[0] - b[0]);
  const zero = search.tried.find((t) => t.delta === 0);
  return { delta: search.delta, errors: search.score, errorsAtZero: zero ? zero.score : errorsAt(0), curve };
}
