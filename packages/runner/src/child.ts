/**
 * Entry point of a channel process, forked by master with an IPC channel. Everything arrives
 * over IPC; losing master (IPC disconnect) means: finish what runs, take nothing new, exit.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { Broker } from '@coyotes/broker';
import { TASK_EVENTS_BATCH_MS, parseMasterToRunner, sendToParent } from '@coyotes/protocol';
import type { RunnerToMaster, ServerOptions, TaskEvent } from '@coyotes/protocol';
import { ChannelRunner } from './channel-runner.js';
import { LogPublisher } from './log-publisher.js';
import { TaskJobLogSink, TeeSink } from './task-job-logs.js';
import { createSpawner, resolveSpawner } from './spawner/index.js';
import { withoutFinishedStarts } from './task-events.js';

let runner: ChannelRunner | undefined;
let broker: Broker | undefined;
let options: ServerOptions | undefined;
let exiting = false;

/** To master; a message master did not take (it is gone) is logged only: 'disconnect' follows. */
const send = (message: RunnerToMaster): Promise<void> =>
  sendToParent(message).then((error) => {
    if (error) log.debug({ err: error, message: message.type }, 'master did not take a message');
  });

/** Task events not yet sent: master hears of tasks in batches, not once per task. */
let taskEvents: TaskEvent[] = [];
let taskEventsTimer: NodeJS.Timeout | undefined;

const sendTaskEvents = (): void => {
  clearTimeout(taskEventsTimer);
  taskEventsTimer = undefined;
  if (taskEvents.length === 0) return;
  void send({ type: 'tasks', events: withoutFinishedStarts(taskEvents) });
  taskEvents = [];
};

const report = (event: TaskEvent): void => {
  taskEvents.push(event);
  taskEventsTimer ??= setTimeout(sendTaskEvents, TASK_EVENTS_BATCH_MS);
};

const log = pino(
  { level: process.env.COYOTES_LOG_LEVEL ?? 'info', base: { pid: process.pid, role: 'channel' } },
  // synchronous: a slow log reader slows logging down instead of growing memory
  pino.destination({ dest: 1, sync: true }),
);

/** How long closing the Redis connections may take on the way out. */
const CLOSE_MS = 1000;

/**
 * Stops taking tasks, lets running commands finish (or kills them, when forced) and exits. The
 * commands are waited for, bounded by -shutdown-timeout (master's, or ours once master is gone);
 * Redis is not: once the commands are over it gets one lease to take their results, and what it
 * did not take is left to the leases (another run, as the delivery contract says). Waiting longer
 * would gain nothing: by then the leases have lapsed.
 */
async function drainAndExit(force: boolean): Promise<void> {
  if (exiting && !force) return;
  exiting = true;
  if (runner && options) {
    const stopped = (force ? runner.force() : runner.drain()).then(() => 'stopped' as const);
    const leaseMs = options.leaseMs;
    const overdue = runner.commandsFinished().then(() => sleep(leaseMs, 'overdue' as const));
    if ((await Promise.race([stopped, overdue])) === 'overdue') {
      log.warn({ waitedMs: leaseMs }, 'Redis did not take the last results in time; their leases will return those tasks to the queue');
    }
  }
  sendTaskEvents();
  void send({ type: 'drained' });
  await Promise.race([broker?.close(), sleep(CLOSE_MS)]);
  process.exit(0);
}

/**
 * Master is gone (even SIGKILLed): no one else will stop this process, so it drains on its own,
 * and enforces -shutdown-timeout itself.
 */
function orphaned(): void {
  const timeoutMs = options?.shutdownTimeoutMs ?? 0;
  log.warn({ shutdownTimeoutMs: timeoutMs }, 'master is gone: finishing running commands, then exiting');
  if (timeoutMs > 0) setTimeout(() => void drainAndExit(true), timeoutMs).unref();
  void drainAndExit(false);
}

/**
 * The native spawner died (its commands are already SIGKILLed): this process cannot run commands
 * any more, so it goes the way of a crashed channel process. Master, which hears of every task it
 * runs, requeues them at once and charges the death as for any crash (the only task running, or
 * one being started: a command that kills the spawner every time ends up parked as poison), then
 * restarts it. The task events not sent yet go first, so master's view is whole.
 */
async function spawnerDied(reason: string): Promise<void> {
  log.error({ event: 'spawner-died', reason }, 'the command spawner died; exiting, so that master requeues the running tasks');
  exiting = true;
  clearTimeout(taskEventsTimer);
  if (taskEvents.length > 0) {
    const message: RunnerToMaster = { type: 'tasks', events: taskEvents };
    taskEvents = [];
    await Promise.race([send(message), sleep(CLOSE_MS)]);
  }
  process.exit(70);
}

process.on('message', (raw: unknown) => {
  const message = parseMasterToRunner(raw);
  switch (message?.type) {
    case 'start': {
      const { identity, channel } = message;
      options = identity.options;
      broker = Broker.connect(options, { name: `coyotes:channel:${channel.name}` });
      const channelLog = log.child({ channel: channel.name });
      const spawner = createSpawner(resolveSpawner(options.spawner).kind, (reason) => void spawnerDied(reason));
      runner = new ChannelRunner(
        broker,
        channel,
        {
          commandRoot: options.commandRoot,
          killGraceMs: options.killGraceMs,
          outputTailBytes: options.outputTailBytes,
          host: identity.host,
          nodeId: identity.nodeId,
          runAs: options.runAs,
          output: options.taskJob?.logs
            ? new TeeSink([new LogPublisher(broker, channelLog), new TaskJobLogSink(broker, options.taskJob, identity.nodeId, channelLog)])
            : new LogPublisher(broker, channelLog),
          leaseMs: options.leaseMs,
          leaseOwner: `${identity.nodeId}:${process.pid}`,
          spawner,
        },
        {
          starting: (task) => {
            report({ type: 'task-starting', taskId: task.spec.id, token: task.token });
            // spawning in this process (the fallback) can kill it: master must hear of the suspect
            // first. The native spawner spawns in a process of its own, so batching is safe there.
            if (spawner.kind === 'node') sendTaskEvents();
          },
          started: (task, pid) => report({ type: 'task-started', taskId: task.spec.id, token: task.token, pid }),
          finished: (task, outcome, ok) => report({ type: 'task-finished', taskId: task.spec.id, outcome, ok }),
        },
        channelLog,
      );
      runner.start();
      void send({ type: 'ready' });
      return;
    }
    case 'configure':
      runner?.configure(message.channel);
      return;
    case 'kill':
      runner?.kill(message.taskId);
      return;
    case 'drain':
      void drainAndExit(false);
      return;
    case 'force':
      void drainAndExit(true);
      return;
  }
});

// master gone (even SIGKILLed): finish running commands, record them if Redis lets us, exit
process.on('disconnect', orphaned);
// a terminal's Ctrl-C or a process manager signalling the whole group: master coordinates, we drain
for (const signal of ['SIGINT', 'SIGTERM', 'SIGUSR2'] as const) process.on(signal, () => void drainAndExit(false));
