import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CoyotesError, ErrorCodes, RetiredErrorCodes, errorStatus, isCoyotesError, isErrorCode } from '../src/index.js';
import type { ErrorCode, ErrorSpec } from '../src/index.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const doc = readFileSync(path.join(repo, 'docs/errors.md'), 'utf8');
const [current, retired = ''] = doc.split(/^## Retired$/m);

test('every error code is namespaced, unique and documented once in docs/errors.md', () => {
  const codes = Object.keys(ErrorCodes);
  assert.equal(new Set(codes).size, codes.length);
  for (const code of codes) {
    assert.match(code, /^COY_ERR_[A-Z]+_[A-Z_]+$/);
    assert.equal(current!.split(`\`${code}\``).length - 1, 1, `${code} must appear exactly once in docs/errors.md`);
  }
  const documented = [...current!.matchAll(/`(COY_ERR_[A-Z_]+)`/g)].map((m) => m[1]);
  for (const code of documented) assert.ok(codes.includes(code!), `${code} is documented but not defined`);
});

test('docs/errors.md shows the HTTP status the registry gives each code', () => {
  for (const [code, spec] of Object.entries(ErrorCodes) as [ErrorCode, ErrorSpec][]) {
    const row = new RegExp(`^\\| \`${code}\` \\| ([^|]+) \\|`, 'm').exec(current!);
    assert.equal(row?.[1], spec.status === undefined ? '—' : String(spec.status), code);
    assert.equal(errorStatus(code), spec.status ?? 500);
  }
  assert.ok(isErrorCode('COY_ERR_TASK_NOT_FOUND'));
  assert.ok(!isErrorCode('COY_ERR_INTERNAL'));
  assert.ok(!isErrorCode('toString'));
});

test('a retired code stays reserved: listed under "Retired", never registered again', () => {
  for (const code of Object.keys(RetiredErrorCodes)) {
    assert.ok(!(code in ErrorCodes), `${code} is retired: it must not be registered again`);
    assert.equal(retired.split(`\`${code}\``).length - 1, 1, `${code} must be listed once under "Retired" in docs/errors.md`);
  }
  const listed = [...retired.matchAll(/`(COY_ERR_[A-Z_]+)`/g)].map((m) => m[1]!);
  assert.deepEqual(listed.sort(), Object.keys(RetiredErrorCodes).sort());
});

test('every registered code is produced by at least one test (or retired)', () => {
  const roots = ['test', ...readdirSync(path.join(repo, 'packages')).map((name) => `packages/${name}/test`)];
  const sources = roots
    .flatMap((root) => {
      try {
        return readdirSync(path.join(repo, root), { recursive: true }).map((file) => path.join(repo, root, String(file)));
      } catch {
        return [];
      }
    })
    .filter((file) => file.endsWith('.ts') && file !== fileURLToPath(import.meta.url))
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n');
  const untested = Object.keys(ErrorCodes).filter((code) => !sources.includes(`'${code}'`));
  assert.deepEqual(untested, [], 'codes no test produces: write a test that raises each, or retire it in errors.ts and docs/errors.md');
});

test('CoyotesError carries its code and hint', () => {
  const error = new CoyotesError('COY_ERR_TASK_NOT_FOUND', 'task x not found', { hint: 'check the id' });
  assert.equal(error.code, 'COY_ERR_TASK_NOT_FOUND');
  assert.equal(error.hint, 'check the id');
  assert.ok(isCoyotesError(error, 'COY_ERR_TASK_NOT_FOUND'));
  assert.ok(!isCoyotesError(new Error('x')));
});
