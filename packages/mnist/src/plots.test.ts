import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { linePlotSpec, markdownTable, renderSvg, writePlot } from './plots.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('linePlotSpec / renderSvg (Vega-Lite in Node)', () => {
  it('renders lines with a legend and escaped text; non-finite points become gaps', async () => {
    const spec = linePlotSpec(
      [
        { name: 'a<b', points: [[1, 1], [2, 4], [3, 9]] },
        { name: 'gap', points: [[1, 2], [2, NaN], [3, 3], [4, 1]] },
      ],
      { title: 'T & T', xLabel: 'epoch', yLabel: 'err' },
    );
    const values = (spec.data as { values: { name: string; y: number | null }[] }).values;
    expect(values.filter((v) => v.name === 'gap').map((v) => v.y)).toEqual([2, null, 3, 1]);
    const svg = await renderSvg(spec);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('a&lt;b');
    expect(svg).toContain('T &amp; T');
    expect(svg).toContain('epoch');
    expect(svg).not.toContain('NaN');
    // One line path per series; the gap starts a new sub-path (a second "M") in the second one only.
    expect(svg).toMatch(/name: a&lt;b[^>]*d="M[^"M]*"/);
    expect(svg).toMatch(/name: gap[^>]*d="M[^"]*M[^"]*"/);
  });

  it('gives series that share a name one legend entry and colour; empty names get none', () => {
    const spec = linePlotSpec([
      { name: 'members', points: [[1, 1]], color: '#999999' },
      { name: '', points: [[1, 2]], color: '#999999' },
      { name: 'members', points: [[1, 3]] },
      { name: 'student', points: [[1, 4]] },
    ]);
    const color = (spec as { encoding: { color: { scale: { domain: string[]; range: string[] }; legend: { values: string[] } } } }).encoding.color;
    expect(color.scale.domain).toEqual(['members', '', 'student']);
    expect(color.scale.range).toEqual(['#999999', '#999999', '#ff7f0e']);
    expect(color.legend.values).toEqual(['members', 'student']);
  });

  it('survives empty and constant data', async () => {
    expect(await renderSvg(linePlotSpec([]))).toContain('</svg>');
    expect(await renderSvg(linePlotSpec([{ name: 'c', points: [[1, 5], [2, 5]] }]))).not.toContain('NaN');
  });

  it('writePlot saves the SVG with its spec beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdasr-plots-'));
    dirs.push(dir);
    const spec = linePlotSpec([{ name: 's', points: [[0, 0], [1, 10]] }], { title: 'rising' });
    expect(await writePlot(dir, 'rise', spec)).toBe('rise.svg');
    expect(readdirSync(dir).sort()).toEqual(['rise.svg', 'rise.vl.json']);
    expect(JSON.parse(readFileSync(join(dir, 'rise.vl.json'), 'utf8'))).toEqual(spec);
    expect(readFileSync(join(dir, 'rise.svg'), 'utf8')).toContain('rising');
  });
});

describe('markdownTable', () => {
  it('aligns columns and escapes pipes in cells', () => {
    expect(markdownTable([['system', 'errors'], ['a|b', '12']], ['l', 'r']).split('\n')).toEqual(['| system | errors |', '| :- | -: |', '| a\\|b | 12 |']);
  });
});
