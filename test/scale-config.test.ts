// The topology settings: -redis-sentinels, -redis-sentinel-name and -redis-cluster from flags,
// environment and config file, and the start refused (naming the setting) when they conflict.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveServerOptions } from '../packages/protocol/src/index.js';
import { layerOptions, parseCommandLine } from '../packages/cli/src/flags.js';

const resolve = (argv: string[], env: NodeJS.ProcessEnv = {}, file: Record<string, unknown> = {}) =>
  resolveServerOptions(layerOptions({ flags: parseCommandLine(argv).flags, env, file }).options);

test('sentinels and cluster seeds come from flags, the environment or a config file list', () => {
  const sentinel = resolve(['-redis-sentinels', '10.0.0.1:26379, 10.0.0.2:26380', '--redis-sentinel-name', 'queue']).redis;
  assert.deepEqual(sentinel.sentinels, [
    { host: '10.0.0.1', port: 26379 },
    { host: '10.0.0.2', port: 26380 },
  ]);
  assert.equal(sentinel.sentinelName, 'queue');
  const cluster = resolve([], { COYOTES_REDIS_CLUSTER: '127.0.0.1:7000,127.0.0.1:7001' }).redis;
  assert.deepEqual(cluster.cluster, [
    { host: '127.0.0.1', port: 7000 },
    { host: '127.0.0.1', port: 7001 },
  ]);
  const fromFile = resolve([], {}, { 'redis-sentinels': ['10.0.0.1:26379', '10.0.0.2:26379'] }).redis;
  assert.equal(fromFile.sentinels?.length, 2);
});

test('conflicting or malformed topology settings stop the start with the setting named', () => {
  assert.throws(
    () => resolve(['-redis-sentinels', 'a:1', '-redis-cluster', 'b:2']),
    /redis-sentinels and redis-cluster cannot both be set/,
  );
  assert.throws(() => resolve(['-redis-cluster', 'a:1', '-redis-db', '3']), /redis-db must be 0 with redis-cluster/);
  assert.throws(() => resolve(['-redis-cluster', 'a:1,nope']), /-redis-cluster must be host:port, got "nope"/);
  assert.throws(() => resolve(['-redis-sentinels', ' , ']), /-redis-sentinels must list at least one host:port/);
  assert.throws(
    () => resolve(['-redis-sentinels', 'a:1', '-redis-sentinel-name', 'two words']),
    /redis-sentinel-name must be a name without spaces/,
  );
});
