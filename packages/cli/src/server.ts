import { readFileSync } from 'node:fs';
import { Master } from '@coyotes/master';
import { CoyotesError, parseHostPort, resolveServerOptions } from '@coyotes/protocol';
import type { ServerOptions } from '@coyotes/protocol';
import { banner } from './banner.js';
import { readConfigFile } from './config-file.js';
import { layerOptions } from './flags.js';
import type { ParsedCommandLine } from './flags.js';
import { setUpLogging } from './logging.js';
import { stripPm2Environment } from './pm2-env.js';

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

/** Runs master in this process until a signal drains it. */
export async function runServer(options: Readonly<ServerOptions>, warnings: string[]): Promise<number> {
  const logging = setUpLogging(options, process.stdout.isTTY === true);
  const { log } = logging;
  for (const warning of warnings) log.warn(warning);
  if (process.getuid?.() === 0 && !options.runAs) {
    log.warn('running as root: every command runs as root too (use -run-as USER to run commands unprivileged)');
  }
  if (options.runAs) log.info({ user: options.runAs.user, uid: options.runAs.uid, gid: options.runAs.gid }, 'commands run as this user');
  // before any child is forked: children, and so commands, inherit this environment
  const pm2Keys = stripPm2Environment(process.env);
  if (pm2Keys.length > 0) log.debug({ removed: pm2Keys }, 'running under pm2: its variables are kept from commands');
  // logrotate's postrotate (and supervisord's own habit) ask for a reopen with SIGHUP
  process.on('SIGHUP', () => logging.reopen());
  const master = new Master({ options, log, version: VERSION, childOutput: logging.childOutput });
  try {
    await master.start();
  } catch (error) {
    if (error instanceof CoyotesError) {
      process.stderr.write(`coyotes: ${error.message}${error.hint ? ` (${error.hint})` : ''}\n`);
      return 2;
    }
    throw error;
  }
  if (logging.pretty) process.stdout.write(banner(VERSION, options, master.channelNames()));
  // master exits the process itself once a signal's drain is over
  return new Promise<number>(() => undefined);
}
