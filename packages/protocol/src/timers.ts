/**
 * setTimeout's largest delay: 2^31-1 ms (~24.8 days). Node fires a longer one after 1 ms instead
 * (TimeoutOverflowWarning), so a 30-day task timeout would kill its task at once.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** A pending long timeout; `clear()` cancels it (harmless once it fired). */
export interface LongTimeout {
  clear(): void;
}

export interface LongTimeoutOptions {
  /** Let the process exit while only this timer is pending. @defaultValue false */
  unref?: boolean;
  /** Longest single timer armed; tests lower it. @defaultValue MAX_TIMER_DELAY_MS */
  maxChunkMs?: number;
  /** The clock the deadline is measured on; tests inject one. @defaultValue Date.now */
  now?: () => number;
}

/**
 * Calls `callback` once `delayMs` have passed, whatever the delay: one above setTimeout's limit
 * is waited out in a chain of timers each below it, measured against one deadline. Every delay
 * that a user or an option controls (task and channel timeouts, shutdown timeout, due times of
 * delayed tasks) goes through here rather than to setTimeout directly.
 */
export function setLongTimeout(callback: () => void, delayMs: number, options: LongTimeoutOptions = {}): LongTimeout {
  const { unref = false, maxChunkMs = MAX_TIMER_DELAY_MS, now = Date.now } = options;
  const deadline = now() + Math.max(0, delayMs);
  let timer: NodeJS.Timeout | undefined;
  let cleared = false;
  const arm = (): void => {
    if (cleared) return;
    const remaining = deadline - now();
    timer = remaining > maxChunkMs ? setTimeout(arm, maxChunkMs) : setTimeout(callback, Math.max(0, remaining));
    if (unref) timer.unref();
  };
  arm();
  return {
    clear() {
      cleared = true;
      clearTimeout(timer);
    },
  };
}
