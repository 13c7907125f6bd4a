import type { Keys } from './keys.js';
import { LPUSHED, RPUSHED } from './scripts.js';
import type { ScriptedRedis } from './scripts.js';

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
