import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkAmqp } from '../src/index.js';
import { freePort } from '../../../test/helpers/ports.js';

// the RabbitMQ transport against a real rabbitmq-server: test/transport-rabbitmq.test.ts and test/delivery-rabbitmq.test.ts

test('the start-up check of -broker-url: no server is COY_ERR_BROKER_UNREACHABLE, named without the password', async () => {
  const port = await freePort();
  await assert.rejects(checkAmqp(`amqp://u:secret@127.0.0.1:${port}/vhost`), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'COY_ERR_BROKER_UNREACHABLE');
    assert.match(error.message, new RegExp(`^broker-url amqp://u:\\*\\*\\*@127\\.0\\.0\\.1:${port}/vhost: .*ECONNREFUSED`));
    assert.ok(!error.message.includes('secret'));
    return true;
  });
});
