import { checkAmqp } from '@coyotes/broker';
import { Master } from '@coyotes/master';
import { CoyotesError } from '@coyotes/protocol';
import type { ScheduleDefinition, ServerOptions } from '@coyotes/protocol';
import { banner } from './banner.js';
import { setUpLogging } from './logging.js';
import { stripPm2Environment } from './pm2-env.js';
import { VERSION } from './version.js';

/** Runs master in this process until a signal drains it. */
export async function runServer(
  options: Readonly<ServerOptions>,
  warnings: string[],
  schedules: ScheduleDefinition[] = [],
): Promise<number> {
  const logging = setUpLogging(options, process.stdout.isTTY === true);
  const { log } = logging;
  for (const warning of warnings) log.warn(warning);
  if (process.getuid?.() === 0 && !options.runAs) {
    log.warn(
      { event: 'running-as-root' },
      'running as root: every command runs as root too (use -run-as USER to run commands unprivileged)',
    );
  }
  if (options.runAs) log.info({ user: options.runAs.user, uid: options.runAs.uid, gid: options.runAs.gid }, 'commands run as this user');
  // before any child is forked: children, and so commands, inherit this environment
  const pm2Keys = stripPm2Environment(process.env);
  if (pm2Keys.length > 0) log.debug({ removed: pm2Keys }, 'running under pm2: its variables are kept from commands');
  // logrotate's postrotate (and supervisord's own habit) ask for a reopen with SIGHUP
  process.on('SIGHUP', () => logging.reopen());
  const master = new Master({ options, log, version: VERSION, childOutput: logging.childOutput, schedules });
  try {
    // a wrong -history-url fails the start with one line; its migrations are applied here, once per start
    if (options.historyUrl) {
      // loaded only when asked for: a server without a history starts without the package
      const { HistoryStore } = await import('@coyotes/history');
      await (await HistoryStore.open(options.historyUrl, { migrate: true })).close();
    }
    // a wrong -broker-url fails the start with one line too, before any channel consumes
    if (options.brokerUrl) await checkAmqp(options.brokerUrl);
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
