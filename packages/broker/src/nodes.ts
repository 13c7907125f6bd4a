import { HOST_FIGURES_FRESH_MS } from '@coyotes/protocol';
import type { HostFigures, NodeInfo } from '@coyotes/protocol';
import type { Keys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';

/** The masters sharing this Redis: a heartbeat zset plus a self-expiring description and host figures each. */
export class NodeRegistry {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
  ) {}

  async heartbeat(info: NodeInfo, ttlMs: number): Promise<void> {
    // two commands, not one pipeline: in a cluster the two keys live in different slots
    await Promise.all([
      this.redis.zadd(this.keys.nodes, Date.now(), info.nodeId),
      this.redis.set(this.keys.node(info.nodeId), JSON.stringify(info), 'PX', ttlMs),
    ]);
  }

  /** Live nodes: heard from within `deadAfterMs`. */
  async live(deadAfterMs: number): Promise<(NodeInfo & { lastSeen: number })[]> {
    const flat = await this.redis.zrangebyscore(this.keys.nodes, Date.now() - deadAfterMs, '+inf', 'WITHSCORES');
    const nodes: (NodeInfo & { lastSeen: number })[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const json = await this.redis.get(this.keys.node(flat[i]!));
      if (json) nodes.push({ ...(JSON.parse(json) as NodeInfo), lastSeen: Number(flat[i + 1]) });
    }
    return nodes;
  }

  /** Node ids not heard from within `deadAfterMs`. */
  async dead(deadAfterMs: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.nodes, '-inf', `(${Date.now() - deadAfterMs}`);
  }

  async forget(nodeId: string): Promise<void> {
    await Promise.all([
      this.redis.zrem(this.keys.nodes, nodeId),
      this.redis.del(this.keys.node(nodeId)),
      this.redis.del(this.keys.nodeFigures(nodeId)),
    ]);
  }

  /** A master's figures about its host, replacing its last; they expire unless published again (a dead host's go). */
  async publishFigures(figures: HostFigures): Promise<void> {
    await this.redis.set(this.keys.nodeFigures(figures.nodeId), JSON.stringify(figures), 'PX', HOST_FIGURES_FRESH_MS);
  }

  /** The figures a node's master last published, or null when none are kept (not published lately). */
  async figures(nodeId: string): Promise<HostFigures | null> {
    const json = await this.redis.get(this.keys.nodeFigures(nodeId));
    return json === null ? null : (JSON.parse(json) as HostFigures);
  }
}
