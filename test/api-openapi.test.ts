import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { api, startCoyotes } from './helpers/coyotes.js';
import type { RunningCoyotes } from './helpers/coyotes.js';
import { keys } from './helpers/keys.js';
import { startRedis } from './helpers/redis.js';
import type { TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

type Schema = {
  type?: string;
  nullable?: boolean;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: unknown[];
};

/**
 * Where `value` strays from `schema` (dereferenced): a field the schema does not name, a required
 * one missing, a type that differs. Enough to keep the published shapes true to what routes answer.
 */
function strays(schema: Schema, value: unknown, at: string): string[] {
  if (value === null) return schema.nullable === true || schema.type === undefined ? [] : [`${at}: null, not nullable`];
  if (schema.enum && !schema.enum.includes(value)) return [`${at}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`];
  const actual = Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (schema.type !== undefined && schema.type !== actual && !(schema.type === 'number' && actual === 'integer')) {
    return [`${at}: ${actual}, not ${schema.type}`];
  }
  if (Array.isArray(value)) return schema.items ? value.flatMap((item, i) => strays(schema.items!, item, `${at}[${i}]`)) : [];
  if (typeof value !== 'object') return [];
  const found: string[] = [];
  for (const name of schema.required ?? []) if (!(name in value)) found.push(`${at}.${name}: required, missing`);
  for (const [name, field] of Object.entries(value)) {
    const described =
      schema.properties?.[name] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (described) found.push(...strays(described, field, `${at}.${name}`));
    else if (schema.properties !== undefined) found.push(`${at}.${name}: not in the schema`);
  }
  return found;
}

describe('GET /openapi.json', () => {
  let redis: TestRedis;
  let coyotes: RunningCoyotes;
  let text: string;
  let doc: { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>> };

  before(async () => {
    redis = await startRedis();
    coyotes = await startCoyotes({ redisAddr: redis.addr });
    text = await (await fetch(`${coyotes.baseUrl}/openapi.json`)).text();
    doc = JSON.parse(text) as typeof doc;
  });
  after(async () => {
    await coyotes?.stop('SIGKILL');
    await redis?.stop();
  });

  test('is a valid OpenAPI 3.0 document (no empty required lists), every JSON answer with a real data schema', async () => {
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(text) as Record<string, unknown>);
    assert.deepEqual(result.errors ?? [], []);
    assert.equal(result.valid, true);
    assert.equal(validator.version, '3.0');
    assert.doesNotMatch(text, /"required":\[\]/);
    const vague: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const schema = operation.responses['200']?.content?.['application/json']?.schema;
        if (schema && JSON.stringify(schema.properties?.data) === '{}') vague.push(`${method.toUpperCase()} ${path}`);
      }
    }
    assert.deepEqual(vague, []);
  });

  test('what the routes answer matches the published schemas', async () => {
    const validator = new Validator();
    await validator.validate(JSON.parse(text) as Record<string, unknown>);
    const resolved = validator.resolveRefs() as unknown as typeof doc;
    const base = coyotes.baseUrl;
    const form = (fields: Record<string, string | string[]>) => api(base, 'POST', '/channels/default/tasks', fields);
    const done = (await form({ command: 'echo', args: ['hi'] })).json.data.task_id as string;
    await form({ command: 'true', delay: '3600' });
    const failing = (await form({ command: 'sh', args: ['-c', 'exit 1'] })).json.data.task_id as string;
    await waitFor('the tasks to finish', async () => {
      const states = await Promise.all([done, failing].map(async (id) => (await api(base, 'GET', `/tasks/${id}`)).json.data.status));
      return states[0] === 'succeeded' && states[1] === 'failed';
    });
    await redis.client.lpush(keys.prepareQueue, 'not json');
    await waitFor('a dead letter', async () => (await api(base, 'GET', '/dead-letters')).json.data.count > 0);

    const checks: [method: string, template: string, route: string, body?: Record<string, string>][] = [
      ['get', '/channels', '/channels'],
      ['get', '/channels/{name}', '/channels/default'],
      ['patch', '/channels/{name}', '/channels/default', { max_retries: '0' }],
      ['get', '/channels/{name}/failed-tasks', '/channels/default/failed-tasks'],
      ['get', '/delay-tasks', '/delay-tasks'],
      ['get', '/tasks/{id}', `/tasks/${done}`],
      ['get', '/tasks', '/tasks'],
      ['get', '/dead-letters', '/dead-letters'],
      ['get', '/nodes', '/nodes'],
      ['get', '/health', '/health'],
      ['get', '/stats', '/stats'],
      ['post', '/push', '/push', { task: 'true' }],
    ];
    for (const [method, template, route, body] of checks) {
      const { status, json } = await api(base, method.toUpperCase(), route, body);
      assert.equal(status, 200, `${method} ${route}: ${json.message}`);
      const schema = resolved.paths[template]![method]!.responses['200']!.content!['application/json']!.schema;
      assert.deepEqual(strays(schema, json, `${method.toUpperCase()} ${route}`), []);
    }
  });
});
