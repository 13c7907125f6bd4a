import type { TaskSpec } from '@coyotes/protocol';

/**
 * How a task spec is stored: without its id (the hash field already is the id) and channel
 * (the key already names it), which keeps a queued task small in Redis.
 */
export function encodeSpec(spec: TaskSpec): string {
  const { id: _id, channel: _channel, ...stored } = spec;
  return JSON.stringify(stored);
}

export function decodeSpec(json: string, id: string, channel: string): TaskSpec {
  return { ...(JSON.parse(json) as Omit<TaskSpec, 'id' | 'channel'>), id, channel };
}
