import type { NodeInfo } from '@coyotes/protocol';
import type { Keys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';

/** The masters sharing this Redis: a heartbeat zset plus a self-expiring description each. */
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
    await Promise.all([this.redis.zrem(this.keys.nodes, nodeId), this.redis.del(this.keys.node(nodeId))]);
  }
}
