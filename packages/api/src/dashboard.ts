import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Middleware } from 'koa';
import { CoyotesError } from '@coyotes/protocol';

/** Where `pnpm build` puts the dashboard (packages/dashboard/dist), seen from packages/api/dist. */
const DEFAULT_DIR = path.resolve(import.meta.dirname, '../../dashboard/dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Everything the page loads comes from this origin: no CDN, no inline script. */
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

interface Asset {
  body: Buffer;
  type: string;
  modified: Date;
}

/** Reads the built files once: only these exact paths are served, so no request can reach another file. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  let files: string[];
  try {
    files = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return assets;
  }
  for (const file of files) {
    const type = TYPES[path.extname(file)];
    const full = path.join(dir, file);
    if (!type || !statSync(full).isFile()) continue;
    assets.set(`/dashboard/${file.split(path.sep).join('/')}`, { body: readFileSync(full), type, modified: statSync(full).mtime });
  }
  return assets;
}

/**
 * Serves the web dashboard: `/` is its page, `/dashboard/*` its scripts and styles. Mounted
 * before the bearer-token check: the page holds no data and asks for the token itself, while
 * every API call it makes still needs the token.
 */
export function dashboard(dir = DEFAULT_DIR): Middleware {
  const assets = loadAssets(dir);
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    const asset = assets.get(ctx.path === '/' ? '/dashboard/index.html' : ctx.path);
    if (!asset) {
      if (ctx.path === '/') throw new CoyotesError('COY_ERR_ROUTE_NOT_FOUND', 'the dashboard is not built: run pnpm build');
      return next();
    }
    ctx.set(SECURITY_HEADERS);
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = asset.type;
    ctx.lastModified = asset.modified;
    ctx.status = 200;
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.body = asset.body;
  };
}
