import { afterEach, describe, expect, it } from 'vitest';
import { Logger, configureLog, formatDuration } from './progress.js';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, sink: { isTTY, write: (c: string) => chunks.push(c) } };
}

afterEach(() => configureLog({ quiet: false, json: false }));

describe('formatDuration', () => {
  it('prints seconds, minutes and hours', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(7620)).toBe('2h07m');
    expect(formatDuration(Infinity)).toBe('?');
    expect(formatDuration(NaN)).toBe('?');
  });
});

describe('Logger progress', () => {
  it('redraws one line on a TTY and ends it with a newline', () => {
    let t = 0;
    const s = sink(true);
    const log = new Logger('decode', { sink: s.sink, now: () => t });
    const p = log.progress(4, { unit: 'utterances', rateUnit: 'utt' });
    for (let i = 1; i <= 4; i++) {
      t += 1000;
      p.tick();
    }
    const out = s.chunks.join('');
    expect(out.startsWith('\rdecode: 1/4 utterances, 1.0 utt/s')).toBe(true);
    expect(out).toContain('\rdecode: 4/4 utterances, 1.0 utt/s, elapsed 4s, ETA 0s\x1b[K\n');
    expect(out.split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('ends an open TTY line before an info line', () => {
    let t = 0;
    const s = sink(true);
    const log = new Logger('x', { sink: s.sink, now: () => t });
    const p = log.progress(10);
    t += 500;
    p.tick();
    log.info('hello');
    expect(s.chunks.join('')).toMatch(/\x1b\[K\nx: hello\n$/);
  });

  it('prints plain lines at 10 % steps elsewhere, and the final one once', () => {
    let t = 0;
    const s = sink(false);
    const log = new Logger('align', { sink: s.sink, now: () => t });
    const p = log.progress(100, { unit: 'utterances', startAt: 20 });
    for (let i = 21; i <= 100; i++) {
      t += 10;
      p.update(i);
    }
    p.end();
    const lines = s.chunks.join('').trim().split('\n');
    expect(lines).toHaveLength(9); // the first item, 30 % ... 90 %, the end
    expect(lines[0]).toMatch(/^align: 21\/100 utterances, 100\.0 utterances\/s/);
    expect(lines.at(-1)).toMatch(/^align: 100\/100 utterances, 100\.0 utterances\/s, elapsed 1s, ETA 0s$/);
  });

  it('writes one JSON object per line with --log-json, and nothing but warnings with --quiet', () => {
    let t = 0;
    const s = sink(true);
    configureLog({ json: true });
    const log = new Logger('train', { sink: s.sink, now: () => t });
    log.info('start', { members: 2 });
    const p = log.progress(2);
    t += 2000;
    p.tick();
    t += 2000;
    p.tick();
    const objs = s.chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objs[0]).toMatchObject({ level: 'info', name: 'train', message: 'start', members: 2 });
    expect(objs.at(-1)).toMatchObject({ level: 'progress', done: 2, total: 2, final: true, etaSeconds: 0, ratePerSecond: 0.5 });
    expect(process.env.KDASR_LOG_JSON).toBe('1');

    configureLog({ json: false, quiet: true });
    const q = sink(false);
    const quiet = new Logger('train', { sink: q.sink, now: () => t });
    quiet.info('hidden');
    quiet.progress(1).tick();
    quiet.warn('shown');
    expect(q.chunks.join('')).toBe('train: shown\n');
  });
});
