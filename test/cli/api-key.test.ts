/**
 * `operon api-key create` through the real CLI against a test database: the key is printed once,
 * only its hash is stored, and it authenticates as a worker for its task types only.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ApiTokenVerifier, hashApiToken } from '../../engine/http/auth.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/operon.js', import.meta.url));
let db: TestDatabase;

before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db?.drop();
});

test('api-key create --role worker --task-types prints the key once and stores its hash with the types', async () => {
  const env = { ...process.env, DATABASE_URL: db.url };
  const { stdout } = await run(
    process.execPath,
    [
      BIN,
      'api-key',
      'create',
      '--role',
      'worker',
      '--task-types',
      'credit-check,payout',
      '--name',
      'payments',
      '--json',
    ],
    { env },
  );
  const { token, key } = JSON.parse(stdout) as { token: string; key: { id: string; taskTypes: string[] } };
  assert.match(token, /^opk_/);
  assert.deepEqual(key.taskTypes, ['credit-check', 'payout']);
  const row = await db.knex('api_tokens').where({ id: key.id }).first();
  assert.equal(row.token_hash, hashApiToken(token));
  assert.deepEqual([row.kind, row.roles, row.name], ['apiKey', ['worker'], 'payments']);
  const verified = await new ApiTokenVerifier(db.knex).verify(token);
  assert.deepEqual(verified?.taskTypes, ['credit-check', 'payout']);

  const refused = await run(process.execPath, [BIN, 'api-key', 'create', '--role', 'worker'], { env }).catch(
    (error: { code: number; stderr: string }) => error,
  );
  assert.equal((refused as { code: number }).code, 1);
  assert.match((refused as { stderr: string }).stderr, /OPERON_ERR_VALIDATION.*taskTypes/);
});
