/**
 * `operon run` waits until the instance is at rest: no job this process runs, no timer, no handover
 * due before the deadline. A timer that fires while that is being read commits "timer fired, next
 * job ready" at once; the reads must not see the job table before the firing and the timer table
 * after it, or `operon run` returns an instance that is still running.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../engine/clock.ts';
import { hasWorkBefore } from '../../engine/cli/run-until-rest.ts';
import { fireDueTimers } from '../../engine/timers/fire-due-timers.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { openEngine } from '../engine/support/harness.ts';

const HOUR = 3_600_000;

const TIMER_THEN_JOB = {
  name: 'timer-then-job.bpmn',
  xml: `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs" targetNamespace="http://operon.test">
  <bpmn:process id="timer-then-job" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:serviceTask id="call">
      <bpmn:extensionElements><zeebe:taskDefinition type="http" /></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="call" />
    <bpmn:sequenceFlow id="f3" sourceRef="call" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>`,
};

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => db?.drop());

it('a timer that fires between the job read and the timer read still counts as work', async () => {
  const clock = new ManualClock();
  const opened = await openEngine(db.url, { clock, worker: false });
  try {
    const { engine, knex } = opened;
    await engine.deploy([TIMER_THEN_JOB]);
    const { instanceId } = await engine.startInstance('timer-then-job');
    const nodeNames = engine.nodes.names();
    assert.ok(nodeNames.includes('http'));
    const deadline = new Date(clock.now().getTime() + 2 * HOUR);
    let fired = 0;
    const working = await hasWorkBefore(engine, instanceId, nodeNames, deadline, async () => {
      // Another engine process fires the timer now, committed before the timer table is read.
      clock.advance(HOUR);
      fired = await fireDueTimers(knex, engine.graphs, engine.logger, { clock });
    });
    assert.equal(fired, 1, 'the timer fired between the reads');
    const after = await knex('timers').where({ process_instance_id: instanceId }).first('state');
    assert.equal(after.state, 'fired');
    const job = await knex('jobs').where({ process_instance_id: instanceId }).first('type', 'state');
    assert.deepEqual({ ...job }, { type: 'http', state: 'ready' }, 'the firing made the next job ready');
    assert.equal(working, true, 'the reads saw the timer before it fired, so the instance is not at rest');
    // Read afresh, the job is the work.
    assert.equal(await hasWorkBefore(engine, instanceId, nodeNames, deadline), true);
  } finally {
    await opened.close();
  }
});

it('an instance waiting only on a timer after the deadline is at rest', async () => {
  const clock = new ManualClock();
  const opened = await openEngine(db.url, { clock, worker: false });
  try {
    const { engine } = opened;
    const { instanceId } = await engine.startInstance('timer-then-job');
    const nodeNames = engine.nodes.names();
    const beforeDue = new Date(clock.now().getTime() + HOUR - 1);
    assert.equal(await hasWorkBefore(engine, instanceId, nodeNames, beforeDue), false);
    assert.equal(await hasWorkBefore(engine, instanceId, nodeNames, new Date(beforeDue.getTime() + 1)), true);
  } finally {
    await opened.close();
  }
});
