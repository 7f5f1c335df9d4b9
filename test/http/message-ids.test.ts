/**
 * A sender retrying a publish (same messageId) after its message was correlated, buffered or
 * dropped, over real HTTP (app.listen on 127.0.0.1, fetch): 200 with the first publish's answer and
 * `duplicate: true`, and nothing changes, however many instances wait on the same correlation key.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { forgetMessageIds } from '../../engine/store/remember-message-id.ts';
import { deployFixtures, eventually, startTestApi, type TestApi } from './support/api.ts';

const ON_REFUND = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs-on-refund" targetNamespace="http://operon.dev/test">
  <bpmn:message id="msgRefund" name="refund-requested" />
  <bpmn:process id="on-refund" isExecutable="true">
    <bpmn:startEvent id="requested"><bpmn:outgoing>f1</bpmn:outgoing><bpmn:messageEventDefinition messageRef="msgRefund" /></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="requested" targetRef="review" />
    <bpmn:userTask id="review"><bpmn:incoming>f1</bpmn:incoming></bpmn:userTask>
  </bpmn:process>
</bpmn:definitions>`;

let api: TestApi;
let baseUrl: string;
before(async () => {
  api = await startTestApi();
  await deployFixtures(api, 'http-payment.bpmn');
  baseUrl = await api.app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await api?.close();
});

async function publish(
  message: Record<string, unknown>,
): Promise<{ status: number; replayed: string | null; body: any }> {
  const response = await fetch(`${baseUrl}/api/messages`, {
    method: 'POST',
    headers: { ...api.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'invoice-paid', ...message }),
  });
  return {
    status: response.status,
    replayed: response.headers.get('idempotent-replayed'),
    body: await response.json(),
  };
}

async function start(invoiceId: string): Promise<string> {
  return (await api.engine.startInstance('http-payment', { invoiceId })).instanceId;
}

async function state(instanceId: string): Promise<string> {
  return (await api.engine.getInstance(instanceId))!.state;
}

describe('a repeated messageId', () => {
  test('after its message was correlated: acknowledged as a duplicate, never reaches the next instance with that key', async () => {
    const first = await start('I-1');
    const published = await publish({ correlationKey: 'I-1', messageId: 'pay-1', variables: { amount: 10 } });
    assert.equal(published.status, 200);
    assert.deepEqual(published.body, { correlated: true, instanceId: first });
    assert.equal(published.replayed, null);
    await eventually(async () => ((await state(first)) === 'completed' ? true : undefined));

    const next = await start('I-1');
    const retry = await publish({ correlationKey: 'I-1', messageId: 'pay-1', variables: { amount: 10 } });
    assert.equal(retry.status, 200);
    assert.deepEqual(retry.body, { correlated: true, instanceId: first, duplicate: true });
    assert.equal(retry.replayed, 'true');
    assert.equal(await state(next), 'active', 'the retry did not reach the next instance');
    assert.equal((await api.engine.getInstance(next))!.variables.amount, undefined);

    const another = await publish({ correlationKey: 'I-1', messageId: 'pay-2', variables: { amount: 20 } });
    assert.deepEqual(another.body, { correlated: true, instanceId: next }, 'a new id is a new message');
  });

  test('after its message was buffered: not buffered twice; once taken, the retry names the instance and the next one keeps waiting', async () => {
    const buffered = await publish({
      correlationKey: 'I-2',
      messageId: 'pay-3',
      timeToLiveMs: 60_000,
      variables: { amount: 30 },
    });
    assert.deepEqual(buffered.body, { correlated: false });
    const retry = await publish({
      correlationKey: 'I-2',
      messageId: 'pay-3',
      timeToLiveMs: 60_000,
      variables: { amount: 30 },
    });
    assert.deepEqual(retry.body, { correlated: false, duplicate: true });
    assert.equal((await api.db.knex('messages').where({ correlation_key: 'I-2' })).length, 1);

    const taker = await start('I-2');
    await eventually(async () => ((await state(taker)) === 'completed' ? true : undefined));
    const next = await start('I-2');
    const late = await publish({
      correlationKey: 'I-2',
      messageId: 'pay-3',
      timeToLiveMs: 60_000,
      variables: { amount: 30 },
    });
    assert.deepEqual(late.body, { correlated: true, instanceId: taker, duplicate: true });
    assert.equal(await state(next), 'active');
    assert.equal((await api.db.knex('messages').where({ correlation_key: 'I-2' })).length, 1, 'nothing buffered again');
  });

  test('after it was dropped (time to live 0): still a duplicate for a subscription opened since; a forgotten id is a new message', async () => {
    const dropped = await publish({ correlationKey: 'I-3', messageId: 'pay-4' });
    assert.deepEqual(dropped.body, { correlated: false });
    const waiting = await start('I-3');
    const retry = await publish({ correlationKey: 'I-3', messageId: 'pay-4' });
    assert.deepEqual(retry.body, { correlated: false, duplicate: true });
    assert.equal(await state(waiting), 'active');

    // Remembered for the default window (24 h) at least; once it has passed the id is free again.
    const row = await api.db.knex('message_ids').where({ name: 'invoice-paid', message_id: 'pay-4' }).first();
    assert.ok(row.forget_at.getTime() - row.created_at.getTime() >= 24 * 3600 * 1000 - 1000);
    await api.db
      .knex('message_ids')
      .where({ name: 'invoice-paid', message_id: 'pay-4' })
      .update({ forget_at: api.db.knex.raw(`now() - interval '1 second'`) });
    const reused = await publish({ correlationKey: 'I-3', messageId: 'pay-4' });
    assert.deepEqual(reused.body, { correlated: true, instanceId: waiting });
  });

  test('after it started an instance (message start event): the retry starts no second one', async () => {
    await api.engine.deploy([{ name: 'on-refund.bpmn', xml: ON_REFUND }]);
    const started = await publish({ name: 'refund-requested', correlationKey: 'R-1', messageId: 'refund-1' });
    assert.equal(started.body.correlated, true);
    const retry = await publish({ name: 'refund-requested', correlationKey: 'R-1', messageId: 'refund-1' });
    assert.deepEqual(retry.body, { correlated: true, instanceId: started.body.instanceId, duplicate: true });
    assert.equal((await api.db.knex('process_instances').where({ bpmn_process_id: 'on-refund' })).length, 1);
  });

  test('is remembered for its time to live when that is longer than the window', async () => {
    await publish({ correlationKey: 'I-5', messageId: 'pay-6', timeToLiveMs: 3 * 24 * 3600 * 1000 });
    const row = await api.db.knex('message_ids').where({ name: 'invoice-paid', message_id: 'pay-6' }).first();
    assert.ok(row.forget_at.getTime() - row.created_at.getTime() >= 3 * 24 * 3600 * 1000 - 1000);
  });

  test('the sweep forgets only ids whose time is up', async () => {
    await publish({ correlationKey: 'I-6', messageId: 'pay-7' });
    await publish({ correlationKey: 'I-6', messageId: 'pay-8' });
    await api.db
      .knex('message_ids')
      .where({ message_id: 'pay-7' })
      .update({ forget_at: api.db.knex.raw(`now() - interval '1 second'`) });
    assert.ok((await forgetMessageIds(api.db.knex, api.engine.clock.now())) >= 1);
    assert.equal(await api.db.knex('message_ids').where({ message_id: 'pay-7' }).first(), undefined);
    assert.ok(await api.db.knex('message_ids').where({ message_id: 'pay-8' }).first());
  });

  test('published 20 times at once with three instances waiting: one correlation, 19 duplicates naming the same instance', async () => {
    const waiting = await Promise.all([start('I-4'), start('I-4'), start('I-4')]);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        publish({ correlationKey: 'I-4', messageId: 'pay-5', variables: { amount: 50 } }),
      ),
    );
    assert.ok(answers.every((answer) => answer.status === 200));
    const fresh = answers.filter((answer) => !answer.body.duplicate);
    assert.equal(fresh.length, 1, JSON.stringify(answers.map((answer) => answer.body)));
    const instanceId = fresh[0]!.body.instanceId;
    assert.ok(waiting.includes(instanceId));
    for (const answer of answers)
      assert.deepEqual(
        { correlated: answer.body.correlated, instanceId: answer.body.instanceId },
        { correlated: true, instanceId },
      );
    await eventually(async () => ((await state(instanceId)) === 'completed' ? true : undefined));
    const states = await Promise.all(waiting.map(state));
    assert.deepEqual(states.filter((s) => s === 'active').length, 2, 'the other two still wait');
  });
});
