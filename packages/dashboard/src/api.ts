/**
 * The HTTP API client: the seed's envelope, the bearer token of `-http-token` (kept in
 * sessionStorage, so it leaves with the tab), and Server-Sent Events read through fetch
 * (EventSource cannot send an Authorization header).
 */

const TOKEN_KEY = 'coyotes.token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  /** The server has no such route (an older or newer API than this dashboard). */
  get missingRoute(): boolean {
    return this.status === 404 && /^no route for /.test(this.message);
  }
}

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string): void => sessionStorage.setItem(TOKEN_KEY, value),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

let unauthorized: () => void = () => undefined;

/**
 * Called whenever the API answers 401 to the token the tab holds now, so the page can ask for
 * one. A 401 to a token already replaced (a request sent before the user signed in again) is
 * stale and asks nothing.
 */
export function onUnauthorized(handler: () => void): void {
  unauthorized = handler;
}

async function send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  const bearer = token.get();
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const init: RequestInit = { method, headers, signal };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  if (response.status === 401 && token.get() === bearer) unauthorized();
  return response;
}

interface Envelope {
  status_code?: number;
  message?: string;
  data?: unknown;
}

/** Calls a route and returns the envelope's `data`; any non-200 becomes an ApiError with the server's message. */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await send(method, path, body);
  const text = await response.text();
  let envelope: Envelope | null;
  try {
    envelope = JSON.parse(text) as Envelope;
  } catch {
    envelope = null;
  }
  if (!response.ok || envelope === null) {
    throw new ApiError(response.status, envelope?.message ?? `${method} ${path}: HTTP ${response.status}`);
  }
  return envelope.data as T;
}

export const get = <T>(path: string): Promise<T> => call<T>('GET', path);

/** A route that may not exist on this server: null when it does not. */
export async function optional<T>(path: string): Promise<T | null> {
  try {
    return await get<T>(path);
  } catch (error) {
    if (error instanceof ApiError && error.missingRoute) return null;
    throw error;
  }
}

/** Plain-text routes (`/metrics`); null when the server has no such route. */
export async function text(path: string): Promise<string | null> {
  const response = await send('GET', path);
  if (response.status === 404) return null;
  if (!response.ok) throw new ApiError(response.status, `${path}: HTTP ${response.status}`);
  return response.text();
}

export interface StreamEvent {
  event: string;
  data: string;
}

/**
 * Follows a Server-Sent Events route until it ends or `signal` aborts. Resolves false when the
 * server has no such route.
 */
export async function follow(path: string, onEvent: (event: StreamEvent) => void, signal: AbortSignal): Promise<boolean> {
  const response = await send('GET', path, undefined, signal);
  if (response.status === 404) return false;
  if (!response.ok || !response.body) throw new ApiError(response.status, `${path}: HTTP ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return true;
    buffer += value;
    let end: number;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length > 0) onEvent({ event, data: data.join('\n') });
    }
  }
}
