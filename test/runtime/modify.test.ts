/** Operator token moves (`instance.modify`): retry from an element, move a token, refuse unknown targets. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseDefinitions } from '../../engine/model/index.ts';
import { InMemoryInstance } from '../../engine/runtime/memory.ts';

const load = async (process: string) =>
  (
    await parseDefinitions(
      readFileSync(new URL(`../fixtures/bpmn/conformance/${process}.bpmn`, import.meta.url), 'utf8'),
      `${process}.bpmn`,
    )
  )[0]!;
const keyOf = (instance: InMemoryInstance, elementId: string) =>
  instance.elements.find((e) => e.elementId === elementId && e.state === 'active')!.elementInstanceKey;

describe('instance.modify', () => {
  it('retries a task from the start: the old job is cancelled, a new one created', async () => {
    const instance = await new InMemoryInstance(await load('service-task'), {
      variables: { applicant: { income: 100 } },
    }).start();
    const first = keyOf(instance, 'Activity_score');
    const result = await instance.send({ type: 'instance.modify', activate: ['Activity_score'], terminate: [first] });
    assert.equal(result.ignored, undefined);
    assert.ok(result.effects.some((e) => e.type === 'job.cancel' && e.elementInstanceKey === first));
    const second = keyOf(instance, 'Activity_score');
    assert.notEqual(second, first);
    await instance.completeJob(second, { score: 10 });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.variables, { applicant: { income: 100 }, creditScore: 10 });
  });

  it('moves a token past a waiting task to the end', async () => {
    const instance = await new InMemoryInstance(await load('service-task'), { variables: {} }).start();
    await instance.send({
      type: 'instance.modify',
      activate: ['EndEvent_1'],
      terminate: [keyOf(instance, 'Activity_score')],
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.completedElementIds, ['StartEvent_1', 'EndEvent_1']);
  });

  it('terminating the last token completes the instance', async () => {
    const instance = await new InMemoryInstance(await load('service-task'), { variables: {} }).start();
    await instance.send({ type: 'instance.modify', terminate: [keyOf(instance, 'Activity_score')] });
    assert.equal(instance.state, 'completed');
  });

  it('refuses an unknown element or key and changes nothing', async () => {
    const instance = await new InMemoryInstance(await load('service-task'), { variables: {} }).start();
    const before = structuredClone(instance.snapshot);
    const unknown = await instance.send({
      type: 'instance.modify',
      activate: ['Nope'],
      terminate: [keyOf(instance, 'Activity_score')],
    });
    assert.match(unknown.ignored!, /cannot activate "Nope"/);
    const badKey = await instance.send({ type: 'instance.modify', terminate: ['999'] });
    assert.match(badKey.ignored!, /cannot terminate element instance 999/);
    assert.deepEqual(instance.snapshot, before);
  });
});
