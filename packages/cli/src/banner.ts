import type { ServerOptions } from '@coyotes/protocol';

const bold = (text: string): string => `\x1b[1m${text}\x1b[22m`;
const dim = (text: string): string => `\x1b[2m${text}\x1b[22m`;
const cyan = (text: string): string => `\x1b[36m${text}\x1b[39m`;

/** The startup banner printed on a terminal: what runs, where. Never shows a secret. */
export function banner(version: string, options: Readonly<ServerOptions>, channels: readonly string[]): string {
  const { redis } = options;
  const rows: [string, string][] = [
    ['redis', `${redis.tls ? 'rediss' : 'redis'}://${redis.host}:${redis.port}/${redis.db}`],
    ['http', `http://${options.httpAddr}${options.httpToken ? dim(' (bearer token required)') : ''}`],
    ['channels', channels.length > 0 ? channels.join(', ') : dim('none')],
    ['mode', options.taskMode ? 'task mode: running commands' : 'API and dispatch only (-task-mode=false)'],
  ];
  if (options.runAs) rows.push(['run as', `${options.runAs.user} (uid ${options.runAs.uid})`]);
  const lines = rows.map(([label, value]) => `  ${dim(label.padEnd(9))}${value}`);
  return `\n  ${bold(cyan('coyotes'))} ${version}\n${lines.join('\n')}\n\n`;
}
