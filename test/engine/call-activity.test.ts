/**
 * Call activities on PostgreSQL: the parent hands the child's start, cancellation and end over
 * through instance_handovers rows; each instance steps in its own transactions.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { NodeType } from '../../engine/nodes/types.ts';
import { BpmnError } from '../../engine/errors.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { openEngine, path, waitFor, waitForState, type TestEngine } from './support/harness.ts';

const bpmn = (name: string) => ({
  name,
  xml: readFileSync(new URL(`../fixtures/bpmn/${name}`, import.meta.url), 'utf8'),
});
const charge: NodeType = { name: 'charge', run: async (input) => ({ receipt: `paid ${input.amount}`, cardFee: 1 }) };
const declineCard: NodeType = {
  name: 'card-charge',
  run: async () => {
    throw new BpmnError('CARD_DECLINED');
  },
};

let db: TestDatabase;
let current: TestEngine;
before(async () => {
  db = await createTestDatabase();
  current = await openEngine(db.url, { extraNodes: [charge, declineCard] });
  await current.engine.deploy([
    bpmn('call-activity.bpmn'),
    bpmn('call-activity-review.bpmn'),
    bpmn('call-activity-errors.bpmn'),
  ]);
});
after(async () => {
  await current?.close();
  await db?.drop();
});

const childrenOf = (parentId: string) =>
  current.knex('process_instances').where({ parent_instance_id: parentId }).orderBy('started_at');
const waitForChild = (parentId: string) =>
  waitFor(async () => (await childrenOf(parentId))[0], 10_000, `child of ${parentId}`);

describe('call activity on PostgreSQL', () => {
  it('runs the child to its end and takes only the output mappings back', async () => {
    const { instanceId } = await current.engine.startInstance('order', { price: 5, quantity: 3 });
    const parent = await waitForState(current.engine, instanceId, 'completed');
    assert.deepEqual(parent.variables, { price: 5, quantity: 3, paymentReceipt: 'paid 15' });
    assert.deepEqual(path(parent), ['start:completed', 'pay:completed', 'end:completed']);
    const [child] = await childrenOf(instanceId);
    assert.equal(child.bpmn_process_id, 'payment');
    assert.equal(child.state, 'completed');
    assert.equal(
      child.parent_element_instance_key,
      parent.elements.find((e) => e.elementId === 'pay')!.elementInstanceKey,
    );
    assert.deepEqual(child.variables, { price: 5, quantity: 3, amount: 15, receipt: 'paid 15', cardFee: 1 });
    const handovers = await current
      .knex('instance_handovers')
      .whereIn('process_instance_id', [instanceId, child.id])
      .orderBy('created_at');
    assert.deepEqual(
      handovers.map((h) => `${h.kind}:${h.state}`),
      ['child.start:delivered', 'event:delivered'],
    );
  });

  it('waits while the child waits on a person (FEEL process id), then takes all child variables', async () => {
    const { instanceId } = await current.engine.startInstance('claim', { amount: 50, reviewProcess: 'review' });
    const child = await waitForChild(instanceId);
    const [task] = await waitFor(async () => {
      const tasks = await current.engine.listUserTasks({ instanceId: child.id, state: 'open' });
      return tasks.length > 0 ? tasks : undefined;
    });
    assert.equal(task!.elementId, 'approve');
    assert.equal((await current.engine.getInstance(instanceId))!.state, 'active');
    await current.engine.completeUserTask(task!.id, { approved: true });
    const parent = await waitForState(current.engine, instanceId, 'completed');
    assert.equal(parent.variables.approved, true);
    assert.equal(parent.variables.amount, 50);
    assert.equal(
      parent.variables.limit,
      undefined,
      'an input mapping stays local to the call activity, as in Camunda 8',
    );
    const childRow = await current.knex('process_instances').where({ id: child.id }).first();
    assert.deepEqual(childRow.variables, { amount: 50, reviewProcess: 'review', limit: 100, approved: true });
  });

  it('cancelling the parent cancels the child and the grandchild', async () => {
    const { instanceId } = await current.engine.startInstance('portfolio', { amount: 1, reviewProcess: 'review' });
    const claim = await waitForChild(instanceId);
    const review = await waitForChild(claim.id);
    await waitFor(
      async () => (await current.engine.listUserTasks({ instanceId: review.id, state: 'open' })).length > 0,
    );
    await current.engine.cancelInstance(instanceId);
    await waitForState(current.engine, claim.id, 'terminated');
    const reviewView = await waitForState(current.engine, review.id, 'terminated');
    assert.deepEqual(path(reviewView), ['reviewStart:completed', 'approve:terminated']);
    assert.equal((await current.engine.listUserTasks({ instanceId: review.id, state: 'open' })).length, 0);
    assert.equal((await current.engine.getInstance(instanceId))!.state, 'terminated');
  });

  it('a child cancelled directly leaves an incident on the parent call activity', async () => {
    const { instanceId } = await current.engine.startInstance('claim', { amount: 2, reviewProcess: 'review' });
    const child = await waitForChild(instanceId);
    // Cancel the child directly (not through its parent): the parent's call activity gets an incident.
    await current.engine.cancelInstance(child.id);
    const [incident] = await waitFor(async () => {
      const rows = await current.engine.listIncidents({ instanceId, state: 'open' });
      return rows.length > 0 ? rows : undefined;
    });
    assert.equal(incident!.code, 'OPERON_ERR_CHILD_TERMINATED');
    assert.equal(incident!.elementId, 'callReview');
    await current.engine.cancelInstance(instanceId);
  });

  it('a called process that is not deployed is an incident on the call activity', async () => {
    const { instanceId } = await current.engine.startInstance('claim', { amount: 2, reviewProcess: 'nowhere' });
    const [incident] = await waitFor(async () => {
      const rows = await current.engine.listIncidents({ instanceId, state: 'open' });
      return rows.length > 0 ? rows : undefined;
    });
    assert.equal(incident!.code, 'OPERON_ERR_NOT_FOUND');
    assert.equal(incident!.elementId, 'callReview');
    assert.equal((await childrenOf(instanceId)).length, 0);
  });

  it('a BPMN error nobody catches in the child is caught by an error boundary on the call activity', async () => {
    const { instanceId } = await current.engine.startInstance('checkout', {});
    const parent = await waitForState(current.engine, instanceId, 'completed');
    assert.deepEqual(path(parent), [
      'checkoutStart:completed',
      'callCharge:terminated',
      'declined:completed',
      'notPaid:completed',
    ]);
    const [child] = await childrenOf(instanceId);
    const childView = await waitForState(current.engine, child.id, 'terminated');
    assert.deepEqual(path(childView), ['chargeStart:completed', 'chargeCard:terminated']);
    assert.equal((await current.engine.listIncidents({ instanceId, state: 'open' })).length, 0);
  });

  it('survives an engine restart while the child waits: the parent resumes when the child completes', async () => {
    const { instanceId } = await current.engine.startInstance('claim', { amount: 3, reviewProcess: 'review' });
    const child = await waitForChild(instanceId);
    await waitFor(
      async () => (await current.engine.listUserTasks({ instanceId: child.id, state: 'open' })).length === 1,
    );
    await current.close();
    current = await openEngine(db.url, { extraNodes: [charge, declineCard] });
    const [task] = await current.engine.listUserTasks({ instanceId: child.id, state: 'open' });
    await current.engine.completeUserTask(task!.id, { approved: false });
    const parent = await waitForState(current.engine, instanceId, 'completed');
    assert.equal(parent.variables.approved, false);
  });
});

describe('call activity version binding', () => {
  const child = (tag: string | undefined, marker: string) => ({
    name: `pinned-child-${marker}.bpmn`,
    xml: `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d-${marker}" targetNamespace="t">
  <bpmn:process id="pinned-child" isExecutable="true">
    ${tag ? `<bpmn:extensionElements><zeebe:versionTag value="${tag}" /></bpmn:extensionElements>` : ''}
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="mark"><bpmn:extensionElements><zeebe:script expression="=&quot;${marker}&quot;" resultVariable="ranVersion" /></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:scriptTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="mark" /><bpmn:sequenceFlow id="f2" sourceRef="mark" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>`,
  });
  const parent = (id: string, binding: string) => ({
    name: `${id}.bpmn`,
    xml: `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d-${id}" targetNamespace="t">
  <bpmn:process id="${id}" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="call"><bpmn:extensionElements><zeebe:calledElement processId="pinned-child" propagateAllChildVariables="true" ${binding} /></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:callActivity>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call" /><bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>`,
  });

  it('bindingType="versionTag" starts the latest version with that tag; the default starts the latest version', async () => {
    await current.engine.deploy([child('1.0', 'v1')]);
    await current.engine.deploy([child('1.0', 'v2')]);
    await current.engine.deploy([child('2.0', 'v3')]);
    await current.engine.deploy([
      parent('pinned-parent', 'bindingType="versionTag" versionTag="1.0"'),
      parent('latest-parent', ''),
    ]);
    const pinned = await current.engine.startInstance('pinned-parent');
    const latest = await current.engine.startInstance('latest-parent');
    assert.equal(
      (await waitForState(current.engine, pinned.instanceId, 'completed')).variables.ranVersion,
      'v2',
      'the newest version tagged 1.0',
    );
    assert.equal((await waitForState(current.engine, latest.instanceId, 'completed')).variables.ranVersion, 'v3');
    const tags = await current
      .knex('process_definitions')
      .where({ bpmn_process_id: 'pinned-child' })
      .orderBy('version')
      .pluck('version_tag');
    assert.deepEqual(tags, ['1.0', '1.0', '2.0']);
  });

  it('a version tag nobody deployed is an incident on the call activity; an unknown binding type fails deployment', async () => {
    await current.engine.deploy([parent('missing-tag-parent', 'bindingType="versionTag" versionTag="9.9"')]);
    const { instanceId } = await current.engine.startInstance('missing-tag-parent');
    const incident = await waitFor(async () => (await current.engine.listIncidents({ instanceId }))[0]);
    assert.equal(incident.elementId, 'call');
    assert.match(incident.message, /version tag "9\.9"/);
    await assert.rejects(
      current.engine.deploy([parent('deployment-parent', 'bindingType="deployment"')]),
      /binding "deployment"/,
    );
    await assert.rejects(current.engine.deploy([parent('no-tag-parent', 'bindingType="versionTag"')]), /no versionTag/);
  });
});
