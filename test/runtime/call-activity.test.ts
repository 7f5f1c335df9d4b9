import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseDefinitions } from '../../engine/model/index.ts';
import type { JobTask } from '../../engine/model/graph.ts';
import { BpmnError } from '../../engine/errors.ts';
import { effectsOf, scenario, trail } from './scenario.ts';

const xml = readFileSync(new URL('../fixtures/bpmn/call-activity.bpmn', import.meta.url), 'utf8');
const load = async () => {
  const [order, payment] = await parseDefinitions(xml, 'call-activity.bpmn', { callActivities: true });
  return { order: order!, processes: { payment: payment! } };
};

describe('call activity (call-activity.bpmn)', () => {
  it('is refused when the driver says it does not run child instances', async () => {
    await assert.rejects(parseDefinitions(xml, 'call-activity.bpmn', { callActivities: false }), {
      code: 'OPERON_ERR_BPMN_UNSUPPORTED',
      details: { file: 'call-activity.bpmn', elementId: 'pay', elementType: 'CallActivity', feature: 'call activity' },
    });
  });

  it('starts the child with the parent variables and takes only the output mappings back', async () => {
    const { order, processes } = await load();
    const handlers = { charge: (input: Record<string, unknown>) => ({ receipt: `paid ${input.amount}`, cardFee: 1 }) };
    const instance = await scenario(order, { variables: { price: 5, quantity: 3 }, handlers, processes });
    assert.equal(instance.state, 'completed');
    const [start] = effectsOf(instance, 'childInstance.start');
    assert.equal(start!.bpmnProcessId, 'payment');
    assert.deepEqual(start!.variables, { price: 5, quantity: 3, amount: 15 });
    assert.deepEqual(instance.variables, { price: 5, quantity: 3, paymentReceipt: 'paid 15' });
    const child = instance.children.get(start!.elementInstanceKey)!;
    assert.equal(child.state, 'completed');
    assert.deepEqual(trail(child), ['paymentStart:completed', 'charge:completed', 'paymentEnd:completed']);
  });

  it('waits while the child waits, and resumes when the child completes', async () => {
    const { order, processes } = await load();
    const instance = await scenario(order, { variables: { price: 1, quantity: 1 }, processes }, async (i) => {
      const child = [...i.children.values()][0]!;
      assert.equal(i.state, 'active');
      await child.completeJob('charge', { receipt: 'r-1' });
    });
    assert.equal(instance.state, 'completed');
    assert.equal(instance.variables.paymentReceipt, 'r-1');
  });

  it('an interrupting boundary on the call activity cancels the child instance', async () => {
    const { order, processes } = await load();
    const instance = await scenario(order, { variables: { price: 1, quantity: 1 }, processes }, async (i) => {
      await i.advanceClock(24 * 3_600_000);
    });
    assert.equal(instance.completedElementIds.at(-1), 'unpaid');
    assert.equal(effectsOf(instance, 'childInstance.cancel').length, 1);
    assert.equal([...instance.children.values()][0]!.state, 'terminated');
  });
});

describe('call activity with timers in the child', () => {
  it('advancing the parent clock fires the child timers too', async () => {
    const { order, processes } = await load();
    const child = structuredClone(processes.payment);
    // Make the child wait an hour before charging.
    const { job: _job, type: _type, ...charge } = child.elements.charge as JobTask;
    child.elements.charge = {
      ...charge,
      type: 'intermediateCatchEvent',
      eventKind: 'timer',
      timer: { kind: 'duration', expression: 'PT1H' },
    };
    const instance = await scenario(
      order,
      { variables: { price: 1, quantity: 1 }, processes: { payment: child } },
      async (i) => {
        await i.advanceClock(59 * 60_000);
        assert.equal(i.state, 'active');
        await i.advanceClock(60_000);
      },
    );
    assert.equal(instance.state, 'completed');
    assert.equal(instance.completedElementIds.at(-1), 'end');
  });
});

describe('call activity: a BPMN error nobody catches in the child (call-activity-errors.bpmn)', () => {
  const errorsXml = readFileSync(new URL('../fixtures/bpmn/call-activity-errors.bpmn', import.meta.url), 'utf8');
  it('is thrown again at the call activity and caught by its error boundary', async () => {
    const [checkout, cardCharge] = await parseDefinitions(errorsXml, 'call-activity-errors.bpmn');
    const handlers = {
      'card-charge': () => {
        throw new BpmnError('CARD_DECLINED');
      },
    };
    const instance = await scenario(checkout!, { handlers, processes: { cardCharge: cardCharge! } });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(trail(instance), [
      'checkoutStart:completed',
      'callCharge:terminated',
      'declined:completed',
      'notPaid:completed',
    ]);
    assert.equal([...instance.children.values()][0]!.state, 'terminated');
  });
});
