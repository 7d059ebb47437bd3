// A scatter-with-lines plot as an SVG string (no DOM, no library): one series per algorithm,
// its points joined in step order and its last point marked, with nice ticks and a legend.
// Used by examples/compare.ts for the README's reward-against-KL figure.

import { niceTicks } from '../lib/ticks';

export interface PlotSeries {
  label: string;
  color: string;
  /** Points in order (e.g. one per training step). */
  points: readonly { x: number; y: number }[];
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
}


const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (x: number) => String(Number(x.toFixed(2)));

export function svgPlot(series: readonly PlotSeries[], options: PlotOptions): string {
  const width = options.width ?? 640, height = options.height ?? 400;
  const margin = { left: 64, right: 150, top: 36, bottom: 52 };
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (all.length === 0) throw new Error('svgPlot: no finite points');
  const range = (values: number[]) => {
    let lo = Math.min(...values), hi = Math.max(...values);
    if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
    const pad = (hi - lo) * 0.05;
    return [lo - pad, hi + pad] as const;
  };
  const [x0, x1] = range(all.map((p) => p.x));
  const [y0, y1] = range(all.map((p) => p.y));
  const plotW = width - margin.left - margin.right, plotH = height - margin.top - margin.bottom;
  const sx = (x: number) => margin.left + ((x - x0) / (x1 - x0)) * plotW;
  const sy = (y: number) => margin.top + plotH - ((y - y0) / (y1 - y0)) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${margin.left}" y="20" font-size="14" font-weight="bold">${escape(options.title)}</text>`);
  for (const t of niceTicks(x0, x1, 6)) {
    out.push(`<line x1="${fmt(sx(t))}" y1="${margin.top}" x2="${fmt(sx(t))}" y2="${margin.top + plotH}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${fmt(sx(t))}" y="${margin.top + plotH + 16}" text-anchor="middle" fill="#444">${t.toPrecision(3).replace(/\.?0+$/, '')}</text>`);
  }
  for (const t of niceTicks(y0, y1, 5)) {
    out.push(`<line x1="${margin.left}" y1="${fmt(sy(t))}" x2="${margin.left + plotW}" y2="${fmt(sy(t))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${margin.left - 6}" y="${fmt(sy(t) + 4)}" text-anchor="end" fill="#444">${t.toPrecision(3).replace(/\.?0+$/, '')}</text>`);
  }
  out.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${margin.left + plotW / 2}" y="${height - 14}" text-anchor="middle">${escape(options.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(options.yLabel)}</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (pts.length === 0) return;
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" stroke-opacity="0.7" points="${pts.map((p) => `${fmt(sx(p.x))},${fmt(sy(p.y))}`).join(' ')}"/>`);
    for (const p of pts) out.push(`<circle cx="${fmt(sx(p.x))}" cy="${fmt(sy(p.y))}" r="2" fill="${s.color}"/>`);
    const last = pts[pts.length - 1]!;
    out.push(`<circle cx="${fmt(sx(last.x))}" cy="${fmt(sy(last.y))}" r="5" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    const ly = margin.top + 14 + i * 20;
    out.push(`<line x1="${width - margin.right + 14}" y1="${ly - 4}" x2="${width - margin.right + 34}" y2="${ly - 4}" stroke="${s.color}" stroke-width="3"/>`);
    out.push(`<text x="${width - margin.right + 40}" y="${ly}">${escape(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
