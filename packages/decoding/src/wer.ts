import type { TextEntry } from './text.js';

/** C correct, S substitution, D deletion (ref word missing), I insertion (extra hyp word). */
export type EditOp = 'C' | 'S' | 'D' | 'I';

export interface WordAlignment {
  /** One op per aligned column; `ref[k]`/`hyp[k]` is null where that side has a gap. */
  ops: EditOp[];
  ref: (string | null)[];
  hyp: (string | null)[];
  correct: number;
  substitutions: number;
  deletions: number;
  insertions: number;
}

// sclite's default word weights; used only to break ties among minimum-error alignments.
const SCLITE_SUB = 4;
const SCLITE_INS = 3;
const SCLITE_DEL = 3;

/**
 * Minimum-edit-distance alignment of two word sequences. The primary cost is the number of errors
 * (unit costs, so totals equal Kaldi's compute-wer); among alignments with that many errors the one
 * sclite's weights (sub 4, ins 3, del 3) prefer is chosen, which keeps matching words aligned
 * ("a b" vs "b c" gives D C I, not S S). Remaining ties, traced back from the end, prefer
 * match/substitution, then deletion, then insertion.
 */
export function alignWords(ref: readonly string[], hyp: readonly string[]): WordAlignment {
  const n = ref.length;
  const m = hyp.length;
  // Errors dominate: the weighted cost of any alignment is below `big`.
  const big = SCLITE_SUB * (n + m) + 1;
  const w = m + 1;
  const cost = new Float64Array((n + 1) * w);
  const delCost = big + SCLITE_DEL;
  const insCost = big + SCLITE_INS;
  const subCost = big + SCLITE_SUB;
  for (let j = 1; j <= m; j++) cost[j] = j * insCost;
  for (let i = 1; i <= n; i++) {
    cost[i * w] = i * delCost;
    for (let j = 1; j <= m; j++) {
      const diag = cost[(i - 1) * w + j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : subCost);
      const del = cost[(i - 1) * w + j] + delCost;
      const ins = cost[i * w + j - 1] + insCost;
      cost[i * w + j] = Math.min(diag, del, ins);
    }
  }
  const ops: EditOp[] = [];
  const r: (string | null)[] = [];
  const h: (string | null)[] = [];
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    const c = cost[i * w + j];
    if (i > 0 && j > 0) {
      const same = ref[i - 1] === hyp[j - 1];
      if (c === cost[(i - 1) * w + j - 1] + (same ? 0 : subCost)) {
        ops.push(same ? 'C' : 'S');
        r.push(ref[i - 1]);
        h.push(hyp[j - 1]);
        i--;
        j--;
        continue;
      }
    }
    if (i > 0 && c === cost[(i - 1) * w + j] + delCost) {
      ops.push('D');
      r.push(ref[i - 1]);
      h.push(null);
      i--;
      continue;
    }
    ops.push('I');
    r.push(null);
    h.push(hyp[j - 1]);
    j--;
  }
  ops.reverse();
  r.reverse();
  h.reverse();
  const count = (op: EditOp) => ops.reduce((a, o) => a + (o === op ? 1 : 0), 0);
  return { ops, ref: r, hyp: h, correct: count('C'), substitutions: count('S'), deletions: count('D'), insertions: count('I') };
}

export interface ErrorCounts {
  refWords: number;
  errors: number;
  insertions: number;
  deletions: number;
  substitutions: number;
  correct: number;
  sentences: number;
  sentenceErrors: number;
  /** Percent. null when there are no reference words and some errors (Kaldi would print inf). */
  wer: number | null;
  /** Percent of sentences with at least one error; 0 for no sentences. */
  ser: number;
}

export interface UtteranceScore extends WordAlignment {
  id: string;
  speaker?: string;
  refWords: number;
  errors: number;
  /** True when the id was absent from the hypothesis file (scored as an empty hypothesis). */
  missingHyp: boolean;
}

export interface WerResult {
  total: ErrorCounts;
  /** In reference order. */
  utterances: UtteranceScore[];
  missingInHyp: string[];
  /** Ids in HYP but not REF; only non-empty when `allowExtra` was set (otherwise that is an error). */
  extraInHyp: string[];
  /** Per-speaker totals, when `speakerOf` was given; keys in first-seen order. */
  speakers?: Record<string, ErrorCounts>;
}

export interface WerOptions {
  /** Ignore ids present in HYP but not in REF instead of throwing (they are listed in extraInHyp). */
  allowExtra?: boolean;
  /** Speaker of an utterance, for per-speaker totals (e.g. from utt2spk, or the id prefix). */
  speakerOf?: (uttId: string) => string;
  /** File names used in error messages. */
  refName?: string;
  hypName?: string;
}

type Transcripts = readonly TextEntry[] | ReadonlyMap<string, readonly string[]>;

function toMap(t: Transcripts): Map<string, readonly string[]> {
  if (t instanceof Map) return t as Map<string, readonly string[]>;
  return new Map((t as readonly TextEntry[]).map((e) => [e.id, e.words]));
}

function emptyCounts(): ErrorCounts {
  return { refWords: 0, errors: 0, insertions: 0, deletions: 0, substitutions: 0, correct: 0, sentences: 0, sentenceErrors: 0, wer: 0, ser: 0 };
}

function add(c: ErrorCounts, u: UtteranceScore): void {
  c.refWords += u.refWords;
  c.errors += u.errors;
  c.insertions += u.insertions;
  c.deletions += u.deletions;
  c.substitutions += u.substitutions;
  c.correct += u.correct;
  c.sentences += 1;
  if (u.errors > 0) c.sentenceErrors += 1;
}

function finish(c: ErrorCounts): ErrorCounts {
  c.wer = c.refWords > 0 ? (100 * c.errors) / c.refWords : c.errors === 0 ? 0 : null;
  c.ser = c.sentences > 0 ? (100 * c.sentenceErrors) / c.sentences : 0;
  return c;
}

/**
 * Score hypotheses against references. Every REF utterance is scored; one missing from HYP counts as all
 * deletions. An id in HYP but not REF throws unless `allowExtra`.
 */
export function computeWer(ref: Transcripts, hyp: Transcripts, options: WerOptions = {}): WerResult {
  const refMap = toMap(ref);
  const hypMap = toMap(hyp);
  const extra = [...hypMap.keys()].filter((id) => !refMap.has(id));
  if (extra.length > 0 && !options.allowExtra) {
    const shown = extra.slice(0, 5).map((id) => `"${id}"`).join(', ');
    throw new Error(
      `${options.hypName ?? 'hypothesis'}: ${extra.length} utterance id(s) not in ${options.refName ?? 'the reference'} (${shown}${extra.length > 5 ? ', ...' : ''}); ` +
        'fix the ids or pass --allow-extra (allowExtra) to ignore them',
    );
  }
  const total = emptyCounts();
  const speakers: Record<string, ErrorCounts> | undefined = options.speakerOf ? {} : undefined;
  const utterances: UtteranceScore[] = [];
  const missing: string[] = [];
  for (const [id, refWords] of refMap) {
    const h = hypMap.get(id);
    if (h === undefined) missing.push(id);
    const a = alignWords(refWords, h ?? []);
    const u: UtteranceScore = {
      id,
      ...a,
      refWords: refWords.length,
      errors: a.substitutions + a.deletions + a.insertions,
      missingHyp: h === undefined,
    };
    if (options.speakerOf) u.speaker = options.speakerOf(id);
    utterances.push(u);
    add(total, u);
    if (speakers && u.speaker !== undefined) add((speakers[u.speaker] ??= emptyCounts()), u);
  }
  finish(total);
  if (speakers) for (const s of Object.values(speakers)) finish(s);
  return { total, utterances, missingInHyp: missing, extraInHyp: options.allowExtra ? extra : [], ...(speakers ? { speakers } : {}) };
}

function pct(x: number | null): string {
  return x === null ? 'inf' : x.toFixed(2);
}

/** Kaldi compute-wer's summary lines (`%WER ...`, `%SER ...`, `Scored ...`). */
export function formatWerSummary(result: WerResult): string {
  const t = result.total;
  return [
    `%WER ${pct(t.wer)} [ ${t.errors} / ${t.refWords}, ${t.insertions} ins, ${t.deletions} del, ${t.substitutions} sub ]`,
    `%SER ${pct(t.ser)} [ ${t.sentenceErrors} / ${t.sentences} ]`,
    `Scored ${t.sentences} sentences, ${result.missingInHyp.length} not present in hyp.`,
  ].join('\n');
}

/**
 * Per-utterance alignments in the style of sclite's .pra report: REF/HYP columns padded to equal width,
 * `***` for gaps, correct words lower-cased and errors upper-cased (display only: scoring is
 * case-sensitive), and an Eval line marking S/D/I. Followed by per-speaker totals when available.
 */
export function formatAlignmentReport(result: WerResult): string {
  const out: string[] = [];
  for (const u of result.utterances) {
    out.push(`id: (${u.id})${u.speaker !== undefined ? ` speaker: ${u.speaker}` : ''}${u.missingHyp ? ' [missing from hyp]' : ''}`);
    out.push(`Scores: (#C #S #D #I) ${u.correct} ${u.substitutions} ${u.deletions} ${u.insertions}`);
    const refCols: string[] = [];
    const hypCols: string[] = [];
    const evalCols: string[] = [];
    for (let k = 0; k < u.ops.length; k++) {
      const op = u.ops[k];
      const r = u.ref[k] ?? '***';
      const h = u.hyp[k] ?? '***';
      const rs = op === 'C' ? r.toLowerCase() : op === 'I' ? r : r.toUpperCase();
      const hs = op === 'C' ? h.toLowerCase() : op === 'D' ? h : h.toUpperCase();
      const width = Math.max(rs.length, hs.length);
      refCols.push(rs.padEnd(width));
      hypCols.push(hs.padEnd(width));
      evalCols.push((op === 'C' ? '' : op).padEnd(width));
    }
    out.push(`REF:  ${refCols.join(' ')}`.trimEnd());
    out.push(`HYP:  ${hypCols.join(' ')}`.trimEnd());
    out.push(`Eval: ${evalCols.join(' ')}`.trimEnd());
    out.push('');
  }
  if (result.speakers) {
    out.push('Per-speaker summary:');
    const rows = Object.entries(result.speakers).map(([spk, c]) => [spk, String(c.sentences), String(c.refWords), String(c.substitutions), String(c.deletions), String(c.insertions), String(c.errors), pct(c.wer), pct(c.ser)]);
    const header = ['speaker', '#snt', '#wrd', 'sub', 'del', 'ins', 'err', '%WER', '%SER'];
    const all = [header, ...rows];
    const widths = header.map((_, c) => Math.max(...all.map((r) => r[c].length)));
    for (const r of all) out.push(r.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join('  '));
    out.push('');
  }
  out.push(formatWerSummary(result));
  return out.join('\n') + '\n';
}
