import { readFileSync } from 'node:fs';
import type { Context } from 'koa';
import { TASK_ID_RULE, isValidTaskId } from '@coyotes/protocol';
import type { TaskInput, TaskScript } from '@coyotes/protocol';
import { envMap, fields, optionalInteger, optionalString, requiredString, stringList } from './fields.js';

/** What `POST /channels/:name/tasks` takes beyond the seed's task, command, args, delay and id. */
export type TaskExtras = { cwd?: string; env?: Record<string, string>; maxRetries?: number; callback?: string; script?: TaskScript };

/** An uploaded script is stored with its task in Redis: kept small. */
export const SCRIPT_MAX_BYTES = 256 * 1024;
const MAX_TIMEOUT_S = 30 * 24 * 3600;

/** Formidable's view of one uploaded file. */
interface UploadedFile {
  filepath: string;
  originalFilename?: string | null;
  size: number;
}

/** The `script` field: an uploaded file (multipart) or the script's text (any encoding). */
function scriptField(ctx: Context): TaskScript | undefined {
  const files = (ctx.request as { files?: Record<string, UploadedFile | UploadedFile[]> }).files;
  const upload = files?.script;
  if (upload !== undefined) {
    if (Array.isArray(upload)) ctx.throw(400, 'script must be a single file');
    if (upload.size > SCRIPT_MAX_BYTES) ctx.throw(413, `script larger than ${SCRIPT_MAX_BYTES} bytes`);
    const bytes = readFileSync(upload.filepath);
    if (bytes.length === 0) ctx.throw(400, 'script is empty');
    return { name: upload.originalFilename || 'script', base64: bytes.toString('base64') };
  }
  const text = fields(ctx).script;
  if (text === undefined || text === null || text === '') return undefined;
  if (typeof text !== 'string') ctx.throw(400, 'script must be a file or a string');
  if (Buffer.byteLength(text) > SCRIPT_MAX_BYTES) ctx.throw(413, `script larger than ${SCRIPT_MAX_BYTES} bytes`);
  return { name: 'script', base64: Buffer.from(text).toString('base64') };
}

function callbackField(ctx: Context, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || value.length > 2048) {
    ctx.throw(400, 'callback must be an http:// or https:// URL of at most 2048 characters');
  }
  return value;
}

/** Reads and validates the full task form of `POST /channels/:name/tasks`. */
export function taskForm(ctx: Context): TaskInput & TaskExtras {
  const body = fields(ctx);
  const commandName = optionalString(ctx, body, 'command');
  const args = stringList(ctx, body, 'args');
  const task =
    commandName === undefined ? requiredString(ctx, body, 'task') : (optionalString(ctx, body, 'task') ?? [commandName, ...args].join(' '));
  const id = optionalString(ctx, body, 'id');
  if (id !== undefined && !isValidTaskId(id)) ctx.throw(400, TASK_ID_RULE);
  const delay = optionalInteger(ctx, body, 'delay');
  const timeout = optionalInteger(ctx, body, 'timeout');
  if (timeout !== undefined && timeout > MAX_TIMEOUT_S) ctx.throw(400, `timeout must be at most ${MAX_TIMEOUT_S} seconds`);
  if (delay !== undefined && delay > 10 * 365 * 24 * 3600) ctx.throw(400, 'delay must be at most ten years in seconds');
  const maxRetries = optionalInteger(ctx, body, 'max_retries');
  if (maxRetries !== undefined && maxRetries > 100) ctx.throw(400, 'max_retries must be at most 100');
  const script = scriptField(ctx);
  if (script && commandName === undefined) ctx.throw(400, 'command is required with script: it names the interpreter');
  return {
    id,
    name: task,
    command: commandName === undefined ? undefined : { name: commandName, args },
    executeAt: delay ? Date.now() + delay * 1000 : undefined,
    timeoutMs: timeout ? timeout * 1000 : undefined,
    maxRetries,
    cwd: optionalString(ctx, body, 'cwd'),
    env: envMap(ctx, body),
    callback: callbackField(ctx, optionalString(ctx, body, 'callback')),
    script,
  };
}
