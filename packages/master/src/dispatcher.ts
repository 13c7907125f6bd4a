import type { Logger } from 'pino';
import type { BlockingReads, Broker } from '@coyotes/broker';
import { execLimits, isCoyotesError, parseIngressEntry } from '@coyotes/protocol';
import type { ChannelConfig, TaskInput } from '@coyotes/protocol';
import { BatchChannels } from './batch-channels.js';

/** Entries taken from the ingress list per round trip. */
const BATCH = 500;
const WAIT_S = 1;

/** What the dispatcher needs of the broker: the ingress list, the door, the dead letters, its blocking reads. */
export type DispatcherBroker = Pick<Broker, 'prepare' | 'admission' | 'deadLetters' | 'blockingReads' | 'channels'>;

/**
 * Moves producer entries from the seed's `task:prepare:queue` into their channels. Entries are
 * taken in flight first, so a master killed at any instant loses none; a malformed entry or an
 * unknown channel goes to the dead-letter list with the reason, and dispatch goes on.
 */
export class PrepareDispatcher {
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly blocking: BlockingReads;

  constructor(
    private readonly broker: DispatcherBroker,
    private readonly nodeId: string,
    private readonly channelDefault: string,
    private readonly channel: (name: string) => ChannelConfig | undefined,
    private readonly log: Logger,
  ) {
    this.blocking = broker.blockingReads();
    // measured once at start (getconf): what a task's argv may take on this host
    execLimits();
  }

  async start(): Promise<void> {
    // entries this node held when it last died go back first
    const recovered = await this.broker.prepare.recover(this.nodeId);
    if (recovered > 0) this.log.warn({ recovered }, 'returned in-flight ingress entries to the queue');
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.blocking.close();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        let entries = await this.broker.prepare.claim(this.nodeId, BATCH);
        if (entries.length === 0) {
          const first = await this.blocking.popIngress(this.nodeId, WAIT_S);
          if (first === null) continue;
          // dispatched alone, without a round trip for more first: at a low rate that claim
          // would come back empty and only delay the task; in a burst the next claim batches
          entries = [first];
        }
        await this.dispatch(entries);
        await this.broker.prepare.release(this.nodeId);
        failures = 0;
      } catch (error) {
        if (!this.running) break;
        failures += 1;
        this.log.warn({ err: error }, 'dispatching the prepare queue failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** failures, 5000)));
      }
    }
  }

  /** Parses a batch; admits the valid entries through the broker's door, one call per channel; dead-letters the rest. */
  private async dispatch(entries: string[]): Promise<void> {
    const byChannel = new Map<string, { config: ChannelConfig; inputs: TaskInput[]; entries: string[] }>();
    const letters: Promise<void>[] = [];
    const channels = new BatchChannels(this.channel, this.broker);
    for (const entry of entries) {
      const parsed = parseIngressEntry(entry);
      if (!parsed.ok) {
        letters.push(this.deadLetter(parsed.reason, entry));
        continue;
      }
      const name = parsed.input.channel ?? this.channelDefault;
      const config = await channels.get(name);
      if (!config) {
        letters.push(this.deadLetter(`unknown channel "${name}"`, entry));
        continue;
      }
      const group = byChannel.get(name) ?? { config, inputs: [], entries: [] };
      group.inputs.push(parsed.input);
      group.entries.push(entry);
      byChannel.set(name, group);
    }
    await Promise.all([...letters, ...[...byChannel.values()].map((group) => this.admit(group.config, group.inputs, group.entries))]);
  }

  /**
   * The ingress list is a door too: what the broker refuses (can never run, not in the channel's
   * allowed_commands, an id another channel's task has) is dead-lettered, as it is refused over
   * HTTP. A producer id already taken in this channel is that task: nothing is lost.
   */
  private async admit(config: ChannelConfig, inputs: TaskInput[], entries: string[]): Promise<void> {
    const admitted = await this.broker.admission.admit(config, inputs, 'prepare-queue');
    await Promise.all(
      admitted.map((result, i) => {
        if (!('refused' in result)) return undefined;
        const { refused } = result;
        if (isCoyotesError(refused, 'COY_ERR_TASK_ID_EXISTS') && refused.hint === undefined) return undefined;
        return this.deadLetter(refused.message, entries[i]!);
      }),
    );
  }

  private async deadLetter(reason: string, payload: string): Promise<void> {
    this.log.warn({ reason, payload: payload.slice(0, 200) }, 'dead-lettered a prepare-queue entry');
    await this.broker.deadLetters.add({ reason, payload, at: Date.now(), nodeId: this.nodeId });
  }
}
