import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import { CoyotesError } from '@coyotes/protocol';
import type { ServerOptions } from '@coyotes/protocol';

/** Where master logs and where children's log lines (piped through master) go. */
export interface LogSetup {
  log: Logger;
  /** Set when children's stdout must pass through master (pretty printing, log file). */
  childOutput: Writable | undefined;
  /** Human output on a terminal: master prints a banner. */
  pretty: boolean;
  /** Reopens the log file (after logrotate moved it); a no-op without one. */
  reopen(): void;
}

/** Paths pino blanks out wherever they appear in a log record. */
const REDACT = [
  'options.redis.password',
  'options.httpToken',
  'identity.options.redis.password',
  'identity.options.httpToken',
  'redis.password',
  'password',
  'httpToken',
  'authorization',
  'req.headers.authorization',
];

/**
 * JSON lines to stdout by default; JSON lines appended to `-log-file`; colored human lines
 * with `-colorful-tty` when stdout is a terminal (a process manager's log stays JSON).
 */
export function setUpLogging(options: Readonly<ServerOptions>, isTty: boolean): LogSetup {
  const base = { level: options.logLevel, base: { pid: process.pid, role: 'master' }, redact: REDACT };
  if (options.logFile) {
    const path = options.logFile;
    try {
      closeSync(openSync(path, 'a'));
    } catch (error) {
      throw new CoyotesError('COY_ERR_CONFIG_INVALID', `-log-file ${path} cannot be opened: ${(error as NodeJS.ErrnoException).code}`);
    }
    const file = pino.destination({ dest: path, sync: true, append: true });
    // one synchronous writer for master's lines and children's: whole lines, none lost at exit
    const childOutput = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        file.write(chunk.toString());
        callback();
      },
    });
    return { log: pino(base, file), childOutput, pretty: false, reopen: () => file.reopen() };
  }
  if (options.colorfulTty && isTty) {
    // loaded only here (some forty modules): a server logging JSON starts without them
    const prettyOutput = (createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty)({
      colorize: true,
      sync: true,
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss.l',
      messageFormat: '{role} › {msg}',
      ignore: 'pid,hostname,role,nodeId',
    });
    return { log: pino(base, prettyOutput), childOutput: prettyOutput, pretty: true, reopen: () => undefined };
  }
  return { log: pino(base, pino.destination({ sync: true })), childOutput: undefined, pretty: false, reopen: () => undefined };
}
