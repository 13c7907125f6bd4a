import type { Context } from 'koa';
import { CoyotesError, textOf } from '@coyotes/protocol';

/**
 * Reading request fields the same way whatever the encoding (multipart, urlencoded, JSON):
 * each reader throws a 400 (`COY_ERR_REQUEST_INVALID`) naming the field when the value does not fit.
 */
export type Fields = Record<string, unknown>;

/** A field that does not fit: HTTP 400 with the code and a message naming the field. */
export function invalidField(message: string): never {
  throw new CoyotesError('COY_ERR_REQUEST_INVALID', message);
}

/**
 * Refuses a field the route does not take (a typo such as `comand` would otherwise be dropped
 * and the task run without it). `allowed` names fields; an entry ending in `[` also takes
 * `name[...]` keys (`env[HOME]`, `args[]`).
 */
export function onlyFields(body: Fields, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) {
    const known = allowed.some((name) => (name.endsWith('[') ? key.startsWith(name) && key.endsWith(']') : key === name));
    if (!known) {
      const names = allowed.map((name) => (name.endsWith('[') ? `${name}…]` : name)).join(', ');
      invalidField(`unknown field ${JSON.stringify(key.slice(0, 64))} (this route takes ${names})`);
    }
  }
}

export function fields(ctx: Context): Fields {
  const body = (ctx.request as { body?: unknown }).body;
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Fields) : {};
}

/** A single-valued field: a list of several values (a repeated field, a JSON array) is refused, never cut to one. */
const single = (value: unknown, name: string): unknown => {
  if (!Array.isArray(value)) return value;
  if (value.length > 1) invalidField(`${name} must be given once (got ${value.length} values)`);
  return value[0];
};

export function optionalString(body: Fields, name: string): string | undefined {
  const value = single(body[name], name);
  if (value === undefined || value === null || value === '') return undefined;
  const string = textOf(value);
  if (string === undefined) invalidField(`${name} must be a string`);
  if (string.includes('\0')) invalidField(`${name} must not contain NUL bytes`);
  return string;
}

/**
 * A string field whose empty value is given, not absent: an empty producer `id` is almost surely an
 * unset variable, so it reaches the door's rule (and is refused there) instead of reading as "none".
 */
export function givenString(body: Fields, name: string): string | undefined {
  return single(body[name], name) === '' ? '' : optionalString(body, name);
}

export function requiredString(body: Fields, name: string): string {
  const value = optionalString(body, name);
  if (value === undefined || value.trim() === '') invalidField(`${name} is required`);
  return value;
}

/** A non-negative integer (or a positive one with `min: 1`). */
export function optionalInteger(body: Fields, name: string, min = 0): number | undefined {
  const value = single(body[name], name);
  if (value === undefined || value === null || value === '') return undefined;
  const number = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number < min) {
    invalidField(`${name} must be ${min === 1 ? 'a positive' : 'a non-negative'} integer`);
  }
  return number;
}

export function optionalBoolean(body: Fields, name: string): boolean | undefined {
  const value = single(body[name], name);
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true' || value === '1' || value === 1) return true;
  if (value === false || value === 'false' || value === '0' || value === 0) return false;
  invalidField(`${name} must be true or false`);
}

/**
 * A list field's raw value: `name` (repeated, or a JSON array), `name[]`, or indexed `name[0]`,
 * `name[1]` … in index order (PHP's http_build_query, kept as keys by a multipart body; qs turns
 * them into an array in a urlencoded one). Undefined when the body has none of them.
 */
function listValue(body: Fields, name: string): unknown {
  const value = body[name] ?? body[`${name}[]`];
  if (value !== undefined) return value;
  const indexed = Object.keys(body)
    .map((key) => ({
      key,
      index: key.startsWith(`${name}[`) && /^\[\d{1,4}\]$/.test(key.slice(name.length)) ? Number(key.slice(name.length + 1, -1)) : -1,
    }))
    .filter(({ index }) => index >= 0)
    .sort((a, b) => a.index - b.index);
  return indexed.length > 0 ? indexed.map(({ key }) => single(body[key], key)) : undefined;
}

/** A repeated field (`args=a&args=b`, `args[]`, `args[0]`…, or a JSON array). */
export function stringList(body: Fields, name: string): string[] {
  const value = listValue(body, name);
  if (value === undefined || value === null || value === '') return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => {
    const string = textOf(item);
    if (string === undefined) invalidField(`${name} must be a list of strings`);
    if (string.includes('\0')) invalidField(`${name} must not contain NUL bytes`);
    return string;
  });
}

/** `env` as a JSON object of strings, or `env[NAME]=value` fields. */
export function envMap(body: Fields): Record<string, string> | undefined {
  let value = body.env;
  if (typeof value === 'string' && value.trim() !== '') {
    try {
      value = JSON.parse(value);
    } catch {
      invalidField('env must be a JSON object of strings');
    }
  }
  if (value === undefined || value === '') {
    const bracketed = Object.entries(body).filter(([key]) => /^env\[[A-Za-z_][A-Za-z0-9_]*\]$/.test(key));
    if (bracketed.length === 0) return undefined;
    value = Object.fromEntries(bracketed.map(([key, v]) => [key.slice(4, -1), single(v, key)]));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalidField('env must be an object of strings');
  const env: Record<string, string> = {};
  for (const [key, v] of Object.entries(value as Fields)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) invalidField(`env name "${key}" is invalid`);
    const string = textOf(v);
    if (string === undefined) invalidField(`env.${key} must be a string`);
    env[key] = string;
  }
  return env;
}

/** `limit` and `offset` query parameters, bounded. */
export function page(ctx: Context, defaultLimit = 100): { offset: number; limit: number } {
  const query = ctx.query as Fields;
  const limit = optionalInteger(query, 'limit', 1) ?? defaultLimit;
  const offset = optionalInteger(query, 'offset') ?? 0;
  if (limit > 1000) invalidField('limit must be at most 1000');
  return { offset, limit };
}

/**
 * `allowed_commands`: repeated fields (`allowed_commands[]`, `allowed_commands[0]`… too), a JSON
 * array (or its text), or empty to clear the list; undefined when absent.
 */
export function commandPatterns(body: Fields): string[] | undefined {
  const name = 'allowed_commands';
  let value = listValue(body, name);
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.trim().startsWith('[')) {
    try {
      value = JSON.parse(value);
    } catch {
      invalidField(`${name} must be a JSON array of strings, or a repeated field`);
    }
  }
  const patterns = stringList({ [name]: value }, name).filter((pattern) => pattern.trim() !== '');
  if (patterns.length > 100) invalidField(`${name} must hold at most 100 patterns`);
  for (const pattern of patterns) if (pattern.length > 256) invalidField(`${name} patterns must be at most 256 characters`);
  return patterns;
}
