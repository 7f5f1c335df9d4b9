/**
 * The conformance cases marked `postgres` through the real engine: deployed over the API, run by
 * a worker on PostgreSQL. Completion order comes from the history table.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NodeType } from '../../engine/nodes/types.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { openEngine, waitForState, type TestEngine } from '../engine/support/harness.ts';
import { CASES, LISTENER_HANDLERS, SCORE_TASK, UNDO_TASK, conformanceXml, score, undo } from './cases.ts';

const scoreNode: NodeType = { name: SCORE_TASK, run: async (input) => score(input) };
const undoNode: NodeType = { name: UNDO_TASK, run: async (input) => undo(input) };
const listenerNodes: NodeType[] = Object.entries(LISTENER_HANDLERS).map(([name, handler]) => ({
  name,
  run: async (input) => handler(input),
}));
let db: TestDatabase;
let current: TestEngine;
before(async () => {
  db = await createTestDatabase();
  current = await openEngine(db.url, { extraNodes: [scoreNode, undoNode, ...listenerNodes] });
  const processes = [...new Set(CASES.filter((c) => c.postgres).map((c) => c.process)), 'service-task'];
  await current.engine.deploy(
    [...new Set(processes)].map((process) => ({ name: `${process}.bpmn`, xml: conformanceXml(process) })),
  );
});
after(async () => {
  await current?.close();
  await db?.drop();
});

describe('BPMN conformance on PostgreSQL', () => {
  for (const c of CASES.filter((x) => x.postgres)) {
    it(c.name, async () => {
      const { instanceId } = await current.engine.startInstance(c.process, c.variables);
      const view = await waitForState(current.engine, instanceId, 'completed');
      const completions = await current
        .knex('history')
        .where({ process_instance_id: instanceId, event_type: 'element.completed' })
        .orderBy('id')
        .pluck('element_id');
      assert.deepEqual(completions, c.completed);
      assert.deepEqual(
        view.elements
          .filter((e) => e.state === 'terminated')
          .map((e) => e.elementId)
          .sort(),
        [...(c.terminated ?? [])].sort(),
      );
      assert.deepEqual(view.variables, c.finalVariables);
      assert.equal(view.incidents.length, 0);
    });
  }
});
