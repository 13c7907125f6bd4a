// Baseline: a bare Koa hello-world answering every request with a small JSON envelope.
// Usage: node bench/koa-hello.mjs <port>; sends "ready" over IPC once listening.
import Koa from 'koa';

const app = new Koa();
app.use((ctx) => {
  ctx.body = { status_code: 200, message: 'ok', data: { hello: 'world' } };
});
app.listen(Number(process.argv[2]), '127.0.0.1', () => process.send?.('ready'));
process.on('disconnect', () => process.exit(0));
