import { cancel } from './cancel.js';
import { channels } from './channels.js';
import { history } from './history.js';
import { kill } from './kill.js';
import { logs } from './logs.js';
import { nodes } from './nodes.js';
import { push } from './push.js';
import { retry } from './retry.js';
import { schedules } from './schedules.js';
import { status } from './status.js';
import type { Verb } from './verb.js';
import { deadLetters } from './dead-letters.js';
import { show } from './show.js';
import { tasks } from './tasks.js';

/** Every client verb, by name. */
export const VERBS: ReadonlyMap<string, Verb> = new Map(
  [push, status, logs, kill, cancel, retry, channels, nodes, ...[tasks, show, deadLetters], schedules, history].map((verb) => [
    verb.name,
    verb,
  ]),
);

export function verbsHelp(): string {
  return [
    'Usage: coyotes VERB [options]    talk to a running server over its HTTP API',
    '',
    ...[...VERBS.values()].map((verb) => `  ${verb.usage}\n        ${verb.summary}`),
    '',
    'Every verb takes:',
    '  --addr host:port   the API (default 127.0.0.1:60001; env COYOTES_ADDR, else COYOTES_HTTP_ADDR)',
    '  --token TOKEN      bearer token (env COYOTES_TOKEN, else COYOTES_HTTP_TOKEN)',
    '  --json             print the API data as JSON',
    '',
    'Exit codes: 0 ok; 1 the API refused or could not be reached; 2 bad usage;',
    "push --wait, logs -f: the command's own code (128+N for signal N, 124 timeout, 125 cancelled, 127 could not start),",
    'said in one last line on stderr. Colors on a terminal; NO_COLOR=1 turns them off, FORCE_COLOR=1 on.',
  ].join('\n');
}

export type { Verb, VerbContext } from './verb.js';
export { parseVerbArgs } from './verb.js';
