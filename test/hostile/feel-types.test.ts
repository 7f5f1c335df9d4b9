/**
 * Given a process whose gateway compares a number (`= amount <= 30000`), when callers start it over
 * real HTTP with the amount as a string, a boolean or a list, then the condition is null and the
 * instance stops at the gateway with an incident naming it: no branch is taken on a value the
 * condition was not written for. feelin 8.2 alone answers `"abc" <= 30000` with true.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, listenHttp, startTestApi, type HttpClient, type TestApi } from '../http/support/api.ts';
import { conditionProcess } from './support/condition-process.ts';

const { xml: XML } = conditionProcess('loan-limit', 'amount <= 30000');

let api: TestApi;
let call: HttpClient['call'];
before(async () => {
  api = await startTestApi();
  ({ call } = await listenHttp(api));
  const deployed = await call('POST', '/api/deployments', XML);
  assert.equal(deployed.status, 201, JSON.stringify(deployed.json));
});
after(async () => api?.close());

/** Starts an instance over HTTP and waits until it completed or has an incident. */
async function run(amount: unknown): Promise<any> {
  const started = await call('POST', '/api/instances', { bpmnProcessId: 'loan-limit', variables: { amount } });
  assert.equal(started.status, 201, JSON.stringify(started.json));
  return eventually(async () => {
    const { json } = await call('GET', `/api/instances/${started.json.instanceId}`);
    return json.state === 'completed' || json.incidents.length > 0 ? json : undefined;
  });
}

const ended = (instance: any) =>
  instance.elements.filter((e: any) => e.elementType === 'endEvent').map((e: any) => e.elementId);

it('numbers take the branch their value earns', async () => {
  assert.deepEqual(ended(await run(100)), ['yes']);
  assert.deepEqual(ended(await run(30000)), ['yes']);
  assert.deepEqual(ended(await run(30001)), ['no']);
});

for (const amount of ['abc', '5000', '', true, [5000], { value: 5000 }]) {
  it(`an amount of ${JSON.stringify(amount)} stops at the gateway with an incident`, async () => {
    const instance = await run(amount);
    assert.equal(instance.state, 'active');
    assert.deepEqual(ended(instance), [], 'no end event reached');
    assert.equal(instance.incidents.length, 1);
    const [incident] = instance.incidents;
    assert.equal(incident.code, 'OPERON_ERR_CONDITION_NOT_BOOLEAN');
    assert.equal(incident.elementId, 'decide');
    assert.match(incident.message, /condition "amount <= 30000" of sequence flow "f2" gave null/);
  });
}
