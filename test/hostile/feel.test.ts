/**
 * Given script tasks and gateway conditions holding FEEL escape attempts (constructor / prototype
 * access, `__proto__` contexts, function definitions, unbounded recursion) and runaway expressions
 * (huge ranges, nested `for`, catastrophic regular expressions), when instances run them on a real
 * worker, then each ends in an incident or a plain JSON null, the host is untouched (no prototype
 * pollution, no exit) and the same worker completes an ordinary instance afterwards.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DeployFile } from '../../engine/api.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { openEngine, waitFor, waitForState, type TestEngine } from '../engine/support/harness.ts';
import { conditionProcess, escapeXml } from './support/condition-process.ts';

/** Expressions that must yield only plain data (null) or an incident: never a host object. */
const ESCAPES = [
  'x.constructor',
  '(x.constructor.constructor)("return process")()',
  'x.__proto__',
  '{a: 1}.__proto__',
  'context put({}, "__proto__", {polluted: true})',
  '{"__proto__": {"polluted": true}}',
  'context merge([{}, {"__proto__": {"polluted": true}}])',
  'get value({}, "constructor")',
  'function(a) a',
  '(function(f) f(f))(function(f) f(f))',
  'process',
  'globalThis',
  'this',
];

/** Expressions that would run for minutes or exhaust memory: stopped by OPERON_FEEL_BUDGET_MS. */
const RUNAWAYS = [
  'for i in 1..1000000000 return i',
  'string join(for a in 1..100000 return string join(for b in 1..100000 return "x"))',
  'for i in 1..100000000 return [i, i, i, i]',
  'some i in 1..1000000000 satisfies i < 0',
  'matches("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "^(a+)+$")',
  'replace("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "(a|aa)+$", "b")',
];

function scriptProcess(id: string, expression: string): DeployFile {
  return {
    name: `${id}.bpmn`,
    xml: `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d-${id}" targetNamespace="http://operon.test">
  <bpmn:process id="${id}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="evil"><bpmn:extensionElements><zeebe:script expression="=${escapeXml(expression)}" resultVariable="result" /></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="evil" />
    <bpmn:sequenceFlow id="f2" sourceRef="evil" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>`,
  };
}

function prototypes(): string {
  return JSON.stringify(
    [Object.prototype, Array.prototype, Function.prototype, String.prototype].map((p) =>
      Object.getOwnPropertyNames(p).sort(),
    ),
  );
}

let db: TestDatabase;
let current: TestEngine;
const previousBudget = process.env.OPERON_FEEL_BUDGET_MS;
const pristine = prototypes();

before(async () => {
  process.env.OPERON_FEEL_BUDGET_MS = '300';
  db = await createTestDatabase();
  current = await openEngine(db.url);
});

after(async () => {
  if (previousBudget === undefined) delete process.env.OPERON_FEEL_BUDGET_MS;
  else process.env.OPERON_FEEL_BUDGET_MS = previousBudget;
  await current?.close();
  await db?.drop();
});

it('escape attempts in script tasks yield plain null or an incident, never a host object', async () => {
  const files = ESCAPES.map((expression, i) => scriptProcess(`escape-${i}`, expression));
  await current.engine.deploy(files);
  for (const [i, expression] of ESCAPES.entries()) {
    const { instanceId } = await current.engine.startInstance(`escape-${i}`, { x: 'abc' });
    const view = await waitFor(
      async () => {
        const seen = await current.engine.getInstance(instanceId);
        return seen && (seen.state !== 'active' || seen.incidents.length > 0) ? seen : undefined;
      },
      15_000,
      expression,
    );
    if (view.incidents.length > 0) {
      assert.equal(view.state, 'active', expression);
      assert.match(view.incidents[0]!.code, /^OPERON_ERR_FEEL/, expression);
    } else {
      assert.equal(view.state, 'completed', expression);
      assert.equal(view.variables.result, null, `${expression} gave ${JSON.stringify(view.variables.result)}`);
    }
  }
  assert.equal(prototypes(), pristine);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

it('runaway script tasks and conditions become incidents within the budget; the worker stays healthy', async () => {
  const files = [
    ...RUNAWAYS.map((expression, i) => scriptProcess(`runaway-${i}`, expression)),
    conditionProcess('runaway-condition', 'every i in 1..1000000000 satisfies i > 0'),
  ];
  await current.engine.deploy(files);
  const ids = [...RUNAWAYS.map((_, i) => `runaway-${i}`), 'runaway-condition'];
  const started = await Promise.all(ids.map((id) => current.engine.startInstance(id, {})));
  for (const [n, { instanceId }] of started.entries()) {
    const view = await waitFor(
      async () => {
        const seen = await current.engine.getInstance(instanceId);
        return seen && seen.incidents.length > 0 ? seen : undefined;
      },
      30_000,
      ids[n],
    );
    assert.equal(view.state, 'active', ids[n]);
    assert.equal(view.incidents[0]!.code, 'OPERON_ERR_FEEL_BUDGET', ids[n]);
    assert.match(view.incidents[0]!.message, /time budget|memory/, ids[n]);
  }
  assert.equal(prototypes(), pristine);

  // The same engine and worker thread pool finish an ordinary instance with iteration afterwards.
  await current.engine.deploy([scriptProcess('ordinary', 'sum(for n in numbers return n * 2)')]);
  const { instanceId } = await current.engine.startInstance('ordinary', { numbers: [1, 2, 3] });
  const done = await waitForState(current.engine, instanceId, 'completed', 60_000);
  assert.equal(done.variables.result, 12);
});
