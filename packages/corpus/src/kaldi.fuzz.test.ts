// Fuzz the Kaldi data-dir importer (wav.scp, text, utt2spk, segments are outside text): random tokens, unsafe
// ids, bad numbers in segments, binary garbage, CRLF and truncated lines. The importer either returns valid
// recordings/supervisions or throws one CorpusError listing problems with file and line, never another
// exception. Seed-pinned; KDASR_FUZZ_RUNS / KDASR_FUZZ_SEED make a longer run (tools/fuzz-long.sh).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { importKaldiDir } from './kaldi.js';
import { RecordingSchema, SupervisionSchema } from './manifest.js';
import { CorpusError } from './problems.js';
import { tempDir, writeTone } from './test/helpers.js';

const runs = (n: number) => Number(process.env.KDASR_FUZZ_RUNS ?? n);
const seed = Number(process.env.KDASR_FUZZ_SEED ?? 20261207);
const t = tempDir('kaldi-fuzz');
afterAll(t.cleanup);
const wav = join(t.dir, 'r1.wav');
writeTone(wav, 1, 16000);

const token = fc.oneof(
  fc.constantFrom('r1', 'u1', 'u2', 's1', wav, 'r1.wav', '0', '0.5', '1.2', '-1', 'NaN', '1e999', '../../escape', '.x', 'a|', '|', 'missing.wav'),
  fc.string({ maxLength: 8 }),
);
const line = fc.array(token, { minLength: 0, maxLength: 5 }).map((ts) => ts.join(' '));
const table = fc
  .tuple(fc.array(fc.oneof({ weight: 5, arbitrary: line }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) }), { maxLength: 6 }), fc.constantFrom('\n', '\r\n'))
  .map(([ls, eol]) => ls.join(eol));

let n = 0;
describe('Kaldi data dir importer fuzz', () => {
  it('random tables: valid manifests or one CorpusError with file and line', () => {
    fc.assert(
      fc.property(table, table, table, fc.option(table), (wavScp, text, utt2spk, segments) => {
        const dir = join(t.dir, `case-${n++}`);
        mkdirSync(dir);
        writeFileSync(join(dir, 'wav.scp'), wavScp);
        writeFileSync(join(dir, 'text'), text);
        writeFileSync(join(dir, 'utt2spk'), utt2spk);
        if (segments !== null) writeFileSync(join(dir, 'segments'), segments);
        const t0 = performance.now();
        try {
          // Random wav.scp lines end in "|" too: they must never reach a shell.
          const r = importKaldiDir(dir, undefined, { runCommands: false });
          for (const x of r.recordings) expect(RecordingSchema.safeParse(x).success).toBe(true);
          for (const x of r.supervisions) {
            expect(SupervisionSchema.safeParse(x).success).toBe(true);
            expect(r.recordings.some((rec) => rec.id === x.recordingId)).toBe(true);
          }
        } catch (e) {
          if (!(e instanceof CorpusError)) throw e;
          expect(e.problems.length).toBeGreaterThan(0);
          for (const p of e.problems) expect(p.file.startsWith(dir)).toBe(true);
        } finally {
          expect(performance.now() - t0).toBeLessThan(2000);
        }
      }),
      { seed, numRuns: runs(60) },
    );
  });
});
