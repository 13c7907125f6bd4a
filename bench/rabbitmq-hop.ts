/**
 * What one RabbitMQ hop costs on this machine, without Coyotes around it: publish → confirm and
 * publish → delivery of one persistent message on a quorum queue (as the relay and consumer do),
 * one message at a time (latency) and in batches of 200 (the relay's). Run:
 * `node --import tsx bench/rabbitmq-hop.ts` (starts a private rabbitmq-server node);
 * `HOP_QUEUE_TYPE=classic` for a classic queue, `HOP_NAGLE=1` for amqplib's default socket.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { startRabbitMQ } from '../test/helpers/rabbitmq.js';
import { percentile, wallMs } from './stats.js';

const rabbit = await startRabbitMQ();
try {
  // as Coyotes connects (amqp-link.ts); HOP_NAGLE=1 leaves amqplib's default (Nagle on) to compare
  const connection = await connect(rabbit.url, { noDelay: process.env.HOP_NAGLE !== '1' });
  const publish = await connection.createConfirmChannel();
  const consume = await connection.createChannel();
  const queue = `hop-${randomUUID()}`;
  await consume.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': process.env.HOP_QUEUE_TYPE ?? 'quorum' } });
  await consume.prefetch(1000);
  let delivered: (at: number) => void = () => undefined;
  await consume.consume(queue, (message) => {
    if (!message) return;
    consume.ack(message);
    delivered(wallMs());
  });
  const confirms: number[] = [];
  const deliveries: number[] = [];
  for (let i = 0; i < 300; i += 1) {
    const t0 = wallMs();
    const arrived = new Promise<number>((resolve) => (delivered = resolve));
    publish.sendToQueue(queue, Buffer.from('{}'), { persistent: true, messageId: randomUUID() });
    await publish.waitForConfirms();
    confirms.push(wallMs() - t0);
    deliveries.push((await arrived) - t0);
  }
  const batch = 200;
  const t0 = wallMs();
  let left = batch * 10;
  const all = new Promise<void>((resolve) => (delivered = () => (--left === 0 ? resolve() : undefined)));
  for (let b = 0; b < 10; b += 1) {
    for (let i = 0; i < batch; i += 1) publish.sendToQueue(queue, Buffer.from('{}'), { persistent: true, messageId: randomUUID() });
    await publish.waitForConfirms();
  }
  await all;
  const rate = (batch * 10) / ((wallMs() - t0) / 1000);
  const ms = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(2)} ms, p99 ${percentile(xs, 99).toFixed(2)} ms`;
  console.log(`one at a time: publish → confirm ${ms(confirms)}; publish → delivery ${ms(deliveries)}`);
  console.log(`batches of ${batch} with confirms: ${rate.toFixed(0)} messages/s published and delivered`);
  await connection.close();
} finally {
  await rabbit.stop();
}
