/**
 * Entry point of the api process, forked by master. Serves HTTP through the broker (channel
 * changes included: every master applies them from Redis) and asks master nothing; exits when
 * master asks it to or disappears.
 */
import type { Server } from 'node:http';
import pino from 'pino';
import { Broker, ChannelCache } from '@coyotes/broker';
import { execLimits, parseHostPort, parseMasterToApi, sendToParent } from '@coyotes/protocol';
import type { ApiToMaster, MasterToApi } from '@coyotes/protocol';
import { createApp } from './app.js';
import { CallbackDeliverer } from './callback-deliverer.js';
import { startHistoryWriter } from './history-start.js';
import type { HistoryWriter } from './history-writer.js';

type StartIdentity = Extract<MasterToApi, { type: 'start' }>['identity'];

const log = pino(
  { level: process.env.COYOTES_LOG_LEVEL ?? 'info', base: { pid: process.pid, role: 'api' } },
  // synchronous: a slow log reader slows logging down instead of growing memory
  pino.destination({ dest: 1, sync: true }),
);
let server: Server | undefined;
let broker: Broker | undefined;
let channels: ChannelCache | undefined;
let deliverer: CallbackDeliverer | undefined;
let history: HistoryWriter | undefined;

/** How long closing the Redis side may take on the way out. */
const CLOSE_MS = 2000;

async function exit(): Promise<void> {
  await new Promise<void>((resolve) => {
    if (!server) return resolve();
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server?.closeAllConnections(), 2000).unref();
  });
  // Redis is not waited for without bound: master (or a process manager) waits for this exit
  const closed = (async () => {
    await deliverer?.stop();
    await history?.stop();
    await channels?.close();
    await broker?.close();
  })();
  await Promise.race([closed.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, CLOSE_MS).unref())]);
  process.exit(0);
}

/** Connects to Redis (and the SQL history when set), then serves HTTP. */
async function start(identity: StartIdentity): Promise<void> {
  const { options } = identity;
  // a request during an outage answers 503 within a few seconds rather than waiting for Redis
  broker = Broker.connect(options, { name: 'coyotes:api', maxRetriesPerRequest: 2, maxReconnectDelayMs: 1000 });
  channels = new ChannelCache(broker);
  history = await startHistoryWriter(broker, options, identity.nodeId, log);
  const app = createApp({ broker, channels, nodeId: identity.nodeId, clock: Date.now, options, log, history });
  deliverer = new CallbackDeliverer(broker, identity.nodeId, log.child({ role: 'callbacks' }));
  deliverer.start();
  const { host, port } = parseHostPort(options.httpAddr, 'http-addr');
  server = app.listen(port, host, () => {
    log.info({ http: `http://${options.httpAddr}` }, 'HTTP API listening');
    void sendToParent({ type: 'ready' } satisfies ApiToMaster);
    // what a task's argv may take on this host (getconf), and the body parser (app.ts): after
    // the port answers rather than before, and ready before the first push needs them
    execLimits();
    void import('koa-body');
  });
  server.on('error', (error) => {
    log.fatal({ err: error, http: options.httpAddr }, 'HTTP API cannot listen');
    // EX_CONFIG: master stops instead of restarting a process that cannot listen
    process.exit(78);
  });
}

process.on('message', (raw: unknown) => {
  const message = parseMasterToApi(raw);
  switch (message?.type) {
    case 'start':
      start(message.identity).catch((error: unknown) => {
        log.fatal({ err: error }, 'api process cannot start');
        process.exit(78);
      });
      return;
    case 'drain':
      void exit();
      return;
  }
});

process.on('disconnect', () => void exit());
// a cluster worker drops messages that arrive before this listener exists: master waits for this
void sendToParent({ type: 'hello' } satisfies ApiToMaster);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGUSR2'] as const) process.on(signal, () => undefined);
