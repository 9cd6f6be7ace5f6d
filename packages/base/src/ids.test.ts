import { describe, expect, it } from 'vitest';
import { idProblem, UnsafeIdError, validateId } from './ids.js';

describe('validateId', () => {
  it('accepts the ids real corpora use', () => {
    for (const id of ['84-121123-0000', 'fsdd-jackson-3-07', 'spk1_utt2', 'A01.wav', 'sw02001-A_000098-001119', 'utt:1', 'x+y=z', 'a.b.c'])
      expect(idProblem(id), id).toBeNull();
  });

  it('rejects path separators, "..", a leading dot, whitespace, control characters and the empty string', () => {
    const bad: [string, RegExp][] = [
      ['../../escape', /"\/"/],
      ['a/b', /"\/"/],
      ['a\\b', /"\\"/],
      ['a..b', /"\.\."/],
      ['..', /"\.\."/],
      ['.hidden', /starts with "\."/],
      ['a b', /whitespace \(U\+0020\)/],
      ['a\tb', /whitespace \(U\+0009\)/],
      ['a\u00a0b', /whitespace \(U\+00A0\)/],
      ['a\u0000b', /control character \(U\+0000\)/],
      ['a\u007fb', /control character \(U\+007F\)/],
      ['a\u200bb', /control character \(U\+200B\)/],
      ['', /is empty/],
    ];
    for (const [id, why] of bad) expect(idProblem(id), JSON.stringify(id)).toMatch(why);
  });

  it('names the file, the line and the field, and says how to rename', () => {
    let err: unknown;
    try {
      validateId('../../escape', { file: 'data/train/wav.scp', line: 3, field: 'recording id' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsafeIdError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^data\/train\/wav\.scp:3: recording id "\.\.\/\.\.\/escape" contains "\/"/);
    expect(msg).toMatch(/rename it/);
    expect(msg).toMatch(/wav\.scp, text, utt2spk and segments/);
    expect(validateId('ok-1', 'x')).toBe('ok-1');
    expect(() => validateId('a/b', 'models.json')).toThrow(/^models\.json: id "a\/b"/);
  });
});
