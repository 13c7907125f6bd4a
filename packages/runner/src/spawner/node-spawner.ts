import { spawn } from 'node:child_process';
import type { CommandOptions, SpawnedCommand, Spawner } from './spawner.js';

/**
 * The fallback: node:child_process, which forks the whole channel process per command (its cost
 * grows with the Node heap). Used where the native helper is not built, or when asked for.
 */
export class NodeSpawner implements Spawner {
  readonly kind = 'node';

  spawn(argv: string[], options: CommandOptions): SpawnedCommand {
    return spawn(argv[0]!, argv.slice(1), {
      detached: true,
      cwd: options.cwd,
      env: options.env,
      uid: options.uid,
      gid: options.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  close(): void {}
}
