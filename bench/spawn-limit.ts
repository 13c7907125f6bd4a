/**
 * The machine's limit for running short commands, measured by ../shared/bench/spawn-limit.c (run
 * N commands, 8 in flight, own process groups, pipes read to EOF, reaped; no queue around it).
 * Compiled here with the system's cc from the shared checkout beside the repository; where that
 * file or a compiler is missing, the rows are left out with a note.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BENCH_DIR } from './systems.js';

const run = promisify(execFile);
export const SPAWN_LIMIT_SOURCE = path.resolve(BENCH_DIR, '../../shared/bench/spawn-limit.c');

/** The compiled binary, or why there is none. */
export function buildSpawnLimit(): { binary: string } | { missing: string } {
  if (!existsSync(SPAWN_LIMIT_SOURCE)) return { missing: `${SPAWN_LIMIT_SOURCE} not found` };
  const binary = path.join(mkdtempSync(path.join(tmpdir(), 'coyotes-bench-')), 'spawn-limit');
  try {
    execFileSync(process.env.CC || 'cc', ['-O2', '-o', binary, SPAWN_LIMIT_SOURCE], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (error) {
    return { missing: `cannot compile ${SPAWN_LIMIT_SOURCE}: ${(error as Error).message}` };
  }
  return { binary };
}

/** Commands per second: posix_spawn, or fork+exec from a parent that touched `ballastMiB` first. */
export async function spawnLimitRound(
  binary: string,
  tasks: number,
  inFlight: number,
  command: string,
  fork?: { ballastMiB: number },
): Promise<number> {
  const flags = fork ? ['-f', '-b', String(fork.ballastMiB)] : [];
  const { stdout } = await run(binary, [...flags, String(tasks), String(inFlight), command]);
  return (JSON.parse(stdout) as { perSecond: number }).perSecond;
}
