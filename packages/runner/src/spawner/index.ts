import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CoyotesError } from '@coyotes/protocol';
import type { SpawnerChoice } from '@coyotes/protocol';
import { NativeSpawner } from './native-spawner.js';
import type { SpawnerDeathHandler } from './native-spawner.js';
import { NodeSpawner } from './node-spawner.js';
import type { Spawner, SpawnerKind } from './spawner.js';

/** Where the build puts the compiled helper (scripts/build-native.mjs). */
export const NATIVE_SPAWNER_BINARY = fileURLToPath(new URL('../../native/build/coyotes-spawner', import.meta.url));

/** The spawner a host uses, and why. */
export interface ResolvedSpawner {
  kind: SpawnerKind;
  /** Why the fallback is used (absent for the native spawner). */
  reason?: string;
}

/**
 * `auto`: the native helper when it was built, else node:child_process; `node` forces the
 * fallback; `native` refuses to start without the helper.
 */
export function resolveSpawner(choice: SpawnerChoice, binary = NATIVE_SPAWNER_BINARY): ResolvedSpawner {
  if (choice === 'node') return { kind: 'node', reason: '-spawner node' };
  try {
    accessSync(binary, constants.X_OK);
    return { kind: 'native' };
  } catch {
    const reason = `${binary} is not built (no C compiler at install?)`;
    if (choice === 'native') throw new CoyotesError('COY_ERR_CONFIG_INVALID', `-spawner native: ${reason}`);
    return { kind: 'node', reason };
  }
}

/** A channel process's spawner; `onDeath` hears of a dead native helper. */
export function createSpawner(kind: SpawnerKind, onDeath?: SpawnerDeathHandler): Spawner {
  return kind === 'native' ? new NativeSpawner(NATIVE_SPAWNER_BINARY, onDeath) : new NodeSpawner();
}

export { NativeSpawner } from './native-spawner.js';
export type { SpawnerDeathHandler } from './native-spawner.js';
export { NodeSpawner } from './node-spawner.js';
export type { CommandOptions, CommandOutput, SpawnedCommand, Spawner, SpawnerKind } from './spawner.js';
