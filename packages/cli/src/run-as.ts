import type * as ChildProcess from 'node:child_process';
import { createRequire } from 'node:module';
import { CoyotesError } from '@coyotes/protocol';
import type { RunAsUser } from '@coyotes/protocol';

/**
 * Looks a user (name or numeric uid) up through the system's user database (`getent passwd`,
 * so NSS sources such as LDAP count too). Dropping to another user needs root.
 */
export function resolveRunAs(user: string, source: string): RunAsUser {
  if (process.getuid?.() !== 0) {
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', `${source} needs Coyotes to run as root (it runs as uid ${process.getuid?.()})`);
  }
  let entry: string;
  try {
    // node:child_process only here: the client verbs and --version that pass through this module need none
    const { execFileSync } = createRequire(import.meta.url)('node:child_process') as typeof ChildProcess;
    entry = execFileSync('getent', ['passwd', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', `${source}: no user "${user}" on this host`);
  }
  const [name, , uid, gid, , home] = entry.split('\n')[0]!.split(':');
  if (name === undefined || !/^\d+$/.test(uid ?? '') || !/^\d+$/.test(gid ?? '')) {
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', `${source}: cannot read the passwd entry of "${user}"`);
  }
  return { user: name, uid: Number(uid), gid: Number(gid), home: home || '/' };
}
