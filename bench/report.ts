import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Machine } from './stats.js';
import { median, round3 } from './stats.js';

/**
 * One comparison: Coyotes' figure against a baseline measured in the same run. Only the ratio
 * carries meaning on a shared, noisy machine; the absolute figures are shown for scale.
 */
export interface Row {
  /** Stable key in the JSON, e.g. `e2e-1ch-vs-node`. */
  id: string;
  measure: string;
  unit: string;
  /** Coyotes' figure per round; the row reports the median. */
  rounds: number[];
  baseline?: { name: string; rounds: number[] };
  /** Target on the ratio coyotes / baseline, or on the figure itself when there is no baseline. */
  target?: { on: 'ratio' | 'value'; op: '>=' | '<='; value: number };
  note?: string;
}

export interface RowResult extends Row {
  value: number;
  baselineValue: number | null;
  ratio: number | null;
  met: boolean | null;
}

export function evaluate(row: Row): RowResult {
  const value = median(row.rounds);
  const baselineValue = row.baseline ? median(row.baseline.rounds) : null;
  const ratio = baselineValue ? value / baselineValue : null;
  let met: boolean | null = null;
  if (row.target) {
    const subject = row.target.on === 'ratio' ? ratio : value;
    if (subject !== null) met = row.target.op === '>=' ? subject >= row.target.value : subject <= row.target.value;
  }
  return { ...row, value, baselineValue, ratio, met };
}

const fmt = (value: number | null, unit = ''): string => (value === null ? '—' : `${round3(value).toLocaleString('en-US')}${unit}`);

function targetText(row: Row): string {
  if (!row.target) return '—';
  const op = row.target.op === '>=' ? '≥' : '≤';
  return row.target.on === 'ratio' ? `${op} ${row.target.value}×` : `${op} ${row.target.value.toLocaleString('en-US')} ${row.unit}`;
}

/** The markdown table the README and docs/benchmarks.md show. */
export function renderTable(results: RowResult[]): string {
  const lines = ['| measure | Coyotes | baseline (same run) | ratio | target | met |', '| --- | --- | --- | --- | --- | --- |'];
  for (const r of results) {
    const baseline = r.baseline ? `${fmt(r.baselineValue)} ${r.unit} (${r.baseline.name})` : '—';
    const met = r.met === null ? '—' : r.met ? 'yes' : '**no**';
    lines.push(
      `| ${r.measure} | ${fmt(r.value)} ${r.unit} | ${baseline} | ${r.ratio === null ? '—' : `${round3(r.ratio)}×`} | ${targetText(r)} | ${met} |`,
    );
  }
  return lines.join('\n');
}

export interface Report {
  date: string;
  machine: Machine;
  durationS: number;
  rounds: number;
  results: RowResult[];
  notes: string[];
}

export function renderMarkdown(report: Report): string {
  const m = report.machine;
  const notes = report.notes.length > 0 ? `\n\nNotes:\n\n${report.notes.map((n) => `- ${n}`).join('\n')}` : '';
  const rowNotes = report.results.filter((r) => r.note).map((r) => `- ${r.measure}: ${r.note}`);
  return (
    `Measured ${report.date} on ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB memory, load average ${m.loadAverage} at start; ` +
    `Node ${m.node}, Redis ${m.redis}, Linux ${m.kernel}. Medians of ${report.rounds} rounds; the whole run took ${report.durationS} s.\n\n` +
    renderTable(report.results) +
    (rowNotes.length > 0 ? `\n\n${rowNotes.join('\n')}` : '') +
    notes +
    '\n'
  );
}

/** Writes `latest.md` and `latest.json` under bench/results/. */
export function writeReport(dir: string, report: Report): { markdown: string; json: string } {
  mkdirSync(dir, { recursive: true });
  const markdown = path.join(dir, 'latest.md');
  const json = path.join(dir, 'latest.json');
  writeFileSync(markdown, renderMarkdown(report));
  writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  return { markdown, json };
}
