import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { api } from './coyotes.js';
import { FORKS_GRANDCHILDREN, treePids } from './processes.js';
import { waitFor } from './wait.js';

/** Two running tasks whose process trees a test kills from under them (their channel process or spawner). */
export interface TwoTrees {
  ids: string[];
  /** The pids of both first runs' whole trees, grandchildren included. */
  firstRuns: number[];
  /** Waits for both tasks to run a second time; answers those runs' tree pids. */
  secondRuns(): Promise<number[]>;
  /** How many times each task ran, as its own command counted it. */
  runCounts(): number[];
}

/**
 * Pushes tasks t1 and t2 into `channel`: each run logs itself to `<work>/<name>.runs` and writes
 * its tree's pids to a file of its own under `<work>/trees`; answers once both first runs are up.
 */
export async function startTwoTrees(baseUrl: string, channel: string, work: string): Promise<TwoTrees> {
  const names = ['t1', 't2'];
  const trees = path.join(work, 'trees');
  mkdirSync(trees);
  const ids: string[] = [];
  for (const name of names) {
    const { json } = await api(baseUrl, 'POST', `/channels/${channel}/tasks`, {
      command: '/bin/sh',
      args: ['-c', `echo run >> ${path.join(work, `${name}.runs`)}; exec /bin/sh ${FORKS_GRANDCHILDREN} ${trees}/${name}-$$`],
      task: name,
    });
    ids.push(json.data.task_id);
  }
  const runsOf = (name: string) => readdirSync(trees).filter((f) => f.startsWith(`${name}-`) && !f.endsWith('.tmp'));
  await waitFor('both first runs', () => names.every((name) => runsOf(name).length === 1));
  const firstRuns: number[] = [];
  for (const name of names) firstRuns.push(...(await treePids(path.join(trees, runsOf(name)[0]!))));
  return {
    ids,
    firstRuns,
    async secondRuns() {
      await waitFor('both second runs', () => names.every((name) => runsOf(name).length === 2));
      const pids: number[] = [];
      for (const name of names) {
        const second = runsOf(name).find((f) => !firstRuns.includes(Number(f.split('-')[1])))!;
        pids.push(...(await treePids(path.join(trees, second))));
      }
      return pids;
    },
    runCounts: () =>
      names.map((name) => {
        const log = path.join(work, `${name}.runs`);
        return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').length : 0;
      }),
  };
}
