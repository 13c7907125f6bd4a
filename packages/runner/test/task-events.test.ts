import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TaskEvent } from '@coyotes/protocol';
import { withoutFinishedStarts } from '../src/index.js';

const starting = (taskId: string): TaskEvent => ({ type: 'task-starting', taskId, token: `${taskId}:tok` });
const started = (taskId: string, pid: number): TaskEvent => ({ type: 'task-started', taskId, token: `${taskId}:tok`, pid });
const finished = (taskId: string): TaskEvent => ({ type: 'task-finished', taskId, outcome: 'exited', ok: true });

test('a task that started and finished within the batch is told by its finish alone; one still running keeps its start', () => {
  const events = [starting('a'), started('a', 10), starting('b'), started('b', 11), finished('a')];
  assert.deepEqual(withoutFinishedStarts(events), [starting('b'), started('b', 11), finished('a')]);
});

test('a task claimed again after its finish within the batch is reported running again', () => {
  const events = [starting('a'), started('a', 10), finished('a'), starting('a'), started('a', 12)];
  assert.deepEqual(withoutFinishedStarts(events), [finished('a'), starting('a'), started('a', 12)]);
});

test('a finish of a task started in an earlier batch passes as it is', () => {
  const events = [finished('old'), starting('new')];
  assert.deepEqual(withoutFinishedStarts(events), events);
});
