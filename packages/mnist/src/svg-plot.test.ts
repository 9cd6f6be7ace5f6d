import { describe, expect, it } from 'vitest';
import { linePlot, niceTicks } from './svg-plot.js';

describe('linePlot', () => {
  it('draws one polyline per series with a legend, escaping text', () => {
    const svg = linePlot(
      [
        { name: 'a<b', points: [[1, 1], [2, 4], [3, 9]] },
        { name: 'gap', points: [[1, 2], [2, NaN], [3, 3], [4, 1]] },
      ],
      { title: 'T & T', xLabel: 'epoch', yLabel: 'err' },
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(svg).toContain('a&lt;b');
    expect(svg).toContain('T &amp; T');
    // Series 1: one line; series 2: a lone point, then a 2-point line after the gap.
    expect(svg.match(/<polyline/g)!.length).toBe(2);
    expect(svg.match(/<circle/g)!.length).toBe(1);
    expect(svg).not.toContain('NaN');
  });

  it('maps larger y values higher on the page', () => {
    const svg = linePlot([{ name: 's', points: [[0, 0], [1, 10]] }]);
    const pts = /points="([^"]+)"/.exec(svg)![1].split(' ').map((p) => p.split(',').map(Number));
    expect(pts[1][0]).toBeGreaterThan(pts[0][0]);
    expect(pts[1][1]).toBeLessThan(pts[0][1]);
  });

  it('survives empty and constant data', () => {
    expect(linePlot([])).toContain('</svg>');
    expect(linePlot([{ name: 'c', points: [[1, 5], [2, 5]] }])).not.toContain('NaN');
  });
});

describe('niceTicks', () => {
  it('uses 1-2-5 steps inside the range', () => {
    expect(niceTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0.13, 0.92)).toEqual([0.2, 0.4, 0.6, 0.8]);
  });
});
