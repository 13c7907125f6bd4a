import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TASK_ID_RULE, newChannelConfig } from '@coyotes/protocol';
import type { BrokerEvent } from '../src/index.js';
import { brokerHarness } from './harness.js';

const h = brokerHarness();

describe('admission: the one door', () => {
  test('a batch: each task admitted or refused with its reason, the others regardless; one delayed event for the earliest due', async () => {
    const b = h.broker();
    const channel = newChannelConfig('a', 1, { allowedCommands: ['echo', 'sleep'] });
    await b.channels.put(channel);
    const events: BrokerEvent[] = [];
    const subscriber = await b.subscribe();
    subscriber.on('event', (event) => events.push(event));
    const now = Date.now();
    const admitted = await b.admission.admit(
      channel,
      [
        { name: 'echo one', id: 'one' },
        { name: 'rm -rf /' },
        { name: 'echo two', id: 'bad id!' },
        { name: 'sleep 1', executeAt: now + 60_000 },
        { name: 'sleep 2', executeAt: now + 30_000 },
        { name: '', command: { name: '', args: [] } },
      ],
      'prepare-queue',
    );
    assert.deepEqual(admitted[0], { taskId: 'one', outcome: 'queued' });
    const refusals = admitted.map((result) => ('refused' in result ? [result.refused.code, result.refused.message] : null));
    assert.deepEqual(refusals[1], ['COY_ERR_TASK_NOT_ALLOWED', 'command "rm" is not in the allowed_commands of channel a']);
    assert.deepEqual(refusals[2], ['COY_ERR_REQUEST_INVALID', TASK_ID_RULE]);
    assert.equal(refusals[5]?.[0], 'COY_ERR_TASK_INVALID');
    assert.equal('outcome' in admitted[3]! && admitted[3].outcome, 'delayed');
    assert.equal('outcome' in admitted[4]! && admitted[4].outcome, 'delayed');
    assert.deepEqual(await h.redis.lrange(b.keys.channel('a').queued, 0, -1), ['one']);
    assert.equal(await h.redis.zcard(b.keys.channel('a').delayed), 2);
    const due = Number(await h.redis.zscore(b.keys.channel('a').delayed, admitted[4]!.taskId!));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(
      events.filter((event) => event.type === 'delayed'),
      [{ type: 'delayed', channel: 'a', dueMs: due }],
    );
    await subscriber.close();
  });

  test('a callback is armed with its task, and settled when a distinct channel finds the task a duplicate', async () => {
    const b = h.broker();
    const channel = newChannelConfig('d', 1, { distinct: true });
    const first = await b.admission.admitOne(channel, { name: 'echo x', callback: 'http://127.0.0.1:9/cb' }, 'http');
    assert.equal(first.outcome, 'queued');
    assert.notEqual(await h.redis.zscore(b.keys.channel('d').callbacks, first.taskId), null);
    const again = await b.admission.admitOne(channel, { name: 'echo x', callback: 'http://127.0.0.1:9/cb' }, 'http');
    assert.equal(again.outcome, 'duplicate');
    assert.equal(await h.redis.zscore(b.keys.channel('d').callbacks, again.taskId), null);
  });

  test('admitOne throws the refusal: an id another channel holds is COY_ERR_TASK_ID_EXISTS naming it', async () => {
    const b = h.broker();
    await b.admission.admitOne(newChannelConfig('p', 1), { name: 'echo p', id: 'shared' }, 'http');
    await assert.rejects(b.admission.admitOne(newChannelConfig('q', 1), { name: 'echo q', id: 'shared' }, 'http'), {
      code: 'COY_ERR_TASK_ID_EXISTS',
      message: 'task id shared is already taken in channel p',
    });
  });
});
