import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { api, startCoyotes } from './coyotes.js';
import type { RunningCoyotes } from './coyotes.js';
import { killHost } from './hosts.js';
import { startRedis } from './redis.js';
import type { TestRedis } from './redis.js';

/** The lines a schedule's command appended: `<tick ISO> <ms it ran>` (other lines read as NaN ticks). */
export function runs(file: string): { tick: number; ranAt: number }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [tick, ranAt] = line.split(' ');
      return { tick: Date.parse(tick!), ranAt: Number(ranAt) };
    });
}

/** A command that appends the tick it runs for (`COYOTES_SCHEDULE_TICK`) and when it ran to `file`, then runs `then`. */
export function recorder(file: string, then = ''): Record<string, string | string[]> {
  return { command: '/bin/sh', args: ['-c', `echo "$COYOTES_SCHEDULE_TICK $(date +%s%3N)" >> ${file}${then}`] };
}

export async function createSchedule(host: RunningCoyotes, fields: Record<string, string | string[]>): Promise<any> {
  const { status, json } = await api(host.baseUrl, 'POST', '/schedules', fields);
  assert.equal(status, 200, JSON.stringify(json));
  return json.data;
}

export async function createChannel(host: RunningCoyotes, name: string): Promise<void> {
  assert.equal((await api(host.baseUrl, 'POST', '/channels', { name, worker: '3' })).status, 200);
}

/** A config file declaring one schedule, as one kept in version control. */
export function scheduleConfig(dir: string): string {
  const file = path.join(dir, 'coyotes.json');
  writeFileSync(
    file,
    JSON.stringify({
      schedules: [{ name: 'from-config', cron: '0 3 * * *', timezone: 'Europe/Berlin', channel: 'cron', task: 'php artisan backup:run' }],
    }),
  );
  return file;
}

/** Masters one after the other: several starting at once on a loaded machine can outlast the start deadline. */
export async function startMasters(redisAddr: string, count: number, config: string): Promise<RunningCoyotes[]> {
  const started: RunningCoyotes[] = [];
  for (let i = 0; i < count; i += 1) started.push(await startCoyotes({ redisAddr, args: ['-concurrent', '2', '-config', config] }));
  return started;
}

/** What a schedule test file runs against: a redis-server, masters on it, a work directory. */
export interface ScheduleHarness {
  redis: TestRedis;
  hosts: RunningCoyotes[];
  work: string;
  /** The config file every master starts with (it declares the schedule `from-config`). */
  config: string;
}

/** Starts a redis-server and `count` masters before the file's tests, and stops them all after. */
export function scheduleHarness(count: number): ScheduleHarness {
  const harness = { hosts: [] } as unknown as ScheduleHarness;
  before(async () => {
    harness.work = mkdtempSync(path.join(tmpdir(), 'coyotes-schedules-'));
    harness.config = scheduleConfig(harness.work);
    harness.redis = await startRedis();
    harness.hosts = await startMasters(harness.redis.addr, count, harness.config);
  });
  after(async () => {
    // a drain that outlasts 10 s means a test left a command behind: end the host instead of waiting
    await Promise.all(
      harness.hosts.map((host) => {
        const ending = setTimeout(() => killHost(host), 10_000);
        return host.stop('SIGTERM').finally(() => clearTimeout(ending));
      }),
    );
    await harness.redis.stop();
    rmSync(harness.work, { recursive: true, force: true });
  });
  return harness;
}
