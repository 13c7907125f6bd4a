import { timingSafeEqual } from 'node:crypto';
import { rm } from 'node:fs/promises';
import Koa from 'koa';
import type { Middleware } from 'koa';
import Router from '@koa/router';
import { HttpMethodEnum, koaBody } from 'koa-body';
import { execLimits } from '@coyotes/protocol';
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
import { statsRoutes } from './routes/stats.js';
import { systemRoutes } from './routes/system.js';
import { taskRoutes } from './routes/tasks.js';

/** Every route but /health needs `Authorization: Bearer <token>` when a token is configured. */
function bearerAuth(token: string | undefined): Middleware {
  const expected = token ? Buffer.from(token) : undefined;
  return async (ctx, next) => {
    if (!expected || ctx.path === '/health') return next();
    const given = Buffer.from(/^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1] ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      ctx.set('WWW-Authenticate', 'Bearer');
      ctx.throw(401, 'a valid bearer token is required (Authorization: Bearer <token>)');
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
  // measured once at start (getconf): what a task's argv may take on this host
  execLimits();
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
  historyRoutes(router, deps);
  // last: it describes every route registered above
  openApiRoutes(router);

  app.use(errorEnvelope(deps.log));
  app.use(dashboard());
  app.use(bearerAuth(deps.options.httpToken));
  app.use(
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
      onError: (error, ctx) => {
        const status = /maxFileSize|maxFieldsSize|too large|exceeded/i.test(error.message) ? 413 : 400;
        ctx.throw(status, status === 413 ? `request body larger than ${limit} bytes` : `malformed body: ${error.message}`);
      },
    }),
  );
  app.use(removeUploads);
  app.use(router.routes());
  app.use(router.allowedMethods());
  // errors are answered by errorEnvelope; keep Koa from printing them again
  app.silent = true;
  return app;
}
