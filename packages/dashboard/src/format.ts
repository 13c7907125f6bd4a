/** How numbers, times and sizes read on the page. */

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let n = value;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit += 1;
  }
  return `${n.toFixed(n < 10 && unit > 0 ? 1 : 0)} ${units[unit]}`;
}

export function percent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${value.toFixed(value < 10 ? 1 : 0)} %`;
}

export function count(value: number | null | undefined, capped = false): string {
  if (value === null || value === undefined) return '—';
  return capped ? `${value}+` : String(value);
}

/** Parses the API's RFC 3339 times; Go's zero time and null are "never". */
export function parseTime(value: string | null | undefined): number | null {
  if (!value || value.startsWith('0001-')) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

export function clock(ms: number | null): string {
  if (ms === null) return '—';
  const date = new Date(ms);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}

export function ago(ms: number | null, now = Date.now()): string {
  if (ms === null) return '—';
  const delta = now - ms;
  return delta >= 0 ? `${duration(delta)} ago` : `in ${duration(-delta)}`;
}

/** Characters a POSIX shell reads literally in a word: anything else is quoted. */
const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** argv as a POSIX shell would need it typed: `sh -c 'while :; do :; done'`. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((arg) => (SHELL_SAFE.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * What a task runs, as a person would type it: an exec-form task's argv shell-quoted. Its
 * `task_name` is kept when the producer named it (a name that is not its argv, plain or quoted).
 */
export function commandText(task: { task_name: string; command?: { name: string; args: string[] | null } | null }): string {
  const args = task.command?.args;
  if (!task.command || !args) return task.task_name;
  const argv = [task.command.name, ...args];
  return task.task_name === argv.join(' ') || task.task_name === shellQuote(argv) ? shellQuote(argv) : task.task_name;
}

/** Characters of a task name a list or dialog shows; CSS cuts what does not fit with an ellipsis. */
export const NAME_CHARS = 300;

/** A name cut to NAME_CHARS with an ellipsis: a 900 KB name must not reach the page whole. */
export function clip(text: string, chars = NAME_CHARS): string {
  return text.length > chars ? `${text.slice(0, chars)}…` : text;
}
