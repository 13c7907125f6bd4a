import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from 'pino';
import PinoPretty from 'pino-pretty';
import { Master } from '@coyotes/master';
import { CoyotesError, parseHostPort, resolveServerOptions } from '@coyotes/protocol';
import type { ServerOptions } from '@coyotes/protocol';
import { readConfigFile } from './config-file.js';
import { layerOptions } from './flags.js';
import type { ParsedCommandLine } from './flags.js';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

/** Resolves the server options from flags, environment and config file; throws on a bad value. */
export function serverOptions(
  command: ParsedCommandLine,
  env: NodeJS.ProcessEnv,
): { options: Readonly<ServerOptions>; warnings: string[] } {
  const configPath = command.config ?? env.COYOTES_CONFIG;
  const file = configPath ? readConfigFile(configPath) : {};
  const { options, warnings } = layerOptions({ flags: command.flags, env, file });
  const resolved = resolveServerOptions(options);
  const { host } = parseHostPort(resolved.httpAddr, 'http-addr');
  if (!LOOPBACK.test(host) && !resolved.httpToken && !command.allowInsecureBind) {
    throw new CoyotesError(
      'COY_ERR_CONFIG_INVALID',
      `-http-addr ${resolved.httpAddr} is not a loopback address and no -http-token is set`,
      {
        hint: 'set -http-token (or COYOTES_HTTP_TOKEN), or pass -allow-insecure-bind',
      },
    );
  }
  return { options: resolved, warnings };
}

function prettyStream(): Writable {
  return PinoPretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'hostname' });
}

/** Runs master in this process until a signal drains it. */
export async function runServer(options: Readonly<ServerOptions>, warnings: string[]): Promise<number> {
  const pretty = options.colorfulTty;
  // one pretty printer for master and, piped through master, every child
  const prettyOutput = pretty ? prettyStream() : undefined;
  const log: Logger = pino(
    { level: options.logLevel, base: { pid: process.pid, role: 'master' }, redact: ['options.redis.password', 'options.httpToken'] },
    prettyOutput ?? pino.destination({ sync: true }),
  );
  for (const warning of warnings) log.warn(warning);
  if (process.getuid?.() === 0) log.warn('running as root: every command runs as root too');
  if (pretty) {
    process.stdout.write(
      `\n  coyotes ${VERSION}\n  redis  ${options.redis.host}:${options.redis.port} db ${options.redis.db}\n  http   http://${options.httpAddr}\n  mode   ${options.taskMode ? 'task mode (consuming)' : 'API and dispatch only'}\n\n`,
    );
  }
  const master = new Master({ options, log, version: VERSION, childOutput: prettyOutput });
  try {
    await master.start();
  } catch (error) {
    if (error instanceof CoyotesError) {
      process.stderr.write(`coyotes: ${error.message}${error.hint ? ` (${error.hint})` : ''}\n`);
      return 2;
    }
    throw error;
  }
  // master exits the process itself once a signal's drain is over
  return new Promise<number>(() => undefined);
}
