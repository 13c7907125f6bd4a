import type { Keys } from './keys.js';
import { LPUSHED, RPUSHED } from './scripts.js';
import type { ScriptedRedis } from './scripts.js';
import { claimedTasks } from './claims.js';
import type { ClaimedTask } from './tasks.js';

/**
 * Blocking reads on a connection of their own (a blocked connection can send nothing else). The
 * broker owns the connection; its holder can only wait and close, and closing ends a wait at once.
 */
export class BlockingReads {
  constructor(
    private readonly connection: ScriptedRedis,
    private readonly keys: Keys,
  ) {}

  /** Blocks until a wake-up marker for the channel arrives or the timeout passes; true when one arrived. */
  async waitForTasks(channel: string, timeoutS: number): Promise<boolean> {
    return (await this.connection.brpop(this.keys.channel(channel).marker, timeoutS)) !== null;
  }

  /**
   * Blocks until a runner of the channel frees a slot under the global cap that it did not fill
   * itself (RabbitMQ transport), or the timeout passes; true when one did.
   */
  async waitForSlot(channel: string, timeoutS: number): Promise<boolean> {
    return (await this.connection.brpop(this.keys.channel(channel).slotFreed, timeoutS)) !== null;
  }

  /**
   * Blocks until a task is handed to this claimer (leased to it already by the enqueue; see
   * claimTasks-10.lua: only after a claim that said it would wait), a wake-up marker arrives
   * ('woken'), or the timeout passes (null).
   */
  async waitForTask(channel: string, timeoutS: number): Promise<ClaimedTask | 'woken' | null> {
    const k = this.keys.channel(channel);
    const popped = await this.connection.brpop(k.handoff, k.marker, timeoutS);
    if (popped === null) return null;
    const [key, entry] = popped;
    if (key !== k.handoff) return 'woken';
    const [id, token, spec] = splitHandoff(entry);
    return claimedTasks(channel, [id, spec, token], 0)[0] ?? 'woken';
  }

  /** Blocks until one ingress entry arrives, taking it into the node's in-flight list; null on timeout. */
  async popIngress(nodeId: string, timeoutS: number): Promise<string | null> {
    return this.connection.blmove(this.keys.prepareQueue, this.keys.prepareInFlight(nodeId), ...LPUSHED, timeoutS);
  }

  /** Blocks until one entry of task-job's `list` arrives, taking it (oldest first) into the node's in-flight list; null on timeout. */
  async popTaskJob(list: string, nodeId: string, timeoutS: number): Promise<string | null> {
    return this.connection.blmove(list, this.keys.taskJobInFlight(list, nodeId), ...RPUSHED, timeoutS);
  }

  /** Closes the connection: a wait in progress rejects at once. */
  close(): void {
    this.connection.disconnect();
  }
}

/** A handoff entry: "id\ntoken\nspec" (ids and tokens hold no newline; the spec is the rest). */
function splitHandoff(entry: string): [string, string, string] {
  const first = entry.indexOf('\n');
  const second = entry.indexOf('\n', first + 1);
  return [entry.slice(0, first), entry.slice(first + 1, second), entry.slice(second + 1)];
}
