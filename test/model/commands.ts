import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { CHANNELS } from './world.js';
import type { ChannelSlot, Incarnation, World } from './world.js';

/**
 * The steps of a model-based run. The model is the World itself: what a step may lead to depends
 * on the server's answers (a cancel that answered "killing" may end as killed), so each step
 * records the answer and what it allows, and the checks compare that with what really ran.
 * Steps that act on a task pick one by index among those accepted so far (a no-op when none).
 */
export type Step = fc.AsyncCommand<object, World>;

const exitFinal = (exit: 0 | 1): string => (exit === 0 ? 'succeeded' : 'failed:exited');

function pick(world: World, index: number, channel?: string): Incarnation | undefined {
  const tasks = world.current().filter((task) => channel === undefined || task.channel === channel);
  return tasks.length === 0 ? undefined : tasks[index % tasks.length];
}

function unexpected(world: World, what: string, answer: { status: number; message: string }): never {
  return world.fail(`${what} answered ${answer.status} (${answer.message})`);
}

abstract class BaseStep implements Step {
  check(): boolean {
    return true;
  }
  /** Acts, then checks every invariant against what really ran. */
  async run(_model: object, world: World): Promise<void> {
    world.journal.push(`— ${this.toString()}`);
    await this.act(world);
    await world.checkStep();
  }
  abstract act(world: World): Promise<void>;
  abstract toString(): string;
}

/** POST /channels/:name/tasks, with or without a producer id (a fresh one or one used before). */
export class Push extends BaseStep {
  constructor(
    readonly slot: ChannelSlot,
    readonly idMode: 'none' | 'fresh' | 'reuse',
    readonly reuse: number,
    readonly exit: 0 | 1,
    readonly sleepMs: number,
    readonly delay: number,
    /** A reused id may come from the other channel (false: from this channel only). */
    readonly crossChannel = true,
  ) {
    super();
  }

  async act(world: World): Promise<void> {
    const state = world.channel(this.slot);
    const key = world.newKey();
    const reused = this.idMode === 'reuse' ? pick(world, this.reuse, this.crossChannel ? undefined : state.name) : undefined;
    const id = this.idMode === 'fresh' || (this.idMode === 'reuse' && !reused) ? `r${world.run}-${key}` : reused?.id;
    const body: Record<string, unknown> = {
      task: 'model',
      command: '/bin/sh',
      args: ['-c', world.script],
      env: { MODEL_KEY: key, MODEL_EXIT: String(this.exit), MODEL_SLEEP: String(this.sleepMs / 1000) },
    };
    if (id !== undefined) body.id = id;
    if (this.delay > 0) body.delay = this.delay;
    const sentAt = Date.now();
    world.pending.add(key);
    const answer = await world.call('POST', `/channels/${state.name}/tasks`, body).finally(() => world.pending.delete(key));
    if (answer.status === 404 && !state.exists) return;
    if (answer.status === 409 && reused) return;
    if (answer.status !== 200) unexpected(world, `push ${key}`, answer);
    if (!state.exists) world.fail(`push ${key} into deleted channel ${state.name} answered 200`);
    if (answer.data.result !== true) {
      if (!state.distinct) world.fail(`push ${key} into non-distinct channel ${state.name} answered result ${answer.data.result}`);
      return;
    }
    if (reused) {
      const holders = world.current().filter((i) => i.id === reused.id && i.channel !== state.name && !i.maybe && !i.finals.has('gone'));
      if (holders.length > 0) world.fail(`id ${reused.id} accepted in channel ${state.name} while channel ${holders[0]!.channel} holds it`);
      const same = world.current().find((i) => i.id === reused.id && i.channel === state.name && !i.maybe);
      if (same && same.cancelledAt === undefined && !same.finals.has('gone'))
        world.fail(`id ${reused.id} accepted again in channel ${state.name} while its task is not cancelled`);
    }
    world.accept({
      key,
      id: answer.data.task_id as string,
      channel: state.name,
      via: 'http',
      exit: this.exit,
      sentAt,
      delayMs: this.delay * 1000,
      maybe: false,
      finals: new Set([exitFinal(this.exit)]),
    });
  }

  toString(): string {
    return `push(${this.slot}, id=${this.idMode === 'reuse' ? `reuse#${this.reuse}` : this.idMode}, exit=${this.exit}, ${this.sleepMs}ms, delay=${this.delay})`;
  }
}

/** LPUSH task:prepare:queue (the seed's ingress): fresh or reused id, soon or µs `execute_at`. */
export class PushIngress extends BaseStep {
  constructor(
    readonly idMode: 'fresh' | 'reuse',
    readonly reuse: number,
    readonly executeAt: 'none' | 'soon' | 'microseconds',
    /** A reused id may come from the other channel (false: from this channel only). */
    readonly crossChannel = true,
  ) {
    super();
  }

  async act(world: World): Promise<void> {
    const state = world.channel('a');
    const key = world.newKey();
    const reused = this.idMode === 'reuse' ? pick(world, this.reuse, this.crossChannel ? undefined : state.name) : undefined;
    const id = reused?.id ?? `r${world.run}-${key}`;
    const now = Date.now();
    const entry: Record<string, unknown> = {
      task: 'model-ingress',
      chan: state.name,
      ts: Math.floor(now / 1000),
      id,
      command: { name: '/bin/sh', args: ['-c', world.script, 'sh', key, '0', '0.3'] },
    };
    if (this.executeAt === 'soon') entry.execute_at = now / 1000 + 1;
    if (this.executeAt === 'microseconds') entry.execute_at = now * 1000;
    world.pending.add(key);
    await world.redis.client.lpush('task:prepare:queue', JSON.stringify(entry)).finally(() => world.pending.delete(key));
    world.journal.push(`LPUSH task:prepare:queue ${JSON.stringify({ ...entry, command: '…' })}`);
    world.accept({
      key,
      id,
      channel: state.name,
      via: 'ingress',
      exit: 0,
      sentAt: now,
      delayMs: this.executeAt === 'soon' ? 1000 : 0,
      // a reused id may be refused, a µs timestamp may be dead-lettered, a deleted channel may drop it
      maybe: reused !== undefined || this.executeAt === 'microseconds' || !state.exists,
      finals: new Set(['succeeded']),
    });
  }

  toString(): string {
    return `ingress(id=${this.idMode === 'reuse' ? `reuse#${this.reuse}` : 'fresh'}, execute_at=${this.executeAt})`;
  }
}

/** DELETE /channels/:name/tasks/:id: cancels a queued or delayed task, kills a running one. */
export class Cancel extends BaseStep {
  constructor(readonly index: number) {
    super();
  }

  async act(world: World): Promise<void> {
    const task = pick(world, this.index);
    if (!task) return;
    const answer = await world.call('DELETE', `/channels/${task.channel}/tasks/${encodeURIComponent(task.id)}`);
    if (answer.status === 404 || answer.status === 409) return;
    if (answer.status !== 200) unexpected(world, `cancel ${task.id}`, answer);
    if (answer.data.status === 'cancelled') {
      // a cancelled task keeps a record (issue #15); `cancel-record` also accepts a 404
      task.finals = new Set(world.without.includes('cancel-record') ? ['cancelled', 'gone'] : ['cancelled']);
      task.cancelledAt = Date.now();
    } else task.finals.add('failed:killed');
  }

  toString(): string {
    return `cancel(#${this.index})`;
  }
}

/** POST /tasks/:id/kill. */
export class Kill extends BaseStep {
  constructor(readonly index: number) {
    super();
  }

  async act(world: World): Promise<void> {
    const task = pick(world, this.index);
    if (!task) return;
    const answer = await world.call('POST', `/tasks/${encodeURIComponent(task.id)}/kill`);
    if (answer.status === 404 || answer.status === 409) return;
    if (answer.status !== 200) unexpected(world, `kill ${task.id}`, answer);
    for (const same of world.current()) if (same.id === task.id) same.finals.add('failed:killed');
  }

  toString(): string {
    return `kill(#${this.index})`;
  }
}

/** POST /channels/:name/failed-tasks/:id: retry of a failed task. */
export class Retry extends BaseStep {
  constructor(readonly index: number) {
    super();
  }

  async act(world: World): Promise<void> {
    const task = pick(world, this.index);
    if (!task) return;
    const answer = await world.call('POST', `/channels/${task.channel}/failed-tasks/${encodeURIComponent(task.id)}`);
    if (answer.status === 404 || answer.status === 409) return;
    if (answer.status !== 200) unexpected(world, `retry ${task.id}`, answer);
    task.budget += 1;
    const finals = [exitFinal(task.exit)];
    if (task.finals.has('gone')) finals.push('gone', 'cancelled');
    if (task.deaths >= 3) finals.push('failed:poison');
    task.finals = new Set(finals);
  }

  toString(): string {
    return `retry(#${this.index})`;
  }
}

export type PatchKind = { paused: boolean } | { worker: number } | { timeout: number } | { pauseAndWorker: number };

/** PATCH /channels/:name: pause, resume, worker count, timeout, or a pause and a worker count at once. */
export class Patch extends BaseStep {
  constructor(
    readonly slot: ChannelSlot,
    readonly kind: PatchKind,
  ) {
    super();
  }

  async act(world: World): Promise<void> {
    const state = world.channel(this.slot);
    const route = `/channels/${state.name}`;
    const sent = Date.now();
    const bodies = 'pauseAndWorker' in this.kind ? [{ paused: true }, { worker: this.kind.pauseAndWorker }] : [this.kind];
    const answers = await Promise.all(bodies.map((body) => world.call('PATCH', route, body)));
    const answered = Date.now();
    for (const answer of answers) {
      if (answer.status === 404 && !state.exists) return;
      if (answer.status !== 200) unexpected(world, `PATCH ${route}`, answer);
    }
    for (const body of bodies) {
      if ('paused' in body) {
        state.paused = body.paused;
        world.recordChange(this.slot, { sent, answered, blocked: body.paused });
      }
      if ('worker' in body) {
        state.workers = body.worker;
        world.recordChange(this.slot, { sent, answered, workers: body.worker });
      }
    }
  }

  toString(): string {
    return `patch(${this.slot}, ${JSON.stringify(this.kind)})`;
  }
}

/** DELETE /channels/:name. */
export class DeleteChannel extends BaseStep {
  constructor(readonly slot: ChannelSlot) {
    super();
  }

  async act(world: World): Promise<void> {
    const state = world.channel(this.slot);
    const sent = Date.now();
    const answer = await world.call('DELETE', `/channels/${state.name}`);
    if (answer.status === 404 && !state.exists) return;
    if (answer.status === 409) return; // a server may refuse to delete a busy channel
    if (answer.status !== 200) unexpected(world, `DELETE /channels/${state.name}`, answer);
    state.exists = false;
    world.recordChange(this.slot, { sent, answered: Date.now(), blocked: true });
    // what a deleted channel's unfinished tasks become is not promised beyond "not run twice"
    for (const task of world.current()) if (task.channel === state.name) task.finals.add('gone').add('cancelled').add('failed:killed');
  }

  toString(): string {
    return `delete(${this.slot})`;
  }
}

/** POST /channels: re-creates a deleted channel with the settings it had. */
export class CreateChannel extends BaseStep {
  constructor(readonly slot: ChannelSlot) {
    super();
  }

  async act(world: World): Promise<void> {
    await createChannel(world, this.slot);
  }

  toString(): string {
    return `create(${this.slot})`;
  }
}

export async function createChannel(world: World, slot: ChannelSlot): Promise<void> {
  const state = world.channel(slot);
  if (state.exists) return;
  const sent = Date.now();
  const answer = await world.call('POST', '/channels', { name: state.name, worker: state.workers, distinct: state.distinct });
  if (answer.status !== 200) unexpected(world, `POST /channels ${state.name}`, answer);
  state.exists = true;
  state.paused = false;
  world.recordChange(slot, { sent, answered: Date.now(), blocked: false, workers: state.workers });
}

/** SIGKILL of the channel's process on this host (its pid from GET /health). */
export class KillChannelProcess extends BaseStep {
  constructor(readonly slot: ChannelSlot) {
    super();
  }

  async act(world: World): Promise<void> {
    const state = world.channel(this.slot);
    if (!state.exists) return;
    const health = await world.call('GET', '/health');
    const process_ = health.data?.processes?.channels?.[state.name] as { pid?: number; alive?: boolean } | undefined;
    if (!process_?.pid || !process_.alive) return;
    try {
      process.kill(process_.pid, 'SIGKILL');
    } catch {
      return; // already gone (restarting)
    }
    world.journal.push(`SIGKILL channel process ${state.name} pid ${process_.pid}`);
    for (const task of world.current()) {
      if (task.channel !== state.name) continue;
      task.budget += 1;
      task.deaths += 1;
      if (task.deaths >= 3) task.finals.add('failed:poison');
    }
  }

  toString(): string {
    return `sigkill(${this.slot})`;
  }
}

/** Lets time pass (commands run, delays fall due): a step of the sequence, not a synchronisation. */
export class Wait extends BaseStep {
  constructor(readonly ms: number) {
    super();
  }

  async act(): Promise<void> {
    await sleep(this.ms);
  }

  toString(): string {
    return `wait(${this.ms})`;
  }
}

const slot = fc.constantFrom<ChannelSlot>(...CHANNELS);
const index = fc.nat(50);

const push = (crossChannel: boolean) =>
  fc
    .tuple(
      slot,
      fc.constantFrom<'none' | 'fresh' | 'reuse'>('none', 'fresh', 'reuse'),
      index,
      fc.constantFrom<0 | 1>(0, 1),
      fc.constantFrom(200, 500, 1000),
      fc.constantFrom(0, 0, 1),
    )
    .map(([s, mode, i, exit, ms, delay]) => new Push(s, mode, i, exit, ms, delay, crossChannel));
const wait = fc.constantFrom(200, 600, 1200).map((ms) => new Wait(ms));

/**
 * The generators of every step by name (fc.commands picks among them evenly: pushes and waits are
 * listed more than once). `without` leaves some out, to look past a known failure.
 */
export function steps(without: string[] = []): fc.Arbitrary<Step>[] {
  const executeAt = fc.constantFrom<'none' | 'soon' | 'microseconds'>(
    ...(without.includes('microseconds') ? (['none', 'soon'] as const) : (['none', 'soon', 'microseconds'] as const)),
  );
  const timeout = fc.constantFrom(...(without.includes('long-timeout') ? [0, 60] : [0, 60, 2_592_000]));
  const pushes = push(!without.includes('cross-channel-id'));
  const named: [string, fc.Arbitrary<Step>][] = [
    ['push', pushes],
    ['push', pushes],
    ['push', pushes],
    ['push', pushes],
    ['wait', wait],
    ['wait', wait],
    [
      'ingress',
      fc
        .tuple(fc.constantFrom<'fresh' | 'reuse'>('fresh', 'reuse'), index, executeAt)
        .map(([mode, i, at]) => new PushIngress(mode, i, at, !without.includes('cross-channel-id'))),
    ],
    ['cancel', index.map((i) => new Cancel(i))],
    ['kill', index.map((i) => new Kill(i))],
    ['retry', index.map((i) => new Retry(i))],
    [
      'patch',
      fc
        .tuple(
          slot,
          fc.oneof(
            fc.boolean().map((paused): PatchKind => ({ paused })),
            fc.integer({ min: 1, max: 3 }).map((worker): PatchKind => ({ worker })),
            timeout.map((seconds): PatchKind => ({ timeout: seconds })),
            ...(without.includes('patch-pair') ? [] : [fc.integer({ min: 1, max: 3 }).map((n): PatchKind => ({ pauseAndWorker: n }))]),
          ),
        )
        .map(([s, kind]) => new Patch(s, kind)),
    ],
    ['delete', slot.map((s) => new DeleteChannel(s))],
    ['create', slot.map((s) => new CreateChannel(s))],
    ['sigkill', slot.map((s) => new KillChannelProcess(s))],
  ];
  return named.filter(([name]) => !without.includes(name)).map(([, arbitrary]) => arbitrary);
}
