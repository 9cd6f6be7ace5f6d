/**
 * Word bigram language model with interpolated Kneser-Ney smoothing, stored in backoff (ARPA) form.
 *
 * Smoothing (Chen & Goodman 1998, interpolated KN with one discount per order):
 *   P(w|h) = max(c(h,w) - D2, 0) / c(h) + gamma(h) * P1(w),   gamma(h) = D2 * N1+(h .) / c(h)
 *   P1(w)  = max(N1+(. w) - D1, 0) / N1+(. .) + D1 * n+ / N1+(. .) / |W|
 * where N1+(. w) is the number of distinct left contexts of w (the continuation count), n+ the number of
 * words with a non-zero continuation count and W the predictable words (vocabulary + </s> + <unk>, not
 * <s>). The uniform floor in P1 gives <unk> and other unseen words non-zero mass. Histories never seen
 * (e.g. <unk> when the training text had no OOVs) back off with gamma = 1. Discounts default to Ney's
 * estimate n1 / (n1 + 2 n2) from the count-of-counts, clamped to [0.1, 0.9].
 *
 * Because the model is interpolated, the ARPA form is exact: a seen bigram stores the full interpolated
 * probability, an unseen one is gamma(h) * P1(w) = bow(h) * P1(w). It also makes the max-over-paths
 * (Viterbi) reading of a backoff graph exact: the direct bigram arc always beats the backoff path.
 */

export const BOS = '<s>';
export const EOS = '</s>';
export const UNK = '<unk>';

export interface BigramTrainOptions {
  /** Closed vocabulary; other training words become <unk>. Default: every word seen at least minCount times. */
  vocabulary?: readonly string[];
  /** Words seen fewer times become <unk> (default 1: keep all). Ignored with `vocabulary`. */
  minCount?: number;
  /** Bigram discount D2 in (0, 1); default Ney's estimate. */
  discount?: number;
  /** Unigram (continuation) discount D1 in (0, 1); default Ney's estimate. */
  unigramDiscount?: number;
}

export interface PerplexityResult {
  perplexity: number;
  /** Natural-log probability of all scored tokens. */
  logProb: number;
  /** Tokens scored: words (OOVs as <unk>) plus one </s> per sentence. */
  numTokens: number;
  numSentences: number;
  /** Words outside the vocabulary. Scored as <unk> when the model has it, else skipped (SRILM-style). */
  numOov: number;
}

function tokenize(line: string): string[] {
  return line.trim().split(/\s+/).filter((t) => t.length > 0);
}

function neyDiscount(countOfCounts: Map<number, number>, given: number | undefined, what: string): number {
  if (given !== undefined) {
    if (!(given > 0 && given < 1)) throw new Error(`BigramLm.train: ${what} must be in (0, 1), got ${given}`);
    return given;
  }
  const n1 = countOfCounts.get(1) ?? 0;
  const n2 = countOfCounts.get(2) ?? 0;
  const d = n1 + 2 * n2 > 0 ? n1 / (n1 + 2 * n2) : 0.5;
  return Math.min(0.9, Math.max(0.1, d));
}

export class BigramLm {
  /** Word ids index these. */
  readonly words: readonly string[];
  private readonly index: Map<string, number>;
  /** Natural-log unigram probabilities (-Infinity for <s>). */
  private readonly logUni: Float64Array;
  /** Natural-log backoff weights per history. */
  private readonly logBow: Float64Array;
  // Explicit bigrams in CSR form, sorted by word within each history, for binary search.
  private readonly bgStart: Int32Array;
  private readonly bgWord: Int32Array;
  private readonly bgLogProb: Float64Array;
  readonly bosId: number;
  readonly eosId: number;
  /** -1 when the model has no <unk> (possible for imported ARPA files). */
  readonly unkId: number;

  private constructor(words: string[], logUni: Float64Array, logBow: Float64Array, bigrams: Map<number, Map<number, number>>) {
    this.words = words;
    this.index = new Map(words.map((w, i) => [w, i]));
    const bos = this.index.get(BOS);
    const eos = this.index.get(EOS);
    if (bos === undefined || eos === undefined) throw new Error(`BigramLm: the vocabulary must contain ${BOS} and ${EOS}`);
    this.bosId = bos;
    this.eosId = eos;
    this.unkId = this.index.get(UNK) ?? -1;
    this.logUni = logUni;
    this.logUni[bos] = -Infinity;
    this.logBow = logBow;
    const V = words.length;
    this.bgStart = new Int32Array(V + 1);
    let total = 0;
    for (let h = 0; h < V; h++) {
      this.bgStart[h] = total;
      total += bigrams.get(h)?.size ?? 0;
    }
    this.bgStart[V] = total;
    this.bgWord = new Int32Array(total);
    this.bgLogProb = new Float64Array(total);
    for (let h = 0; h < V; h++) {
      const m = bigrams.get(h);
      if (!m) continue;
      const sorted = [...m.entries()].sort((a, b) => a[0] - b[0]);
      let k = this.bgStart[h];
      for (const [w, lp] of sorted) {
        this.bgWord[k] = w;
        this.bgLogProb[k] = lp;
        k++;
      }
    }
  }

  get vocabSize(): number {
    return this.words.length;
  }

  get numBigrams(): number {
    return this.bgWord.length;
  }

  /** Id of a word, OOVs mapped to <unk>; -1 if OOV and the model has no <unk>. */
  id(word: string): number {
    return this.index.get(word) ?? this.unkId;
  }

  has(word: string): boolean {
    return this.index.has(word);
  }

  logUnigram(w: number): number {
    return this.logUni[w];
  }

  logBackoff(h: number): number {
    return this.logBow[h];
  }

  /** Explicit (seen) bigrams of history h, as [word ids, natural-log probs] views. */
  bigramsOf(h: number): { words: Int32Array; logProbs: Float64Array } {
    const a = this.bgStart[h];
    const b = this.bgStart[h + 1];
    return { words: this.bgWord.subarray(a, b), logProbs: this.bgLogProb.subarray(a, b) };
  }

  /** ln P(w | h) by id. */
  logProbId(h: number, w: number): number {
    let lo = this.bgStart[h];
    let hi = this.bgStart[h + 1] - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const x = this.bgWord[mid];
      if (x === w) return this.bgLogProb[mid];
      if (x < w) lo = mid + 1;
      else hi = mid - 1;
    }
    return this.logBow[h] + this.logUni[w];
  }

  /** ln P(word | prev); OOVs map to <unk> (-Infinity if the model has none). */
  logProb(prev: string, word: string): number {
    const h = this.id(prev);
    const w = this.id(word);
    if (h < 0 || w < 0) return -Infinity;
    return this.logProbId(h, w);
  }

  /** ln P of a sentence including </s>, given as words (no <s>/</s>). */
  sentenceLogProb(words: readonly string[]): number {
    let h = this.bosId;
    let lp = 0;
    for (const word of words) {
      const w = this.id(word);
      if (w < 0) return -Infinity;
      lp += this.logProbId(h, w);
      h = w;
    }
    return lp + this.logProbId(h, this.eosId);
  }

  /** Perplexity over text lines (one sentence per line; blank lines skipped). */
  perplexity(lines: Iterable<string>): PerplexityResult {
    let logProb = 0;
    let numTokens = 0;
    let numSentences = 0;
    let numOov = 0;
    for (const line of lines) {
      const toks = tokenize(line);
      if (toks.length === 0) continue;
      numSentences++;
      let h = this.bosId;
      for (const t of toks) {
        const known = this.index.has(t);
        if (!known) numOov++;
        const w = this.id(t);
        if (w < 0) {
          // No <unk>: skip the word and restart the history, as SRILM does for OOVs.
          h = this.bosId;
          continue;
        }
        logProb += this.logProbId(h, w);
        numTokens++;
        h = w;
      }
      logProb += this.logProbId(h, this.eosId);
      numTokens++;
    }
    return { perplexity: numTokens > 0 ? Math.exp(-logProb / numTokens) : NaN, logProb, numTokens, numSentences, numOov };
  }

  /** Train an interpolated Kneser-Ney bigram on text lines (one sentence per line, words split on whitespace). */
  static train(lines: Iterable<string>, options: BigramTrainOptions = {}): BigramLm {
    const sentences: string[][] = [];
    let lineNo = 0;
    for (const line of lines) {
      lineNo++;
      const toks = tokenize(line);
      if (toks.length === 0) continue;
      for (const t of toks) {
        if (t === BOS || t === EOS) throw new Error(`BigramLm.train: line ${lineNo} contains "${t}"; sentence markers are added automatically, remove them`);
      }
      sentences.push(toks);
    }
    if (sentences.length === 0) throw new Error('BigramLm.train: no training sentences (all lines empty)');
    let vocab: string[];
    if (options.vocabulary) {
      vocab = [...new Set(options.vocabulary)].filter((w) => w !== BOS && w !== EOS && w !== UNK);
    } else {
      const counts = new Map<string, number>();
      for (const s of sentences) for (const t of s) counts.set(t, (counts.get(t) ?? 0) + 1);
      const min = options.minCount ?? 1;
      vocab = [...counts.entries()].filter(([w, c]) => c >= min && w !== UNK).map(([w]) => w);
    }
    vocab.sort();
    const words = [BOS, EOS, UNK, ...vocab];
    const index = new Map(words.map((w, i) => [w, i]));
    const V = words.length;
    const bos = 0;
    const eos = 1;
    const unk = 2;

    const bigramCounts = new Map<number, number>(); // key h * V + w
    for (const s of sentences) {
      let h = bos;
      for (const t of [...s, EOS]) {
        const w = index.get(t) ?? unk;
        const key = h * V + w;
        bigramCounts.set(key, (bigramCounts.get(key) ?? 0) + 1);
        h = w;
      }
    }
    const histCount = new Float64Array(V);
    const histTypes = new Float64Array(V);
    const contCount = new Float64Array(V);
    const coc2 = new Map<number, number>();
    for (const [key, c] of bigramCounts) {
      const h = Math.floor(key / V);
      const w = key % V;
      histCount[h] += c;
      histTypes[h] += 1;
      contCount[w] += 1;
      coc2.set(c, (coc2.get(c) ?? 0) + 1);
    }
    const coc1 = new Map<number, number>();
    for (let w = 0; w < V; w++) if (contCount[w] > 0) coc1.set(contCount[w], (coc1.get(contCount[w]) ?? 0) + 1);
    const D2 = neyDiscount(coc2, options.discount, 'discount');
    const D1 = neyDiscount(coc1, options.unigramDiscount, 'unigramDiscount');

    const totalTypes = bigramCounts.size;
    let nPlus = 0;
    for (let w = 0; w < V; w++) if (contCount[w] > 0) nPlus++;
    const numPredictable = V - 1; // all but <s>
    const logUni = new Float64Array(V);
    for (let w = 0; w < V; w++) {
      if (w === bos) continue;
      logUni[w] = Math.log(Math.max(contCount[w] - D1, 0) / totalTypes + (D1 * nPlus) / totalTypes / numPredictable);
    }
    const logBow = new Float64Array(V);
    const gamma = new Float64Array(V);
    for (let h = 0; h < V; h++) {
      gamma[h] = histCount[h] > 0 ? (D2 * histTypes[h]) / histCount[h] : 1;
      logBow[h] = Math.log(gamma[h]);
    }
    const bigrams = new Map<number, Map<number, number>>();
    for (const [key, c] of bigramCounts) {
      const h = Math.floor(key / V);
      const w = key % V;
      const p = (c - D2) / histCount[h] + gamma[h] * Math.exp(logUni[w]);
      let m = bigrams.get(h);
      if (!m) bigrams.set(h, (m = new Map()));
      m.set(w, Math.log(p));
    }
    return new BigramLm(words, logUni, logBow, bigrams);
  }

  /** ARPA text (log10 probabilities); <s> gets the conventional -99 unigram. */
  toArpa(): string {
    const L10 = Math.LN10;
    const f = (x: number) => (x === -Infinity ? '-99' : Number((x / L10).toPrecision(10)).toString());
    const out = ['', '\\data\\', `ngram 1=${this.words.length}`, `ngram 2=${this.numBigrams}`, '', '\\1-grams:'];
    for (let w = 0; w < this.words.length; w++) {
      const fields = [f(this.logUni[w]), this.words[w]];
      if (w !== this.eosId) fields.push(f(this.logBow[w]));
      out.push(fields.join('\t'));
    }
    out.push('', '\\2-grams:');
    for (let h = 0; h < this.words.length; h++) {
      for (let k = this.bgStart[h]; k < this.bgStart[h + 1]; k++) out.push(`${f(this.bgLogProb[k])}\t${this.words[h]} ${this.words[this.bgWord[k]]}`);
    }
    out.push('', '\\end\\', '');
    return out.join('\n');
  }

  /** Read an ARPA backoff model of order 1 or 2. `source` names the file in errors. */
  static fromArpa(text: string, source = '<arpa>'): BigramLm {
    const lines = text.split(/\r?\n/);
    let section: 'none' | 'data' | 1 | 2 | 'end' = 'none';
    const declared = new Map<number, number>();
    const words: string[] = [];
    const uni: number[] = [];
    const bow: number[] = [];
    const idx = new Map<string, number>();
    const pending: [string, string, number, number][] = [];
    const L10 = Math.LN10;
    const num = (s: string, i: number) => {
      const x = Number(s);
      if (!Number.isFinite(x)) throw new Error(`${source}:${i + 1}: "${s}" is not a number`);
      return x;
    };
    // A probability's log10 is <= 0 (backoff weights may be positive).
    const logProb = (s: string, i: number) => {
      const x = num(s, i);
      if (x > 0) throw new Error(`${source}:${i + 1}: log10 probability ${s} is above 0 (a probability above 1)`);
      return x;
    };
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === '') continue;
      if (line === '\\data\\') {
        section = 'data';
        continue;
      }
      if (line === '\\end\\') {
        section = 'end';
        break;
      }
      const m = /^\\(\d+)-grams:$/.exec(line);
      if (m) {
        const order = Number(m[1]);
        if (order > 2) throw new Error(`${source}:${i + 1}: ${order}-grams found; only bigram models are supported (prune to order 2, e.g. ngram -order 2)`);
        section = order as 1 | 2;
        continue;
      }
      if (section === 'data') {
        const d = /^ngram\s+(\d+)\s*=\s*(\d+)$/.exec(line);
        if (!d) throw new Error(`${source}:${i + 1}: expected "ngram N=count" in \\data\\, got "${line}"`);
        if (Number(d[1]) > 2 && Number(d[2]) > 0) throw new Error(`${source}:${i + 1}: model has order ${d[1]}; only bigram models are supported (prune to order 2)`);
        declared.set(Number(d[1]), Number(d[2]));
      } else if (section === 1) {
        const f = line.split(/\s+/);
        if (f.length < 2 || f.length > 3) throw new Error(`${source}:${i + 1}: a 1-gram line needs "logprob word [backoff]", got "${line}"`);
        if (idx.has(f[1])) throw new Error(`${source}:${i + 1}: duplicate unigram "${f[1]}"`);
        idx.set(f[1], words.length);
        words.push(f[1]);
        uni.push(logProb(f[0], i) * L10);
        bow.push(f.length === 3 ? num(f[2], i) * L10 : 0);
      } else if (section === 2) {
        const f = line.split(/\s+/);
        if (f.length < 3 || f.length > 4) throw new Error(`${source}:${i + 1}: a 2-gram line needs "logprob w1 w2 [backoff]", got "${line}"`);
        pending.push([f[1], f[2], logProb(f[0], i) * L10, i]);
      } else if (section === 'none') {
        continue; // header text before \data\ is allowed
      }
    }
    if (section !== 'end') throw new Error(`${source}: missing \\end\\ marker; the file looks truncated`);
    if ((declared.get(1) ?? -1) !== words.length) throw new Error(`${source}: \\data\\ declares ngram 1=${declared.get(1)} but the file has ${words.length} 1-grams`);
    if ((declared.get(2) ?? 0) !== pending.length) throw new Error(`${source}: \\data\\ declares ngram 2=${declared.get(2) ?? 0} but the file has ${pending.length} 2-grams`);
    const bigrams = new Map<number, Map<number, number>>();
    for (const [a, b, lp, i] of pending) {
      const h = idx.get(a);
      const w = idx.get(b);
      if (h === undefined || w === undefined) throw new Error(`${source}:${i + 1}: bigram "${a} ${b}" uses a word missing from the 1-grams`);
      let m = bigrams.get(h);
      if (!m) bigrams.set(h, (m = new Map()));
      if (m.has(w)) throw new Error(`${source}:${i + 1}: duplicate bigram "${a} ${b}"`);
      m.set(w, lp);
    }
    try {
      return new BigramLm(words, Float64Array.from(uni), Float64Array.from(bow), bigrams);
    } catch (e) {
      throw new Error(`${source}: ${(e as Error).message}`);
    }
  }
}
