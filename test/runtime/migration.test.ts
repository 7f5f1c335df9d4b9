/**
 * Instance migration on the pure runtime (`migrateInstance`): which waits stay, which are opened
 * again or cancelled, which states are refused, and that a migrated snapshot runs on the target.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDefinitions, type ProcessGraph } from '../../engine/model/index.ts';
import {
  migrateInstance,
  startInstance,
  step,
  type Effect,
  type ElementMapping,
  type InstanceSnapshot,
} from '../../engine/runtime/index.ts';
import type { RuntimeState } from '../../engine/runtime/state.ts';

const now = new Date('2026-12-01T10:00:00Z');
const XMLNS =
  'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" targetNamespace="http://operon.dev/test"';

async function graph(body: string, extra = ''): Promise<ProcessGraph> {
  const xml = `<bpmn:definitions ${XMLNS} id="d">${extra}<bpmn:process id="p" isExecutable="true">${body}</bpmn:process></bpmn:definitions>`;
  return (await parseDefinitions(xml, 'p.bpmn'))[0]!;
}

const timer = (id: string, host: string, duration = 'PT1H') =>
  `<bpmn:boundaryEvent id="${id}" attachedToRef="${host}" cancelActivity="false"><bpmn:timerEventDefinition><bpmn:timeDuration>${duration}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:sequenceFlow id="${id}-out" sourceRef="${id}" targetRef="${id}-end" /><bpmn:endEvent id="${id}-end" />`;

/** start -> review (user task) -> next (user task) -> end, with `extra` inside the process. */
const reviewProcess = (extra = '', next = 'next') =>
  graph(`<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" /><bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="${next}" />
    <bpmn:userTask id="${next}" /><bpmn:sequenceFlow id="f3" sourceRef="${next}" targetRef="end" /><bpmn:endEvent id="end" />${extra}`);

function started(source: ProcessGraph, variables = {}): InstanceSnapshot {
  return startInstance(source, { instanceId: 'i-1', variables, now }).snapshot;
}

function migrate(
  source: ProcessGraph,
  target: ProcessGraph,
  snapshot: InstanceSnapshot,
  mappings: ElementMapping[] = [],
) {
  return migrateInstance(source, target, snapshot, mappings, { now });
}

/** The snapshot's contents (opaque to drivers; a runtime test may look). */
const stateOf = (snapshot: InstanceSnapshot) => snapshot as unknown as RuntimeState;
const keyAt = (snapshot: InstanceSnapshot, elementId: string) =>
  Object.values(stateOf(snapshot).elements).find((e) => e.elementId === elementId)!.key;
const types = (effects: Effect[]) => effects.map((effect) => effect.type);
const reviewKey = (snapshot: InstanceSnapshot) => keyAt(snapshot, 'review');

describe('instance migration (pure)', () => {
  it('moves a waiting user task and the instance continues on the target', async () => {
    const v1 = await reviewProcess();
    const v2 = await reviewProcess('', 'approve');
    const snapshot = started(v1);
    const plan = migrate(v1, v2, snapshot);
    assert.ok(plan.ok);
    assert.deepEqual(plan.effects, []);
    assert.deepEqual(plan.elements, [
      {
        elementInstanceKey: reviewKey(snapshot),
        sourceElementId: 'review',
        targetElementId: 'review',
        elementType: 'userTask',
        implicit: true,
      },
    ]);
    const after = step(
      v2,
      plan.snapshot,
      { type: 'userTask.completed', elementInstanceKey: reviewKey(snapshot) },
      { now },
    );
    assert.ok(after.effects.some((e) => e.type === 'userTask.create' && e.elementId === 'approve'));
    assert.equal(
      stateOf(snapshot).elements[reviewKey(snapshot)]!.elementId,
      'review',
      'the input snapshot is not changed',
    );
  });

  it('keeps a mapped boundary timer, cancels an unmapped one and schedules the target’s new one', async () => {
    const v1 = await reviewProcess(timer('remind', 'review'));
    const snapshot = started(v1);
    // Same id: the timer stays as it is (no effect at all).
    const same = migrate(v1, await reviewProcess(timer('remind', 'review')), snapshot);
    assert.ok(same.ok);
    assert.deepEqual(same.effects, []);
    assert.deepEqual(Object.values(same.keptTimers), ['remind']);
    // Renamed without a mapping: cancelled, and the target's timer scheduled now.
    const renamed = await reviewProcess(timer('nudge', 'review', 'PT2H'));
    const replaced = migrate(v1, renamed, snapshot);
    assert.ok(replaced.ok);
    assert.deepEqual(types(replaced.effects), ['timer.cancel', 'timer.schedule']);
    const scheduled = replaced.effects[1] as Extract<Effect, { type: 'timer.schedule' }>;
    assert.equal(scheduled.elementId, 'nudge');
    assert.equal(scheduled.dueAt, '2026-12-01T12:00:00.000Z');
    // Renamed with a mapping: kept, with its due time.
    const mapped = migrate(v1, renamed, snapshot, [{ sourceElementId: 'remind', targetElementId: 'nudge' }]);
    assert.ok(mapped.ok);
    assert.deepEqual(mapped.effects, []);
    assert.deepEqual(Object.values(mapped.keptTimers), ['nudge']);
    assert.equal(Object.values(stateOf(mapped.snapshot).timers)[0]!.elementId, 'nudge');
  });

  it('opens message subscriptions again from the target’s definitions', async () => {
    const message = (name: string) =>
      `<bpmn:message id="m" name="${name}"><bpmn:extensionElements><zeebe:subscription correlationKey="=orderId" /></bpmn:extensionElements></bpmn:message>`;
    const wait = `<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="hold" />
      <bpmn:receiveTask id="hold" messageRef="m" /><bpmn:sequenceFlow id="f2" sourceRef="hold" targetRef="end" /><bpmn:endEvent id="end" />`;
    const v1 = await graph(wait, message('release'));
    const v2 = await graph(wait, message('release-v2'));
    const plan = migrate(v1, v2, started(v1, { orderId: 'A-7' }));
    assert.ok(plan.ok);
    assert.deepEqual(types(plan.effects), ['subscription.close', 'subscription.open']);
    const opened = plan.effects[1] as Extract<Effect, { type: 'subscription.open' }>;
    assert.deepEqual([opened.messageName, opened.correlationKey], ['release-v2', 'A-7']);
  });

  it('refuses an unmapped active element, another kind, a change of flow scope and unknown mapping ids', async () => {
    const v1 = await reviewProcess();
    const snapshot = started(v1);
    const refusal = (plan: ReturnType<typeof migrate>) => (plan.ok ? assert.fail('not refused') : plan);
    const gone = refusal(
      migrate(v1, await graph('<bpmn:startEvent id="start" /><bpmn:userTask id="other" />'), snapshot),
    );
    assert.equal(gone.elementId, 'review');
    assert.match(gone.reason, /no mapping/);
    const serviceTask = await graph(
      '<bpmn:startEvent id="start" /><bpmn:serviceTask id="review"><bpmn:extensionElements><zeebe:taskDefinition type="noop" /></bpmn:extensionElements></bpmn:serviceTask>',
    );
    const kind = refusal(
      migrate(v1, serviceTask, snapshot, [{ sourceElementId: 'review', targetElementId: 'review' }]),
    );
    assert.match(kind.reason, /userTask and serviceTask/);
    const nested = await graph(
      '<bpmn:startEvent id="start" /><bpmn:subProcess id="sub"><bpmn:startEvent id="subStart" /><bpmn:sequenceFlow id="s1" sourceRef="subStart" targetRef="review" /><bpmn:userTask id="review" /></bpmn:subProcess>',
    );
    const scope = refusal(migrate(v1, nested, snapshot));
    assert.match(scope.reason, /flow scope/);
    const unknown = refusal(migrate(v1, v1, snapshot, [{ sourceElementId: 'nope', targetElementId: 'review' }]));
    assert.equal(unknown.elementId, 'nope');
  });

  it('moves tokens waiting at a parallel join when the gateway and its incoming flows map', async () => {
    const body = (
      join: string,
    ) => `<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork" />
      <bpmn:parallelGateway id="fork" /><bpmn:sequenceFlow id="a" sourceRef="fork" targetRef="ta" /><bpmn:sequenceFlow id="b" sourceRef="fork" targetRef="tb" />
      <bpmn:userTask id="ta" /><bpmn:userTask id="tb" />
      <bpmn:sequenceFlow id="a2" sourceRef="ta" targetRef="${join}" /><bpmn:sequenceFlow id="b2" sourceRef="tb" targetRef="${join}" />
      <bpmn:parallelGateway id="${join}" /><bpmn:sequenceFlow id="f9" sourceRef="${join}" targetRef="end" /><bpmn:endEvent id="end" />`;
    const v1 = await graph(body('join'));
    let snapshot = started(v1);
    const taKey = keyAt(snapshot, 'ta');
    snapshot = step(v1, snapshot, { type: 'userTask.completed', elementInstanceKey: taKey }, { now }).snapshot;
    const v2 = await graph(body('merge'));
    const refused = migrate(v1, v2, snapshot);
    assert.equal(refused.ok, false, 'the waiting token needs its gateway mapped');
    const plan = migrate(v1, v2, snapshot, [{ sourceElementId: 'join', targetElementId: 'merge' }]);
    assert.ok(plan.ok);
    assert.deepEqual(Object.keys(stateOf(plan.snapshot).joins), ['0|merge']);
    const tbKey = keyAt(plan.snapshot, 'tb');
    const done = step(v2, plan.snapshot, { type: 'userTask.completed', elementInstanceKey: tbKey }, { now });
    assert.equal(done.state, 'completed');
  });

  it('moves an event-based gateway and a process-level event subprocess with their waits', async () => {
    const message = `<bpmn:message id="m" name="cancel"><bpmn:extensionElements><zeebe:subscription correlationKey="=orderId" /></bpmn:extensionElements></bpmn:message>
      <bpmn:message id="m2" name="pay"><bpmn:extensionElements><zeebe:subscription correlationKey="=orderId" /></bpmn:extensionElements></bpmn:message>`;
    const body = (
      deadline: string,
    ) => `<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw" />
      <bpmn:eventBasedGateway id="gw" />
      <bpmn:sequenceFlow id="g1" sourceRef="gw" targetRef="paid" /><bpmn:sequenceFlow id="g2" sourceRef="gw" targetRef="late" />
      <bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="m2" /></bpmn:intermediateCatchEvent>
      <bpmn:intermediateCatchEvent id="late"><bpmn:timerEventDefinition><bpmn:timeDuration>${deadline}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
      <bpmn:sequenceFlow id="p1" sourceRef="paid" targetRef="end" /><bpmn:sequenceFlow id="l1" sourceRef="late" targetRef="end" /><bpmn:endEvent id="end" />
      <bpmn:subProcess id="onCancel" triggeredByEvent="true">
        <bpmn:startEvent id="cancelled"><bpmn:messageEventDefinition messageRef="m" /></bpmn:startEvent>
        <bpmn:sequenceFlow id="c1" sourceRef="cancelled" targetRef="cancelEnd" /><bpmn:endEvent id="cancelEnd" />
      </bpmn:subProcess>`;
    const v1 = await graph(body('PT1H'), message);
    const snapshot = started(v1, { orderId: 'O-1' });
    const plan = migrate(v1, await graph(body('PT2H'), message), snapshot);
    assert.ok(plan.ok, JSON.stringify(plan));
    // The gateway's timer stays (due time unchanged); both subscriptions (process and gateway) are opened again.
    assert.deepEqual(Object.values(plan.keptTimers), ['late']);
    assert.deepEqual(types(plan.effects).sort(), [
      'subscription.close',
      'subscription.close',
      'subscription.open',
      'subscription.open',
    ]);
    const opened = plan.effects
      .filter((e) => e.type === 'subscription.open')
      .map((e) => (e as { messageName: string }).messageName);
    assert.deepEqual(opened.sort(), ['cancel', 'pay']);
  });
});
