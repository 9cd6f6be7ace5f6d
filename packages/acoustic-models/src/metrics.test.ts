import { describe, expect, it } from 'vitest';
import { StateInventory, expectedCalibrationError, phoneConfusions } from './index.js';

describe('expectedCalibrationError', () => {
  it('is 0 for calibrated bins and |acc - conf| otherwise', () => {
    expect(expectedCalibrationError([1, 1, 1, 1], [1, 1, 1, 1])).toBe(0);
    expect(expectedCalibrationError([0.9, 0.9, 0.9, 0.9], [1, 1, 1, 0])).toBeCloseTo(0.15, 12);
    // Two bins, half the frames each: (0.5·|1 − 0.95| + 0.5·|0 − 0.3|).
    expect(expectedCalibrationError([0.95, 0.95, 0.3, 0.3], [1, 1, 0, 0])).toBeCloseTo(0.5 * 0.05 + 0.5 * 0.3, 12);
    expect(() => expectedCalibrationError([0.5], [1, 0])).toThrow(/1 confidences for 2 outcomes/);
  });
});

describe('phoneConfusions', () => {
  it('counts errors between phones, not between states of one phone', () => {
    const inv = new StateInventory({ phones: ['sil', 'a', 'b'], statesPerPhone: 2, statesPerSilence: 1 });
    const A0 = inv.classId('a', 0);
    const A1 = inv.classId('a', 1);
    const B0 = inv.classId('b', 0);
    const labels = Int32Array.from([A0, A0, A0, A1, B0, B0]);
    const pred = Int32Array.from([A0, A1, B0, B0, B0, 0]);
    const { confusions, phoneAccuracy } = phoneConfusions(pred, labels, inv);
    expect(confusions).toEqual([
      { ref: 'a', hyp: 'b', count: 2, rate: 0.5 },
      { ref: 'b', hyp: 'sil', count: 1, rate: 0.5 },
    ]);
    expect(phoneAccuracy).toEqual({ a: 0.5, b: 0.5 });
  });
});
