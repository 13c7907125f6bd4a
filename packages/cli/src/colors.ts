import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Whether to color what goes to a stream, as Node itself decides for its own output
 * (tty.WriteStream.getColorDepth): FORCE_COLOR wins ('', 1, 2, 3 or true: on; anything else: off),
 * then NO_COLOR (any non-empty value, no-color.org) or NODE_DISABLE_COLORS turn colors off, then
 * TERM=dumb; otherwise colors exactly when the stream is a terminal (a pipe or a file gets none).
 */
export function colorsWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return ['', '1', '2', '3', 'true'].includes(force);
  if (env.NO_COLOR || env.NODE_DISABLE_COLORS !== undefined || env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

/**
 * picocolors' formatters, on or off: it writes the escape codes (and closes nested styles
 * right), the decision above is ours, per stream, because its own looks at stdout only and takes
 * FORCE_COLOR=0 for "on".
 */
export function colors(enabled: boolean): Colors {
  return pc.createColors(enabled);
}

/** A task state in its color: green done, red failed, yellow waiting, cyan running. */
export function paintState(c: Colors, state: string): string {
  switch (state) {
    case 'succeeded':
      return c.green(state);
    case 'failed':
      return c.red(state);
    case 'running':
      return c.cyan(state);
    case 'cancelled':
      return c.gray(state);
    default:
      return c.yellow(state);
  }
}
