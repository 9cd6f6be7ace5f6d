import { describe, expect, it } from 'vitest';
import { crc32 } from './archive.js';

describe('crc32 (the feature archive checksum)', () => {
  it('is CRC-32/IEEE: the standard check value, and chaining over parts equals the whole', () => {
    const bytes = new TextEncoder().encode('123456789');
    expect(crc32(bytes)).toBe(0xcbf43926);
    expect(crc32(bytes.subarray(4), crc32(bytes.subarray(0, 4)))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});
