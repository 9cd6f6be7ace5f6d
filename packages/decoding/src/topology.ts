import { z } from 'zod';

/**
 * HMM topologies as data. A phone HMM has emitting states 0..numStates-1, entered at state 0, and a
 * non-emitting exit numbered numStates (Kaldi's "final" state in a <TopologyEntry>). Every path through
 * a phone therefore emits at least one frame.
 */
const transitionSchema = z.object({ to: z.number().int().min(0), prob: z.number().gt(0).max(1) });

const explicitHmmSchema = z.object({
  kind: z.literal('explicit'),
  /** transitions[s] = arcs out of emitting state s; `to === states.length` is the exit. */
  states: z.array(z.array(transitionSchema).min(1)).min(1),
});

const leftToRightSchema = z.object({
  kind: z.literal('left-to-right'),
  numStates: z.number().int().min(1).default(3),
  /** Probability of staying in a state; 1 - selfLoopProb goes to the next state (or the exit). */
  selfLoopProb: z.number().gt(0).lt(1).default(0.75),
});

/**
 * Kaldi's silence topology (utils/gen_topo.pl), generalised to n >= 3 states: state 0 may go to any of
 * states 0..n-2, states 1..n-2 to any of 1..n-1 (so the middle states form an ergodic block that models
 * variable-length pauses), state n-1 loops or exits. All initial probabilities uniform except the last
 * state's, as in gen_topo.pl.
 */
const kaldiSilenceSchema = z.object({
  kind: z.literal('kaldi-silence'),
  numStates: z.number().int().min(3).default(5),
  selfLoopProb: z.number().gt(0).lt(1).default(0.75),
});

export const hmmSpecSchema = z.discriminatedUnion('kind', [explicitHmmSchema, leftToRightSchema, kaldiSilenceSchema]);
export type HmmSpec = z.input<typeof hmmSpecSchema>;

export const topologyConfigSchema = z.object({
  phone: hmmSpecSchema.default({ kind: 'left-to-right', numStates: 3, selfLoopProb: 0.75 }),
  silence: hmmSpecSchema.default({ kind: 'kaldi-silence', numStates: 5, selfLoopProb: 0.75 }),
  /** Phones that use the silence topology. */
  silencePhones: z.array(z.string().min(1)).default(['sil']),
  /** Per-phone overrides (e.g. a 1-state topology for a short phone). */
  overrides: z.record(z.string(), hmmSpecSchema).default({}),
});
export type TopologyConfig = z.input<typeof topologyConfigSchema>;

export interface HmmTransition {
  to: number;
  logProb: number;
}

/** A validated phone HMM. `transitions[s]` are the arcs out of emitting state s; `to === numStates` exits. */
export interface PhoneHmm {
  numStates: number;
  transitions: HmmTransition[][];
}

function expand(spec: z.output<typeof hmmSpecSchema>): { to: number; prob: number }[][] {
  if (spec.kind === 'explicit') return spec.states;
  const n = spec.numStates;
  const p = spec.selfLoopProb;
  if (spec.kind === 'left-to-right') {
    return Array.from({ length: n }, (_, s) => [
      { to: s, prob: p },
      { to: s + 1, prob: 1 - p },
    ]);
  }
  const states: { to: number; prob: number }[][] = [];
  states.push(Array.from({ length: n - 1 }, (_, k) => ({ to: k, prob: 1 / (n - 1) })));
  for (let s = 1; s < n - 1; s++) states.push(Array.from({ length: n - 1 }, (_, k) => ({ to: k + 1, prob: 1 / (n - 1) })));
  states.push([
    { to: n - 1, prob: p },
    { to: n, prob: 1 - p },
  ]);
  return states;
}

/** Validate and convert one HMM spec; `where` names it in errors (e.g. "topology.silence"). */
export function buildPhoneHmm(spec: HmmSpec, where = 'hmm'): PhoneHmm {
  const parsed = hmmSpecSchema.safeParse(spec);
  if (!parsed.success) throw new Error(`${where}: invalid HMM spec: ${z.prettifyError(parsed.error)}`);
  const states = expand(parsed.data);
  const n = states.length;
  const transitions: HmmTransition[][] = [];
  for (let s = 0; s < n; s++) {
    let sum = 0;
    for (const t of states[s]) {
      if (t.to > n) throw new Error(`${where}: state ${s} has a transition to ${t.to}; destinations are 0..${n - 1}, or ${n} for the exit`);
      sum += t.prob;
    }
    if (Math.abs(sum - 1) > 1e-6) throw new Error(`${where}: transition probabilities out of state ${s} sum to ${sum}; make them sum to 1`);
    transitions.push(states[s].map((t) => ({ to: t.to, logProb: Math.log(t.prob) })));
  }
  // Every state must lie on some entry-to-exit path, or the graph would hold dead states.
  const reach = new Uint8Array(n + 1);
  const stack = [0];
  reach[0] = 1;
  while (stack.length) {
    const s = stack.pop()!;
    if (s === n) continue;
    for (const t of transitions[s]) if (!reach[t.to]) ((reach[t.to] = 1), stack.push(t.to));
  }
  for (let s = 0; s <= n; s++) {
    if (!reach[s]) throw new Error(`${where}: ${s === n ? 'the exit' : `state ${s}`} cannot be reached from state 0; add a transition into it`);
  }
  const coreach = new Uint8Array(n + 1);
  coreach[n] = 1;
  for (let changed = true; changed; ) {
    changed = false;
    for (let s = 0; s < n; s++) if (!coreach[s] && transitions[s].some((t) => coreach[t.to])) ((coreach[s] = 1), (changed = true));
  }
  for (let s = 0; s < n; s++) if (!coreach[s]) throw new Error(`${where}: state ${s} can never reach the exit; add a transition out of it`);
  return { numStates: n, transitions };
}

/** Maps (phone, left context, right context, HMM state) to a pdf id; null context = word boundary / none. */
export type PdfOf = (phone: string, leftPhone: string | null, rightPhone: string | null, state: number) => number;

export interface PdfMapper {
  numPdfs: number;
  pdfOf: PdfOf;
}

/**
 * Topology plus pdf mapping: what Kaldi's TransitionModel provides to graph building. Context-dependent
 * tying comes from elsewhere as a `pdfOf` function; `monophonePdfs` gives the context-independent table.
 */
export class TransitionModel {
  readonly phones: readonly string[];
  readonly numPdfs: number;
  private readonly hmms = new Map<string, PhoneHmm>();
  private readonly silence: Set<string>;
  private readonly pdfFn: PdfOf;

  constructor(config: TopologyConfig, phones: readonly string[], pdfs: PdfMapper | ((tm: TransitionModel) => PdfMapper)) {
    const parsed = topologyConfigSchema.safeParse(config);
    if (!parsed.success) throw new Error(`topology config: ${z.prettifyError(parsed.error)}`);
    const cfg = parsed.data;
    if (new Set(phones).size !== phones.length) throw new Error('TransitionModel: phone list has duplicates; list each phone once');
    this.phones = [...phones];
    this.silence = new Set(cfg.silencePhones);
    for (const p of Object.keys(cfg.overrides)) {
      if (!phones.includes(p)) throw new Error(`topology config: overrides names phone "${p}" which is not in the phone list`);
    }
    const phoneHmm = buildPhoneHmm(cfg.phone, 'topology.phone');
    const silHmm = buildPhoneHmm(cfg.silence, 'topology.silence');
    for (const p of phones) {
      const o = cfg.overrides[p];
      this.hmms.set(p, o ? buildPhoneHmm(o, `topology.overrides.${p}`) : this.silence.has(p) ? silHmm : phoneHmm);
    }
    const mapper = typeof pdfs === 'function' ? pdfs(this) : pdfs;
    if (!(Number.isInteger(mapper.numPdfs) && mapper.numPdfs > 0)) throw new Error(`TransitionModel: numPdfs must be a positive integer, got ${mapper.numPdfs}`);
    this.numPdfs = mapper.numPdfs;
    this.pdfFn = mapper.pdfOf;
  }

  isSilence(phone: string): boolean {
    return this.silence.has(phone);
  }

  hmm(phone: string): PhoneHmm {
    const h = this.hmms.get(phone);
    if (!h) throw new Error(`TransitionModel: unknown phone "${phone}"; add it to the phone list`);
    return h;
  }

  /** The pdf of an HMM state, checked against numPdfs so a bad tree fails at graph build, not decode. */
  pdfOf(phone: string, left: string | null, right: string | null, state: number): number {
    const pdf = this.pdfFn(phone, left, right, state);
    if (!(Number.isInteger(pdf) && pdf >= 0 && pdf < this.numPdfs)) {
      throw new Error(`pdfOf(${phone}, ${left}, ${right}, ${state}) returned ${pdf}; expected an integer in [0, ${this.numPdfs})`);
    }
    return pdf;
  }
}

/**
 * Context-independent pdfs: one per (phone, state), numbered in phone-list order then state order
 * (phone 0 state 0 = pdf 0, ...). Pass as `new TransitionModel(config, phones, monophonePdfs)`.
 */
export function monophonePdfs(tm: TransitionModel): PdfMapper {
  const base = new Map<string, number>();
  let n = 0;
  for (const p of tm.phones) {
    base.set(p, n);
    n += tm.hmm(p).numStates;
  }
  return { numPdfs: n, pdfOf: (phone, _l, _r, state) => base.get(phone)! + state };
}
