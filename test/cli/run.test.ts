/**
 * `operon run` end to end: the real CLI (bin/operon.js) against a test database, on a model written
 * the way Camunda Modeler (Camunda 8) writes it: script tasks, a loop, gateways, a timer, an error
 * boundary on a node that throws a BPMN error.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/operon.js', import.meta.url));
const INVOICE = fileURLToPath(new URL('./fixtures/invoice-camunda.bpmn', import.meta.url));
const WAIT_STATES = fileURLToPath(new URL('../engine/fixtures/wait-states.bpmn', import.meta.url));

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => db?.drop());

async function operon(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'error' },
    timeout: 120_000,
  });
}

describe('operon run --json', () => {
  it('runs a Camunda 8 model to its end state with the right variables', async () => {
    const lines = [
      { qty: 2, price: 30 },
      { qty: 1, price: 50 },
    ];
    const { stdout } = await operon(
      'run',
      INVOICE,
      '--vars',
      JSON.stringify({ lines, reminders: 0 }),
      // A generous wait: the run ends in about 2 s, but two suites on one loaded machine have taken over 20 s.
      '--timeout',
      '90',
      '--json',
    );
    const outcome = JSON.parse(stdout) as {
      instanceId: string;
      state: string;
      variables: Record<string, unknown>;
      elements: { elementId: string; elementType: string; state: string }[];
      incidents: unknown[];
    };
    assert.deepEqual(Object.keys(outcome), ['instanceId', 'state', 'variables', 'elements', 'incidents']);
    assert.equal(outcome.state, 'completed');
    assert.equal(outcome.variables.total, 110);
    assert.equal(outcome.variables.reminders, 3);
    assert.equal(outcome.variables.outcome, 'escalated 110');
    assert.deepEqual(outcome.incidents, []);
    assert.deepEqual(
      outcome.elements.map((e) => `${e.elementId}:${e.state}`),
      [
        'StartEvent_1:completed',
        'Activity_total:completed',
        'Activity_remind:completed',
        'Gateway_enough:completed',
        'Activity_remind:completed',
        'Gateway_enough:completed',
        'Activity_remind:completed',
        'Gateway_enough:completed',
        'Event_wait:completed',
        'Activity_fraud:terminated',
        'Event_fraud:completed',
        'Gateway_amount:completed',
        'Activity_escalate:completed',
        'Event_escalated:completed',
      ],
    );
    assert.equal(outcome.elements.find((e) => e.elementId === 'Gateway_amount')?.elementType, 'exclusiveGateway');
  });

  it('returns at once with the instance active when it only waits on a person', async () => {
    const { stdout } = await operon('run', WAIT_STATES, '--vars', '{"orderId":"cli-1"}', '--timeout', '30', '--json');
    const outcome = JSON.parse(stdout) as { state: string; elements: { elementId: string; state: string }[] };
    assert.equal(outcome.state, 'active');
    assert.deepEqual(
      outcome.elements.map((e) => `${e.elementId}:${e.state}`),
      ['start:completed', 'review:active'],
    );
  });

  it('starts a deployed process by id, lists instances, and migrates twice harmlessly', async () => {
    const { stdout } = await operon(
      'run',
      'Process_invoice',
      '--vars',
      '{"lines":[{"qty":1,"price":10}],"reminders":5}',
      '--json',
    );
    const outcome = JSON.parse(stdout) as {
      state: string;
      variables: Record<string, unknown>;
      elements: { elementId: string }[];
    };
    assert.equal(outcome.state, 'completed');
    assert.equal(outcome.variables.reminders, 6);
    assert.equal(outcome.elements.at(-1)?.elementId, 'Event_blocked');
    const listed = await operon('instances', '--json');
    assert.equal((JSON.parse(listed.stdout) as unknown[]).length, 3);
    await operon('migrate');
    const again = await operon('migrate');
    assert.match(again.stdout, /up to date/);
    const url = await operon('db-url');
    assert.equal(url.stdout.trim(), db.url);
  });

  it('fails with a clear error naming the file for malformed BPMN', async () => {
    await assert.rejects(
      operon('run', fileURLToPath(new URL('./run.test.ts', import.meta.url)), '--json'),
      (error: { stderr: string; code: number }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr, /OPERON_ERR_BPMN_PARSE/);
        assert.match(error.stderr, /run\.test\.ts/);
        return true;
      },
    );
  });
});
