export { ChannelRunner } from './channel-runner.js';
export type { ChannelRunnerOptions, RunnerBroker, RunnerHooks } from './channel-runner.js';
export { Execution, signalGroup } from './executor.js';
export type { ExecutorOptions } from './executor.js';
export { allowedTaskArgv, taskArgv, taskCwd, taskEnv } from './argv.js';
export { LineSplitter, TailBuffer } from './output.js';
export { withoutFinishedStarts } from './task-events.js';
export { CLOCK_TICKS, PAGE_BYTES, readProcStat } from './proc-stat.js';
export type { ProcStat } from './proc-stat.js';
export { processGroupMembers, processGroupStats } from './process-groups.js';

/** Path of the channel process entry, for master to fork. */
export const CHANNEL_PROCESS_ENTRY = new URL('./child.js', import.meta.url);
export { NATIVE_SPAWNER_BINARY, NativeSpawner, NodeSpawner, createSpawner, resolveSpawner } from './spawner/index.js';
export type { CommandOptions, ResolvedSpawner, SpawnedCommand, Spawner, SpawnerKind } from './spawner/index.js';
