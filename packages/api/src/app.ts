import { timingSafeEqual } from 'node:crypto';
import { rm } from 'node:fs/promises';
import Koa from 'koa';
import type { Middleware } from 'koa';
import Router from '@koa/router';
import { CoyotesError } from '@coyotes/protocol';
import type { ApiDeps } from './deps.js';
import { dashboard } from './dashboard.js';
import { errorEnvelope } from './envelope.js';
import { channelRoutes } from './routes/channels.js';
import { delayedRoutes } from './routes/delayed.js';
import { failedRoutes } from './routes/failed.js';
import { historyRoutes } from './routes/history.js';
import { logRoutes } from './routes/logs.js';
import { metricsRoutes } from './routes/metrics.js';
import { openApiRoutes } from './routes/openapi.js';
import { pushRoutes } from './routes/push.js';
import { scheduleRoutes } from './routes/schedules.js';
import { statsRoutes } from './routes/stats.js';
import { systemRoutes } from './routes/system.js';
import { taskRoutes } from './routes/tasks.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { taskListRoutes } from './routes/task-list.js';
import { throughputRoutes } from './routes/throughput.js';

/** Every route but /health needs `Authorization: Bearer <token>` when a token is configured. */
function bearerAuth(token: string | undefined): Middleware {
  const expected = token ? Buffer.from(token) : undefined;
  return async (ctx, next) => {
    if (!expected || ctx.path === '/health') return next();
    const given = Buffer.from(/^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1] ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      ctx.set('WWW-Authenticate', 'Bearer');
      throw new CoyotesError('COY_ERR_REQUEST_UNAUTHORIZED', 'a valid bearer token is required (Authorization: Bearer <token>)');
    }
    return next();
  };
}

/** Uploaded files are read by the route that wants them, then always removed from the temp dir. */
const removeUploads: Middleware = async (ctx, next) => {
  try {
    await next();
  } finally {
    const files = (ctx.request as { files?: Record<string, { filepath: string } | { filepath: string }[]> }).files ?? {};
    const paths = Object.values(files).flatMap((file) => (Array.isArray(file) ? file : [file]).map((one) => one.filepath));
    await Promise.all(paths.map((path) => rm(path, { force: true })));
  }
};

/** The Koa app: thin routes over the broker and the master client. */
export function createApp(deps: ApiDeps): Koa {
  const app = new Koa();
  app.proxy = false;
  const limit = deps.options.httpBodyLimitBytes;
  const router = new Router();
  pushRoutes(router, deps);
  channelRoutes(router, deps);
  failedRoutes(router, deps);
  delayedRoutes(router, deps);
  taskRoutes(router, deps);
  logRoutes(router, deps);
  metricsRoutes(router, deps);
  systemRoutes(router, deps);
  statsRoutes(router, deps);
  // the operator's view: every task listed, dead letters acted on, throughput per minute
  taskListRoutes(router, deps);
  deadLetterRoutes(router, deps);
  throughputRoutes(router, deps);
  scheduleRoutes(router, deps);
  historyRoutes(router, deps);
  // last: it describes every route registered above
  openApiRoutes(router);

  app.use(errorEnvelope(deps.log));
  app.use(dashboard());
  app.use(bearerAuth(deps.options.httpToken));
  // koa-body (formidable, co-body, qs: some hundred modules) is imported at the first request,
  // not at start; the api process imports it as soon as it listens (child.ts)
  let bodyParser: Promise<Middleware> | undefined;
  const parseBody = () =>
    (bodyParser ??= import('koa-body').then(({ HttpMethodEnum, koaBody }) =>
      koaBody({
        multipart: true,
        urlencoded: true,
        json: true,
        jsonStrict: false,
        jsonLimit: limit,
        formLimit: limit,
        textLimit: limit,
        parsedMethods: [HttpMethodEnum.POST, HttpMethodEnum.PUT, HttpMethodEnum.PATCH, HttpMethodEnum.DELETE],
        formidable: { maxFileSize: limit, maxFieldsSize: limit, maxFields: 1000, multiples: true },
        onError: (error) => {
          if (/maxFileSize|maxFieldsSize|too large|exceeded/i.test(error.message)) {
            throw new CoyotesError('COY_ERR_REQUEST_TOO_LARGE', `request body larger than ${limit} bytes`);
          }
          throw new CoyotesError('COY_ERR_REQUEST_INVALID', `malformed body: ${error.message}`);
        },
      }),
    ));
  app.use(async (ctx, next) => (await parseBody())(ctx, next));
  app.use(removeUploads);
  app.use(router.routes());
  app.use(router.allowedMethods());
  // errors are answered by errorEnvelope; keep Koa from printing them again
  app.silent = true;
  return app;
}
