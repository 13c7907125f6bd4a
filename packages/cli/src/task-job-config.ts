import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { CoyotesError, TASK_JOB_DEFAULT_CMD_DIR, TASK_JOB_DEFAULT_QUEUE, parseHostPort, parseHostPortList } from '@coyotes/protocol';
import type { TaskJobOptions } from '@coyotes/protocol';

/** The keys of task-job's config.json, read as task-job reads them. */
export const TASK_JOB_KEYS = [
  'server_port',
  'redis_addr',
  'queue_name',
  'queue_control_name',
  'logs',
  'logs_channel',
  'logs_http',
  'cmd_dir',
] as const;

const invalid = (key: string, why: string) => new CoyotesError('COY_ERR_CONFIG_INVALID', `config file setting ${key} ${why}`);

/** A string setting; task-job takes "" as unset. */
function text(file: Record<string, unknown>, key: string): string | undefined {
  const value = file[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw invalid(key, `must be a string, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * task-job's `redis_addr` as Coyotes settings: `host:port` (one server); a comma-separated
 * `host:port,host:port…` or `sentinel://host:port[,…][/primary name]` (sentinels, primary
 * `mymaster` unless named); `redis://…`/`rediss://…` (a URL).
 */
function redisSettings(addr: string): Record<string, string> {
  const key = 'redis_addr';
  if (/^rediss?:\/\//.test(addr)) return { 'redis-url': addr };
  const sentinel = /^sentinel:\/\/([^/]*)(?:\/(.*))?$/.exec(addr);
  if (sentinel) {
    parseHostPortList(sentinel[1]!, `config file setting ${key}`);
    return { 'redis-sentinels': sentinel[1]!, ...(sentinel[2] ? { 'redis-sentinel-name': sentinel[2] } : {}) };
  }
  if (addr.includes(',')) {
    parseHostPortList(addr, `config file setting ${key}`);
    return { 'redis-sentinels': addr };
  }
  parseHostPort(addr, `config file setting ${key}`);
  return { 'redis-host': addr };
}

/**
 * Splits a config file into Coyotes' own settings (keyed by flag name) and task-job's: its keys
 * become the settings they stand for (`redis_addr` → redis-host or sentinels, `server_port` →
 * the port of http-addr, `cmd_dir` → command-root when none is set) and its queue options. The
 * task-job part is undefined when the file holds none of its keys.
 */
export function fromTaskJobConfig(file: Record<string, unknown>): { settings: Record<string, unknown>; taskJob?: TaskJobOptions } {
  if (!TASK_JOB_KEYS.some((key) => key in file)) return { settings: file };
  const settings: Record<string, unknown> = Object.fromEntries(
    Object.entries(file).filter(([key]) => !(TASK_JOB_KEYS as readonly string[]).includes(key)),
  );
  const redisAddr = text(file, 'redis_addr');
  if (redisAddr !== undefined) {
    const redis = redisSettings(redisAddr);
    const clash = ['redis-host', 'redis-url', 'redis-sentinels', 'redis-cluster', 'host'].find((name) => name in settings);
    if (clash) throw invalid('redis_addr', `and ${clash} both name Redis: keep one`);
    Object.assign(settings, redis);
  }
  const port = file.server_port;
  if (port !== undefined && port !== null && port !== '') {
    if (!/^\d{1,5}$/.test(String(port)) || Number(port) < 1 || Number(port) > 65535) {
      throw invalid('server_port', `must be a port number, got ${JSON.stringify(port)}`);
    }
    if ('http-addr' in settings) throw invalid('server_port', 'and http-addr both set the HTTP port: keep one');
    settings['http-addr'] = `127.0.0.1:${String(port)}`;
  }
  const logs = file.logs ?? true;
  if (typeof logs !== 'boolean') throw invalid('logs', `must be true or false, got ${JSON.stringify(logs)}`);
  const logsHttp = text(file, 'logs_http');
  if (logsHttp !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(logsHttp);
    } catch {
      // refused below
    }
    if (url?.protocol !== 'http:' && url?.protocol !== 'https:') throw invalid('logs_http', 'must be an http:// or https:// URL');
  }
  const cmdDir = path.resolve(text(file, 'cmd_dir') ?? TASK_JOB_DEFAULT_CMD_DIR);
  if (!existsSync(cmdDir) || !statSync(cmdDir).isDirectory()) throw invalid('cmd_dir', `names no directory: ${cmdDir}`);
  if (!('command-root' in settings)) settings['command-root'] = cmdDir;
  const queue = text(file, 'queue_name') ?? TASK_JOB_DEFAULT_QUEUE;
  const taskJob: TaskJobOptions = {
    queue,
    controlQueue: text(file, 'queue_control_name') ?? `${queue}_control`,
    logs,
    logsChannel: text(file, 'logs_channel') ?? `${queue}_logs`,
    cmdDir,
  };
  if (logsHttp !== undefined) taskJob.logsHttp = logsHttp;
  const names = [taskJob.queue, taskJob.controlQueue, taskJob.logsChannel];
  if (new Set(names).size < names.length) {
    throw new CoyotesError(
      'COY_ERR_CONFIG_INVALID',
      `config file settings queue_name, queue_control_name and logs_channel must name three different lists, got ${names.join(', ')}`,
    );
  }
  return { settings, taskJob };
}

/** cmd_dir must lie in the command root (a -command-root flag may have moved it). */
export function checkTaskJobCmdDir(taskJob: TaskJobOptions | undefined, commandRoot: string): void {
  if (taskJob === undefined) return;
  const root = path.resolve(commandRoot);
  const relative = path.relative(root, taskJob.cmdDir);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', `config file setting cmd_dir ${taskJob.cmdDir} lies outside -command-root ${root}`);
  }
}
