import type { Logger } from 'pino';
import type { Broker, ChannelCache, TaskView } from '@coyotes/broker';
import { CoyotesError } from '@coyotes/protocol';
import type { ChannelConfig, ServerOptions } from '@coyotes/protocol';
import type { HistoryWriter } from './history-writer.js';

/** What every route may use. */
export interface ApiDeps {
  broker: Broker;
  /** Channel definitions for the hot path (pushes); invalidated by registry events. */
  channels: ChannelCache;
  /** This host's node id: whose published figures (`HostFigures`) the routes show. */
  nodeId: string;
  /** The clock the figures' freshness is judged by; tests pass their own. */
  clock: () => number;
  options: Readonly<ServerOptions>;
  log: Logger;
  /** The SQL task history's writer and store, when -history-url is set. */
  history?: HistoryWriter;
}

/** A defined channel, or a deleted one whose tasks may still run (to cancel or kill them). */
export async function requireChannelOrRetired(deps: ApiDeps, name: string): Promise<string> {
  if ((await deps.channels.get(name)) !== null || (await deps.broker.channels.namesWithRetired()).includes(name)) return name;
  throw new CoyotesError('COY_ERR_CHANNEL_NOT_FOUND', `channel ${name} not found`);
}

export async function requireChannel(deps: ApiDeps, name: string): Promise<ChannelConfig> {
  const channel = await deps.channels.get(name);
  if (!channel) throw new CoyotesError('COY_ERR_CHANNEL_NOT_FOUND', `channel ${name} not found`);
  return channel;
}

/** Finds a task by id in whichever channel holds it (a deleted channel's tasks still running included). */
export async function requireTask(deps: ApiDeps, id: string): Promise<TaskView> {
  const names = await deps.broker.channels.namesWithRetired();
  const view = await deps.broker.queries.locate(names, id);
  if (!view) throw new CoyotesError('COY_ERR_TASK_NOT_FOUND', `task ${id} not found`);
  return view;
}
