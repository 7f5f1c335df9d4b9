/** Runs the Python example worker from docs/http.md against the API on a real port. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { deployFixtures, eventually, startTestApi, type TestApi } from './support/api.ts';

const hasPython = spawnSync('python3', ['--version']).status === 0;
let api: TestApi;
let baseUrl: string;
let worker: ChildProcess | undefined;

before(async () => {
  api = await startTestApi();
  await deployFixtures(api, 'http-invoice.bpmn');
  baseUrl = await api.app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  worker?.kill('SIGTERM');
  await api?.close();
});

test('the documented Python worker completes a job over the HTTP job API', {
  skip: !hasPython && 'python3 not installed',
}, async () => {
  const doc = readFileSync(new URL('../../docs/http.md', import.meta.url), 'utf8');
  const script = /```python\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(script, 'docs/http.md has a python block');
  worker = spawn('python3', ['-c', script], {
    env: { ...process.env, OPERON_URL: baseUrl, OPERON_API_TOKEN: api.token },
    stdio: ['ignore', 'inherit', 'inherit'],
  });

  const { instanceId } = await api.engine.startInstance('send-invoice-demo', { invoiceId: 'INV-7' });
  const incomplete = await api.engine.startInstance('send-invoice-demo', { amount: 3 });
  const done = await eventually(async () => {
    const instance = await api.engine.getInstance(instanceId);
    return instance?.state === 'completed' ? instance : undefined;
  }, 20_000);
  assert.equal(done.variables.invoiceNumber, 'R-INV-7');
  // No invoiceId: the worker raises a BPMN error that nothing catches, so the instance gets an incident.
  const [incident] = await eventually(async () => {
    const incidents = await api.engine.listIncidents({ instanceId: incomplete.instanceId, state: 'open' });
    return incidents.length > 0 ? incidents : undefined;
  }, 20_000);
  assert.match(`${incident!.code} ${incident!.message}`, /INVOICE_INCOMPLETE/);
});
