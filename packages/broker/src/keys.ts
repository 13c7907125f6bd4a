/**
 * Every Redis key Coyotes uses, built in one place. All keys of a channel share the hash tag
 * `{channel}` so each Lua script touches a single Redis Cluster slot.
 */
export interface ChannelKeys {
  /** list of task ids waiting to run; LPUSH to enqueue, RPOP to claim */
  queued: string;
  /** hash id → spec JSON, for every task not yet forgotten */
  tasks: string;
  /** hash id → lease token of the runner executing it */
  running: string;
  /** zset id → lease expiry ms */
  leases: string;
  /** zset id → due ms (delayed tasks and retries waiting out their backoff) */
  delayed: string;
  /** hash id → failed executions so far */
  retries: string;
  /** hash id → runner deaths while running it */
  crashes: string;
  /** zset id → failed_at ms */
  failed: string;
  /** zset id → finished ms, for retention */
  done: string;
  /** zset id → cancelled ms: the records of cancelled tasks, trimmed like `done` and `failed` */
  cancelled: string;
  /** hash id → entries of `queued` that no longer stand for a task (it was cancelled while queued) */
  stale: string;
  /** string: the sum of `stale`, so queue depth is LLEN minus it */
  staleCount: string;
  /** hash id → last result JSON */
  results: string;
  /** zset fingerprint → marker expiry ms (distinct channels) */
  distinct: string;
  /** short list that wakes blocked claimers */
  marker: string;
  /** string: claimers blocked on the channel with nothing to do, which an enqueue hands tasks to */
  waiting: string;
  /** list of "id\ntoken\nspec": tasks an enqueue leased for a blocked claimer, taken by its BRPOP */
  handoff: string;
  /** string, present while the channel is paused (checked by the claim script) */
  paused: string;
  /** string, stamp of the definition that last wrote `paused` (later definitions win) */
  pausedStamp: string;
  /** hash of counters: accepted, processed, succeeded, failed, retried, poisoned */
  stats: string;
  /** zset id → ms its result callback is next due (armed at acceptance, nudged when it ends) */
  callbacks: string;
  /** hash id → callback deliveries tried */
  callbackAttempts: string;
  /** hash of execution-duration histogram counters: `le:<seconds>`, `sum_ms`, `count` */
  durations: string;
  /** hash `<unix minute>:processed|failed` → executions finished in that minute (the last minutes only; expires when idle) */
  throughput: string;
  /** hash schedule name → ms of its next tick, for the active schedules putting tasks here (absent: paused or deleted) */
  scheduleTicks: string;
  /** hash schedule name → id of its last fired run */
  scheduleRuns: string;
  /** hash schedule name → ids (space-separated) of its runs pre-enqueued as delayed tasks before their ticks */
  schedulePending: string;
  /** list of finished runs waiting to be copied to the SQL history (LPUSH in, trimmed from the right) */
  historyOutbox: string;
  /** string: token of the history writer copying this channel's outbox, expiring */
  historyLock: string;
  /** zset id → publish order: ids published to the channel's RabbitMQ queue and not claimed yet (RabbitMQ transport) */
  published: string;
  /** string: the node that relays the channel's queued list to RabbitMQ, with a short TTL (RabbitMQ transport) */
  relayLock: string;
  /** hash runner owner → expiry ms of its last beat (RabbitMQ transport: who is alive to hold a redelivered task) */
  alive: string;
  /** list of wake-ups for runners waiting at the global cap with deliveries in hand (RabbitMQ transport) */
  slotFreed: string;
}

export class Keys {
  readonly channels: string;
  /** hash name → last definition of a deleted channel whose tasks may still run */
  readonly retiredChannels: string;
  readonly events: string;
  readonly nodes: string;
  readonly deadLetters: string;
  /** hash name → schedule definition JSON (the tick state lives in the target channel's slot) */
  readonly schedules: string;

  constructor(
    readonly prefix: string,
    readonly prepareQueue: string,
  ) {
    this.channels = `${prefix}:channels`;
    this.retiredChannels = `${prefix}:channels:retired`;
    this.events = `${prefix}:events`;
    this.nodes = `${prefix}:nodes`;
    this.deadLetters = `${prefix}:dead-letters`;
    this.schedules = `${prefix}:schedules`;
  }

  channel(name: string): ChannelKeys {
    const base = `${this.prefix}:{${name}}:`;
    return {
      queued: `${base}queued`,
      tasks: `${base}tasks`,
      running: `${base}running`,
      leases: `${base}leases`,
      delayed: `${base}delayed`,
      retries: `${base}retries`,
      crashes: `${base}crashes`,
      failed: `${base}failed`,
      done: `${base}done`,
      cancelled: `${base}cancelled`,
      stale: `${base}stale`,
      staleCount: `${base}stale-count`,
      results: `${base}results`,
      distinct: `${base}distinct`,
      marker: `${base}marker`,
      waiting: `${base}waiting`,
      handoff: `${base}handoff`,
      stats: `${base}stats`,
      paused: `${base}paused`,
      pausedStamp: `${base}paused-stamp`,
      callbacks: `${base}callbacks`,
      callbackAttempts: `${base}callback-attempts`,
      durations: `${base}durations`,
      throughput: `${base}throughput`,
      scheduleTicks: `${base}schedule-ticks`,
      scheduleRuns: `${base}schedule-runs`,
      schedulePending: `${base}schedule-pending`,
      historyOutbox: `${base}history-outbox`,
      historyLock: `${base}history-lock`,
      published: `${base}published`,
      relayLock: `${base}relay-lock`,
      alive: `${base}alive`,
      slotFreed: `${base}slot-freed`,
    };
  }

  /** In-flight copy of ingress entries a node is dispatching; same slot as the ingress list. */
  prepareInFlight(nodeId: string): string {
    return `{${this.prepareQueue}}:processing:${nodeId}`;
  }

  /** Bytes of output lines in a task's log stream (its byte budget), expiring with the stream. */
  taskLogBytes(channel: string, id: string): string {
    return `${this.prefix}:{${channel}}:log-bytes:${id}`;
  }

  /** Bytes of output lines a channel's tasks streamed in the current window (the channel's budget). */
  channelLogBytes(channel: string): string {
    return `${this.prefix}:{${channel}}:log-bytes`;
  }

  /** Capped stream of one task's output lines and `done` records, expiring after the task. */
  taskLog(channel: string, id: string): string {
    return `${this.prefix}:{${channel}}:log:${id}`;
  }

  /**
   * Which channel holds a producer-chosen task id (ids are unique across channels). A key of its
   * own: channels live in different Cluster slots, so no channel script can touch it.
   */
  producerId(id: string): string {
    return `${this.prefix}:id:${id}`;
  }

  node(nodeId: string): string {
    return `${this.prefix}:node:${nodeId}`;
  }

  /** The figures a master publishes about its host's processes (`HostFigures`), expiring. */
  nodeFigures(nodeId: string): string {
    return `${this.prefix}:node:${nodeId}:figures`;
  }

  /**
   * task-job's lists keep the names its config.json gives (`queue_name`, `queue_control_name`,
   * `logs_channel`): producers and consumers use them as they are. What Coyotes keeps beside a
   * list shares its slot: `{<list>}` hashes like the bare name.
   */
  taskJobInFlight(list: string, nodeId: string): string {
    return `{${list}}:processing:${nodeId}`;
  }

  /** task-job TaskLog records a node still has to POST to `logs_http`, oldest first (same slot as the logs list). */
  taskJobHttpOutbox(logsChannel: string, nodeId: string): string {
    return `${this.prefix}:task-job:{${logsChannel}}:http-outbox:${nodeId}`;
  }

  /** set of node ids that hold task-job in-flight lists or an outbox: recovered when the node dies. */
  get taskJobNodes(): string {
    return `${this.prefix}:task-job:nodes`;
  }
}
