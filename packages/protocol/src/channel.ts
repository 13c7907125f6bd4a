/** A channel's settings, persisted in Redis and shared by every master. */
export interface ChannelConfig {
  name: string;
  /** Concurrent command slots per host (the seed's `worker`). */
  workers: number;
  /** Most tasks of this channel running at once across every host; absent or 0 = no cap (only `workers` per host). */
  globalWorkers?: number;
  /** Refuse a command line already queued or running in this channel. */
  distinct: boolean;
  /** Paused channels take no new tasks; running ones finish. */
  paused: boolean;
  /** Default retries after a failure (the seed's default: 0). */
  maxRetries: number;
  /** Default command timeout in ms; 0 = none. */
  timeoutMs: number;
  /** Run bare task lines through /bin/sh -c instead of splitting them. */
  shell: boolean;
  /**
   * Commands this channel accepts: exact names or patterns with `*` and `?` (`php*`,
   * `/usr/local/bin/*`), matched against the program a task runs. Absent or empty: any command.
   */
  allowedCommands?: string[];
}

const CHANNEL_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

export function isValidChannelName(name: string): boolean {
  return CHANNEL_NAME.test(name);
}

export const DEFAULT_CHANNEL_CONFIG: Omit<ChannelConfig, 'name' | 'workers'> = {
  distinct: false,
  paused: false,
  maxRetries: 0,
  timeoutMs: 0,
  shell: false,
};

/** Channels that exist on first start (the seed's). */
export const SEED_CHANNELS = ['default', 'biz', 'cron'] as const;

export function newChannelConfig(name: string, workers: number, patch: Partial<ChannelConfig> = {}): ChannelConfig {
  return { ...DEFAULT_CHANNEL_CONFIG, ...patch, name, workers };
}
