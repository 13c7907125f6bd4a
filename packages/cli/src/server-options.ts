import { CoyotesError, parseHostPort, resolveServerOptions } from '@coyotes/protocol';
import type { ScheduleDefinition, ServerOptions } from '@coyotes/protocol';
import { readConfigFile, takeConfigSchedules } from './config-file.js';
import { layerOptions } from './flags.js';
import type { ParsedCommandLine } from './flags.js';
import { checkTaskJobCmdDir, fromTaskJobConfig } from './task-job-config.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

/** The options flags, environment and config file give (flags first); throws on a bad value. */
export function layeredServerOptions(
  command: ParsedCommandLine,
  env: NodeJS.ProcessEnv,
): { options: Readonly<ServerOptions>; warnings: string[]; schedules: ScheduleDefinition[] } {
  const configPath = command.config ?? env.COYOTES_CONFIG;
  // schedules (Coyotes' key) are taken first; task-job's config.json keys become the settings they stand for
  const raw = configPath ? readConfigFile(configPath) : {};
  const schedules = takeConfigSchedules(raw);
  const { settings: file, taskJob } = fromTaskJobConfig(raw);
  const { options, warnings } = layerOptions({ flags: command.flags, env, file });
  const resolved = resolveServerOptions(taskJob ? { ...options, taskJob } : options);
  checkTaskJobCmdDir(resolved.taskJob, resolved.commandRoot);
  return { options: resolved, warnings, schedules };
}

/** The options a server runs with: also refuses an HTTP address others can reach without a token. */
export function serverOptions(
  command: ParsedCommandLine,
  env: NodeJS.ProcessEnv,
): { options: Readonly<ServerOptions>; warnings: string[]; schedules: ScheduleDefinition[] } {
  const { options: resolved, warnings, schedules } = layeredServerOptions(command, env);
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
  return { options: resolved, warnings, schedules };
}
