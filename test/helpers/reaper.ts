/**
 * Preloaded into every test file by scripts/run-tests.mjs (`--import`): whatever a test file
 * started and did not stop dies with it.
 *
 * The test runner ends a file that outlives its timeout with SIGTERM, and its after() hooks do
 * not run then: the redis-server, coyotes, rabbitmq-server… it started would live on, and one
 * holding an inherited pipe keeps the runner itself from ever exiting (it waits for the pipe's
 * end). On SIGTERM or SIGINT this kills the file's whole process tree, names what it killed (in
 * $COYOTES_REAPER_LOG, which run-tests.mjs prints, or on stderr), and exits; at a normal exit it kills whatever is left, silently.
 */
import { appendFileSync } from 'node:fs';
import { allProcStats, commandLine, killAll } from './processes.js';

/** Every live descendant of `root` (children first, then theirs), from /proc. */
function descendants(root: number): { pid: number; cmd: string }[] {
  const parentOf = new Map<number, number[]>();
  for (const stat of allProcStats()) parentOf.set(stat.ppid, [...(parentOf.get(stat.ppid) ?? []), stat.pid]);
  const found: { pid: number; cmd: string }[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const pid of parentOf.get(queue.shift()!) ?? []) {
      found.push({ pid, cmd: commandLine(pid)?.join(' ').slice(0, 160) ?? '?' });
      queue.push(pid);
    }
  }
  return found;
}

function killTree(): { pid: number; cmd: string }[] {
  const tree = descendants(process.pid);
  killAll(tree.map(({ pid }) => pid));
  return tree;
}

/** What a helper wants said about what it started when the file is ended (e.g. a server's last output). */
type LastWords = () => string;
const lastWordsKey = Symbol.for('coyotes.test.lastWords');
const registry = ((globalThis as Record<symbol, unknown>)[lastWordsKey] ??= new Set<LastWords>()) as Set<LastWords>;

/** Registers `words` to be printed if the file is ended by a signal; the returned function unregisters. */
export function lastWords(words: LastWords): () => void {
  registry.add(words);
  return () => registry.delete(words);
}

if (process.platform === 'linux') {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      const killed = killTree();
      const names = killed.map(({ pid, cmd }) => `  ${pid} ${cmd}`).join('\n');
      let words = '';
      for (const said of registry) {
        try {
          words += `${said()}\n`;
        } catch (error) {
          words += `(a helper's last words failed: ${String(error)})\n`;
        }
      }
      const message = `reaper: ${signal} ended ${process.argv[1]}; killed ${killed.length} process(es) it had started:\n${names}\n${words}`;
      // the runner no longer reads the stderr of a file it ended: run-tests.mjs prints this file
      if (process.env.COYOTES_REAPER_LOG) appendFileSync(process.env.COYOTES_REAPER_LOG, message);
      else process.stderr.write(message);
      process.exit(signal === 'SIGTERM' ? 143 : 130);
    });
  }
  process.once('exit', () => void killTree());
}
