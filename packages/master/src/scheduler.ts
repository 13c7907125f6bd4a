import type { Logger } from 'pino';
import type { Broker } from '@coyotes/broker';
import { NODE_DEAD_AFTER_MS, setLongTimeout } from '@coyotes/protocol';
import type { LongTimeout } from '@coyotes/protocol';

/** Longest sleep of the promoter: delays set by another host without an event are still found. */
const MAX_SLEEP_MS = 1000;
/**
 * Due tasks moved per script call: a minute's burst of 10,000 schedule runs is queued in three
 * calls (each a few ms of Redis), not ten, which is most of its lateness on a busy host. Below
 * Lua's unpack limit (8,000).
 */
const PROMOTE_BATCH = 4000;

/** What the scheduler needs of the broker: the timed task transitions, the node registry, the ingress recovery. */
export type SchedulerBroker = Pick<Broker, 'tasks' | 'nodes' | 'prepare'>;

/**
 * Time-driven work of a master: promotes due delayed tasks (to within a few ms of their due
 * time), returns tasks of lapsed leases to their queues, and recovers dead nodes' ingress
 * entries. Every master runs it; the Lua scripts make concurrent runs harmless.
 */
export class Scheduler {
  private promoteTimer: LongTimeout | undefined;
  private promoteAt = Infinity;
  private reapTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private promoting = false;

  constructor(
    private readonly broker: SchedulerBroker,
    private readonly channels: () => string[],
    private readonly leaseMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.schedulePromote(0);
    this.reapTimer = setInterval(() => void this.reap(), Math.max(500, Math.floor(this.leaseMs / 2)));
  }

  stop(): void {
    this.stopped = true;
    this.promoteTimer?.clear();
    clearInterval(this.reapTimer);
  }

  /** A task became due at `dueMs` (announced by whoever delayed it): wake up then if sooner. */
  dueAt(dueMs: number): void {
    this.schedulePromote(Math.max(0, dueMs - Date.now()));
  }

  private schedulePromote(inMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + inMs;
    if (at >= this.promoteAt) return;
    this.promoteTimer?.clear();
    this.promoteAt = at;
    // a due time set far ahead (execute_at) may lie beyond setTimeout's limit
    this.promoteTimer = setLongTimeout(() => void this.promote(), inMs);
  }

  private async promote(): Promise<void> {
    this.promoteAt = Infinity;
    if (this.promoting) return this.schedulePromote(5);
    this.promoting = true;
    let next = Date.now() + MAX_SLEEP_MS;
    try {
      for (const channel of this.channels()) {
        const { moved, nextDueMs, missed } = await this.broker.tasks.promoteDue(channel, PROMOTE_BATCH);
        if (moved > 0) this.log.debug({ channel, moved }, 'promoted delayed tasks');
        if (missed > 0) this.log.info({ channel, missed }, 'schedule runs no master promoted in time dropped as missed (catch_up)');
        if (nextDueMs !== null) next = Math.min(next, nextDueMs);
      }
    } catch (error) {
      this.log.warn({ err: error }, 'promoting delayed tasks failed');
    } finally {
      this.promoting = false;
    }
    this.schedulePromote(Math.max(0, next - Date.now()));
  }

  private async reap(): Promise<void> {
    try {
      for (const channel of this.channels()) {
        const { requeued, poisoned } = await this.broker.tasks.requeueExpired(channel);
        if (requeued + poisoned > 0) this.log.warn({ channel, requeued, poisoned }, 'requeued tasks whose lease lapsed');
      }
      for (const nodeId of await this.broker.nodes.dead(NODE_DEAD_AFTER_MS)) {
        const recovered = await this.broker.prepare.recover(nodeId);
        await this.broker.nodes.forget(nodeId);
        this.log.warn({ deadNodeId: nodeId, recovered }, 'node is dead: returned its in-flight ingress entries');
      }
    } catch (error) {
      this.log.warn({ err: error }, 'reaping lapsed leases failed');
    }
  }
}
