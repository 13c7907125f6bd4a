/** What a cell takes on screen: its color codes take none. */
// eslint-disable-next-line no-control-regex
const shownLength = (cell: string): number => cell.replace(/\x1b\[[0-9;]*m/g, '').length;

const pad = (cell: string, width: number, start: boolean): string => {
  const room = ' '.repeat(Math.max(0, width - shownLength(cell)));
  return start ? room + cell : cell + room;
};

/** Left-aligned columns separated by two spaces, numbers right-aligned: what `docker ps` prints. */
export function formatTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, column) => Math.max(...cells.map((row) => shownLength(row[column] ?? ''))));
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => typeof row[column] === 'number'));
  return cells
    .map((row) =>
      row
        .map((cell, column) => pad(cell, widths[column]!, numeric[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Bytes as a short human size (RSS). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/**
 * Text for one cell of a list: control characters shown escaped (a newline would break the row)
 * and, past `max` characters, cut with an ellipsis (a 900 KB command line is one short cell).
 */
export function cut(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const oneLine = text.replace(/[\x00-\x1f\x7f]/g, (char) => JSON.stringify(char).slice(1, -1));
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}
