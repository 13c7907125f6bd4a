import parse from 'yargs-parser';
import { CoyotesError } from '@coyotes/protocol';
import { CoyotesClient } from '../client.js';
import type { Colors } from '../colors.js';
import { LITERAL_PARSING } from '../flags.js';

/** What every verb gets: a client built from --addr/--token, --json, and where to write. */
export interface VerbContext {
  client: CoyotesClient;
  json: boolean;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Color formatters for what goes to stdout and to stderr: off unless that stream is a terminal (or FORCE_COLOR). */
  colors: { stdout: Colors; stderr: Colors };
}

/** One client verb, in its own file. Answers the process exit code. */
export interface Verb {
  name: string;
  usage: string;
  summary: string;
  /** Its own flags, beside the common --addr, --token and --json. */
  flags: { boolean?: string[]; string?: string[]; alias?: Record<string, string[]> };
  run(args: VerbArgs, context: VerbContext): Promise<number>;
}

export interface VerbArgs {
  positionals: string[];
  /** Everything after `--`, untouched. */
  rest: string[];
  flags: Record<string, unknown>;
}

const COMMON = { string: ['addr', 'token'], boolean: ['json'] };

/** Parses a verb's arguments; an unknown flag is a usage error (exit 2). */
export function parseVerbArgs(
  verb: Verb,
  argv: string[],
  env: NodeJS.ProcessEnv,
): { args: VerbArgs; client: CoyotesClient; json: boolean } {
  const parsed = parse(argv, {
    configuration: {
      ...LITERAL_PARSING,
      'populate--': true,
      // `push echo -n hi` means the command's -n, not push's
      'halt-at-non-option': verb.name === 'push',
    },
    string: [...COMMON.string, ...(verb.flags.string ?? [])],
    boolean: [...COMMON.boolean, ...(verb.flags.boolean ?? [])],
    alias: verb.flags.alias ?? {},
  });
  const known = new Set<string>([
    ...COMMON.string,
    ...COMMON.boolean,
    ...(verb.flags.string ?? []),
    ...(verb.flags.boolean ?? []),
    ...Object.values(verb.flags.alias ?? {}).flat(),
  ]);
  for (const key of Object.keys(parsed)) {
    if (key !== '_' && key !== '--' && !known.has(key)) {
      throw new CoyotesError('COY_ERR_CONFIG_UNKNOWN_FLAG', `${verb.name}: unknown flag -${key} (usage: ${verb.usage})`);
    }
  }
  for (const name of [...COMMON.string, ...(verb.flags.string ?? [])]) {
    if (parsed[name] === '') throw new CoyotesError('COY_ERR_CONFIG_INVALID', `${verb.name}: --${name} needs a value`);
  }
  const client = new CoyotesClient({
    addr: (parsed.addr as string | undefined) ?? env.COYOTES_ADDR ?? env.COYOTES_HTTP_ADDR,
    token: (parsed.token as string | undefined) ?? env.COYOTES_TOKEN ?? env.COYOTES_HTTP_TOKEN,
  });
  const rest = ((parsed['--'] as unknown[] | undefined) ?? []).map(String);
  return { args: { positionals: parsed._.map(String), rest, flags: parsed }, client, json: parsed.json === true };
}

/** A usage error (exit 2) naming the verb. */
export function usageError(verb: Pick<Verb, 'name' | 'usage'>, message: string): CoyotesError {
  return new CoyotesError('COY_ERR_CONFIG_INVALID', `${verb.name}: ${message} (usage: ${verb.usage})`);
}

/** The single task id a verb like `kill ID` takes, or a usage error. */
export function oneTaskId(verb: Pick<Verb, 'name' | 'usage'>, positionals: string[]): string {
  const id = positionals[0];
  if (!id || positionals.length > 1) throw usageError(verb, 'give one task id');
  return id;
}

/** A flag that must be a non-negative whole number of seconds (or count), when given. */
export function optionalCount(verb: Verb, flags: Record<string, unknown>, name: string, min = 0): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw usageError(verb, `--${name} must be ${min > 0 ? 'a positive' : 'a non-negative'} integer, got "${String(raw)}"`);
  }
  return Number(text);
}

/** Prints `data` as JSON with --json, or the human text otherwise. */
export function print(context: VerbContext, data: unknown, human: string): void {
  context.stdout(context.json ? `${JSON.stringify(data, null, 2)}\n` : human.endsWith('\n') || human === '' ? human : `${human}\n`);
}
