import type { CoyotesClient, TaskDetail } from '../client.js';
import { announceWait } from './outcome.js';
import type { VerbContext } from './verb.js';

/**
 * Follows a task to its end: its output live when the server streams logs, else its stored
 * output tails once it has finished. Says first what it waits for, when the task has not
 * started. Answers the final task.
 */
export async function followTask(client: CoyotesClient, id: string, context: VerbContext, printOutput: boolean): Promise<TaskDetail> {
  if (!context.json) await announceWait(client, id, context);
  const stream = printOutput ? await client.logStream(id) : null;
  if (stream) {
    for await (const record of stream) {
      if (record.stream === 'done') break;
      (record.stream === 'stdout' ? context.stdout : context.stderr)(`${record.line}\n`);
    }
    // a failed attempt with retries left is not the end: keep waiting quietly
    const task = await client.waitForTask(id);
    // why a command could not start is no output line: show it as the tails path does
    if (task.result?.error) context.stderr(`coyotes: ${task.result.error}\n`);
    return task;
  }
  const task = await client.waitForTask(id);
  if (printOutput) printTails(task, context);
  return task;
}

/** The output kept with a finished task (bounded tails). */
export function printTails(task: TaskDetail, context: VerbContext): void {
  if (!task.result) return;
  if (task.result.stdout_tail) context.stdout(task.result.stdout_tail);
  if (task.result.stderr_tail) context.stderr(task.result.stderr_tail);
  if (task.result.error) context.stderr(`coyotes: ${task.result.error}\n`);
}
