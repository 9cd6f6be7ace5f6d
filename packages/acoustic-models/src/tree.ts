/**
 * Context-dependent state tying by a phonetic decision tree (the idea of Kaldi's build-tree / HTK's TB).
 * Statistics: one diagonal Gaussian's sufficient statistics (count, Σx, Σx²) per (left, phone, right, state)
 * from aligned features. Questions: phone sets from bottom-up clustering of the phones' pooled statistics (plus
 * every single phone and the word-boundary "phone"), asked about the left or the right context. Roots: one per
 * (phone, state) of the inventory, so a leaf never mixes phones or states (HTK style; Kaldi can share roots).
 * Splits: greedy by likelihood gain until the target leaf count, or no split gains enough.
 * Contexts are word-internal, as decoding's graph passes them: null at word edges and next to silence.
 */
import type { FeatureMatrix } from '@kdasr/audio-features';
import type { StateInventory } from './states.js';

const LOG_2PI = Math.log(2 * Math.PI);

/** Context placeholder for "no phone" (utterance or word edge). */
export const BOUNDARY = '<eps>';

class Gauss {
  count = 0;
  readonly sum: Float64Array;
  readonly sumSq: Float64Array;
  constructor(readonly dim: number) {
    this.sum = new Float64Array(dim);
    this.sumSq = new Float64Array(dim);
  }
  add(o: Gauss): this {
    this.count += o.count;
    for (let d = 0; d < this.dim; d++) ((this.sum[d] += o.sum[d]), (this.sumSq[d] += o.sumSq[d]));
    return this;
  }
  addRow(x: Float32Array, at: number): void {
    this.count++;
    for (let d = 0; d < this.dim; d++) {
      const v = x[at + d];
      this.sum[d] += v;
      this.sumSq[d] += v * v;
    }
  }
  /** Log-likelihood of the data under its own ML diagonal Gaussian: −n/2 · (D(1 + log 2π) + Σ log σ²). */
  logLike(varFloor: number): number {
    if (this.count === 0) return 0;
    let s = 0;
    for (let d = 0; d < this.dim; d++) {
      const m = this.sum[d] / this.count;
      s += Math.log(Math.max(this.sumSq[d] / this.count - m * m, varFloor));
    }
    return -0.5 * this.count * (this.dim * (1 + LOG_2PI) + s);
  }
}

/** Per-context statistics; the key is "left phone right state". */
export interface ContextStat {
  left: string;
  phone: string;
  right: string;
  state: number;
  count: number;
  sum: Float64Array;
  sumSq: Float64Array;
}

export interface AlignedUtterance {
  /** Features to model (e.g. CMVN'd fbank, unspliced). */
  features: FeatureMatrix;
  /** Phone segments in frames, end exclusive; wordIndex −1 (or the silence phone) = not in a word. */
  segments: readonly { phone: string; startFrame: number; endFrame: number; wordIndex?: number }[];
  /** HMM state of each frame within its phone. */
  states: Int32Array;
}

/** Word-internal (left, right) context of each segment: BOUNDARY at word edges and next to silence. */
export function segmentContexts(segs: AlignedUtterance['segments'], inventory: Pick<StateInventory, 'isSilence'>): { left: string; right: string }[] {
  const inWord = (i: number): boolean => i >= 0 && i < segs.length && !inventory.isSilence(segs[i].phone) && (segs[i].wordIndex ?? 0) >= 0;
  const sameWord = (i: number, j: number): boolean => inWord(i) && inWord(j) && (segs[i].wordIndex === undefined || segs[i].wordIndex === segs[j].wordIndex);
  return segs.map((_, i) => ({ left: sameWord(i, i - 1) ? segs[i - 1].phone : BOUNDARY, right: sameWord(i, i + 1) ? segs[i + 1].phone : BOUNDARY }));
}

/**
 * Per-frame pdf ids of an aligned utterance through the tree (the DNN's context-dependent targets): each frame's
 * (phone, state) with its segment's word-internal contexts, as accumulateTreeStats and decoding's graph see them.
 * Frames outside every segment get −1 (ignored by FrameDataset).
 */
export function treeLabels(tree: PhoneticTree, inventory: StateInventory, u: Omit<AlignedUtterance, 'features'> & { numFrames: number }, where = 'treeLabels'): Int32Array {
  const out = new Int32Array(u.numFrames).fill(-1);
  const ctx = segmentContexts(u.segments, inventory);
  u.segments.forEach((s, i) => {
    const sil = inventory.isSilence(s.phone);
    const l = sil ? null : ctx[i].left === BOUNDARY ? null : ctx[i].left;
    const r = sil ? null : ctx[i].right === BOUNDARY ? null : ctx[i].right;
    if (s.endFrame > u.numFrames) throw new Error(`${where}: segment "${s.phone}" ends at frame ${s.endFrame}, after the utterance's ${u.numFrames} frames`);
    for (let t = s.startFrame; t < s.endFrame; t++) out[t] = tree.pdfOf(s.phone, l, r, u.states[t]);
  });
  return out;
}

/** Accumulate one diagonal Gaussian per (left, phone, right, state) with word-internal contexts. */
export function accumulateTreeStats(utterances: Iterable<AlignedUtterance>, inventory: StateInventory): Map<string, ContextStat> {
  const out = new Map<string, ContextStat>();
  for (const u of utterances) {
    const D = u.features.numCols;
    const segs = u.segments;
    const ctx = segmentContexts(segs, inventory);
    segs.forEach((s, i) => {
      const { left, right } = ctx[i];
      const isSil = inventory.isSilence(s.phone);
      for (let t = s.startFrame; t < s.endFrame; t++) {
        const state = u.states[t];
        if (!(state >= 0 && state < inventory.statesOf(s.phone))) throw new Error(`accumulateTreeStats: frame ${t} of phone "${s.phone}" has state ${state}; states are 0..${inventory.statesOf(s.phone) - 1}`);
        // Silence is context-independent: its contexts are always the boundary.
        const l = isSil ? BOUNDARY : left;
        const r = isSil ? BOUNDARY : right;
        const key = `${l} ${s.phone} ${r} ${state}`;
        let st = out.get(key);
        if (!st) out.set(key, (st = { left: l, phone: s.phone, right: r, state, count: 0, sum: new Float64Array(D), sumSq: new Float64Array(D) }));
        st.count++;
        for (let d = 0; d < D; d++) {
          const v = u.features.data[t * D + d];
          st.sum[d] += v;
          st.sumSq[d] += v * v;
        }
      }
    });
  }
  return out;
}

function toGauss(stats: Iterable<ContextStat>, dim: number): Gauss {
  const g = new Gauss(dim);
  for (const s of stats) {
    g.count += s.count;
    for (let d = 0; d < dim; d++) ((g.sum[d] += s.sum[d]), (g.sumSq[d] += s.sumSq[d]));
  }
  return g;
}

/**
 * Bottom-up clustering of phones on their pooled (all contexts, all states) Gaussians: repeatedly merge the
 * pair whose merge loses the least likelihood. Every cluster formed is a question set (Kaldi's cluster-phones).
 */
export function clusterPhones(stats: Map<string, ContextStat>, phones: readonly string[], varFloor = 1e-3): string[][] {
  const dim = stats.values().next().value?.sum.length ?? 0;
  if (dim === 0) throw new Error('clusterPhones: no statistics; accumulate from aligned features first');
  let clusters = phones.map((p) => ({ phones: [p], g: toGauss([...stats.values()].filter((s) => s.phone === p), dim) })).filter((c) => c.g.count > 0);
  const sets: string[][] = [];
  while (clusters.length > 1) {
    let best = { i: 0, j: 1, loss: Infinity };
    for (let i = 0; i < clusters.length; i++)
      for (let j = i + 1; j < clusters.length; j++) {
        const merged = new Gauss(dim).add(clusters[i].g).add(clusters[j].g);
        const loss = clusters[i].g.logLike(varFloor) + clusters[j].g.logLike(varFloor) - merged.logLike(varFloor);
        if (loss < best.loss) best = { i, j, loss };
      }
    const a = clusters[best.i];
    const b = clusters[best.j];
    const m = { phones: [...a.phones, ...b.phones].sort(), g: new Gauss(dim).add(a.g).add(b.g) };
    sets.push(m.phones);
    clusters = clusters.filter((_, k) => k !== best.i && k !== best.j);
    clusters.push(m);
  }
  return sets;
}

export interface TreeQuestion {
  /** Which context is asked about. */
  position: 'left' | 'right';
  set: string[];
}

type TreeNode = { leaf: number } | { question: number; yes: TreeNode; no: TreeNode };

export interface BuildTreeOptions {
  /** Stop at this many leaves (pdfs) in total; at least one per (phone, state). */
  targetLeaves: number;
  /** A split must leave ≥ this many frames on each side (Kaldi --min-count-leaf-like). Default 20. */
  minCount?: number;
  /** A split must gain at least this log-likelihood. Default 0. */
  minGain?: number;
  /** Variance floor for the Gaussians. Default 1e-3. */
  varFloor?: number;
  /** Extra question sets (e.g. linguistic classes); clustering's sets and singletons are always included. */
  extraQuestions?: string[][];
}

export interface TreeJson {
  format: 'kdasr-phonetic-tree';
  phones: string[];
  numStates: number[];
  questions: TreeQuestion[];
  /** Root per (phone, state), in inventory order. */
  roots: TreeNode[];
  numPdfs: number;
  totalGain: number;
}

/** A built tree: pdfOf(phone, left, right, state) — decoding's PdfOf; `mapper()` is a PdfMapper for TransitionModel. */
export class PhoneticTree {
  readonly numPdfs: number;
  private readonly rootIndex = new Map<string, number>();
  private readonly qsets: Set<string>[];

  constructor(readonly json: TreeJson) {
    this.numPdfs = json.numPdfs;
    let k = 0;
    json.phones.forEach((p, i) => {
      for (let s = 0; s < json.numStates[i]; s++) this.rootIndex.set(`${p} ${s}`, k++);
    });
    if (k !== json.roots.length) throw new Error(`PhoneticTree: ${json.roots.length} roots for ${k} (phone, state) pairs; the tree file is corrupt or from another inventory`);
    this.qsets = json.questions.map((q) => new Set(q.set));
  }

  pdfOf(phone: string, left: string | null, right: string | null, state: number): number {
    const r = this.rootIndex.get(`${phone} ${state}`);
    if (r === undefined) throw new Error(`PhoneticTree.pdfOf: no root for phone "${phone}" state ${state}; the tree was built for another phone set or topology`);
    let node = this.json.roots[r];
    while (!('leaf' in node)) {
      const q = this.json.questions[node.question];
      node = this.qsets[node.question].has((q.position === 'left' ? left : right) ?? BOUNDARY) ? node.yes : node.no;
    }
    return node.leaf;
  }

  /** Structurally decoding's PdfMapper: `new TransitionModel(topology, phones, tree.mapper())`. */
  mapper(): { numPdfs: number; pdfOf: (phone: string, left: string | null, right: string | null, state: number) => number } {
    return { numPdfs: this.numPdfs, pdfOf: (p, l, r, s) => this.pdfOf(p, l, r, s) };
  }

  /** The (phone, state) root each pdf descends from, by pdf id (a leaf never mixes phones or states). */
  pdfRoots(): { phone: string; state: number }[] {
    const out: { phone: string; state: number }[] = new Array(this.numPdfs);
    let k = 0;
    this.json.phones.forEach((p, i) => {
      for (let s = 0; s < this.json.numStates[i]; s++) {
        const walk = (n: TreeNode): void => {
          if ('leaf' in n) out[n.leaf] = { phone: p, state: s };
          else (walk(n.yes), walk(n.no));
        };
        walk(this.json.roots[k++]);
      }
    });
    return out;
  }

  /**
   * A readable name per pdf: `phone.state` and the answers on its path from the root, e.g. `ae.1 [L∈{p,t,k} R∉{m,n}]`
   * (`#` is the word boundary; sets longer than `maxSet` phones are shortened with their size).
   */
  pdfNames(maxSet = 6): string[] {
    const out: string[] = new Array(this.numPdfs);
    const show = (set: string[]) => (set.length <= maxSet ? set.map((p) => (p === BOUNDARY ? '#' : p)).join(',') : `${set.slice(0, maxSet).map((p) => (p === BOUNDARY ? '#' : p)).join(',')},…(${set.length})`);
    let k = 0;
    this.json.phones.forEach((p, i) => {
      for (let s = 0; s < this.json.numStates[i]; s++) {
        const walk = (n: TreeNode, path: string[]): void => {
          if ('leaf' in n) {
            out[n.leaf] = `${p}.${s}${path.length ? ` [${path.join(' ')}]` : ''}`;
            return;
          }
          const q = this.json.questions[n.question];
          const side = q.position === 'left' ? 'L' : 'R';
          const one = q.set.length === 1;
          walk(n.yes, [...path, `${side}${one ? '=' : '∈{'}${show(q.set)}${one ? '' : '}'}`]);
          walk(n.no, [...path, `${side}${one ? '≠' : '∉{'}${show(q.set)}${one ? '' : '}'}`]);
        };
        walk(this.json.roots[k++], []);
      }
    });
    return out;
  }

  /** The pdfs as output classes for evaluateFrames (phone accuracy and confusions by each pdf's phone). */
  pdfClasses(): { numClasses: number; phones: readonly string[]; phoneIndex(p: string): number; phoneOfClass(c: number): string } {
    const roots = this.pdfRoots();
    const phones = this.json.phones;
    const index = new Map(phones.map((p, i) => [p, i]));
    return {
      numClasses: this.numPdfs,
      phones,
      phoneIndex: (p) => {
        const i = index.get(p);
        if (i === undefined) throw new Error(`PhoneticTree: unknown phone "${p}"`);
        return i;
      },
      phoneOfClass: (c) => roots[c].phone,
    };
  }

  toJSON(): TreeJson {
    return this.json;
  }

  /**
   * A tree from its JSON (a tree.json read from disk or fetched), checked so that every walk ends at a leaf in
   * [0, numPdfs) and every pdf belongs to exactly one (phone, state): errors name `source` and the field.
   */
  static fromJSON(j: TreeJson, source = 'PhoneticTree.fromJSON'): PhoneticTree {
    const problem = treeJsonProblem(j);
    if (problem !== null) throw new Error(`${source}: ${problem}; the tree file is corrupt, rebuild it (kdasr train --tree-leaves)`);
    return new PhoneticTree(j);
  }
}

/** Greedy likelihood-gain tree building to a target leaf count. */
export function buildTree(stats: Map<string, ContextStat>, inventory: StateInventory, options: BuildTreeOptions): PhoneticTree {
  const { targetLeaves, minCount = 20, minGain = 0, varFloor = 1e-3 } = options;
  const roots: { phone: string; state: number }[] = [];
  inventory.phones.forEach((p) => {
    for (let s = 0; s < inventory.statesOf(p); s++) roots.push({ phone: p, state: s });
  });
  if (!(Number.isInteger(targetLeaves) && targetLeaves >= roots.length))
    throw new Error(`buildTree: targetLeaves must be an integer ≥ the ${roots.length} (phone, state) roots, got ${targetLeaves}`);
  const all = [...stats.values()];
  const dim = all[0]?.sum.length ?? 0;
  if (dim === 0) throw new Error('buildTree: no statistics; accumulate from aligned features first');
  const nonSil = inventory.phones.filter((p) => !inventory.isSilence(p));
  const seen = new Set<string>();
  const sets: string[][] = [];
  for (const s of [...clusterPhones(stats, nonSil, varFloor), ...nonSil.map((p) => [p]), [BOUNDARY], ...(options.extraQuestions ?? [])]) {
    const key = [...s].sort().join(' ');
    if (!seen.has(key) && s.length > 0) (seen.add(key), sets.push([...s].sort()));
  }
  const questions: TreeQuestion[] = sets.flatMap((set) => [{ position: 'left' as const, set }, { position: 'right' as const, set }]);
  const qsets = questions.map((q) => new Set(q.set));

  interface Leaf {
    stats: ContextStat[];
    g: Gauss;
    node: { leaf: number } | { question: number; yes: TreeNode; no: TreeNode };
    best?: { q: number; gain: number; yes: ContextStat[]; no: ContextStat[] };
  }
  const bestSplit = (leaf: Leaf): void => {
    const base = leaf.g.logLike(varFloor);
    let best: Leaf['best'];
    questions.forEach((q, qi) => {
      const yes: ContextStat[] = [];
      const no: ContextStat[] = [];
      for (const s of leaf.stats) (qsets[qi].has(q.position === 'left' ? s.left : s.right) ? yes : no).push(s);
      const gy = toGauss(yes, dim);
      const gn = toGauss(no, dim);
      if (gy.count < minCount || gn.count < minCount) return;
      const gain = gy.logLike(varFloor) + gn.logLike(varFloor) - base;
      if (gain > minGain && (!best || gain > best.gain)) best = { q: qi, gain, yes, no };
    });
    leaf.best = best;
  };
  const leaves: Leaf[] = roots.map((r) => {
    const st = all.filter((s) => s.phone === r.phone && s.state === r.state);
    const leaf: Leaf = { stats: st, g: toGauss(st, dim), node: { leaf: -1 } };
    bestSplit(leaf);
    return leaf;
  });
  const rootNodes: TreeNode[] = leaves.map((l) => l.node);
  let totalGain = 0;
  while (leaves.length < targetLeaves) {
    let bi = -1;
    leaves.forEach((l, i) => {
      if (l.best && (bi < 0 || l.best.gain > leaves[bi].best!.gain)) bi = i;
    });
    if (bi < 0) break;
    const l = leaves[bi];
    const b = l.best!;
    totalGain += b.gain;
    const yes: Leaf = { stats: b.yes, g: toGauss(b.yes, dim), node: { leaf: -1 } };
    const no: Leaf = { stats: b.no, g: toGauss(b.no, dim), node: { leaf: -1 } };
    // Turn the leaf node into a question node in place, so parents keep pointing at it.
    const n = l.node as unknown as { leaf?: number; question: number; yes: TreeNode; no: TreeNode };
    delete n.leaf;
    n.question = b.q;
    n.yes = yes.node;
    n.no = no.node;
    bestSplit(yes);
    bestSplit(no);
    leaves.splice(bi, 1, yes, no);
  }
  // Number pdfs in root order, depth first (yes before no): stable and readable.
  let next = 0;
  const number = (node: TreeNode): void => {
    if ('leaf' in node) node.leaf = next++;
    else (number(node.yes), number(node.no));
  };
  rootNodes.forEach(number);
  return new PhoneticTree({ format: 'kdasr-phonetic-tree', phones: [...inventory.phones], numStates: [...inventory.numStates], questions, roots: rootNodes, numPdfs: next, totalGain });
}

/** Most HMM states a phone may have (Kaldi's topologies use 1 to 5), and the deepest tree a file may hold. */
export const MAX_STATES_PER_PHONE = 64;
const MAX_TREE_DEPTH = 1000;

/** What is wrong with a tree.json document, or null. Iterative: a hostile file cannot overflow the stack. */
function treeJsonProblem(j: unknown): string | null {
  const o = j as Partial<Record<keyof TreeJson, unknown>> | null;
  if (!o || typeof o !== 'object' || o.format !== 'kdasr-phonetic-tree') return 'not a kdasr-phonetic-tree document (field "format")';
  const { phones, numStates, questions, roots, numPdfs, totalGain } = o;
  if (!Array.isArray(phones) || phones.length === 0 || !phones.every((p) => typeof p === 'string' && p.length > 0)) return 'field "phones" must be a non-empty list of phone names';
  if (new Set(phones).size !== phones.length) return 'field "phones" lists a phone twice';
  if (!Array.isArray(numStates) || numStates.length !== phones.length || !numStates.every((n) => Number.isInteger(n) && n >= 1 && n <= MAX_STATES_PER_PHONE))
    return `field "numStates" must give each phone 1 to ${MAX_STATES_PER_PHONE} states`;
  if (!Array.isArray(questions) || !questions.every((q) => q && typeof q === 'object' && (q.position === 'left' || q.position === 'right') && Array.isArray(q.set) && q.set.every((x: unknown) => typeof x === 'string')))
    return 'field "questions" must be a list of {position: "left"|"right", set: [phone, ...]}';
  if (!(Number.isSafeInteger(numPdfs) && (numPdfs as number) >= 1)) return 'field "numPdfs" must be a positive integer';
  if (typeof totalGain !== 'number' || !Number.isFinite(totalGain)) return 'field "totalGain" must be a finite number';
  const total = (numStates as number[]).reduce((a, b) => a + b, 0);
  if (!Array.isArray(roots) || roots.length !== total) return `field "roots" must hold one node per (phone, state) pair (${total})`;
  const seen = new Uint8Array(numPdfs as number);
  for (let r = 0; r < roots.length; r++) {
    const stack: Array<{ n: unknown; depth: number; path: string }> = [{ n: roots[r], depth: 0, path: `roots[${r}]` }];
    while (stack.length) {
      const { n, depth, path } = stack.pop()!;
      const node = n as Record<string, unknown> | null;
      if (!node || typeof node !== 'object' || Array.isArray(node)) return `${path} must be {leaf} or {question, yes, no}`;
      if (depth > MAX_TREE_DEPTH) return `${path}: deeper than ${MAX_TREE_DEPTH} questions`;
      if ('leaf' in node) {
        const leaf = node.leaf;
        if (!(Number.isInteger(leaf) && (leaf as number) >= 0 && (leaf as number) < (numPdfs as number))) return `${path}.leaf must be a pdf id in [0, ${numPdfs as number})`;
        if (seen[leaf as number]) return `${path}.leaf: pdf ${leaf as number} appears twice (a pdf belongs to one (phone, state))`;
        seen[leaf as number] = 1;
      } else {
        const q = node.question;
        if (!(Number.isInteger(q) && (q as number) >= 0 && (q as number) < questions.length)) return `${path}.question must index "questions" (0 to ${questions.length - 1})`;
        stack.push({ n: node.no, depth: depth + 1, path: `${path}.no` }, { n: node.yes, depth: depth + 1, path: `${path}.yes` });
      }
    }
  }
  const missing = seen.indexOf(0);
  if (missing >= 0) return `pdf ${missing} is no leaf of any root (field "numPdfs" is ${numPdfs as number})`;
  return null;
}
