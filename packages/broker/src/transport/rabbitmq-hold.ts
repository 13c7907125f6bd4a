// The hold deadline of the RabbitMQ transport: how long a delivery may stay unacked in a runner.

const DEFAULT_HOLD_MS = 15 * 60_000;

/**
 * How long a delivery may stay unacked here. RabbitMQ closes the channel of a consumer that holds
 * a delivery longer than its `consumer_timeout` (30 min by default): a task running longer has its
 * delivery acked at this deadline and is kept by its Redis lease from then on, as on the Redis
 * transport; a delivery waiting at the global cap this long goes back to the queue. Keep it under
 * the server's consumer_timeout (docs/operations.md).
 *
 * Answers the deadline COYOTES_RABBITMQ_HOLD_MS sets, and why a value set is ignored (a typo must
 * not pass unseen).
 */
export const rabbitHold = (env: NodeJS.ProcessEnv = process.env): { ms: number; ignored?: string } => {
  const raw = env.COYOTES_RABBITMQ_HOLD_MS;
  if (raw === undefined || raw.trim() === '') return { ms: DEFAULT_HOLD_MS };
  const value = Number(raw);
  if (Number.isSafeInteger(value) && value > 0) return { ms: value };
  return {
    ms: DEFAULT_HOLD_MS,
    ignored: `COYOTES_RABBITMQ_HOLD_MS=${raw} is not a whole number of milliseconds above 0: the hold deadline is ${DEFAULT_HOLD_MS} ms`,
  };
};
