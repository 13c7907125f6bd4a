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
