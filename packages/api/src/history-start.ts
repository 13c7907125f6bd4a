import type { Logger } from 'pino';
import type { Broker } from '@coyotes/broker';
import { HistoryStore } from '@coyotes/history';
import type { ServerOptions } from '@coyotes/protocol';
import { HistoryWriter } from './history-writer.js';

/**
 * The history writer of an api process, when -history-url is set. The pool connects on first
 * use: the database was checked (and migrated) when the server started, and one down now only
 * makes runs wait in Redis.
 */
export async function startHistoryWriter(
  broker: Broker,
  options: Readonly<ServerOptions>,
  nodeId: string,
  log: Logger,
): Promise<HistoryWriter | undefined> {
  if (!options.historyUrl) return undefined;
  const historyLog = log.child({ role: 'history' });
  const store = await HistoryStore.connect(options.historyUrl, (error) => historyLog.debug({ err: error }, 'SQL history connection lost'));
  const writer = new HistoryWriter(broker, store, nodeId, options.historyRetentionDays, historyLog);
  writer.start();
  return writer;
}
