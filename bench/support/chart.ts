import { describeTarget, fmt } from './table.ts';
import type { BenchResult } from './results.ts';

const PANEL_W = 300;
const PANEL_H = 190;
const BAR_AREA = 120;
const COLOURS: Record<string, string> = {
  ours: '#2f6fdf',
  'ours, 2 readers': '#6b9cf0',
  '@prometheus-io/client': '#e6522c',
  'prom-client': '#f0a070',
  'otel-sdk': '#7a7a7a',
  'otel-sdk + View': '#5a5a5a',
  'otel-exporter': '#a8a8a8',
  'ours + compile cache': '#6b9cf0',
  direct: '#3a9a5b',
  none: '#3a9a5b',
  dnsmasq: '#e6522c',
  haproxy: '#e6522c',
  '@opentelemetry/auto-instrumentations-node': '#7a7a7a',
};

/**
 * One SVG chart of a benchmark: a panel per row (each with its own scale, since rows differ by orders of
 * magnitude; a row in its own unit, or where higher is better, says so in its panel title), a bar per peer
 * labelled with its figure, and the row's target as a dashed red line.
 * A plain string template: no chart library is installed, and the chart needs none.
 */
export function renderChart(result: BenchResult): string {
  const cols = Math.min(3, result.rows.length);
  const rows = Math.ceil(result.rows.length / cols);
  const width = cols * PANEL_W;
  const height = 40 + rows * PANEL_H;
  const panels = result.rows.map((row, i) => {
    const x0 = (i % cols) * PANEL_W + 10;
    const y0 = 40 + Math.floor(i / cols) * PANEL_H;
    const max = Math.max(...row.figures.map((f) => f.value), row.targetValue ?? 0) || 1;
    const barW = Math.min(44, (PANEL_W - 30) / row.figures.length - 6);
    const base = y0 + 20 + BAR_AREA;
    const bars = row.figures.map((f, j) => {
      const h = (f.value / max) * BAR_AREA;
      const x = x0 + 5 + j * (barW + 6);
      return (
        `<rect x="${x.toFixed(1)}" y="${(base - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${COLOURS[f.name] ?? '#999'}"><title>${esc(f.name)}: ${fmt(f.value)}</title></rect>` +
        `<text x="${(x + barW / 2).toFixed(1)}" y="${(base - h - 3).toFixed(1)}" font-size="9" text-anchor="middle">${fmt(f.value)}</text>` +
        `<text x="${(x + barW / 2).toFixed(1)}" y="${base + 10}" font-size="8" text-anchor="end" transform="rotate(-25 ${(x + barW / 2).toFixed(1)} ${base + 10})">${esc(f.name.replace(/^@[^/]+\//, ''))}</text>`
      );
    });
    let target = '';
    if (row.targetValue !== undefined && row.target) {
      const y = base - (row.targetValue / max) * BAR_AREA;
      target =
        `<line x1="${x0}" x2="${x0 + PANEL_W - 30}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#c00" stroke-dasharray="4 3"/>` +
        `<text x="${x0 + PANEL_W - 30}" y="${(y - 3).toFixed(1)}" font-size="9" fill="#c00" text-anchor="end">target ${esc(describeTarget(row.target, row.higherIsBetter))}</text>`;
    }
    const label = `${row.case}${row.unit ? `, ${row.unit}` : ''}${row.higherIsBetter ? ' (higher is better)' : ''}`;
    // Long titles shrink to fit the panel (about 0.6 em per character).
    const size = Math.min(11, (PANEL_W - 20) / (0.6 * label.length)).toFixed(1);
    return `<g><text x="${x0}" y="${y0 + 10}" font-size="${size}" font-weight="bold">${esc(label)}</text>${bars.join('')}${target}</g>`;
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="#fff"/>` +
    `<text x="10" y="18" font-size="14" font-weight="bold">${esc(result.title)}</text>` +
    `<text x="10" y="32" font-size="10" fill="#555">${esc(result.unit)}, lower is better unless marked; Node ${esc(result.node)}, load ${result.loadAverage.join(' ')}, ${esc(result.date.slice(0, 10))}</text>` +
    `${panels.join('')}</svg>\n`
  );
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
