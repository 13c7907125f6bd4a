import { api } from './coyotes.js';

/** The three body encodings the seed accepts, so a test can send the same fields each way. */
export type Encoding = 'multipart' | 'urlencoded' | 'json';
export const ENCODINGS: Encoding[] = ['multipart', 'urlencoded', 'json'];

type Fields = Record<string, string | string[]>;

/** Sends `fields` as multipart/form-data (repeated fields for arrays), urlencoded, or JSON (arrays kept). */
export function send(
  base: string,
  method: string,
  route: string,
  fields: Fields,
  encoding: Encoding,
  headers: Record<string, string> = {},
) {
  if (encoding === 'multipart') return api(base, method, route, fields, headers);
  if (encoding === 'json') return api(base, method, route, JSON.stringify(fields), { 'content-type': 'application/json', ...headers });
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) for (const item of Array.isArray(value) ? value : [value]) params.append(key, item);
  return api(base, method, route, params.toString(), { 'content-type': 'application/x-www-form-urlencoded', ...headers });
}
