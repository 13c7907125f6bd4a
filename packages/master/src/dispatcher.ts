import type { Logger } from 'pino';
import { newTaskId } from '@coyotes/broker';
import type { Broker, ScriptedRedis } from '@coyotes/broker';
import { allowedTaskArgv } from '@coyotes/runner';
import { checkRunnable, execLimits, isCoyotesError, parseIngressEntry, taskSpecFrom } from '@coyotes/protocol';
import type { ChannelConfig, TaskSpec } from '@coyotes/protocol';

/** Entries taken from the ingress list per round trip. */
const BATCH = 500;
const WAIT_S = 1;

/**
 * Moves producer entries from the seed's `task:prepare:queue` into their channels. Entries are
 * taken in flight first, so a master killed at any instant loses none; a malformed entry or an
 * unknown channel goes to the dead-letter list with the reason, and dispatch goes on.
 */
export class PrepareDispatcher {
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly blocking: ScriptedRedis;

  constructor(
    private readonly broker: Broker,
    private readonly nodeId: string,
    private readonly channelDefault: string,
    /** Task `cwd`s must lie inside it (-command-root). */
    private readonly commandRoot: string,
    private readonly channel: (name: string) => ChannelConfig | undefined,
    private readonly log: Logger,
  ) {
    this.blocking = broker.blockingConnection();
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
    this.blocking.disconnect();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        let entries = await this.broker.prepare.claim(this.nodeId, BATCH);
        if (entries.length === 0) {
          const first = await this.broker.prepare.waitForEntry(this.blocking, this.nodeId, WAIT_S);
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

  /** Parses a batch; enqueues the valid entries with one script call per channel, dead-letters the rest. */
  private async dispatch(entries: string[]): Promise<void> {
    const now = Date.now();
    const byChannel = new Map<string, { config: ChannelConfig; specs: TaskSpec[]; producerIds: Set<string> }>();
    const letters: Promise<void>[] = [];
    for (const entry of entries) {
      const parsed = parseIngressEntry(entry);
      if (!parsed.ok) {
        letters.push(this.deadLetter(parsed.reason, entry));
        continue;
      }
      const name = parsed.input.channel ?? this.channelDefault;
      const config = this.channel(name);
      if (!config) {
        letters.push(this.deadLetter(`unknown channel "${name}"`, entry));
        continue;
      }
      const spec = taskSpecFrom(parsed.input, { id: newTaskId(), channel: name, source: 'prepare-queue', now });
      try {
        // the ingress list is a door too: what can never run, and what the channel's
        // allowed_commands do not list, is dead-lettered here as it is refused over HTTP
        checkRunnable(spec, config, this.commandRoot);
        allowedTaskArgv(spec, config);
      } catch (error) {
        letters.push(this.deadLetter((error as Error).message, entry));
        continue;
      }
      const group = byChannel.get(name) ?? { config, specs: [], producerIds: new Set<string>() };
      group.specs.push(spec);
      if (parsed.input.id !== undefined) group.producerIds.add(spec.id);
      byChannel.set(name, group);
    }
    await Promise.all([
      ...letters,
      ...[...byChannel].map(([name, group]) => this.enqueue(name, group.config, group.specs, group.producerIds)),
    ]);
  }

  private async enqueue(name: string, config: ChannelConfig, specs: TaskSpec[], producerIds: Set<string>): Promise<void> {
    const outcomes = await this.broker.tasks.enqueueMany(name, specs, config, producerIds);
    let firstDue = Infinity;
    const letters: Promise<void>[] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome instanceof Error) {
        if (!isCoyotesError(outcome, 'COY_ERR_TASK_ID_EXISTS')) throw outcome;
        // a producer-chosen id already taken in this channel: that task exists, nothing is lost;
        // taken by another channel's task (the error says which, in its hint): this one never runs
        const spec = specs[i]!;
        if (outcome.hint !== undefined) {
          letters.push(this.deadLetter(outcome.message, JSON.stringify({ id: spec.id, chan: name, task: spec.name })));
        }
      }
      if (outcome === 'delayed') firstDue = Math.min(firstDue, specs[i]!.executeAt!);
    });
    await Promise.all(letters);
    if (firstDue !== Infinity) await this.broker.channels.publish({ type: 'delayed', channel: name, dueMs: firstDue });
  }

  private async deadLetter(reason: string, payload: string): Promise<void> {
    this.log.warn({ reason, payload: payload.slice(0, 200) }, 'dead-lettered a prepare-queue entry');
    await this.broker.deadLetters.add({ reason, payload, at: Date.now(), nodeId: this.nodeId });
  }
}
