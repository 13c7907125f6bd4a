// The delivery tests of delivery.test.ts, unchanged, with RabbitMQ as the transport (-broker-url
// through COYOTES_BROKER_URL, a private rabbitmq-server node for the file).
process.env.COYOTES_TEST_TRANSPORT = 'rabbitmq';
await import('./delivery.test.js');
