import { formatTable } from '../table.js';
import { print } from './verb.js';
import type { Verb } from './verb.js';

const since = (ms: number): string => {
  const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
};

/** `coyotes nodes` */
export const nodes: Verb = {
  name: 'nodes',
  usage: 'coyotes nodes',
  summary: 'the masters sharing this Redis (live heartbeats)',
  flags: {},
  async run(_args, context) {
    const list = await context.client.nodes();
    const rows = list.map((n) => [
      n.nodeId,
      n.hostname,
      n.pid,
      n.version,
      n.httpAddr,
      n.taskMode ? 'tasks' : 'api only',
      since(n.startedAt),
    ]);
    print(context, list, formatTable(['NODE', 'HOST', 'PID', 'VERSION', 'HTTP', 'MODE', 'UP'], rows));
    return 0;
  },
};
