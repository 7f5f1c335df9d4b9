import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '../../engine/errors.ts';

test('every OPERON_ERR_* code is documented in docs/errors.md with its HTTP status', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const undocumented: string[] = [];
  for (const [code, { status }] of Object.entries(ERROR_CODES)) {
    const row = doc.split('\n').find((line) => line.startsWith(`| ${code} |`));
    if (!row?.includes(`| ${status} |`)) undocumented.push(code);
  }
  assert.deepEqual(undocumented, []);
  assert.ok(Object.keys(ERROR_CODES).length > 20);
});
