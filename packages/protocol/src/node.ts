/** What a master says about itself with each heartbeat (and `GET /nodes` shows, with `lastSeen`). */
export interface NodeInfo {
  nodeId: string;
  hostname: string;
  pid: number;
  version: string;
  startedAt: number;
  httpAddr: string;
  taskMode: boolean;
  /** Channel name → workers on this node. */
  channels: Record<string, number>;
}

/**
 * A node not heard from for this long is dead: dropped from `GET /nodes` and the metrics, and its
 * in-flight ingress entries given back. Every master and api process must agree on it.
 */
export const NODE_DEAD_AFTER_MS = 5000;
