import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './ports.js';
import type { TestRedis } from './redis.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Where Coyotes' settings go for a process manager: COYOTES_* variables, as an operator would. */
export async function coyotesEnv(redis: TestRedis, dir: string): Promise<{ env: Record<string, string>; addr: string }> {
  const addr = `127.0.0.1:${await freePort()}`;
  return {
    addr,
    env: {
      COYOTES_REDIS_HOST: redis.addr,
      COYOTES_HTTP_ADDR: addr,
      COYOTES_PIDFILE: path.join(dir, 'coyotes.pid'),
      COYOTES_LEASE_TIMEOUT: '2',
    },
  };
}

/** The shipped [program:coyotes] section, pointed at this checkout and the test's settings. */
export function supervisordConfig(dir: string, env: Record<string, string>): string {
  const shipped = readFileSync(path.join(ROOT, 'supervisor.conf'), 'utf8');
  const program = shipped
    .replace(/^command=.*$/m, `command=${process.execPath} packages/cli/bin/coyotes.js -shutdown-timeout 600`)
    .replace(/^directory=.*$/m, `directory=${ROOT}`)
    .replace(/^stdout_logfile=.*$/m, `stdout_logfile=${path.join(dir, 'coyotes.log')}`)
    .replace(
      /^\[program:coyotes\]$/m,
      `[program:coyotes]\nenvironment=${Object.entries(env)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',')}`,
    );
  return [
    '[supervisord]',
    `logfile=${path.join(dir, 'supervisord.log')}`,
    `pidfile=${path.join(dir, 'supervisord.pid')}`,
    'nodaemon=true',
    '[unix_http_server]',
    `file=${path.join(dir, 'supervisor.sock')}`,
    '[rpcinterface:supervisor]',
    'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
    '[supervisorctl]',
    `serverurl=unix://${path.join(dir, 'supervisor.sock')}`,
    program,
  ].join('\n');
}
