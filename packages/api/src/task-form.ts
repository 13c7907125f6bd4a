import { readFileSync } from 'node:fs';
import type { Context } from 'koa';
import type { AdmissionInput } from '@coyotes/broker';
import { CoyotesError, MAX_DELAY_S, MAX_TIMEOUT_S, shellQuoted } from '@coyotes/protocol';
import type { TaskScript } from '@coyotes/protocol';
import {
  envMap,
  fields,
  givenString,
  invalidField,
  onlyFields,
  optionalInteger,
  optionalString,
  requiredString,
  stringList,
} from './fields.js';

/** An uploaded script is stored with its task in Redis: kept small. */
export const SCRIPT_MAX_BYTES = 256 * 1024;
/** The fields of `POST /channels/:name/tasks`: the seed's task, command, args, delay, then Coyotes' own. */
const TASK_FIELDS = [
  'task',
  'command',
  'args',
  'args[',
  'delay',
  'id',
  'timeout',
  'max_retries',
  'cwd',
  'env',
  'env[',
  'callback',
  'script',
];

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
    if (Array.isArray(upload)) invalidField('script must be a single file');
    if (upload.size > SCRIPT_MAX_BYTES) throw new CoyotesError('COY_ERR_REQUEST_TOO_LARGE', `script larger than ${SCRIPT_MAX_BYTES} bytes`);
    const bytes = readFileSync(upload.filepath);
    if (bytes.length === 0) invalidField('script is empty');
    return { name: upload.originalFilename || 'script', base64: bytes.toString('base64') };
  }
  const text = fields(ctx).script;
  if (text === undefined || text === null || text === '') return undefined;
  if (typeof text !== 'string') invalidField('script must be a file or a string');
  if (Buffer.byteLength(text) > SCRIPT_MAX_BYTES)
    throw new CoyotesError('COY_ERR_REQUEST_TOO_LARGE', `script larger than ${SCRIPT_MAX_BYTES} bytes`);
  return { name: 'script', base64: Buffer.from(text).toString('base64') };
}

function callbackField(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || value.length > 2048) {
    invalidField('callback must be an http:// or https:// URL of at most 2048 characters');
  }
  return value;
}

/** Reads and validates the full task form of `POST /channels/:name/tasks`. */
export function taskForm(ctx: Context): AdmissionInput {
  const body = fields(ctx);
  onlyFields(body, TASK_FIELDS);
  const commandName = optionalString(body, 'command');
  const args = stringList(body, 'args');
  const task =
    commandName === undefined ? requiredString(body, 'task') : (optionalString(body, 'task') ?? shellQuoted([commandName, ...args]));
  // an empty id is refused by the door's id rule, not read as no id
  const id = givenString(body, 'id');
  const delay = optionalInteger(body, 'delay');
  const timeout = optionalInteger(body, 'timeout');
  if (timeout !== undefined && timeout > MAX_TIMEOUT_S) invalidField(`timeout must be at most ${MAX_TIMEOUT_S} seconds`);
  if (delay !== undefined && delay > MAX_DELAY_S) invalidField(`delay must be at most ten years (${MAX_DELAY_S} seconds)`);
  const maxRetries = optionalInteger(body, 'max_retries');
  if (maxRetries !== undefined && maxRetries > 100) invalidField('max_retries must be at most 100');
  const script = scriptField(ctx);
  if (script && commandName === undefined) invalidField('command is required with script: it names the interpreter');
  return {
    id,
    name: task,
    command: commandName === undefined ? undefined : { name: commandName, args },
    executeAt: delay ? Date.now() + delay * 1000 : undefined,
    timeoutMs: timeout ? timeout * 1000 : undefined,
    maxRetries,
    cwd: optionalString(body, 'cwd'),
    env: envMap(body),
    callback: callbackField(optionalString(body, 'callback')),
    script,
  };
}
