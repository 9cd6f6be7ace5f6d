import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aliTargets, readAli } from './alignment-file.js';
import { StateInventory } from './states.js';

const dir = mkdtempSync(join(tmpdir(), 'kdasr-ali-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function aliDir(name: string, lines: string[]): string {
  const d = join(dir, name);
  mkdirSync(d);
  writeFileSync(join(d, 'labels.jsonl'), lines.join('\n') + '\n');
  return d;
}

describe('readAli', () => {
  const inv = new StateInventory({ phones: ['sil', 'a'], statesPerPhone: 2, statesPerSilence: 1 });

  it('reads labels, mono and phone segments; without a tree the targets are the monophone states', () => {
    const d = aliDir('ok', [JSON.stringify({ id: 'u1', labels: [0, 1, 2], mono: [0, 1, 2], phones: [{ phone: 'sil', startFrame: 0, endFrame: 1 }, { phone: 'a', startFrame: 1, endFrame: 3 }] }), JSON.stringify({ id: 'u2', labels: [0] })]);
    const a = readAli(d);
    expect([...a.keys()]).toEqual(['u1', 'u2']);
    expect(Array.from(aliTargets(a.get('u1')!, inv, undefined))).toEqual([0, 1, 2]);
    expect(a.get('u2')!.mono).toBeUndefined();
  });

  it('names the file, the line and the field of a bad line', () => {
    expect(() => readAli(join(dir, 'none'))).toThrow(`${join(dir, 'none', 'labels.jsonl')} does not exist; write it with kdasr align`);
    const f = (name: string) => join(dir, name, 'labels.jsonl');
    expect(() => readAli(aliDir('json', ['{"id":"u1","labels":[0]}', '{"id":']))).toThrow(`${f('json')}:2: not valid JSON`);
    expect(() => readAli(aliDir('labels', ['{"id":"u1","labels":[0,"x"]}']))).toThrow(`${f('labels')}:1: field "labels" must be an array of class ids (integers >= 0)`);
    expect(() => readAli(aliDir('id', ['{"labels":[0]}']))).toThrow(`${f('id')}:1: field "id" must be a string`);
  });
});
