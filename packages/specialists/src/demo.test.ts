import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initRuntime } from '@kdasr/core';
import { runSpecialistsDemo } from './demo.js';

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
});

describe('runSpecialistsDemo (smoke)', () => {
  it('trains a generalist and specialists, combines them with Eq. 5, and reports the paper metrics', async () => {
    const before = tf.memory().numTensors;
    const r = await runSpecialistsDemo({ preset: 'smoke' });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.numClasses).toBe(40);
    // Covariance k-means recovers the planted confusable groups.
    expect(r.clusterTables[0].purity).toBeGreaterThan(0.95);
    expect(r.specialists.length).toBe(6);
    expect(r.eq5.notConverged).toBe(0);
    // Specialists help on this task (measured: 77.4% -> 80.5%); a broken combination or dustbin lands far below.
    expect(r.combined.eq5.combinedAccuracy).toBeGreaterThan(r.generalistAccuracy + 0.01);
    expect(r.combined.eq5.conditional.examples).toBeLessThan(r.testExamples);
    const rows = r.combined.eq5.byCoverage;
    expect(rows.map((x) => x.specialists)).toEqual([0, 1, 2]);
    expect(rows.reduce((s, x) => s + x.examples, 0)).toBe(r.testExamples);
    expect(r.table4).toContain('| # of specialists covering |');
    expect(r.seconds.total).toBeLessThan(60);
  });
});
