import { figuresFresh } from '@coyotes/protocol';
import type { HostFigures } from '@coyotes/protocol';
import type { ApiDeps } from './deps.js';

/** How long a route waits for the figures when Redis is slow: /health answers within it. */
const READ_WITHIN_MS = 1000;

/**
 * This host's processes and their figures, as its master last published them to Redis; null when
 * there are none fresh (master stalled, dead or not started yet) or Redis does not answer within
 * a second. No route asks master: a slow or hung master never stalls one.
 */
export async function localFigures(deps: ApiDeps): Promise<HostFigures | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), READ_WITHIN_MS)));
  try {
    const figures = await Promise.race([deps.broker.nodes.figures(deps.nodeId).catch(() => null), late]);
    return figures !== null && figuresFresh(figures, deps.clock()) ? figures : null;
  } finally {
    clearTimeout(timer);
  }
}
