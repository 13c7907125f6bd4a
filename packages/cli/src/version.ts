import { readFileSync } from 'node:fs';
import type { ServerOptions } from '@coyotes/protocol';
import { probeRedisVersion } from '@coyotes/broker/probe';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

/** How long `--version` waits for Redis to say its version before it reports it unreachable. */
export const REDIS_PROBE_TIMEOUT_MS = 500;

/** What the build recorded (scripts/build-info.mjs): an installed package has no .git to ask. */
interface BuildInfo {
  commit: string;
  dirty: boolean;
  builtAt: string;
}

function buildInfo(): BuildInfo | undefined {
  try {
    return JSON.parse(readFileSync(new URL('./build-info.json', import.meta.url), 'utf8')) as BuildInfo;
  } catch {
    return undefined;
  }
}

/** `coyotes --version`: this version, the commit it was built from, Node's and the configured Redis's versions. */
export async function versionReport(options: Readonly<ServerOptions>): Promise<string> {
  const build = buildInfo();
  const redis = await probeRedisVersion(options.redis, REDIS_PROBE_TIMEOUT_MS);
  return [
    `coyotes ${VERSION}`,
    build
      ? `commit ${build.commit}${build.dirty ? ' (with uncommitted changes)' : ''}, built ${build.builtAt}`
      : 'commit unknown (no build-info.json)',
    `node ${process.version}`,
    'version' in redis ? `redis ${redis.version} at ${redis.address}` : `redis: unreachable at ${redis.address} (${redis.error})`,
  ].join('\n');
}
