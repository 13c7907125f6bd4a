/**
 * The task lists of one channel (running, queued, delayed, failed) and the dead letters, read
 * from the API a page at a time. A search reads the first 1,000 entries and filters them by
 * command text and id in the browser; an exact id is also looked up directly.
 */
import { ApiError, get } from './api.js';
import { commandText, parseTime } from './format.js';
import type { ChannelRow } from './model.js';
import { state } from './state.js';

export type Tab = 'running' | 'queued' | 'delayed' | 'failed';
export const TABS: Tab[] = ['running', 'queued', 'delayed', 'failed'];

export interface TaskRow {
  id: string | null;
  name: string;
  channel: string;
  status: string;
  /** Started (running), due (delayed) or failed at, in ms. */
  when: number | null;
  /** `when` is only when this page first saw the task running (the API gives no start time). */
  whenIsFirstSeen: boolean;
  retries: number | null;
  pid: number | null;
  cpu: number | null;
  rss: number | null;
}

export interface ListPage {
  rows: TaskRow[];
  /** More entries may follow this page. */
  more: boolean;
  /** The search looked at only the first SEARCH_LIMIT entries. */
  searchCut: boolean;
}

export const PAGE_SIZE = 25;
const SEARCH_LIMIT = 1000;

type Seed = {
  task_id?: string;
  task_name: string;
  channel: string;
  status?: string;
  retry_count?: number;
  failed_at?: string;
  execute_at?: string;
  command?: { name: string; args: string[] | null };
};
type Detail = Seed & { status: string; created_at?: string; started_at?: string; running_since?: string };

const enc = encodeURIComponent;

function row(task: Seed, status: string, when: number | null): TaskRow {
  return {
    id: task.task_id ?? null,
    name: commandText(task),
    channel: task.channel,
    status,
    when,
    whenIsFirstSeen: false,
    retries: task.retry_count ?? null,
    pid: null,
    cpu: null,
    rss: null,
  };
}

/** Running tasks: ids and figures of this host's process, plus the listing's (other hosts') by name. */
/** Details of running tasks: what a running task runs does not change, so each is read once. */
const runningDetails = new Map<string, Detail>();

async function runningDetail(id: string): Promise<Detail | null> {
  const known = runningDetails.get(id);
  if (known) return known;
  const detail = await get<Detail>(`/tasks/${enc(id)}`).catch(() => null);
  if (detail?.status === 'running') runningDetails.set(id, detail);
  return detail;
}

async function running(channel: ChannelRow): Promise<TaskRow[]> {
  const commands = (channel.process?.running ?? []).slice(0, 100);
  const details = await Promise.all(commands.map((command) => runningDetail(command.taskId)));
  for (const id of runningDetails.keys()) if (!state.firstSeenRunning.has(id)) runningDetails.delete(id);
  const rows: TaskRow[] = commands.map((command, i) => {
    const detail = details[i];
    const reported = parseTime(detail?.started_at ?? detail?.running_since);
    return {
      ...row(
        detail ?? { task_name: '…', channel: channel.name },
        'running',
        reported ?? state.firstSeenRunning.get(command.taskId) ?? null,
      ),
      whenIsFirstSeen: reported === null,
      id: command.taskId,
      pid: command.pid,
      cpu: command.cpu,
      rss: command.rss,
    };
  });
  const listing = await get<{ tasks: Seed[] }>(`/channels/${enc(channel.name)}?limit=1`);
  const here = new Set(rows.map((r) => r.name));
  for (const task of listing.tasks.filter((t) => t.status === 'running')) {
    if (task.task_id && rows.some((r) => r.id === task.task_id)) continue;
    if (!task.task_id && here.delete(task.task_name)) continue;
    rows.push(row(task, 'running', null));
  }
  return rows;
}

async function fetchPage(tab: Tab, channel: ChannelRow, offset: number, limit: number): Promise<TaskRow[]> {
  const name = enc(channel.name);
  if (tab === 'queued') {
    const listing = await get<{ tasks: Seed[] }>(`/channels/${name}?offset=${offset}&limit=${Math.min(1000, limit + channel.running)}`);
    return listing.tasks
      .filter((task) => task.status !== 'running')
      .slice(0, limit)
      .map((task) => row(task, 'queued', null));
  }
  if (tab === 'delayed') {
    const all = await get<Record<string, Seed>>(`/delay-tasks?offset=${offset}&limit=${limit}`);
    return Object.values(all)
      .filter((task) => task.channel === channel.name)
      .map((task) => row(task, 'delayed', parseTime(task.execute_at)));
  }
  const failed = await get<Record<string, Seed>>(`/channels/${name}/failed-tasks?offset=${offset}&limit=${limit}`);
  return Object.values(failed).map((task) => row(task, 'failed', parseTime(task.failed_at)));
}

const matches = (task: TaskRow, query: string) => task.name.toLowerCase().includes(query) || (task.id ?? '').toLowerCase().includes(query);

/** An exact task id typed in the search box, if that task is in this channel and tab. */
async function byId(query: string, tab: Tab, channel: string): Promise<TaskRow | null> {
  if (!/^[A-Za-z0-9_.:-]{6,128}$/.test(query)) return null;
  try {
    const task = await get<Detail>(`/tasks/${enc(query)}`);
    return task.channel === channel && task.status === tab ? row(task, task.status, parseTime(task.failed_at ?? task.execute_at)) : null;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export async function loadList(tab: Tab, channel: ChannelRow, query: string, offset: number): Promise<ListPage> {
  const needle = query.trim().toLowerCase();
  if (tab === 'running') {
    const rows = (await running(channel)).filter((task) => !needle || matches(task, needle));
    return { rows: rows.slice(offset, offset + PAGE_SIZE), more: rows.length > offset + PAGE_SIZE, searchCut: false };
  }
  if (!needle) {
    const rows = await fetchPage(tab, channel, offset, PAGE_SIZE + 1);
    return { rows: rows.slice(0, PAGE_SIZE), more: rows.length > PAGE_SIZE, searchCut: false };
  }
  const [all, exact] = await Promise.all([fetchPage(tab, channel, 0, SEARCH_LIMIT), byId(query.trim(), tab, channel.name)]);
  const found = all.filter((task) => matches(task, needle));
  if (exact && !found.some((task) => task.id === exact.id)) found.unshift(exact);
  return { rows: found.slice(offset, offset + PAGE_SIZE), more: found.length > offset + PAGE_SIZE, searchCut: all.length >= SEARCH_LIMIT };
}

export interface DeadLetter {
  [field: string]: unknown;
}

export async function loadDeadLetters(query: string, offset: number): Promise<{ count: number; items: DeadLetter[]; more: boolean }> {
  const needle = query.trim().toLowerCase();
  const limit = needle ? SEARCH_LIMIT : PAGE_SIZE;
  const page = await get<{ count: number; items: DeadLetter[] }>(`/dead-letters?offset=${needle ? 0 : offset}&limit=${limit}`);
  if (!needle) return { count: page.count, items: page.items, more: offset + PAGE_SIZE < page.count };
  const found = page.items.filter((item) => JSON.stringify(item).toLowerCase().includes(needle));
  return { count: found.length, items: found.slice(offset, offset + PAGE_SIZE), more: found.length > offset + PAGE_SIZE };
}
