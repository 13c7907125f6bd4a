import { readFileSync, readdirSync } from 'node:fs';
import type { Cluster, Redis, Result } from 'ioredis';

const LUA_DIR = new URL('./lua/', import.meta.url);
const SCRIPT_FILE = /^([a-zA-Z]+)-(\d+)\.lua$/;

type Arg = string | number;

/**
 * A producers' list's [oldest end, other end]: read oldest first into an in-flight list
 * (claimListEntries, BLMOVE) and given back the other way (recoverListEntries).
 */
/** LPUSHed lists (the seed's ingress list): the oldest entry is at the right. */
export const LPUSHED = ['RIGHT', 'LEFT'] as const;
/** RPUSHed lists (task-job's queues): the oldest entry is at the left. */
export const RPUSHED = ['LEFT', 'RIGHT'] as const;

/** The Lua scripts, as commands registered on a connection (EVALSHA with NOSCRIPT fallback). */
export interface ScriptCommands {
  enqueueTasks(...args: Arg[]): Promise<number[]>;
  claimTasks(...args: Arg[]): Promise<string[]>;
  extendLeases(...args: Arg[]): Promise<string[]>;
  completeTask(...args: Arg[]): Promise<number>;
  finishTask(...args: Arg[]): Promise<[number, ...string[]]>;
  promoteDelayed(...args: Arg[]): Promise<[number, number, number]>;
  requeueTasks(...args: Arg[]): Promise<[number, number]>;
  cancelTask(...args: Arg[]): Promise<number>;
  retryFailed(...args: Arg[]): Promise<number>;
  deleteFailed(...args: Arg[]): Promise<number>;
  claimListEntries(...args: Arg[]): Promise<string[]>;
  recoverListEntries(...args: Arg[]): Promise<number>;
  claimCallbacks(...args: Arg[]): Promise<string[]>;
  updateChannel(...args: Arg[]): Promise<string | null>;
  writePausedFlag(...args: Arg[]): Promise<number>;
  appendTaskLog(...args: Arg[]): Promise<number>;
  claimProducerId(...args: Arg[]): Promise<[number, string, number?]>;
  appendTaskJobLogs(...args: Arg[]): Promise<number>;
  adoptTaskJobOutbox(...args: Arg[]): Promise<number>;
  fireSchedule(...args: Arg[]): Promise<[number, string, string]>;
  armSchedules(...args: Arg[]): Promise<[number, string][]>;
  disarmSchedule(...args: Arg[]): Promise<number>;
  readHistory(...args: Arg[]): Promise<string[] | null>;
  ackHistory(...args: Arg[]): Promise<number>;
  markPublished(...args: Arg[]): Promise<number>;
  claimDelivered(...args: Arg[]): Promise<[number, string?]>;
  beatRunner(...args: Arg[]): Promise<number>;
  releaseLock(...args: Arg[]): Promise<number>;
  readOutbox(...args: Arg[]): Promise<string[]>;
  requeuePublished(...args: Arg[]): Promise<number>;
}

/** A single-server or sentinel connection, or a cluster client: the same commands either way. */
export type RedisClient = Redis | Cluster;

export type ScriptedRedis = RedisClient & ScriptCommands;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    // lets pipelines carry the scripts too
    completeTask(...args: Arg[]): Result<number, Context>;
    enqueueTasks(...args: Arg[]): Result<number[], Context>;
  }
}

/** Inlines `-- @include name` lines with lua/includes/name.lua. */
function withIncludes(source: string): string {
  return source.replace(/^-- @include (\w+)$/gm, (_line, name: string) => readFileSync(new URL(`includes/${name}.lua`, LUA_DIR), 'utf8'));
}

let loaded: { name: string; numberOfKeys: number; lua: string }[] | undefined;

/** Reads every `<verbNoun>-<numKeys>.lua` once; the key count comes from the file name. */
function loadScripts(): { name: string; numberOfKeys: number; lua: string }[] {
  loaded ??= readdirSync(LUA_DIR)
    .map((file) => SCRIPT_FILE.exec(file))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(([file, name, keys]) => ({
      name: name!,
      numberOfKeys: Number(keys),
      lua: withIncludes(readFileSync(new URL(file, LUA_DIR), 'utf8')),
    }));
  return loaded;
}

export function defineScripts(redis: RedisClient): ScriptedRedis {
  for (const script of loadScripts()) {
    redis.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
  }
  return redis as ScriptedRedis;
}
