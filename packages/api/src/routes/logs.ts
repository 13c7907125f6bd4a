import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type Router from '@koa/router';
import type { TaskLogRecord } from '@coyotes/broker';
import type { ApiDeps } from '../deps.js';
import { requireTask } from '../deps.js';
import { invalidField } from '../fields.js';

/** Followers polling a log stream when it had nothing new (XREAD without BLOCK: no connection per follower). */
const POLL_MS = 100;
/** How often an idle follower checks the task itself (it may have ended without a done record). */
const STATE_CHECK_MS = 1000;
/** Comment lines that keep proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;
/** Followers one api process serves at once. */
const MAX_FOLLOWERS = 200;
const CURSOR = /^(0|\d{1,20}-\d{1,20})$/;
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** One task-job log record as a Server-Sent Event; its stream entry id lets a client resume. */
function frame(taskId: string, record: Omit<TaskLogRecord, 'cursor'> & { cursor?: string }): string {
  const body: Record<string, unknown> = { id: taskId, msg_type: record.stream, data: record.data };
  if (record.stream === 'done') Object.assign(body, { outcome: record.outcome ?? null, exit_code: record.exitCode ?? null });
  // JSON never holds a raw newline, so one data line carries the whole record
  return `${record.cursor ? `id: ${record.cursor}\n` : ''}event: ${record.stream}\ndata: ${JSON.stringify(body)}\n\n`;
}

/**
 * `GET /tasks/:id/logs`: the task's stdout/stderr as Server-Sent Events, live while it runs,
 * replayed when it has finished (from the log stream, or its stored tails once the stream has
 * expired), ending with one `done` record. Written by hand: the format is three lines per event.
 */
export function logRoutes(router: Router, deps: ApiDeps): void {
  let followers = 0;

  router.get('/tasks/:id/logs', async (ctx) => {
    const view = await requireTask(deps, ctx.params.id!);
    const resumeFrom = ctx.get('last-event-id') || (typeof ctx.query.cursor === 'string' ? ctx.query.cursor : '0');
    if (!CURSOR.test(resumeFrom)) invalidField('Last-Event-ID (or cursor) must be a log cursor such as 1700000000000-0');
    if (followers >= MAX_FOLLOWERS) ctx.throw(503, 'too many log followers on this host; try again later');

    const { id, channel } = view.spec;
    const out = new PassThrough();
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      followers -= 1;
      clearInterval(heartbeat);
      out.end();
    };
    followers += 1;
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    // the response closes when the client goes away (or the stream ends): stop polling then
    ctx.res.once('close', close);
    const heartbeat = setInterval(() => out.write(': keep-alive\n\n'), HEARTBEAT_MS);
    ctx.status = 200;
    ctx.set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    ctx.body = out;
    out.write(': following task output\n\n');

    void (async () => {
      let cursor = resumeFrom;
      let lastCheck = 0;
      try {
        while (!closed) {
          const records = await deps.broker.logs.read(channel, id, cursor);
          for (const record of records) {
            cursor = record.cursor;
            out.write(frame(id, record));
            if (record.stream === 'done') return;
          }
          if (records.length > 0) continue;
          if (Date.now() - lastCheck >= STATE_CHECK_MS) {
            lastCheck = Date.now();
            // a task that ended with no done record: stream expired, runner killed, or cancelled
            const now = await deps.broker.queries.get(channel, id);
            if (!now || FINAL.has(now.state)) {
              const again = await deps.broker.logs.read(channel, id, cursor);
              if (again.length > 0) continue;
              if (cursor === '0' && now?.result) {
                for (const line of now.result.stdoutTail.split('\n').filter(Boolean))
                  out.write(frame(id, { stream: 'stdout', data: line }));
                for (const line of now.result.stderrTail.split('\n').filter(Boolean))
                  out.write(frame(id, { stream: 'stderr', data: line }));
              }
              const outcome = now ? (now.result?.outcome ?? now.state) : 'cancelled';
              out.write(frame(id, { stream: 'done', data: '', outcome, exitCode: now?.result?.exitCode ?? null }));
              return;
            }
          }
          await sleep(POLL_MS);
        }
      } catch (error) {
        deps.log.warn({ err: error, taskId: id }, 'following task output failed');
        out.write(`event: error\ndata: ${JSON.stringify({ id, message: 'reading the log stream failed' })}\n\n`);
      } finally {
        close();
      }
    })();
  });
}
