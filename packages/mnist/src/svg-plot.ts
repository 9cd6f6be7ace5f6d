/**
 * A small dependency-free SVG line plot (training curves in results.md). Kept generic so it can move to a
 * shared package later.
 */
export interface Series {
  name: string;
  /** [x, y] points; non-finite values are skipped (a gap, not a crash). */
  points: [number, number][];
  color?: string;
}

export interface PlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Fixed y range; default: the data's range with 5% padding. */
  yRange?: [number, number];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** "Nice" tick values (1, 2, 5 × 10^k steps) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(1) : String(Number(v.toPrecision(4)));
}

export function linePlot(series: Series[], options: PlotOptions = {}): string {
  const W = options.width ?? 560;
  const H = options.height ?? 320;
  const m = { left: 60, right: 150, top: options.title ? 30 : 12, bottom: 42 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const pts = series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  let [x0, x1] = pts.length ? [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))] : [0, 1];
  let [y0, y1] = options.yRange ?? (pts.length ? [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))] : [0, 1]);
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  if (!options.yRange) {
    const pad = (y1 - y0) * 0.05;
    [y0, y1] = [y0 - pad, y1 + pad];
  }
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`);
  if (options.title) out.push(`<text x="${m.left + pw / 2}" y="18" text-anchor="middle" font-size="13">${escapeXml(options.title)}</text>`);
  for (const t of niceTicks(x0, x1)) {
    const x = sx(t).toFixed(1);
    out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#eee"/>`);
    out.push(`<text x="${x}" y="${m.top + ph + 14}" text-anchor="middle">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(y0, y1)) {
    const y = sy(t).toFixed(1);
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${m.left - 4}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  if (options.xLabel) out.push(`<text x="${m.left + pw / 2}" y="${H - 6}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  if (options.yLabel)
    out.push(`<text x="14" y="${m.top + ph / 2}" text-anchor="middle" transform="rotate(-90 14 ${m.top + ph / 2})">${escapeXml(options.yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    // Non-finite points split the line into runs.
    const runs: string[][] = [[]];
    for (const [x, y] of s.points) {
      if (Number.isFinite(x) && Number.isFinite(y)) runs[runs.length - 1].push(`${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
      else if (runs[runs.length - 1].length) runs.push([]);
    }
    for (const r of runs) {
      if (r.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${r.join(' ')}"/>`);
      else if (r.length === 1) {
        const [cx, cy] = r[0].split(',');
        out.push(`<circle cx="${cx}" cy="${cy}" r="2" fill="${color}"/>`);
      }
    }
    const ly = m.top + 10 + i * 16;
    out.push(`<line x1="${m.left + pw + 10}" y1="${ly}" x2="${m.left + pw + 28}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${m.left + pw + 32}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
