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

/**
 * For showing a task: a stored entry that is not a JSON object (hand-written, corrupted) still
 * shows, under a name that says so, instead of failing the whole listing or lookup.
 */
export function readableSpec(json: string, id: string, channel: string): TaskSpec {
  try {
    const stored: unknown = JSON.parse(json);
    if (typeof stored === 'object' && stored !== null && !Array.isArray(stored)) return { ...(stored as TaskSpec), id, channel };
  } catch {
    // shown as unreadable below
  }
  return { id, channel, name: '(unreadable task entry)', createdAt: 0, source: 'prepare-queue' };
}
