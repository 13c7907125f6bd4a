import type { Keys } from './keys.js';
import { RPUSHED } from './scripts.js';
import type { ScriptedRedis } from './scripts.js';

/**
 * task-job's Redis lists, under the names its config.json gives: the task queue and the control
 * queue producers RPUSH to (read oldest first, through a per-node in-flight list so a master
 * killed mid-way loses no entry), the logs list TaskLog records are RPUSHed to, and the per-node
 * outbox of records still to POST to `logs_http`.
 */
export class TaskJobLists {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
  ) {}

  /** Remembers that this node holds task-job in-flight lists (and an outbox): another master recovers them if it dies. */
  async register(nodeId: string): Promise<void> {
    await this.redis.sadd(this.keys.taskJobNodes, nodeId);
  }

  /** Nodes that held task-job lists since they were last recovered. */
  async registered(): Promise<string[]> {
    return this.redis.smembers(this.keys.taskJobNodes);
  }

  async unregister(nodeId: string): Promise<void> {
    await this.redis.srem(this.keys.taskJobNodes, nodeId);
  }

  /** Takes up to `max` entries of `list`, oldest first, into this node's in-flight list. */
  async claim(list: string, nodeId: string, max: number): Promise<string[]> {
    return this.redis.claimListEntries(list, this.keys.taskJobInFlight(list, nodeId), max, ...RPUSHED);
  }

  /** Forgets this node's in-flight entries of `list` once every one is handled. */
  async release(list: string, nodeId: string): Promise<void> {
    await this.redis.del(this.keys.taskJobInFlight(list, nodeId));
  }

  /** Gives a node's in-flight entries back to the front of `list`; answers how many. */
  async recover(list: string, nodeId: string): Promise<number> {
    return this.redis.recoverListEntries(list, this.keys.taskJobInFlight(list, nodeId), ...RPUSHED);
  }

  /**
   * Appends TaskLog records, in order, to the logs list (when `toList`) and to this node's HTTP
   * outbox (when `toHttp`), each kept to its newest `keep` records.
   */
  async appendLogs(logsChannel: string, nodeId: string, records: string[], target: { toList: boolean; toHttp: boolean; keep: number }) {
    if (records.length === 0 || (!target.toList && !target.toHttp)) return;
    await this.redis.appendTaskJobLogs(
      logsChannel,
      this.keys.taskJobHttpOutbox(logsChannel, nodeId),
      target.keep,
      target.toList ? 1 : 0,
      target.toHttp ? 1 : 0,
      ...records,
    );
  }

  /** The oldest record of this node's HTTP outbox, without taking it. */
  async nextToPost(logsChannel: string, nodeId: string): Promise<string | null> {
    return this.redis.lindex(this.keys.taskJobHttpOutbox(logsChannel, nodeId), 0);
  }

  /** The oldest record was delivered (or given up): drop it. Only its own node reads an outbox. */
  async posted(logsChannel: string, nodeId: string): Promise<void> {
    await this.redis.lpop(this.keys.taskJobHttpOutbox(logsChannel, nodeId));
  }

  /** Moves a dead node's outbox to the end of this node's; answers how many records. */
  async adoptOutbox(logsChannel: string, deadNodeId: string, nodeId: string): Promise<number> {
    return this.redis.adoptTaskJobOutbox(
      this.keys.taskJobHttpOutbox(logsChannel, deadNodeId),
      this.keys.taskJobHttpOutbox(logsChannel, nodeId),
    );
  }
}
