import type { TaskSpec } from '@coyotes/protocol';
import type { ChannelKeys } from './keys.js';
import { decodeSpec } from './spec-codec.js';
import type { ClaimedTask } from './tasks.js';

/** The keys a claim reads besides the queue and the task records, in claimTasks-10's (and finishTask-23's) order. */
export function claimFlagKeys(k: ChannelKeys): string[] {
  return [k.marker, k.paused, k.stale, k.staleCount, k.waiting, k.handoff];
}

/** The tasks a claim answered, as flat id, spec, token triples from `offset` on. */
export function claimedTasks(channel: string, flat: string[], offset: number): ClaimedTask[] {
  const claimed: ClaimedTask[] = [];
  for (let i = offset; i + 2 < flat.length; i += 3) {
    const id = flat[i]!;
    const token = flat[i + 2]!;
    try {
      claimed.push({ spec: decodeSpec(flat[i + 1]!, id, channel), token });
    } catch (error) {
      // one unreadable entry must not cost the others their claim: it is failed by the runner
      const spec: TaskSpec = { id, channel, name: '', createdAt: 0, source: 'prepare-queue' };
      claimed.push({ spec, token, unreadable: `stored task is not valid JSON: ${(error as Error).message}` });
    }
  }
  return claimed;
}
