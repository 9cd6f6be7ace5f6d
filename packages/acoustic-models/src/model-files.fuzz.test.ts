// Fuzz the readers of a model or alignment directory's own files (outside bytes: a user passes --model EXPDIR
// or --ali DIR): labels.jsonl of kdasr align, EXPDIR/tree.json and the acoustic model's kdasr.json description
// (inventory, frontend, CMVN stats, priors). Truncated, bit-flipped and adversarial documents (huge state
// counts, out-of-range leaves, cycles of reuse, NaN/null priors, unsafe ids, deep nesting) give either a value
// that is safe to use or an Error naming the file and field, never a TypeError, a RangeError, a hang or a huge
// allocation. Seed-pinned; KDASR_FUZZ_RUNS / KDASR_FUZZ_SEED make a longer run (npm run fuzz -w @kdasr/base).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readAli } from './alignment-file.js';
import { readTree } from './model-dir.js';
import { acousticSidecar } from './sidecar.js';

const runs = (n: number) => Number(process.env.KDASR_FUZZ_RUNS ?? n);
const seed = Number(process.env.KDASR_FUZZ_SEED ?? 20261207);
const root = mkdtempSync(join(tmpdir(), 'kdasr-model-files-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function dirWith(file: string, content: string | Uint8Array): { dir: string; path: string } {
  const dir = join(root, `case-${n++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, file), content);
  return { dir, path: join(dir, file) };
}

/** Run `read`; a plain Error must name `where` at its start; anything else thrown fails the property. */
function outcome<T>(read: () => T, where: string): T | 'error' {
  const t0 = performance.now();
  try {
    return read();
  } catch (e) {
    if (!(e instanceof Error) || e.constructor !== Error) throw e;
    expect(e.message.startsWith(where), e.message).toBe(true);
    return 'error';
  } finally {
    expect(performance.now() - t0).toBeLessThan(2000);
  }
}

const flips = (buf: Uint8Array) =>
  fc.array(fc.record({ at: fc.nat({ max: buf.length - 1 }), bit: fc.nat({ max: 7 }) }), { minLength: 1, maxLength: 4 }).map((fs) => {
    const b = Uint8Array.from(buf);
    for (const f of fs) b[f.at] ^= 1 << f.bit;
    return b;
  });
const weird = fc.oneof(
  fc.constantFrom<unknown>(null, true, -1, 0, 1, 2.5, 1e9, 2 ** 31, 2 ** 53 + 2, -0, '', 'a', '../../escape', [], {}, [0], [-1], [1e9], { leaf: 0 }, { question: 0 }, [null]),
  fc.jsonValue({ maxDepth: 2 }),
);
/** Set `path` (keys and indices) in a copy of `doc` to `v`, or delete it. */
function edit(doc: unknown, path: Array<string | number>, v: unknown, drop: boolean): unknown {
  const out = structuredClone(doc) as Record<string | number, unknown>;
  let o = out;
  for (const k of path.slice(0, -1)) {
    if (!o[k] || typeof o[k] !== 'object') return out;
    o = o[k] as Record<string | number, unknown>;
  }
  const last = path[path.length - 1];
  if (drop) delete o[last];
  else o[last] = v;
  return out;
}

// A small tree: phones sil (1 state), a and b (2 states); a's first state asks "is the left context a?".
const tree = {
  format: 'kdasr-phonetic-tree',
  phones: ['sil', 'a', 'b'],
  numStates: [1, 2, 2],
  questions: [{ position: 'left', set: ['a'] }],
  roots: [{ leaf: 0 }, { question: 0, yes: { leaf: 1 }, no: { leaf: 2 } }, { leaf: 3 }, { leaf: 4 }, { leaf: 5 }],
  numPdfs: 6,
  totalGain: 12.5,
};
const treeFile = { tree, config: { targetLeaves: 6, minCount: 1, ali: 'ali' }, numPdfs: 6 };
const treePaths: Array<Array<string | number>> = [
  ['tree', 'format'], ['tree', 'phones'], ['tree', 'phones', 1], ['tree', 'numStates'], ['tree', 'numStates', 0], ['tree', 'numStates', 2],
  ['tree', 'questions'], ['tree', 'questions', 0, 'position'], ['tree', 'questions', 0, 'set'], ['tree', 'roots'], ['tree', 'roots', 1],
  ['tree', 'roots', 1, 'question'], ['tree', 'roots', 1, 'yes'], ['tree', 'roots', 1, 'no', 'leaf'], ['tree', 'roots', 4, 'leaf'], ['tree', 'numPdfs'], ['tree', 'totalGain'], ['tree'],
];

const sidecar = {
  kind: 'kdasr-acoustic-model',
  config: {
    config: { seed: 1 },
    inventory: { phones: ['sil', 'a', 'b'], numStates: [1, 2, 2], silencePhones: ['sil'] },
    frontend: { config: { splice: { left: 2, right: 1 }, cmvn: { mode: 'global', normVars: true } }, globalStats: { dim: 2, count: 10, sum: [1, 2], sumSq: [3, 4] } },
    logPriors: [-1.6, -1.5, -1.7, -1.4, -1.9],
  },
};
const sidecarPaths: Array<Array<string | number>> = [
  ['kind'], ['config'], ['config', 'inventory'], ['config', 'inventory', 'phones'], ['config', 'inventory', 'phones', 0], ['config', 'inventory', 'numStates', 1],
  ['config', 'inventory', 'silencePhones'], ['config', 'frontend'], ['config', 'frontend', 'config'], ['config', 'frontend', 'config', 'splice', 'left'],
  ['config', 'frontend', 'config', 'cmvn', 'mode'], ['config', 'frontend', 'globalStats'], ['config', 'frontend', 'globalStats', 'dim'],
  ['config', 'frontend', 'globalStats', 'count'], ['config', 'frontend', 'globalStats', 'sum', 1], ['config', 'frontend', 'globalStats', 'sumSq'],
  ['config', 'logPriors'], ['config', 'logPriors', 2], ['config', 'numPdfs'],
];

function checkTree(dir: string, path: string) {
  const t = outcome(() => readTree(dir), path);
  if (t === 'error' || t === undefined) return t;
  // Every (phone, state) walks to a leaf in range, whatever the contexts; every pdf has a root.
  for (const [i, p] of t.json.phones.entries())
    for (let s = 0; s < t.json.numStates[i]; s++)
      for (const left of [null, ...t.json.phones]) {
        const pdf = t.pdfOf(p, left, null, s);
        expect(Number.isInteger(pdf) && pdf >= 0 && pdf < t.numPdfs).toBe(true);
      }
  expect(t.pdfRoots().every((r) => r !== undefined)).toBe(true);
  return t;
}

function checkSidecar(doc: unknown) {
  const r = outcome(() => acousticSidecar(doc, 'm/kdasr.json'), 'm/kdasr.json: ');
  if (r === 'error') return r;
  const classes = r.meta.numPdfs ?? r.inventory.numClasses;
  expect(classes).toBeLessThanOrEqual(1000);
  if (r.meta.logPriors) expect(r.meta.logPriors.length === classes && r.meta.logPriors.every(Number.isFinite)).toBe(true);
  return r;
}

describe('model and alignment file readers fuzz', () => {
  it('reads the untouched tree and sidecar', () => {
    const { dir, path } = dirWith('tree.json', JSON.stringify(treeFile));
    expect(checkTree(dir, path)).not.toBe('error');
    expect(checkSidecar(sidecar)).not.toBe('error');
  });

  it('tree.json: truncated, bit-flipped, adversarial fields and deep nesting', () => {
    const text = Buffer.from(JSON.stringify(treeFile));
    fc.assert(fc.property(fc.nat({ max: text.length - 1 }), (cut) => {
      const { dir, path } = dirWith('tree.json', text.subarray(0, cut));
      expect(checkTree(dir, path)).toBe('error');
    }), { seed, numRuns: runs(30) });
    fc.assert(fc.property(flips(text), (b) => {
      const { dir, path } = dirWith('tree.json', b);
      void checkTree(dir, path);
    }), { seed, numRuns: runs(60) });
    fc.assert(fc.property(fc.constantFrom(...treePaths), weird, fc.boolean(), (p, v, drop) => {
      const { dir, path } = dirWith('tree.json', JSON.stringify(edit(treeFile, p, v, drop)));
      void checkTree(dir, path);
    }), { seed, numRuns: runs(150) });
    // A chain of questions deeper than any tree is refused without overflowing the stack; a reused leaf too.
    let deep: unknown = { leaf: 1 };
    for (let i = 0; i < 3000; i++) deep = { question: 0, yes: deep, no: { leaf: 2 } };
    const chain = dirWith('tree.json', JSON.stringify({ tree: { ...tree, roots: [tree.roots[0], deep, ...tree.roots.slice(2)] } }));
    expect(() => readTree(chain.dir)).toThrow(/tree: roots\[1\](\.yes)+: deeper than 1000 questions/);
    const reuse = dirWith('tree.json', JSON.stringify(edit(treeFile, ['tree', 'roots', 4, 'leaf'], 0, false)));
    expect(() => readTree(reuse.dir)).toThrow(/tree\.json: tree: roots\[4\]\.leaf: pdf 0 appears twice/);
    const states = dirWith('tree.json', JSON.stringify(edit(treeFile, ['tree', 'numStates', 0], 1e9, false)));
    expect(() => readTree(states.dir)).toThrow(/field "numStates" must give each phone 1 to 64 states/);
  });

  it('kdasr.json model description: adversarial fields and random documents', () => {
    fc.assert(fc.property(fc.constantFrom(...sidecarPaths), weird, fc.boolean(), (p, v, drop) => void checkSidecar(edit(sidecar, p, v, drop))), { seed, numRuns: runs(200) });
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => void checkSidecar({ kind: 'kdasr-acoustic-model', config: v })), { seed, numRuns: runs(60) });
    expect(() => acousticSidecar(edit(sidecar, ['config', 'inventory', 'numStates', 0], 1e9, false), 'm/kdasr.json')).toThrow(/^m\/kdasr\.json: config\.inventory: .*numStates\[0\] is 1000000000/);
    expect(() => acousticSidecar(edit(sidecar, ['config', 'logPriors', 2], null, false), 'm/kdasr.json')).toThrow(/^m\/kdasr\.json: config\.logPriors must be 5 finite numbers/);
    expect(() => acousticSidecar(edit(sidecar, ['config', 'frontend', 'globalStats', 'count'], 'x', false), 'm/kdasr.json')).toThrow(/^m\/kdasr\.json: config\.frontend: CmvnStats\.fromJSON/);
  });

  it('labels.jsonl: truncated, bit-flipped and adversarial lines', () => {
    const good = [
      { id: 'u1', labels: [0, 1, 2, 2], mono: [0, 1, 2, 2], phones: [{ phone: 'sil', startFrame: 0, endFrame: 1, wordIndex: -1 }, { phone: 'a', startFrame: 1, endFrame: 4, wordIndex: 0 }] },
      { id: 'u2', labels: [0, 0] },
    ];
    const text = good.map((x) => JSON.stringify(x)).join('\n') + '\n';
    const check = (content: string | Uint8Array) => {
      const { dir, path } = dirWith('labels.jsonl', content);
      const r = outcome(() => readAli(dir), path);
      if (r === 'error') return r;
      for (const a of r.values()) {
        expect(a.labels.every((c) => c >= 0)).toBe(true);
        if (a.mono) expect(a.mono.length).toBe(a.labels.length);
        let prev = 0;
        for (const s of a.phones ?? []) {
          expect(s.startFrame >= prev && s.startFrame < s.endFrame && s.endFrame <= a.labels.length).toBe(true);
          prev = s.endFrame;
        }
      }
      return r;
    };
    expect(check(text)).not.toBe('error');
    fc.assert(fc.property(fc.nat({ max: text.length - 1 }), (cut) => void check(text.slice(0, cut))), { seed, numRuns: runs(40) });
    fc.assert(fc.property(flips(Buffer.from(text)), (b) => void check(b)), { seed, numRuns: runs(60) });
    const paths: Array<Array<string | number>> = [[0, 'id'], [0, 'labels'], [0, 'labels', 1], [0, 'mono'], [0, 'mono', 3], [0, 'phones'], [0, 'phones', 0], [0, 'phones', 1, 'startFrame'], [0, 'phones', 1, 'endFrame'], [0, 'phones', 1, 'wordIndex'], [0, 'phones', 0, 'phone'], [1, 'id'], [0]];
    fc.assert(fc.property(fc.constantFrom(...paths), weird, fc.boolean(), (p, v, drop) => {
      const doc = edit(good, p, v, drop) as unknown[];
      void check(doc.map((x) => JSON.stringify(x) ?? '').join('\n'));
    }), { seed, numRuns: runs(150) });
    // kdasr align writes wordIndex -1 for silence between words; anything below is an error.
    expect(readAli(dirWith('labels.jsonl', text).dir).get('u1')?.phones?.[0].wordIndex).toBe(-1);
    const below = dirWith('labels.jsonl', JSON.stringify({ ...good[0], phones: [{ phone: 'sil', startFrame: 0, endFrame: 1, wordIndex: -2 }] }));
    expect(() => readAli(below.dir)).toThrow(/labels\.jsonl:1: field "phones\[0\]": wordIndex must be an integer >= -1/);
    const dup = dirWith('labels.jsonl', `${JSON.stringify(good[1])}\n${JSON.stringify(good[1])}\n`);
    expect(() => readAli(dup.dir)).toThrow(/labels\.jsonl:2: utterance "u2" appears twice/);
    const wrap = dirWith('labels.jsonl', JSON.stringify({ id: 'u1', labels: [2 ** 32] }));
    expect(() => readAli(wrap.dir)).toThrow(/labels\.jsonl:1: field "labels" must be an array of class ids/);
    const escape = dirWith('labels.jsonl', JSON.stringify({ id: '../../escape', labels: [0] }));
    expect(() => readAli(escape.dir)).toThrow(/labels\.jsonl:1: field "id": id "\.\.\/\.\.\/escape" contains "\/"/);
  });
});
