import type { Context, Middleware } from 'koa';
import type { Logger } from 'pino';
import { redisUnavailable } from '@coyotes/broker';
import { isCoyotesError } from '@coyotes/protocol';
import type { ErrorCode } from '@coyotes/protocol';

/** The seed's response envelope, field order included. */
export interface Envelope<T> {
  status_code: number;
  message: string;
  data: T;
}

export function ok<T>(ctx: Context, data: T): void {
  ctx.status = 200;
  ctx.body = { status_code: 200, message: 'ok', data } satisfies Envelope<T>;
}

/** HTTP status of each domain error an operation can raise. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  COY_ERR_CHANNEL_NOT_FOUND: 404,
  COY_ERR_TASK_NOT_FOUND: 404,
  COY_ERR_CHANNEL_NAME_INVALID: 400,
  COY_ERR_TASK_INVALID: 400,
  COY_ERR_TASK_TOO_LARGE: 400,
  COY_ERR_REQUEST_INVALID: 400,
  COY_ERR_TASK_FINISHED: 409,
  COY_ERR_TASK_NOT_FAILED: 409,
  COY_ERR_TASK_ID_EXISTS: 409,
  COY_ERR_TASK_DUPLICATE: 409,
  COY_ERR_IPC_TIMEOUT: 503,
  COY_ERR_REDIS_UNAVAILABLE: 503,
  COY_ERR_HISTORY_DISABLED: 404,
};

/** The header that carries a refused request's error code (the seed's envelope has no field for it). */
export const ERROR_CODE_HEADER = 'X-Coyotes-Error';

/**
 * Turns every error into the envelope: client errors show their message, server errors never
 * leak internals; a Coyotes error's code goes in the `X-Coyotes-Error` header. Logged once: 5xx
 * at error level, 4xx at info.
 */
export function errorEnvelope(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) ctx.throw(404, `no route for ${ctx.method} ${ctx.path}`);
      // the router's 405/501 come without a body: give them the envelope too
      if (ctx.status >= 400 && (ctx.body === undefined || ctx.body === null)) {
        const allow = ctx.response.get('allow');
        ctx.throw(
          ctx.status,
          allow ? `${ctx.method} is not allowed on ${ctx.path} (allowed: ${allow})` : `${ctx.method} ${ctx.path} failed`,
        );
      }
    } catch (thrown) {
      // a Redis connection failure is the server's trouble, told as such (503), not a bug (500)
      const caught = redisUnavailable(thrown) ?? thrown;
      const error = caught as { status?: number; statusCode?: number; expose?: boolean; message?: string; code?: string };
      let status = error.status ?? error.statusCode ?? 500;
      if (isCoyotesError(caught)) status = STATUS[caught.code] ?? 500;
      if (status < 400 || status > 599) status = 500;
      const message = status < 500 || isCoyotesError(caught) ? (error.message ?? 'error') : 'internal server error';
      ctx.status = status;
      if (isCoyotesError(caught)) ctx.set(ERROR_CODE_HEADER, caught.code);
      ctx.body = { status_code: status, message, data: null } satisfies Envelope<null>;
      if (status >= 500) log.error({ err: caught, method: ctx.method, path: ctx.path }, 'request failed');
      else log.info({ status, method: ctx.method, path: ctx.path, reason: message }, 'request refused');
    }
  };
}
