import { historyRecord } from '@coyotes/protocol';
import type { TaskResult } from '@coyotes/protocol';
import { BrokerErrorCode, brokerError } from './errors.js';
import { LOG_MAX_ENTRIES, LOG_TTL_MS, durationBucket } from './task-logs.js';
import type { BrokerOptions, ClaimedTask } from './tasks.js';
import { THROUGHPUT_MINUTES } from './throughput.js';

export type CompletionOutcome = 'succeeded' | 'retry-scheduled' | 'failed' | 'lease-lost';

/** How the runner judged one execution, and what its channel allows next. */
export interface CompletionPolicy {
  success: boolean;
  retryAllowed: boolean;
  maxRetries: number;
}

/** The named options of completeTask-16.lua, packed in one JSON argument (its header documents each). */
interface CompletionOptions {
  success: boolean;
  nowMs: number;
  retryAllowed: boolean;
  maxRetries: number;
  backoffMs: number;
  fingerprint: string;
  retentionCount: number;
  retentionAgeMs: number;
  durationField: string;
  durationMs: number;
  outcome: TaskResult['outcome'];
  exitCode: number | '';
  callback: boolean;
  logMaxEntries: number;
  logTtlMs: number;
  throughputMinutes: number;
  history: string;
  historyMax: number;
}

/** completeTask's packed options for one execution's result (BullMQ's moveToFinished passes its `opts` the same way). */
export function completionOptions(
  task: ClaimedTask,
  result: TaskResult,
  policy: CompletionPolicy,
  options: BrokerOptions,
  nowMs: number,
): string {
  return JSON.stringify({
    success: policy.success,
    nowMs,
    retryAllowed: policy.retryAllowed,
    maxRetries: policy.maxRetries,
    backoffMs: options.retryBackoffMs,
    fingerprint: task.spec.fingerprint ?? '',
    retentionCount: options.resultRetentionCount,
    retentionAgeMs: options.resultRetentionAgeMs,
    durationField: durationBucket(result.durationMs),
    durationMs: result.durationMs,
    outcome: result.outcome,
    exitCode: result.exitCode ?? '',
    callback: Boolean(task.spec.callback),
    logMaxEntries: LOG_MAX_ENTRIES,
    logTtlMs: LOG_TTL_MS,
    throughputMinutes: THROUGHPUT_MINUTES,
    history: options.historyUrl ? JSON.stringify(historyRecord(task.spec, result, policy.success)) : '',
    historyMax: options.historyOutboxMax ?? 0,
  } satisfies CompletionOptions);
}

const COMPLETION: Record<number, CompletionOutcome> = { 1: 'succeeded', 2: 'retry-scheduled', 3: 'failed' };

/** What completeTask's answer means; a domain failure other than a lost lease is thrown. */
export function completionOutcome(code: number, taskId: string): CompletionOutcome {
  if (code === BrokerErrorCode.LeaseLost) return 'lease-lost';
  const outcome = COMPLETION[code];
  if (outcome === undefined) throw brokerError(code, taskId);
  return outcome;
}
