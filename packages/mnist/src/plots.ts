/**
 * Report plots and tables for every experiment: a Vega-Lite spec per plot, rendered to SVG in Node by Vega (no
 * browser, no canvas), with the spec saved beside the SVG (`NAME.vl.json`) so a plot can be restyled or re-rendered
 * in the Vega editor; markdown tables through `markdown-table`.
 */
import { join } from 'node:path';
import { markdownTable as renderTable } from 'markdown-table';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '@kdasr/core';

export type VegaLiteSpec = TopLevelSpec;

export interface Series {
  name: string;
  /** [x, y] points; non-finite values are skipped (a gap in the line, not a crash). */
  points: [number, number][];
  color?: string;
}

export interface PlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Plot area size in pixels (axes, title and legend come on top). */
  width?: number;
  height?: number;
  /** Fixed y range; default: the data's range. */
  yRange?: [number, number];
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/**
 * Lines, one per series, with a legend. Series that share a name share one legend entry and colour (e.g. all
 * ensemble members); an empty name draws the line without a legend entry.
 */
export function linePlotSpec(series: Series[], options: PlotOptions = {}): VegaLiteSpec {
  const names: string[] = [];
  const colors: string[] = [];
  series.forEach((s, i) => {
    if (names.includes(s.name)) return;
    names.push(s.name);
    colors.push(s.color ?? PALETTE[i % PALETTE.length]);
  });
  const values = series.flatMap((s, i) =>
    s.points.map(([x, y], order) => ({ series: i, name: s.name, order, x: Number.isFinite(x) ? x : null, y: Number.isFinite(x) && Number.isFinite(y) ? y : null })),
  );
  return {
    $schema: SCHEMA,
    ...(options.title ? { title: options.title } : {}),
    width: options.width ?? 400,
    height: options.height ?? 260,
    background: 'white',
    data: { values },
    // Non-finite values are null: they break the line there (Vega-Lite's default for invalid values in paths).
    mark: { type: 'line', point: { size: 16 }, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xLabel ?? null, scale: { zero: false } },
      y: { field: 'y', type: 'quantitative', title: options.yLabel ?? null, scale: options.yRange ? { domain: options.yRange } : { zero: false } },
      color: {
        field: 'name',
        type: 'nominal',
        scale: { domain: names, range: colors },
        legend: { title: null, values: names.filter((n) => n !== '') },
      },
      detail: { field: 'series', type: 'nominal' },
      order: { field: 'order', type: 'quantitative' },
    },
  };
}

/** The SVG document for a Vega-Lite spec (Vega's headless SVG renderer; text widths are estimated). */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  // Vega tags data objects in place: render a copy, so the saved spec stays as built.
  const view = new vega.View(vega.parse(compile(structuredClone(spec)).spec), { renderer: 'none' });
  try {
    return (await view.toSVG()) + '\n';
  } finally {
    view.finalize();
  }
}

/** Writes `dir/NAME.svg` and its spec `dir/NAME.vl.json`, each atomically; returns the SVG's file name. */
export async function writePlot(dir: string, name: string, spec: VegaLiteSpec): Promise<string> {
  const svg = await renderSvg(spec);
  writeFileAtomic(join(dir, `${name}.vl.json`), JSON.stringify(spec, null, 2) + '\n');
  writeFileAtomic(join(dir, `${name}.svg`), svg);
  return `${name}.svg`;
}

/**
 * A GitHub-flavoured markdown table: the first row is the header; `align` per column ('l', 'c', 'r'; default
 * left). Pipes inside cells are escaped (markdown-table leaves them alone).
 */
export function markdownTable(rows: readonly (readonly string[])[], align?: readonly ('l' | 'c' | 'r' | '')[]): string {
  return renderTable(
    rows.map((r) => r.map((c) => c.replace(/\|/g, '\\|'))),
    { align: align ?? [], alignDelimiters: false },
  );
}
