/**
 * Per-utterance work that survives a kill: each result is appended to OUT/partial.jsonl as it finishes (the
 * settings in OUT/partial.json), and a rerun with the same settings skips the finished ids.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Logger, writeFileAtomic } from '@kdasr/core';
import { InputError } from './inputs.js';

export const PARTIAL_FILE = 'partial.jsonl';
export const PARTIAL_SETTINGS_FILE = 'partial.json';

/** Settings a resumed run must share with the interrupted one: input paths (resolved) and every flag but out/backend. */
export function partialSettings(values: Record<string, unknown>): unknown {
  const path = (k: string) => (typeof values[k] === 'string' ? resolve(values[k] as string) : undefined);
  const options = Object.fromEntries(Object.entries(values).filter(([k, v]) => v !== undefined && !['out', 'backend', 'help', 'quiet', 'log-json'].includes(k)).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { model: path('model'), corpus: path('corpus'), feats: path('feats'), ...(values.manifest !== undefined ? { manifest: path('manifest') } : {}), options };
}

export interface ResumableOptions<R> {
  /** Output directory that holds the partial files. */
  out: string;
  /** What a rerun must share to resume (the command's flags); compared through partialSettings(). */
  settings: Record<string, unknown>;
  /**
   * Checks one recorded result and brings an older layout up to date; throws (a message naming the field) when the
   * line cannot be read as this version's result. Without it recorded results are trusted as they are.
   */
  upgrade?: (recorded: unknown) => R;
  log: Logger;
}

/**
 * Run `work` over `items` with progress (see Logger.progress) and resume from OUT/partial.jsonl. Results come back
 * in `items` order; call `done()` after the final outputs are written to remove the partial files.
 */
export function resumableRun<T extends { id: string }, R>(items: T[], work: (item: T) => R, o: ResumableOptions<R>): { results: R[]; done: () => void } {
  const jsonl = join(o.out, PARTIAL_FILE);
  const settingsFile = join(o.out, PARTIAL_SETTINGS_FILE);
  const settings = JSON.stringify(partialSettings(o.settings));
  const finished = new Map<string, R>();
  if (existsSync(jsonl)) {
    const recorded = existsSync(settingsFile) ? JSON.stringify(JSON.parse(readFileSync(settingsFile, 'utf8'))) : undefined;
    if (recorded !== settings) throw new InputError(`${o.log.name}: ${jsonl} is from a run with different settings (${settingsFile}); delete it to start over, or use another --out`);
    const lines = readFileSync(jsonl, 'utf8').split('\n').filter(Boolean);
    const good: string[] = [];
    let upgraded = 0;
    lines.forEach((l, i) => {
      let parsed: { id: string; r: unknown };
      try {
        parsed = JSON.parse(l) as { id: string; r: unknown };
      } catch {
        // A line cut short by a kill can only be the last one.
        if (i < lines.length - 1) throw new InputError(`${o.log.name}: ${jsonl} line ${i + 1} is corrupt; delete the file to start over`);
        return;
      }
      let r = parsed.r as R;
      if (o.upgrade) {
        try {
          r = o.upgrade(parsed.r);
        } catch (e) {
          throw new InputError(`${o.log.name}: ${jsonl} line ${i + 1}: ${(e as Error).message}; delete the file to start over`);
        }
        if (JSON.stringify(r) !== JSON.stringify(parsed.r)) upgraded++;
      }
      finished.set(parsed.id, r);
      good.push(JSON.stringify({ id: parsed.id, r }));
    });
    writeFileAtomic(jsonl, good.map((l) => l + '\n').join(''));
    o.log.info(`resuming, ${finished.size} utterances already done (${jsonl})${upgraded ? `; ${upgraded} results from an older kdasr upgraded` : ''}`);
  } else {
    mkdirSync(o.out, { recursive: true });
    writeFileAtomic(settingsFile, settings + '\n');
    writeFileSync(jsonl, '');
  }
  const resumed = items.filter((u) => finished.has(u.id)).length;
  const progress = o.log.progress(items.length, { unit: 'utterances', rateUnit: 'utt', startAt: resumed });
  const results = items.map((u) => {
    if (finished.has(u.id)) return finished.get(u.id)!;
    const r = work(u);
    appendFileSync(jsonl, JSON.stringify({ id: u.id, r }) + '\n');
    progress.tick();
    return r;
  });
  progress.end();
  return { results, done: () => [jsonl, settingsFile].forEach((f) => rmSync(f, { force: true })) };
}
