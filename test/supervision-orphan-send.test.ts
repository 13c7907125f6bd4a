import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { isAlive, killAll } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

const SENDER = path.join(import.meta.dirname, 'fixtures/orphan-sender.mjs');

describe('a child process whose master is SIGKILLed while it sends', () => {
  const spawned: number[] = [];
  after(() => killAll(spawned));

  test('loses nothing to the dead IPC channel: no unhandled EPIPE, its orphan path runs and it exits 0', async () => {
    const parent = spawn(process.execPath, [SENDER, 'parent'], { stdio: ['ignore', 'pipe', 'pipe'] });
    spawned.push(parent.pid!);
    let stdout = '';
    let stderr = '';
    parent.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    parent.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    // the child holds the pipes too: they end when the child has exited
    const ended = Promise.all([once(parent.stdout, 'end'), once(parent.stderr, 'end')]);

    const child = Number(
      await waitFor('the child to be ready', () => /^ready /m.test(stdout) && /^child (\d+)$/m.exec(stdout)?.[1], 30_000),
    );
    spawned.push(child);
    parent.kill('SIGKILL');
    await waitFor('the child to exit', () => !isAlive(child), 30_000);
    await ended;

    assert.equal(stderr, '');
    assert.match(stdout, /^orphaned$/m);
    assert.match(stdout, /^exit 0$/m);
    // the race happened: the send saw master's channel closed before 'disconnect' was heard
    assert.match(stdout, /^parent gone, connected true$/m);
    assert.match(stdout, /^sent 0: (EPIPE|ECONNRESET|ERR_IPC_CHANNEL_CLOSED)$/m);
  });
});
