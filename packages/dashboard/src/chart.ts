/** The throughput chart: one inline SVG bar per bucket (a minute, or 30 s), failed share stacked in red. No library. */
import { h } from './dom.js';
import type { Bucket } from './history.js';

const SVG = 'http://www.w3.org/2000/svg';

export function svg(tag: string, attributes: Record<string, string | number>): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

export function throughputChart(buckets: Bucket[], per = '30 s'): HTMLElement {
  const width = 600;
  const height = 120;
  const top = Math.max(1, ...buckets.map((bucket) => bucket.processed));
  const slot = width / Math.max(1, buckets.length);
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', preserveAspectRatio: 'none' });
  const label = svg('title', {});
  label.textContent = `tasks finished per ${per} over the last 10 minutes (failed in red)`;
  chart.appendChild(label);
  chart.appendChild(svg('line', { x1: 0, y1: height, x2: width, y2: height, class: 'axis' }));
  buckets.forEach((bucket, i) => {
    const x = i * slot + 1;
    const ok = ((bucket.processed - bucket.failed) / top) * height;
    const bad = (bucket.failed / top) * height;
    if (ok > 0) chart.appendChild(svg('rect', { x, y: height - ok - bad, width: slot - 2, height: ok, class: 'bar-ok' }));
    if (bad > 0) chart.appendChild(svg('rect', { x, y: height - bad, width: slot - 2, height: bad, class: 'bar-failed' }));
  });
  return h(
    'figure',
    { class: 'chart-box', 'data-testid': 'throughput-chart' },
    h('span', { class: 'peak' }, `${top} per ${per}`),
    chart,
    h('figcaption', {}, h('span', {}, '−10 min'), h('span', {}, 'now')),
  );
}
