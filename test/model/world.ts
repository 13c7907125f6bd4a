import { existsSync, mkdtempSync, openSync, readSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningCoyotes } from '../helpers/coyotes.js';
import { isAlive } from '../helpers/processes.js';
import type { TestRedis } from '../helpers/redis.js';

/**
 * The system under test as the model-based test sees it: a real server, the channels of one run,
 * every task it accepted (what may become of it), and every execution the commands themselves
 * reported. Each command of a run writes `s <key> <pid> <ns>` when it starts and `e …` when it
 * ends (also on SIGTERM) to one events file; an observer polls that file and the pids, so every
 * invariant is checked against what really ran, not against what the API says.
 */

/** How long a setting (pause, worker count, delete) may take to reach the channel process. */
export const SETTLE_GRACE_MS = 2_000;

/** -lease-timeout of the server: a task claimed by a channel process killed before it spawned waits this long. */
export const LEASE_S = 5;

/** The two channels of each run: a plain one and a `distinct` one. */
export const CHANNELS = ['a', 'b'] as const;
export type ChannelSlot = (typeof CHANNELS)[number];

/** What a task may end as: a status, or `failed:<outcome>`, or `gone` (404). */
export type Final = string;

/** One acceptance of a task (a re-pushed id is a new incarnation). */
export interface Incarnation {
  /** Written by the command into the events file; unique per acceptance. */
  key: string;
  id: string;
  channel: string;
  via: 'http' | 'ingress';
  exit: 0 | 1;
  sentAt: number;
  delayMs: number;
  /** Acceptance not known (ingress with a reused id or a hostile field): only the overlap checks apply. */
  maybe: boolean;
  /** Executions allowed: 1, plus accepted retries, plus runner deaths while it was not finished. */
  budget: number;
  /** What GET /tasks/:id may show at the end. */
  finals: Set<Final>;
  /** Channel-process deaths while it was not finished. */
  deaths: number;
  /** When a cancel answered "cancelled" (nothing of it may start after). */
  cancelledAt?: number;
  /** A later incarnation took its id. */
  superseded: boolean;
}

/** A channel setting, from when its request was sent to when it was answered. */
interface Change {
  sent: number;
  answered: number;
  workers?: number;
  /** true: no new command may start (paused or deleted). */
  blocked?: boolean;
}

export interface ChannelState {
  name: string;
  distinct: boolean;
  exists: boolean;
  paused: boolean;
  workers: number;
  changes: Change[];
}

/** One execution, as the command reported it and the observer saw its pid. */
export interface Execution {
  key: string;
  pid: number;
  start: number;
  /** Written by the command itself (normal exit or SIGTERM). */
  end?: number;
  /** The last poll that saw the pid alive (a lower bound of its end). */
  lastAlive: number;
  /** The first poll that saw it gone. */
  deadAt?: number;
}

export class Violation extends Error {}

export class World {
  readonly dir: string;
  readonly events: string;
  readonly channels = new Map<ChannelSlot, ChannelState>();
  readonly incarnations: Incarnation[] = [];
  readonly executions: Execution[] = [];
  readonly violations: string[] = [];
  /** Every HTTP exchange, for the failure report. */
  readonly journal: string[] = [];
  private offset = 0;
  private partial = '';
  private nextKey = 0;
  private poller: NodeJS.Timeout | undefined;
  private readonly byKey = new Map<string, Incarnation>();
  /** Keys of pushes sent and not answered yet: a task may start before its push is answered. */
  readonly pending = new Set<string>();

  constructor(
    readonly run: number,
    readonly coyotes: RunningCoyotes,
    readonly redis: TestRedis,
    /** Steps and checks left out (COYOTES_MODEL_WITHOUT). */
    readonly without: string[] = [],
  ) {
    this.dir = mkdtempSync(path.join(tmpdir(), `coyotes-model-${run}-`));
    this.events = path.join(this.dir, 'events');
  }

  /** The shell line every task runs; its parameters come from env (HTTP) or positional args (ingress). */
  get script(): string {
    const f = this.events;
    return [
      'k=${MODEL_KEY:-$1}; x=${MODEL_EXIT:-$2}; d=${MODEL_SLEEP:-$3}',
      `echo "s $k $$ $(date +%s%N)" >> ${f}`,
      `trap 'echo "e $k $$ $(date +%s%N)" >> ${f}; exit 143' TERM`,
      'sleep "$d"',
      `echo "e $k $$ $(date +%s%N)" >> ${f}`,
      'exit "$x"',
    ].join('\n');
  }

  channel(slot: ChannelSlot): ChannelState {
    return this.channels.get(slot)!;
  }

  newKey(): string {
    return `k${this.nextKey++}`;
  }

  /** Sends a request; any 5xx or unreadable answer is a violation. */
  async call(method: string, route: string, body?: unknown): Promise<{ status: number; data: any; message: string }> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    let status: number;
    let text: string;
    try {
      const response = await fetch(this.coyotes.baseUrl + route, init);
      status = response.status;
      text = await response.text();
    } catch (error) {
      return this.fail(`${method} ${route}: no answer (${String(error)})`);
    }
    if (method !== 'GET' || status !== 200) {
      const shown = body === undefined ? '' : JSON.stringify(body).replace(JSON.stringify(this.script).slice(1, -1), '<script>');
      this.journal.push(`${method} ${route} ${shown} → ${status} ${text.slice(0, 160)}`);
    }
    if (status >= 500) return this.fail(`${method} ${route} answered ${status}: ${text.slice(0, 300)}`);
    try {
      const json = JSON.parse(text) as { status_code: number; message: string; data: any };
      return { status, data: json.data, message: json.message };
    } catch {
      return this.fail(`${method} ${route} answered ${status} with non-JSON: ${text.slice(0, 200)}`);
    }
  }

  /** Records a violation and stops the run. */
  fail(message: string): never {
    this.violations.push(message);
    throw new Violation(message);
  }

  accept(incarnation: Omit<Incarnation, 'superseded' | 'deaths' | 'budget'>): Incarnation {
    for (const other of this.incarnations)
      if (other.id === incarnation.id && other.channel === incarnation.channel) other.superseded = true;
    const full: Incarnation = { ...incarnation, budget: 1, deaths: 0, superseded: false };
    this.incarnations.push(full);
    this.byKey.set(full.key, full);
    return full;
  }

  /** The latest incarnation of each id of a channel slot (or of every channel). */
  current(): Incarnation[] {
    return this.incarnations.filter((i) => !i.superseded);
  }

  incarnationOf(key: string): Incarnation | undefined {
    return this.byKey.get(key);
  }

  recordChange(slot: ChannelSlot, change: Change): void {
    this.channel(slot).changes.push(change);
  }

  // ---- the observer ------------------------------------------------------------------------

  startObserving(): void {
    this.poller = setInterval(() => this.observe(), 20);
  }

  stopObserving(): void {
    clearInterval(this.poller);
  }

  /** Reads new event lines, then polls the pids of unfinished executions. */
  observe(): void {
    if (existsSync(this.events)) {
      const fd = openSync(this.events, 'r');
      try {
        const buffer = Buffer.alloc(65_536);
        for (;;) {
          const n = readSync(fd, buffer, 0, buffer.length, this.offset);
          if (n === 0) break;
          this.offset += n;
          this.partial += buffer.subarray(0, n).toString();
        }
      } finally {
        closeSync(fd);
      }
      const lines = this.partial.split('\n');
      this.partial = lines.pop()!;
      for (const line of lines) this.ingest(line);
    }
    for (const execution of this.executions) {
      if (execution.end !== undefined || execution.deadAt !== undefined) continue;
      const before = Date.now();
      if (isAlive(execution.pid)) execution.lastAlive = before;
      else execution.deadAt = Date.now();
    }
    // live sample: two live executions of one task id in one channel
    const live = new Map<string, Execution>();
    for (const execution of this.liveExecutions()) {
      const incarnation = this.byKey.get(execution.key);
      if (!incarnation) continue;
      const name = `${incarnation.channel}/${incarnation.id}`;
      const other = live.get(name);
      if (other) this.note(`task ${name} runs twice at once: pids ${other.pid} (${other.key}) and ${execution.pid} (${execution.key})`);
      live.set(name, execution);
    }
  }

  private ingest(line: string): void {
    const [kind, key, pid, ns] = line.split(' ');
    if (!kind || !key || !pid || !ns) return;
    const ms = Number(BigInt(ns) / 1_000_000n);
    if (kind === 's') {
      this.executions.push({ key, pid: Number(pid), start: ms, lastAlive: ms });
    } else {
      const execution = this.executions.find((e) => e.key === key && e.pid === Number(pid));
      if (execution) {
        execution.end = ms;
        execution.lastAlive = Math.max(execution.lastAlive, ms);
      }
    }
  }

  /** Notes a violation found asynchronously (the next check throws it). */
  private note(message: string): void {
    if (!this.violations.includes(message)) this.violations.push(message);
  }

  liveExecutions(): Execution[] {
    return this.executions.filter((e) => e.end === undefined && e.deadAt === undefined);
  }

  /** The known-running span of an execution: from its start record to its end record or last sighting. */
  private span(execution: Execution): [number, number] {
    return [execution.start, execution.end ?? execution.lastAlive];
  }

  // ---- invariants ----------------------------------------------------------------------------

  /** Throws the first violation noted so far. */
  assertClean(): void {
    if (this.violations.length > 0) throw new Violation(this.violations.join('\n'));
  }

  /** Workers that may be in force at `t`: any setting sent by then and not superseded a grace before. */
  private allowedWorkers(state: ChannelState, t: number): number {
    const settings = state.changes.filter((c) => c.workers !== undefined);
    let allowed = 0;
    settings.forEach((change, i) => {
      const next = settings[i + 1];
      if (change.sent <= t && (!next || next.answered + SETTLE_GRACE_MS >= t)) allowed = Math.max(allowed, change.workers!);
    });
    return allowed;
  }

  /** Spans when no command of the channel may start: paused or deleted, from a grace after the answer. */
  private blockedSpans(state: ChannelState): [number, number][] {
    const spans: [number, number][] = [];
    const flips = state.changes.filter((c) => c.blocked !== undefined);
    flips.forEach((change, i) => {
      if (!change.blocked) return;
      const next = flips.slice(i + 1).find((c) => !c.blocked);
      spans.push([change.answered + SETTLE_GRACE_MS, next ? next.sent : Infinity]);
    });
    return spans;
  }

  /** The checks on recorded executions: overlaps, worker limits, pauses, delays, budgets. */
  checkExecutions(): void {
    this.observe();
    const byChannel = new Map<string, Execution[]>();
    for (const execution of this.executions) {
      const incarnation = this.byKey.get(execution.key);
      if (!incarnation) continue;
      byChannel.set(incarnation.channel, [...(byChannel.get(incarnation.channel) ?? []), execution]);
    }
    for (const slot of CHANNELS) {
      const state = this.channel(slot);
      const executions = byChannel.get(state.name) ?? [];
      for (const execution of executions) {
        const incarnation = this.byKey.get(execution.key)!;
        const t = execution.start;
        const alongside = executions.filter((other) => {
          if (other === execution) return false;
          const [from, to] = this.span(other);
          return from <= t && t <= to;
        });
        const allowed = this.allowedWorkers(state, t);
        if (alongside.length + 1 > allowed) {
          this.note(
            `channel ${state.name}: ${execution.key} started with ${alongside.length} others running (${alongside.map((e) => e.key).join(' ')}), workers ≤ ${allowed}`,
          );
        }
        for (const other of alongside) {
          const twin = this.byKey.get(other.key)!;
          if (twin.id === incarnation.id)
            this.note(
              `task ${state.name}/${incarnation.id} runs twice at once: ${other.key} pid ${other.pid} and ${execution.key} pid ${execution.pid}`,
            );
          else if (state.distinct && twin.via === 'http' && incarnation.via === 'http') {
            this.note(`distinct channel ${state.name}: identical command lines ran at once (${other.key} and ${execution.key})`);
          }
        }
        for (const [from, to] of this.blockedSpans(state)) {
          if (t > from && t < to) this.note(`channel ${state.name}: ${execution.key} started while the channel was paused or deleted`);
        }
        if (t < incarnation.sentAt + incarnation.delayMs - 100)
          this.note(`${execution.key} started ${incarnation.sentAt + incarnation.delayMs - t} ms before its delay ended`);
        if (incarnation.cancelledAt !== undefined && t > incarnation.cancelledAt)
          this.note(`${execution.key} (task ${incarnation.id}) started after its cancel was answered "cancelled"`);
      }
    }
    for (const execution of this.executions) {
      if (!this.byKey.has(execution.key) && !this.pending.has(execution.key)) {
        this.note(`an execution of ${execution.key} that no accepted task asked for (pid ${execution.pid})`);
      }
    }
    for (const incarnation of this.incarnations) {
      const starts = this.executions.filter((e) => e.key === incarnation.key).length;
      if (!incarnation.maybe && starts > incarnation.budget) {
        this.note(
          `task ${incarnation.channel}/${incarnation.id} (${incarnation.key}) ran ${starts} times; allowed ${incarnation.budget} (1 + retries + channel-process deaths)`,
        );
      }
    }
    this.assertClean();
  }

  /** What the API says is running has a live command; a live command is shown running, in its channel. */
  async checkRunningIsTrue(): Promise<void> {
    for (const slot of CHANNELS) {
      const state = this.channel(slot);
      if (!state.exists) continue;
      const listing = await this.call('GET', `/channels/${state.name}?limit=1000`);
      if (listing.status !== 200) this.fail(`GET /channels/${state.name} answered ${listing.status}: ${listing.message}`);
      if (listing.data.paused !== state.paused || listing.data.workers !== state.workers) {
        this.fail(
          `channel ${state.name} shows paused=${listing.data.paused} workers=${listing.data.workers}; every PATCH answered 200, so paused=${state.paused} workers=${state.workers}`,
        );
      }
      const running = (listing.data.tasks as { task_id: string; status: string }[]).filter((t) => t.status === 'running');
      for (const task of running) await this.expectLiveOrNotRunning(state.name, task.task_id);
    }
    this.observe();
    for (const execution of this.liveExecutions()) {
      const incarnation = this.byKey.get(execution.key);
      if (!incarnation) continue;
      const view = await this.call('GET', `/tasks/${encodeURIComponent(incarnation.id)}`);
      if (view.status === 200 && view.data.status === 'running' && view.data.channel === incarnation.channel) continue;
      // a dead channel process's commands are SIGKILLed by master, then their tasks requeued (or
      // parked as poison): the kill may take a moment to land
      this.observe();
      const requeued = view.status === 200 && (view.data.status === 'queued' || view.data.status === 'failed');
      const until = Date.now() + (requeued ? 1_000 : 0);
      while (Date.now() < until && execution.end === undefined && execution.deadAt === undefined) {
        await sleep(20);
        this.observe();
      }
      if (execution.end !== undefined || execution.deadAt !== undefined) continue;
      if (view.status !== 200)
        this.fail(
          `task ${incarnation.channel}/${incarnation.id} runs (pid ${execution.pid}) but GET /tasks/${incarnation.id} answers ${view.status}`,
        );
      if (view.data.channel !== incarnation.channel) {
        this.fail(
          `task ${incarnation.id} runs in channel ${incarnation.channel} (pid ${execution.pid}) but GET /tasks/${incarnation.id} shows channel ${view.data.channel}`,
        );
      }
      if (view.data.status !== 'running')
        this.fail(`task ${incarnation.channel}/${incarnation.id} runs (pid ${execution.pid}) but is shown ${view.data.status}`);
    }
  }

  private async expectLiveOrNotRunning(channel: string, id: string): Promise<void> {
    const deadline = Date.now() + (LEASE_S + 15) * 1000;
    for (;;) {
      this.observe();
      const live = this.liveExecutions().some((e) => {
        const incarnation = this.byKey.get(e.key);
        return incarnation?.id === id && incarnation.channel === channel;
      });
      if (live) return;
      const view = await this.call('GET', `/tasks/${encodeURIComponent(id)}`);
      if (view.status !== 200 || view.data.status !== 'running' || view.data.channel !== channel) return;
      if (Date.now() > deadline)
        this.fail(`task ${channel}/${id} has been shown running for ${LEASE_S + 15} s (lease + 15 s) with no live command`);
      await sleep(50);
    }
  }

  /** Every check that holds at any moment, run after each step. */
  async checkStep(): Promise<void> {
    this.observe();
    this.assertClean();
    await this.checkListings();
    await this.checkRunningIsTrue();
    this.checkExecutions();
  }

  /** The routes every step may touch answer without a 5xx. */
  async checkListings(): Promise<void> {
    for (const route of ['/channels?limit=1000', '/delay-tasks?limit=1000', '/health', '/stats', '/metrics']) {
      if (route === '/metrics') {
        const response = await fetch(this.coyotes.baseUrl + route);
        await response.text();
        if (response.status >= 500) this.fail(`GET /metrics answered ${response.status}`);
        continue;
      }
      await this.call('GET', route);
    }
  }

  /** After the run: everything accepted ends in one state it may end in, and ran as often as it may. */
  async checkFinals(): Promise<void> {
    const deadline = Date.now() + 45_000;
    const finals = new Map<Incarnation, Final>();
    for (const incarnation of this.current()) {
      if (incarnation.maybe) continue;
      for (;;) {
        const view = await this.call('GET', `/tasks/${encodeURIComponent(incarnation.id)}`);
        const final =
          view.status === 404 ? 'gone' : view.data.status === 'failed' ? `failed:${view.data.result?.outcome}` : String(view.data.status);
        // an ingress entry is a task once the dispatcher moved it: a 404 may only mean "not yet"
        const notYet =
          final === 'gone' && incarnation.via === 'ingress' && incarnation.cancelledAt === undefined && !incarnation.finals.has('gone');
        if (!['queued', 'running', 'delayed'].includes(final) && !notYet) {
          finals.set(incarnation, final);
          break;
        }
        if (Date.now() > deadline)
          this.fail(`task ${incarnation.channel}/${incarnation.id} (${incarnation.key}) still ${final} 45 s after the run`);
        await sleep(100);
      }
    }
    this.checkExecutions();
    for (const [incarnation, final] of finals) {
      if (!incarnation.finals.has(final)) {
        this.note(
          `task ${incarnation.channel}/${incarnation.id} (${incarnation.key}) ended ${final}; expected one of ${[...incarnation.finals].join(', ')}`,
        );
      }
      const starts = this.executions.filter((e) => e.key === incarnation.key).length;
      if ((final === 'succeeded' || final === 'failed:exited') && starts === 0) {
        this.note(`task ${incarnation.channel}/${incarnation.id} (${incarnation.key}) is ${final} but its command never ran`);
      }
    }
    this.assertClean();
  }

  /** Kills what is left of this run's commands and removes its files. */
  cleanup(): void {
    this.stopObserving();
    this.observe();
    for (const execution of this.liveExecutions()) {
      try {
        process.kill(-execution.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A readable account of the run for a failure report. */
  describe(): string {
    const executions = this.executions
      .map((e) => `${e.key} pid ${e.pid} ${e.start}–${e.end ?? `(${e.deadAt ? `dead by ${e.deadAt}` : `alive at ${e.lastAlive}`})`}`)
      .join('\n  ');
    return `run ${this.run}\nrequests:\n  ${this.journal.slice(-60).join('\n  ')}\nexecutions:\n  ${executions}`;
  }
}
