import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CoyotesError, ErrorCodes, isCoyotesError } from '../src/index.js';

test('every error code is namespaced, unique and documented once in docs/errors.md', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const codes = Object.keys(ErrorCodes);
  assert.equal(new Set(codes).size, codes.length);
  for (const code of codes) {
    assert.match(code, /^COY_ERR_[A-Z]+_[A-Z_]+$/);
    assert.equal(doc.split(`\`${code}\``).length - 1, 1, `${code} must appear exactly once in docs/errors.md`);
  }
  const documented = [...doc.matchAll(/`(COY_ERR_[A-Z_]+)`/g)].map((m) => m[1]);
  for (const code of documented) assert.ok(codes.includes(code!), `${code} is documented but not defined`);
});

test('CoyotesError carries its code and hint', () => {
  const error = new CoyotesError('COY_ERR_TASK_NOT_FOUND', 'task x not found', { hint: 'check the id' });
  assert.equal(error.code, 'COY_ERR_TASK_NOT_FOUND');
  assert.equal(error.hint, 'check the id');
  assert.ok(isCoyotesError(error, 'COY_ERR_TASK_NOT_FOUND'));
  assert.ok(!isCoyotesError(new Error('x')));
});
