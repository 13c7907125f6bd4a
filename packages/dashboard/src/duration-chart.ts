/**
 * The history's duration chart: one dot per run, its finish time across, its duration up, coloured
 * by status (inline SVG, no library). A run's dot names it on hover.
 */
import { svg } from './chart.js';
import { duration } from './format.js';
import { h } from './dom.js';

/** What the chart needs of a run. */
export interface ChartRun {
  taskId: string;
  command: string;
  status: string;
  finishedAt: number;
  durationMs: number;
}

const WIDTH = 600;
const HEIGHT = 160;
/** Room around the dots so none is cut at an edge. */
const PAD = 6;

/** The class a status's dot gets: `dot-succeeded`, `dot-timed-out`, … */
export const dotClass = (status: string) => `dot dot-${status.replace(/\s+/g, '-')}`;

export function durationChart(runs: readonly ChartRun[]): HTMLElement {
  const first = Math.min(...runs.map((run) => run.finishedAt));
  const last = Math.max(...runs.map((run) => run.finishedAt));
  const top = Math.max(1, ...runs.map((run) => run.durationMs));
  const span = Math.max(1, last - first);
  const x = (at: number) => PAD + (runs.length === 1 ? (WIDTH - 2 * PAD) / 2 : ((at - first) / span) * (WIDTH - 2 * PAD));
  const y = (ms: number) => HEIGHT - PAD - (ms / top) * (HEIGHT - 2 * PAD);
  const chart = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'chart durations', role: 'img' });
  const label = svg('title', {});
  label.textContent = `duration of the ${runs.length} runs listed, by finish time (failed in red)`;
  chart.appendChild(label);
  chart.appendChild(svg('line', { x1: 0, y1: HEIGHT - PAD, x2: WIDTH, y2: HEIGHT - PAD, class: 'axis' }));
  // oldest first, so the newest dots are drawn on top
  for (const run of [...runs].sort((a, b) => a.finishedAt - b.finishedAt)) {
    const dot = svg('circle', {
      cx: x(run.finishedAt).toFixed(1),
      cy: y(run.durationMs).toFixed(1),
      r: 3,
      class: dotClass(run.status),
      'data-task': run.taskId,
      'data-duration': run.durationMs,
    });
    const tip = svg('title', {});
    tip.textContent = `${run.command} · ${run.status} · ${duration(run.durationMs)} · ${new Date(run.finishedAt).toLocaleString()}`;
    dot.appendChild(tip);
    chart.appendChild(dot);
  }
  return h(
    'figure',
    { class: 'chart-box', 'data-testid': 'duration-chart' },
    h('span', { class: 'peak' }, duration(top)),
    chart,
    h('figcaption', {}, h('span', {}, new Date(first).toLocaleString()), h('span', {}, new Date(last).toLocaleString())),
  );
}
