import type { TaskEvent } from '@coyotes/protocol';

/**
 * A batch of task events as master needs it: a task that started and finished within the batch
 * is told by its finish alone. Master keeps starts only to know what runs (a death requeues it,
 * its pid is sampled), and the batch arrives whole, so nothing it must know is lost; most short
 * commands cost master one event, not three. Read backwards: a start is dropped only when its
 * own finish comes later in the batch (a task that finished and was claimed again within the
 * batch runs now, and master must know).
 */
export function withoutFinishedStarts(events: TaskEvent[]): TaskEvent[] {
  const finishedLater = new Set<string>();
  const kept: TaskEvent[] = [];
  for (let i = events.length - 1; i >= 0; i -= 1) {
    const event = events[i]!;
    if (event.type === 'task-finished') finishedLater.add(event.taskId);
    else if (finishedLater.has(event.taskId)) continue;
    kept.push(event);
  }
  return kept.reverse();
}
