/**
 * Combining a generalist with specialists at test time (§5.4, Eq. 5): find the full distribution q minimising
 *   KL(p_g, q) + Σ_{m ∈ A_k} KL(p_m, q_m),
 * where p_g is the generalist's distribution over all C classes, p_m a specialist's over its subset S_m plus a
 * dustbin, and q_m is q coarsened to specialist m's classes (q's own probabilities on S_m, and the sum of q over
 * the classes outside S_m for the dustbin).
 *
 * Pure float64 host arithmetic, per example (examples are independent; a batch is a loop). q = softmax(z), and the
 * gradient with respect to the logits z is
 *   g_j = (1 + M) q_j − p_g,j − Σ_m t_m,j,   t_m,j = p_m,j for j ∈ S_m,   t_m,j = p_m,dustbin · q_j / Q_m for j ∉ S_m,
 * with Q_m = Σ_{i∉S_m} q_i: each specialist's dustbin mass is spread over the classes it stands for in proportion
 * to the current q. Descent direction: −g_j / ((1 + M) q_j) (diagonal preconditioning by the softmax curvature,
 * so classes with small q move in log space instead of stalling) or plain −g; step by Armijo backtracking from 1,
 * except that once the predicted decrease is below float64 resolution of the objective, a step is accepted when it
 * reduces max |g| (the objective's rounding noise would otherwise block the line search at |g| ~ 1e-8).
 * Warm start: z = log p_g. Stops when max_j |g_j| < gradTolerance (default 1e-9).
 */

export interface SpecialistTerm {
  /** Global class indices of the specialist's subset (no repeats). */
  subset: readonly number[];
  /** Specialist distribution, length |subset| + 1; the last entry is the dustbin. */
  probs: ArrayLike<number>;
}

export interface SolverOptions {
  /** Stop when max_j |g_j| falls below this. Default 1e-9. */
  gradTolerance?: number;
  /**
   * Also stop when the objective decreases by at most relTolerance · max(1, |objective|) for `stallPatience`
   * consecutive steps (default 1e-15 and 5: float64 can no longer see progress).
   */
  relTolerance?: number;
  stallPatience?: number;
  /** Default 2000. */
  maxIterations?: number;
  /** 'diagonal' (default) or 'none' (plain gradient descent with line search). */
  preconditioner?: 'diagonal' | 'none';
}

export interface SolveResult {
  q: Float64Array;
  /** Value of KL(p_g, q) + Σ_m KL(p_m, q_m) at q. */
  objective: number;
  iterations: number;
  maxGrad: number;
  /** 'gradient' (max |g| < gradTolerance), 'objective' (the stall criterion) or 'max-iterations'. */
  stoppedBy: 'gradient' | 'objective' | 'max-iterations';
}

const LOG_FLOOR = -69; // log(1e-30): zero probabilities start at a finite logit

interface PreparedTerm {
  inS: Uint8Array;
  /** p_m expanded onto class indices for j ∈ S_m (0 elsewhere). */
  pIn: Float64Array;
  pDust: number;
  /** Σ p log p over the specialist's entries: the entropy part of the KL. */
  negEntropy: number;
}

function xlogx(p: number): number {
  return p > 0 ? p * Math.log(p) : 0;
}

function prepare(terms: readonly SpecialistTerm[], c: number): PreparedTerm[] {
  return terms.map((t, m) => {
    const k = t.subset.length;
    if (t.probs.length !== k + 1) throw new Error(`Eq. 5: specialist ${m} has ${t.probs.length} probabilities for a subset of ${k} (+1 dustbin)`);
    const inS = new Uint8Array(c);
    const pIn = new Float64Array(c);
    let negEntropy = 0;
    for (let i = 0; i < k; i++) {
      const j = t.subset[i];
      if (!(j >= 0 && j < c)) throw new Error(`Eq. 5: specialist ${m} class ${j} is outside [0, ${c})`);
      if (inS[j]) throw new Error(`Eq. 5: specialist ${m} lists class ${j} twice`);
      inS[j] = 1;
      pIn[j] = t.probs[i];
      negEntropy += xlogx(t.probs[i]);
    }
    const pDust = t.probs[k];
    negEntropy += xlogx(pDust);
    if (k === c && pDust > 1e-12) throw new Error(`Eq. 5: specialist ${m} covers every class but gives its empty dustbin ${pDust}`);
    return { inS, pIn, pDust, negEntropy };
  });
}

/** log Σ exp over the entries j with mask[j] === want (all entries without a mask). */
function lse(z: Float64Array, mask?: Uint8Array, want = 1): number {
  let mx = -Infinity;
  for (let j = 0; j < z.length; j++) if ((!mask || mask[j] === want) && z[j] > mx) mx = z[j];
  if (mx === -Infinity) return -Infinity;
  let s = 0;
  for (let j = 0; j < z.length; j++) if (!mask || mask[j] === want) s += Math.exp(z[j] - mx);
  return mx + Math.log(s);
}

/** Objective (cross-entropy form plus the constant entropies = the sum of KLs) and, optionally, its gradient. */
function evaluate(z: Float64Array, pg: Float64Array, pgNegEntropy: number, terms: PreparedTerm[], grad?: Float64Array, q?: Float64Array): number {
  const c = z.length;
  const l = lse(z);
  let f = pgNegEntropy;
  for (let j = 0; j < c; j++) if (pg[j] > 0) f -= pg[j] * (z[j] - l);
  if (grad) {
    for (let j = 0; j < c; j++) {
      q![j] = Math.exp(z[j] - l);
      grad[j] = (1 + terms.length) * q![j] - pg[j];
    }
  }
  for (const t of terms) {
    f += t.negEntropy;
    for (let j = 0; j < c; j++) if (t.inS[j] && t.pIn[j] > 0) f -= t.pIn[j] * (z[j] - l);
    // Dustbin: log Q_m = lse over j ∉ S_m − lse.
    const lRest = lse(z, t.inS, 0);
    if (t.pDust > 0) f -= t.pDust * (lRest - l);
    if (grad) {
      for (let j = 0; j < c; j++) {
        if (t.inS[j]) grad[j] -= t.pIn[j];
        else if (lRest > -Infinity) grad[j] -= t.pDust * Math.exp(z[j] - lRest);
      }
    }
  }
  return f;
}

/** Solves Eq. 5 for one example. `pg` is the generalist's distribution over all classes. */
export function solveEq5(pgIn: ArrayLike<number>, terms: readonly SpecialistTerm[], options: SolverOptions = {}): SolveResult {
  const c = pgIn.length;
  const gradTol = options.gradTolerance ?? 1e-9;
  const relTol = options.relTolerance ?? 1e-15;
  const maxIt = options.maxIterations ?? 2000;
  const precondition = (options.preconditioner ?? 'diagonal') === 'diagonal';
  const pg = Float64Array.from(pgIn);
  let pgNeg = 0;
  for (let j = 0; j < c; j++) pgNeg += xlogx(pg[j]);
  const prepared = prepare(terms, c);
  const m1 = 1 + prepared.length;
  const z = new Float64Array(c);
  for (let j = 0; j < c; j++) z[j] = pg[j] > 0 ? Math.max(LOG_FLOOR, Math.log(pg[j])) : LOG_FLOOR;
  const g = new Float64Array(c);
  const q = new Float64Array(c);
  const d = new Float64Array(c);
  const trial = new Float64Array(c);
  const gTrial = new Float64Array(c);
  const qTrial = new Float64Array(c);
  let f = evaluate(z, pg, pgNeg, prepared, g, q);
  let it = 0;
  let stoppedBy: SolveResult['stoppedBy'] = 'max-iterations';
  let maxGrad = 0;
  let stalled = 0;
  const stallPatience = options.stallPatience ?? 5;
  for (; ; it++) {
    maxGrad = 0;
    for (let j = 0; j < c; j++) maxGrad = Math.max(maxGrad, Math.abs(g[j]));
    if (maxGrad < gradTol) {
      stoppedBy = 'gradient';
      break;
    }
    if (it >= maxIt) break;
    let slope = 0;
    for (let j = 0; j < c; j++) {
      // Clipped so a class whose target dwarfs its current q cannot overflow exp in one step.
      d[j] = Math.max(-30, Math.min(30, precondition ? -g[j] / (m1 * q[j] + 1e-300) : -g[j]));
      slope += g[j] * d[j];
    }
    let alpha = 1;
    let fNew = Infinity;
    let accepted = false;
    let byGradient = false;
    for (let tries = 0; tries < 60 && !accepted; tries++, alpha *= 0.5) {
      for (let j = 0; j < c; j++) trial[j] = z[j] + alpha * d[j];
      if (Math.abs(alpha * slope) < 1e-12 * Math.max(1, Math.abs(f))) {
        // The predicted decrease is below what float64 resolves in f (rounding noise would fail Armijo):
        // accept the step if it shrinks the gradient instead.
        fNew = evaluate(trial, pg, pgNeg, prepared, gTrial, qTrial);
        let mg = 0;
        for (let j = 0; j < c; j++) mg = Math.max(mg, Math.abs(gTrial[j]));
        accepted = mg < maxGrad;
        byGradient = accepted;
      } else {
        fNew = evaluate(trial, pg, pgNeg, prepared);
        accepted = fNew <= f + 1e-4 * alpha * slope;
      }
    }
    if (!accepted) {
      // No step decreases f or |g| in float64: at the optimum to machine precision.
      stoppedBy = 'objective';
      break;
    }
    z.set(trial);
    const change = f - fNew;
    if (byGradient) {
      g.set(gTrial);
      q.set(qTrial);
      f = fNew;
      stalled = 0;
      continue;
    }
    f = evaluate(z, pg, pgNeg, prepared, g, q);
    // Guards against crawling: `stallPatience` consecutive negligible decreases stop the iteration.
    stalled = change <= relTol * Math.max(1, Math.abs(f)) ? stalled + 1 : 0;
    if (stalled >= stallPatience) {
      it++;
      maxGrad = 0;
      for (let j = 0; j < c; j++) maxGrad = Math.max(maxGrad, Math.abs(g[j]));
      stoppedBy = maxGrad < gradTol ? 'gradient' : 'objective';
      break;
    }
  }
  const l = lse(z);
  for (let j = 0; j < c; j++) q[j] = Math.exp(z[j] - l);
  return { q, objective: f, iterations: it, maxGrad, stoppedBy };
}

/** The Eq. 5 objective at a given q (for tests and diagnostics). */
export function eq5Objective(pgIn: ArrayLike<number>, terms: readonly SpecialistTerm[], q: ArrayLike<number>): number {
  const c = pgIn.length;
  const pg = Float64Array.from(pgIn);
  let pgNeg = 0;
  for (let j = 0; j < c; j++) pgNeg += xlogx(pg[j]);
  const z = Float64Array.from(q, (v) => Math.log(v));
  return evaluate(z, pg, pgNeg, prepare(terms, c));
}

/**
 * A specialist's distribution expanded to all classes: subset classes keep their probability; the dustbin mass is
 * spread over the other classes in proportion to `reference` (the generalist's distribution), uniformly where the
 * reference gives them no mass.
 */
export function expandSpecialist(term: SpecialistTerm, reference: ArrayLike<number>): Float64Array {
  const c = reference.length;
  const out = new Float64Array(c);
  const inS = new Uint8Array(c);
  term.subset.forEach((j, i) => {
    inS[j] = 1;
    out[j] = term.probs[i];
  });
  let rest = 0;
  let nRest = 0;
  for (let j = 0; j < c; j++)
    if (!inS[j]) {
      rest += reference[j];
      nRest++;
    }
  const dust = term.probs[term.subset.length];
  for (let j = 0; j < c; j++) if (!inS[j]) out[j] = rest > 0 ? (dust * reference[j]) / rest : dust / nRest;
  return out;
}

/** Shortcut: arithmetic mean of p_g and the expanded specialists (one fixed-point step of Eq. 5 from q = p_g). */
export function arithmeticCombine(pg: ArrayLike<number>, terms: readonly SpecialistTerm[]): Float64Array {
  const out = Float64Array.from(pg);
  for (const t of terms) {
    const e = expandSpecialist(t, pg);
    for (let j = 0; j < out.length; j++) out[j] += e[j];
  }
  for (let j = 0; j < out.length; j++) out[j] /= 1 + terms.length;
  return out;
}

/** Shortcut: renormalised geometric mean of p_g and the expanded specialists (probabilities floored at 1e-30). */
export function geometricCombine(pg: ArrayLike<number>, terms: readonly SpecialistTerm[]): Float64Array {
  const c = pg.length;
  const logs = Float64Array.from(pg, (v) => Math.log(Math.max(v, 1e-30)));
  for (const t of terms) {
    const e = expandSpecialist(t, pg);
    for (let j = 0; j < c; j++) logs[j] += Math.log(Math.max(e[j], 1e-30));
  }
  let mx = -Infinity;
  for (let j = 0; j < c; j++) mx = Math.max(mx, logs[j] / (1 + terms.length));
  let s = 0;
  const out = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    out[j] = Math.exp(logs[j] / (1 + terms.length) - mx);
    s += out[j];
  }
  for (let j = 0; j < c; j++) out[j] /= s;
  return out;
}

export type CombineMethod = 'eq5' | 'arithmetic' | 'geometric';

export interface CombineInput {
  /** Generalist probabilities [n, C]. */
  generalist: ArrayLike<number>;
  numClasses: number;
  /** Each specialist's subset and its probabilities on the same n examples, [n, |S| + 1]. */
  specialists: readonly { subset: readonly number[]; probs: ArrayLike<number> }[];
  /** The generalist's n most probable classes decide which specialists are active (the paper: n = 1). Default 1. */
  topN?: number;
  method?: CombineMethod;
  solver?: SolverOptions;
  /** Eq. 5 on the active subsets' classes plus one lumped rest class (solveEq5Reduced; exact). Default true. */
  reduce?: boolean;
}

export interface CombineOutput {
  /** Combined distribution [n, C]. */
  probs: Float64Array;
  /** Number of active specialists per example. */
  active: Int32Array;
  /** Eq. 5 solver iterations per example (0 for shortcuts or no active specialist). */
  iterations: Int32Array;
  /** Examples where the solver hit maxIterations. */
  notConverged: number;
}

function rowOf(a: ArrayLike<number>, o: number, n: number): ArrayLike<number> {
  if (a instanceof Float64Array || a instanceof Float32Array) return a.subarray(o, o + n);
  return Array.prototype.slice.call(a, o, o + n) as number[];
}

/** The n most probable classes of row p[o .. o+c) (ties: lower index first): what activates specialists. */
export function topNClasses(p: ArrayLike<number>, o: number, c: number, n: number): number[] {
  if (n === 1) {
    let best = 0;
    for (let j = 1; j < c; j++) if (p[o + j] > p[o + best]) best = j;
    return [best];
  }
  const idx = Array.from({ length: c }, (_, j) => j);
  idx.sort((a, b) => p[o + b] - p[o + a] || a - b);
  return idx.slice(0, n);
}

/**
 * Eq. 5 for one example on the classes that matter. Classes in no active specialist's subset (usually almost all)
 * enter the objective only through the dustbins, which contain all of them, so at the optimum they keep the
 * generalist's proportions: q_j = q_R · p_g,j / p_g,R (setting their gradient to zero gives q_j ∝ p_g,j with one
 * factor). They are therefore solved as one lumped class R with p_g,R = Σ p_g,j, which is the same convex problem
 * restricted to a subspace containing its optimum (and the warm start), then expanded. Solving |∪S| + 1 classes
 * instead of C makes Eq. 5 cost about the same for 600 classes as for 20.
 */
export function solveEq5Reduced(pg: ArrayLike<number>, terms: readonly SpecialistTerm[], options: SolverOptions = {}): SolveResult {
  const c = pg.length;
  const pos = new Int32Array(c).fill(-1);
  const members: number[] = [];
  for (const t of terms)
    for (const j of t.subset)
      if (pos[j] < 0) {
        pos[j] = members.length;
        members.push(j);
      }
  let restMass = 0;
  for (let j = 0; j < c; j++) if (pos[j] < 0) restMass += pg[j];
  // Nothing to lump (or a rest without mass, whose proportions are undefined): the full problem.
  if (members.length >= c - 1 || !(restMass > 0)) return solveEq5(pg, terms, options);
  const r = members.length;
  const pr = new Float64Array(r + 1);
  members.forEach((j, i) => (pr[i] = pg[j]));
  pr[r] = restMass;
  const reduced = solveEq5(
    pr,
    terms.map((t) => ({ subset: t.subset.map((j) => pos[j]), probs: t.probs })),
    options,
  );
  const q = new Float64Array(c);
  const scale = reduced.q[r] / restMass;
  for (let j = 0; j < c; j++) q[j] = pos[j] >= 0 ? reduced.q[pos[j]] : pg[j] * scale;
  return { ...reduced, q };
}

/** Eq. 5 (or a shortcut) for a batch of examples. Examples with no active specialist keep p_g. */
export function combineWithSpecialists(input: CombineInput): CombineOutput {
  const c = input.numClasses;
  if (input.generalist.length % c !== 0) throw new Error(`combineWithSpecialists: ${input.generalist.length} values is not a multiple of ${c}`);
  const n = input.generalist.length / c;
  const topN = input.topN ?? 1;
  if (!Number.isInteger(topN) || topN < 1 || topN > c) throw new Error(`combineWithSpecialists: topN must be in [1, ${c}], got ${topN}`);
  const method = input.method ?? 'eq5';
  const specs = input.specialists.map((s, m) => {
    if (s.probs.length !== n * (s.subset.length + 1))
      throw new Error(`combineWithSpecialists: specialist ${m} has ${s.probs.length} values; expected ${n} x ${s.subset.length + 1}`);
    return { subset: s.subset, set: new Set(s.subset), probs: s.probs, w: s.subset.length + 1 };
  });
  const probs = new Float64Array(n * c);
  const active = new Int32Array(n);
  const iterations = new Int32Array(n);
  let notConverged = 0;
  for (let r = 0; r < n; r++) {
    const pg = rowOf(input.generalist, r * c, c);
    const top = topNClasses(input.generalist, r * c, c, topN);
    const terms: SpecialistTerm[] = [];
    for (const s of specs) if (top.some((j) => s.set.has(j))) terms.push({ subset: s.subset, probs: rowOf(s.probs, r * s.w, s.w) });
    active[r] = terms.length;
    let q: ArrayLike<number>;
    if (terms.length === 0) q = pg;
    else if (method === 'arithmetic') q = arithmeticCombine(pg, terms);
    else if (method === 'geometric') q = geometricCombine(pg, terms);
    else {
      const res = (input.reduce ?? true) ? solveEq5Reduced(pg, terms, input.solver) : solveEq5(pg, terms, input.solver);
      q = res.q;
      iterations[r] = res.iterations;
      if (res.stoppedBy === 'max-iterations') notConverged++;
    }
    probs.set(q as ArrayLike<number>, r * c);
  }
  return { probs, active, iterations, notConverged };
}
