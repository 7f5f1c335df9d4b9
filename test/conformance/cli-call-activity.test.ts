/** `operon run` waits for a call activity's child instance and reports the parent's end state. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/operon.js', import.meta.url));
const model = (name: string) => fileURLToPath(new URL(`../fixtures/bpmn/conformance/${name}.bpmn`, import.meta.url));

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => db?.drop());

const operon = (...args: string[]) =>
  run(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'error' },
    timeout: 60_000,
  });

describe('operon run with a call activity', () => {
  it('runs the called process to its end and reports the parent completed with the child variables', async () => {
    await operon('deploy', model('link-events'));
    const { stdout } = await operon(
      'run',
      model('call-activity-linked'),
      '--vars',
      '{"orderId":"A-1"}',
      '--timeout',
      '20',
      '--json',
    );
    const outcome = JSON.parse(stdout) as {
      state: string;
      variables: Record<string, unknown>;
      elements: { elementId: string; state: string }[];
    };
    assert.equal(outcome.state, 'completed');
    assert.deepEqual(outcome.variables, { orderId: 'A-1', route: 'linked' });
    assert.deepEqual(
      outcome.elements.map((e) => `${e.elementId}:${e.state}`),
      ['StartEvent_1:completed', 'Activity_call:completed', 'EndEvent_1:completed'],
    );
  });
});
