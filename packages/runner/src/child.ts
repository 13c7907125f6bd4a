/**
 * Entry point of a channel process, forked by master with an IPC channel. Everything arrives
 * over IPC; losing master (IPC disconnect) means: finish what runs, take nothing new, exit.
 */
import pino from 'pino';
import { Broker } from '@coyotes/broker';
import type { MasterToRunner, RunnerToMaster } from '@coyotes/protocol';
import { ChannelRunner } from './channel-runner.js';
import { LogPublisher } from './log-publisher.js';

let runner: ChannelRunner | undefined;
let broker: Broker | undefined;
let exiting = false;

const send = (message: RunnerToMaster): void => {
  if (process.connected) process.send!(message);
};

const log = pino(
  { level: process.env.COYOTES_LOG_LEVEL ?? 'info', base: { pid: process.pid, role: 'channel' } },
  // synchronous: a slow log reader slows logging down instead of growing memory
  pino.destination({ dest: 1, sync: true }),
);

async function drainAndExit(force: boolean): Promise<void> {
  if (exiting && !force) return;
  exiting = true;
  if (runner) await (force ? runner.force() : runner.drain());
  send({ type: 'drained' });
  await broker?.close();
  process.exit(0);
}

process.on('message', (message: MasterToRunner) => {
  switch (message.type) {
    case 'start': {
      const { identity, channel } = message;
      const { options } = identity;
      broker = Broker.connect(options, { name: `coyotes:channel:${channel.name}` });
      const channelLog = log.child({ channel: channel.name });
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
          output: new LogPublisher(broker, channelLog),
          leaseMs: options.leaseMs,
          leaseOwner: `${identity.nodeId}:${process.pid}`,
        },
        {
          starting: (task) => send({ type: 'task-starting', taskId: task.spec.id, token: task.token }),
          started: (task, pid) => send({ type: 'task-started', taskId: task.spec.id, token: task.token, pid }),
          finished: (task, outcome, ok) => send({ type: 'task-finished', taskId: task.spec.id, outcome, ok }),
        },
        channelLog,
      );
      runner.start();
      send({ type: 'ready' });
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

// master gone (even SIGKILLed): finish running commands, record them, exit — no orphan runner
process.on('disconnect', () => void drainAndExit(false));
// a terminal's Ctrl-C or a process manager signalling the whole group: master coordinates, we drain
for (const signal of ['SIGINT', 'SIGTERM', 'SIGUSR2'] as const) process.on(signal, () => void drainAndExit(false));
