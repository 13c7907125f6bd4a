import path from 'node:path';
import parse from 'yargs-parser';
import { CoyotesError, DEFAULT_SERVER_OPTIONS, parseHostPort, parseHostPortList } from '@coyotes/protocol';
import type { ServerOptions, SpawnerChoice } from '@coyotes/protocol';
import { parseRedisUrl } from './redis-url.js';
import { resolveRunAs } from './run-as.js';

type Kind = 'string' | 'integer' | 'boolean';

/** One server flag: its name in every form (flag, env, config file), its type and what it sets. */
interface FlagSpec {
  name: string;
  kind: Kind;
  help: string;
  default?: string;
  deprecated?: string;
  /** The only values accepted. */
  choices?: readonly string[];
  /** Its value is a secret: never repeated in a message. */
  secret?: boolean;
  /** `source` names where the value came from, for error messages. */
  apply: (options: Partial<ServerOptions>, value: string | number | boolean, source: string) => void;
}

const redisOf = (o: Partial<ServerOptions>) => (o.redis ??= { ...DEFAULT_SERVER_OPTIONS.redis });
const setRedisHost = (o: Partial<ServerOptions>, v: string | number | boolean) => {
  const { host, port } = parseHostPort(String(v), 'redis-host');
  Object.assign(redisOf(o), { host, port });
};
const setRedisPassword = (o: Partial<ServerOptions>, v: string | number | boolean) => {
  redisOf(o).password = String(v);
};

const d = DEFAULT_SERVER_OPTIONS;

/** Every server flag. The seed's come first, spelled as the seed spelled them. */
export const FLAGS: readonly FlagSpec[] = [
  {
    name: 'channel-default',
    kind: 'string',
    help: 'channel of tasks that name none',
    default: d.channelDefault,
    apply: (o, v) => (o.channelDefault = String(v)),
  },
  {
    name: 'colorful-tty',
    kind: 'boolean',
    help: 'colored, human-friendly log lines instead of JSON',
    default: 'false',
    apply: (o, v) => (o.colorfulTty = v as boolean),
  },
  {
    name: 'concurrent',
    kind: 'integer',
    help: 'workers of the channels created on first start',
    default: String(d.concurrent),
    apply: (o, v) => (o.concurrent = v as number),
  },
  { name: 'host', kind: 'string', help: 'Redis host:port', deprecated: 'redis-host', apply: setRedisHost },
  {
    name: 'http-addr',
    kind: 'string',
    help: 'HTTP API listen address host:port',
    default: d.httpAddr,
    apply: (o, v) => (o.httpAddr = String(v)),
  },
  { name: 'password', kind: 'string', help: 'Redis password', deprecated: 'redis-password', secret: true, apply: setRedisPassword },
  { name: 'pidfile', kind: 'string', help: 'pid file path', default: d.pidfile, apply: (o, v) => (o.pidfile = String(v)) },
  { name: 'redis-db', kind: 'integer', help: 'Redis database number', default: '0', apply: (o, v) => (redisOf(o).db = v as number) },
  { name: 'redis-host', kind: 'string', help: 'Redis host:port', default: `${d.redis.host}:${d.redis.port}`, apply: setRedisHost },
  { name: 'redis-password', kind: 'string', help: 'Redis password', secret: true, apply: setRedisPassword },
  {
    name: 'task-mode',
    kind: 'boolean',
    help: 'consume tasks; false = API and dispatch only',
    default: 'true',
    apply: (o, v) => (o.taskMode = v as boolean),
  },
  {
    name: 'http-token',
    kind: 'string',
    help: 'bearer token required by every route but /health',
    secret: true,
    apply: (o, v) => (o.httpToken = String(v)),
  },
  {
    name: 'log-level',
    kind: 'string',
    help: 'least severe log level written',
    default: d.logLevel,
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    apply: (o, v) => (o.logLevel = String(v)),
  },
  {
    name: 'redis-url',
    kind: 'string',
    help: 'Redis as redis://[user[:password]@]host[:port][/db], rediss:// for TLS; -redis-* flags beside it override its parts',
    secret: true,
    apply: (o, v, source) => (o.redis = parseRedisUrl(String(v), source)),
  },
  {
    name: 'log-file',
    kind: 'string',
    help: 'append JSON log lines to this file instead of stdout (reopened on SIGHUP, for logrotate)',
    apply: (o, v) => (o.logFile = String(v)),
  },
  {
    name: 'run-as',
    kind: 'string',
    help: 'user (name or uid) commands run as; Coyotes itself must run as root',
    apply: (o, v, source) => (o.runAs = resolveRunAs(String(v), source)),
  },
  {
    name: 'shutdown-timeout',
    kind: 'integer',
    help: 'seconds a drain may take before running tasks are requeued and killed; 0 = wait',
    default: '0',
    apply: (o, v) => (o.shutdownTimeoutMs = (v as number) * 1000),
  },
  {
    name: 'command-root',
    kind: 'string',
    help: 'directory a task cwd must lie in',
    default: d.commandRoot,
    apply: (o, v) => (o.commandRoot = String(v)),
  },
  {
    name: 'lease-timeout',
    kind: 'integer',
    help: 'seconds a running task lease lasts without renewal',
    default: String(d.leaseMs / 1000),
    apply: (o, v) => (o.leaseMs = (v as number) * 1000),
  },
  {
    name: 'kill-grace',
    kind: 'integer',
    help: 'seconds between SIGTERM and SIGKILL when a command is stopped',
    default: String(d.killGraceMs / 1000),
    apply: (o, v) => (o.killGraceMs = (v as number) * 1000),
  },
  {
    name: 'redis-sentinels',
    kind: 'string',
    help: 'Redis Sentinel host:port,… that name the primary (followed across failovers); replaces -redis-host',
    apply: (o, v, source) => (redisOf(o).sentinels = parseHostPortList(String(v), source)),
  },
  {
    name: 'redis-sentinel-name',
    kind: 'string',
    help: 'name of the primary the sentinels monitor',
    default: 'mymaster',
    apply: (o, v) => (redisOf(o).sentinelName = String(v)),
  },
  {
    name: 'redis-cluster',
    kind: 'string',
    help: 'Redis Cluster seed nodes host:port,…; replaces -redis-host',
    apply: (o, v, source) => (redisOf(o).cluster = parseHostPortList(String(v), source)),
  },
  {
    name: 'key-prefix',
    kind: 'string',
    help: 'prefix of every Redis key Coyotes owns',
    default: d.keyPrefix,
    apply: (o, v) => (o.keyPrefix = String(v)),
  },
  {
    name: 'http-processes',
    kind: 'integer',
    help: 'api processes sharing the HTTP port (more serve more requests/s on more cores)',
    default: String(d.httpProcesses),
    apply: (o, v) => (o.httpProcesses = v as number),
  },
  {
    name: 'log-stream-task-bytes',
    kind: 'integer',
    help: "bytes of output lines one task's live log stream keeps; the rest is dropped and counted",
    default: String(d.logStreamTaskBytes),
    apply: (o, v) => (o.logStreamTaskBytes = v as number),
  },
  {
    name: 'log-stream-channel-bytes',
    kind: 'integer',
    help: "bytes of output lines a channel's tasks may stream per hour, all hosts together",
    default: String(d.logStreamChannelBytes),
    apply: (o, v) => (o.logStreamChannelBytes = v as number),
  },
  {
    name: 'http-body-limit',
    kind: 'integer',
    help: 'largest HTTP request body in bytes (uploads included); larger ones get 413',
    default: String(d.httpBodyLimitBytes),
    apply: (o, v) => (o.httpBodyLimitBytes = v as number),
  },
  {
    name: 'spawner',
    kind: 'string',
    help: 'what starts commands: native (a small C helper per channel), node (node:child_process), auto (native when built)',
    default: d.spawner,
    choices: ['auto', 'native', 'node'],
    apply: (o, v) => (o.spawner = String(v) as SpawnerChoice),
  },
  // task-job's start line (`-config=… -alsologtostderr -log_dir=log`) is glog's: accepted as it is
  {
    name: 'alsologtostderr',
    kind: 'boolean',
    help: "task-job's (glog): accepted; log lines go to stdout, or to -log-file",
    default: 'false',
    apply: () => undefined,
  },
  {
    name: 'log_dir',
    kind: 'string',
    help: "task-job's (glog): log to DIR/coyotes.log, as -log-file does (which wins when both are set)",
    apply: (o, v) => (o.logFile ??= path.join(String(v), 'coyotes.log')),
  },
  {
    name: 'history-url',
    kind: 'string',
    help: 'keep every finished run in SQL: mysql://user:password@host:port/db or postgres://…; off when unset (docs/history.md)',
    secret: true,
    apply: (o, v) => (o.historyUrl = String(v)),
  },
  {
    name: 'history-retention-days',
    kind: 'integer',
    help: 'days of runs the SQL history keeps (older ones are deleted in small batches)',
    default: String(d.historyRetentionDays),
    apply: (o, v) => (o.historyRetentionDays = v as number),
  },
  {
    name: 'history-outbox-max',
    kind: 'integer',
    help: "runs one channel's Redis outbox holds while SQL is away; beyond, runs are dropped and counted",
    default: String(d.historyOutboxMax),
    apply: (o, v) => (o.historyOutboxMax = v as number),
  },
  {
    name: 'broker-url',
    kind: 'string',
    help: 'channel queues in RabbitMQ quorum queues: amqp://user:password@host:5672/vhost; Redis keeps the rest (unset: queues in Redis; docs/operations.md)',
    secret: true,
    apply: (o, v) => (o.brokerUrl = String(v)),
  },
];

/** Flags that are not server options. */
const META = ['config', 'help', 'version', 'allow-insecure-bind'] as const;

const ENV_PREFIX = 'COYOTES_';
export const envName = (flag: string): string => ENV_PREFIX + flag.toUpperCase().replace(/-/g, '_');

function coerce(spec: FlagSpec, raw: unknown, source: string): string | number | boolean {
  if (spec.kind === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', `${source} must be true or false, got "${String(raw)}"`);
  }
  if (spec.kind === 'integer') {
    const text = String(raw).trim();
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
      throw new CoyotesError('COY_ERR_CONFIG_INVALID', `${source} must be a non-negative integer, got "${String(raw)}"`);
    return Number(text);
  }
  if (typeof raw === 'boolean' || raw === '') throw new CoyotesError('COY_ERR_CONFIG_INVALID', `${source} needs a value`);
  const text = String(raw);
  if (spec.choices && !spec.choices.includes(text)) {
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', `${source} must be one of ${spec.choices.join(', ')}, got "${text}"`);
  }
  return text;
}

export interface ParsedCommandLine {
  /** Flag values as given (names as spelled in FLAGS). */
  flags: Record<string, unknown>;
  positionals: string[];
  config?: string;
  help: boolean;
  version: boolean;
  allowInsecureBind: boolean;
}

/**
 * yargs-parser settings shared by the server's flags and the verbs' options: every value is
 * taken as typed (no camelCase copies, no `--no-x` negation, no dotted objects, no number
 * coercion, a repeated flag's last value wins).
 */
export const LITERAL_PARSING = {
  'camel-case-expansion': false,
  'boolean-negation': false,
  'dot-notation': false,
  'parse-numbers': false,
  'parse-positional-numbers': false,
  'duplicate-arguments-array': false,
} as const;

/** Parses Go-style (`-name value`, `-name=value`, `-bool=false`) and GNU-style (`--name value`) flags. */
export function parseCommandLine(argv: string[]): ParsedCommandLine {
  const parsed = parse(argv, {
    configuration: {
      ...LITERAL_PARSING,
      'short-option-groups': false,
      'halt-at-non-option': true,
    },
    boolean: [...FLAGS.filter((f) => f.kind === 'boolean').map((f) => f.name), 'help', 'version', 'allow-insecure-bind'],
    string: [...FLAGS.filter((f) => f.kind !== 'boolean').map((f) => f.name), 'config'],
    alias: { help: ['h'] },
  });
  const known = new Set<string>([...FLAGS.map((f) => f.name), ...META, 'h']);
  for (const key of Object.keys(parsed)) {
    if (key !== '_' && key !== '--' && !known.has(key)) {
      throw new CoyotesError('COY_ERR_CONFIG_UNKNOWN_FLAG', `unknown flag -${key} (see coyotes --help)`);
    }
  }
  const flags: Record<string, unknown> = {};
  for (const spec of FLAGS) if (parsed[spec.name] !== undefined) flags[spec.name] = parsed[spec.name];
  // yargs-parser reports absent booleans as false and reads -bool=anything as a boolean: keep
  // only the ones actually given, with an explicit value as written, for coerce() to judge
  for (const spec of FLAGS.filter((f) => f.kind === 'boolean')) {
    const given = argv.filter((arg) => new RegExp(`^--?${spec.name}(=|$)`).test(arg)).at(-1);
    if (given === undefined) delete flags[spec.name];
    else if (given.includes('=')) flags[spec.name] = given.slice(given.indexOf('=') + 1);
  }
  return {
    flags,
    positionals: parsed._.map(String),
    config: typeof parsed.config === 'string' ? parsed.config : undefined,
    help: parsed.help === true,
    version: parsed.version === true,
    allowInsecureBind: parsed['allow-insecure-bind'] === true,
  };
}

export interface LayeredSources {
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  file: Record<string, unknown>;
}

/** redis-url first, so that -redis-host and friends from the same source refine the URL. */
const APPLY_ORDER: readonly FlagSpec[] = [...FLAGS].sort((a, b) => Number(b.name === 'redis-url') - Number(a.name === 'redis-url'));

/**
 * Server options from every source, flags > env > file > defaults: each source is applied whole
 * over the one below it. Returns the warnings to log (deprecated flags) beside the options.
 */
export function layerOptions(sources: LayeredSources): { options: Partial<ServerOptions>; warnings: string[] } {
  const options: Partial<ServerOptions> = {};
  const warnings: string[] = [];
  for (const key of Object.keys(sources.file)) {
    if (!FLAGS.some((f) => f.name === key)) throw new CoyotesError('COY_ERR_CONFIG_INVALID', `config file: unknown setting "${key}"`);
  }
  const layers: [(spec: FlagSpec) => unknown, (spec: FlagSpec) => string][] = [
    [(spec) => sources.file[spec.name], (spec) => `config file setting ${spec.name}`],
    [(spec) => sources.env[envName(spec.name)], (spec) => `environment variable ${envName(spec.name)}`],
    [(spec) => sources.flags[spec.name], (spec) => `-${spec.name}`],
  ];
  for (const [valueOf, sourceOf] of layers) {
    for (const spec of APPLY_ORDER) {
      const raw = valueOf(spec);
      if (raw === undefined) continue;
      const source = sourceOf(spec);
      spec.apply(options, coerce(spec, raw, source), source);
      if (spec.deprecated) warnings.push(`${source} is deprecated: use -${spec.deprecated} (or ${envName(spec.deprecated)})`);
    }
  }
  return { options, warnings };
}

export function helpText(): string {
  const lines = FLAGS.map((f) => {
    const type = f.kind === 'boolean' ? '' : f.kind === 'integer' ? ' int' : ' string';
    const extra = [
      f.deprecated ? `deprecated, use -${f.deprecated}` : '',
      f.default !== undefined ? `default ${f.kind === 'string' ? `"${f.default}"` : f.default}` : f.deprecated ? '' : 'default none',
      `env ${envName(f.name)}`,
    ]
      .filter(Boolean)
      .join('; ');
    return `  -${f.name}${type}\n        ${f.help} (${extra})`;
  });
  return [
    'Usage: coyotes [flags]           run the server (master, api and channel processes)',
    '       coyotes VERB [options]    talk to a running server (coyotes help verbs)',
    '',
    'Flags (Go style -name value, -name=value, -bool=false, or --name value):',
    ...lines,
    '  -config string\n        JSON or YAML file of the settings above, keyed by flag name (default none; env COYOTES_CONFIG)',
    '  -allow-insecure-bind\n        allow a non-loopback -http-addr without -http-token',
    '  -help, -version',
    '',
    'Precedence: flags > environment > config file > defaults.',
    'Signals: SIGUSR2, SIGTERM or SIGINT drain (running commands finish, exit 0); a second one forces.',
  ].join('\n');
}
