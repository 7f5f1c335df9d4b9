/**
 * Every element kind of the graph's union has exactly one module in the registry the core
 * dispatches through, and the parser maps a BPMN element to each of them. Each module says how its
 * own wait closes (`closeWaits`), and the core closes waits through the modules alone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ELEMENT_TYPES, type ElementType, type FlowElement } from '../../engine/model/graph.ts';
import { parseDefinitions } from '../../engine/model/index.ts';
import { EXECUTED } from '../../engine/model/parse.ts';
import { elementKinds, kindOf } from '../../engine/runtime/elements/index.ts';
import { opensNoWait } from '../../engine/runtime/elements/kind.ts';
import { multiInstanceBody } from '../../engine/runtime/elements/multi-instance.ts';
import type { Execution } from '../../engine/runtime/execution.ts';
import { startInstance, step, type Effect } from '../../engine/runtime/index.ts';

/** `true` only when A and B are the same set of string literals. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// Type-level exhaustiveness: tsc (`npm run typecheck`, which CI runs) refuses this file when a member of the
// union has no element type, or an element type has no module in the registry.
const unionIsTheElementTypes: Same<FlowElement['type'], ElementType> = true;
const registryCoversEveryType: Same<keyof typeof elementKinds, ElementType> = true;

describe('the element kind registry', () => {
  it('covers every element type of the graph union, at type level', () => {
    assert.equal(unionIsTheElementTypes, true);
    assert.equal(registryCoversEveryType, true);
  });

  it('has one module with an activate and a closeWaits hook for each element type, and nothing else', () => {
    assert.deepEqual(Object.keys(elementKinds).sort(), [...ELEMENT_TYPES].sort());
    for (const type of ELEMENT_TYPES) {
      assert.equal(typeof elementKinds[type].activate, 'function', `the module of ${type} has no activate`);
      assert.equal(typeof elementKinds[type].closeWaits, 'function', `the module of ${type} has no closeWaits`);
    }
  });

  it('knows which kinds wait on something of their own that only they can close', () => {
    // Timers and subscriptions (catch events, receive tasks, event-based gateways, boundary events)
    // close through their event definitions; these kinds close a job, a user task or a child instance.
    const own = ELEMENT_TYPES.filter((type) => elementKinds[type].closeWaits !== opensNoWait).sort();
    assert.deepEqual(own, [
      'businessRuleTask',
      'callActivity',
      'endEvent',
      'intermediateThrowEvent',
      'scriptTask',
      'sendTask',
      'serviceTask',
      'userTask',
    ]);
  });

  it('pairs the hooks that belong together: holding a termination, and listeners of its own events', () => {
    for (const type of ELEMENT_TYPES) {
      const kind = elementKinds[type];
      assert.equal(!kind.holdsTermination, !kind.holdTermination, `${type}: holdsTermination without holdTermination`);
      const listenerHooks = [kind.listeners, kind.listenerCompleted, kind.listenerPhase].filter(Boolean).length;
      assert.ok(
        listenerHooks === 0 || listenerHooks === 3,
        `${type}: listeners, listenerCompleted and listenerPhase go together`,
      );
    }
    assert.ok(elementKinds.userTask.holdsTermination && elementKinds.userTask.listeners);
  });

  it('is reached from the parser: each element type is what one bpmn: element parses to', () => {
    assert.deepEqual([...new Set(Object.values(EXECUTED))].sort(), [...ELEMENT_TYPES].sort());
  });

  it('dispatches an element to the module of its type', () => {
    const element: FlowElement = { id: 'g', type: 'eventBasedGateway', incoming: [], outgoing: [] };
    assert.equal(kindOf(element), elementKinds.eventBasedGateway);
  });

  it('closes what each kind waits on when the instance is cancelled, a multi-instance activity in each inner instance', async () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:message id="m" name="go"><bpmn:extensionElements><zeebe:subscription correlationKey="=key" /></bpmn:extensionElements></bpmn:message>
  <bpmn:process id="kinds" isExecutable="true">
    <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork" />
    <bpmn:parallelGateway id="fork" />
    <bpmn:sequenceFlow id="f1" sourceRef="fork" targetRef="work" />
    <bpmn:serviceTask id="work"><bpmn:extensionElements><zeebe:taskDefinition type="w" /></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:boundaryEvent id="late" attachedToRef="work"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="review" />
    <bpmn:userTask id="review"><bpmn:extensionElements><zeebe:userTask /></bpmn:extensionElements></bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="call" />
    <bpmn:callActivity id="call"><bpmn:extensionElements><zeebe:calledElement processId="child" /></bpmn:extensionElements></bpmn:callActivity>
    <bpmn:sequenceFlow id="f4" sourceRef="fork" targetRef="receive" />
    <bpmn:receiveTask id="receive" messageRef="m" />
    <bpmn:sequenceFlow id="f5" sourceRef="fork" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>PT2H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f6" sourceRef="fork" targetRef="each" />
    <bpmn:serviceTask id="each"><bpmn:extensionElements><zeebe:taskDefinition type="e" /></bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=[1, 2]" /></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics>
    </bpmn:serviceTask>
  </bpmn:process>
</bpmn:definitions>`;
    const graph = (await parseDefinitions(xml, 'kinds.bpmn', { callActivities: true }))[0]!;
    const now = new Date('2026-01-01T00:00:00Z');
    const started = startInstance(graph, { instanceId: 'i', variables: { key: 'k' }, now });
    const keyOf = (elementId: string) =>
      started.effects
        .filter((e): e is Extract<Effect, { type: 'element.activated' }> => e.type === 'element.activated')
        .filter((e) => e.elementId === elementId)
        .map((e) => e.elementInstanceKey);
    const cancelled = step(graph, started.snapshot, { type: 'instance.cancel' }, { now });
    assert.equal(cancelled.ignored, undefined);
    const closing = new Set([
      'job.cancel',
      'userTask.cancel',
      'childInstance.cancel',
      'timer.cancel',
      'subscription.close',
    ]);
    const closed = cancelled.effects
      .filter((e) => closing.has(e.type))
      .map(
        (e) =>
          `${e.type} ${'elementInstanceKey' in e ? e.elementInstanceKey : (e as { timerKey: string }).timerKey.split('.')[0]}`,
      )
      .sort();
    const [body, ...inner] = keyOf('each');
    assert.equal(inner.length, 2);
    assert.ok(body);
    assert.deepEqual(
      closed,
      [
        `job.cancel ${keyOf('work')[0]}`,
        `timer.cancel ${keyOf('work')[0]}`,
        `userTask.cancel ${keyOf('review')[0]}`,
        `childInstance.cancel ${keyOf('call')[0]}`,
        `subscription.close ${keyOf('receive')[0]}`,
        `timer.cancel ${keyOf('wait')[0]}`,
        ...inner.map((key) => `job.cancel ${key}`),
      ].sort(),
    );
  });

  it('closes a multi-instance body through the kind of its activity', () => {
    const element = { id: 'each', type: 'serviceTask', incoming: [], outgoing: [] } as unknown as FlowElement;
    const x = { effects: [] as Effect[] } as unknown as Execution;
    multiInstanceBody.closeWaits(
      x,
      { key: '5', elementId: 'each', flowScopeKey: '0', lifecycle: 'active', wait: 'job' },
      element,
    );
    assert.deepEqual(x.effects, [{ type: 'job.cancel', elementInstanceKey: '5' }]);
  });
});
