/**
 * The cockpit's batch cancel and batch migrate in real headless Chromium: on the Batch operations
 * page, "Cancel, migrate or modify by filter" previews what each matching instance would end as (a
 * dry run, nothing written), asks for a confirmation, creates the batch operation and follows it to
 * every item done; the database then shows the instances cancelled, and migrated to the target
 * version along the element mapping (a preview without the mapping shows the refusal first).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startCockpit, type Cockpit } from './support/cockpit.ts';

/** start -> one user task -> end. */
function waitingProcess(id: string, taskId: string): { name: string; xml: string } {
  return {
    name: `${id}.bpmn`,
    xml: `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs-${id}" targetNamespace="http://operon.dev/test/ui">
  <bpmn:process id="${id}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="${taskId}"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="${taskId}" />
    <bpmn:sequenceFlow id="f2" sourceRef="${taskId}" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>`,
  };
}

let cockpit: Cockpit;
const paperwork: string[] = [];
const claims: string[] = [];
const batchOperations = async () =>
  Number((await cockpit.db.knex('batch_operations').count<{ n: string }[]>('* as n'))[0]!.n);

before(async () => {
  cockpit = await startCockpit();
  const { engine } = cockpit;
  await engine.deploy([waitingProcess('paperwork', 'sign'), waitingProcess('claim-review', 'check')]);
  for (let i = 0; i < 2; i++) paperwork.push((await engine.startInstance('paperwork')).instanceId);
  for (let i = 0; i < 3; i++) claims.push((await engine.startInstance('claim-review')).instanceId);
  // Version 2 renames the task: a migration needs the mapping check -> review.
  await engine.deploy([waitingProcess('claim-review', 'review')]);
  await eventually(async () =>
    (await cockpit.db.knex('user_tasks').where({ state: 'open' }).count<{ n: string }[]>('* as n'))[0]!.n === '5'
      ? true
      : undefined,
  );
});
after(async () => cockpit?.close());

test('batch cancel from the cockpit: preview, confirmation, every instance cancelled', async () => {
  const { page, baseUrl, token } = cockpit;
  await page.goto(`${baseUrl}/ui/#/batch`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Batch operations' }).waitFor();

  const form = page.locator('form.batch-action');
  assert.equal(await form.getByLabel('Operation').inputValue(), 'cancel');
  await form.getByLabel('Process', { exact: true }).fill('paperwork');
  await form.getByRole('button', { name: 'Preview' }).click();
  await form.locator('.preview-result[data-total="2"]').waitFor();
  assert.equal(await form.locator('tr[data-preview-item][data-state="done"]').count(), 2);

  await form.getByRole('button', { name: 'Cancel 2 instances' }).click();
  const confirm = form.getByRole('alertdialog', { name: 'Confirm batch cancel' });
  await confirm.waitFor();
  assert.match((await confirm.textContent()) ?? '', /end for good/);
  assert.equal(await batchOperations(), 0, 'a preview and an unanswered confirmation write nothing');
  // Back leaves everything as it was; the action asks again.
  await confirm.getByRole('button', { name: 'Back' }).click();
  await confirm.waitFor({ state: 'detached' });
  await form.getByRole('button', { name: 'Cancel 2 instances' }).click();
  await confirm.getByRole('button', { name: 'Yes, cancel 2 instances' }).click();

  await page.getByRole('heading', { name: /Batch cancel/ }).waitFor();
  await page.locator('[data-state="finished"]').waitFor({ timeout: 60_000 });
  assert.equal(await page.locator('tr[data-item][data-state="done"]').count(), 2);
  const [operation] = await cockpit.db.knex('batch_operations').select('kind', 'state', 'done_count', 'filter');
  assert.deepEqual(
    { kind: operation.kind, state: operation.state, done: operation.done_count, filter: operation.filter },
    { kind: 'cancel', state: 'finished', done: 2, filter: { bpmnProcessId: 'paperwork' } },
  );
  const states = await cockpit.db.knex('process_instances').whereIn('id', paperwork).pluck('state');
  assert.deepEqual(states, ['terminated', 'terminated']);
  const others = await cockpit.db.knex('process_instances').whereIn('id', claims).pluck('state');
  assert.deepEqual(others, ['active', 'active', 'active'], 'instances of other processes are untouched');
});

test('batch migrate from the cockpit: the dry run shows the refusal, then the mapping, before confirming', async () => {
  const { page, baseUrl } = cockpit;
  await page.goto(`${baseUrl}/ui/#/batch`);
  await page.getByRole('heading', { name: 'Batch operations' }).waitFor();
  const form = page.locator('form.batch-action');
  await form.getByLabel('Operation').selectOption('migrate');
  await form.getByLabel('Process', { exact: true }).fill('claim-review');
  await form.getByLabel('Version', { exact: true }).fill('1');
  await form.getByLabel('Target version', { exact: true }).fill('2');

  // Without a mapping the task "check" has no counterpart in version 2: each item would be refused.
  await form.getByRole('button', { name: 'Preview' }).click();
  await form.locator('.preview-result[data-total="3"]').waitFor();
  assert.equal(await form.locator('tr[data-preview-item][data-state="failed"]').count(), 3);
  assert.match((await form.locator('tr[data-preview-item]').first().textContent()) ?? '', /refused.*check/s);

  await form.getByLabel('Element mapping', { exact: true }).fill('check -> review');
  // Changing the request drops the old preview: the action waits for a new one.
  assert.equal(await form.locator('.preview-result').count(), 0);
  await form.getByRole('button', { name: 'Preview' }).click();
  await form.locator('tr[data-preview-item][data-state="done"]').nth(2).waitFor();
  assert.match((await form.locator('tr[data-preview-item]').first().textContent()) ?? '', /check → review/);
  assert.equal(await batchOperations(), 1, 'the dry runs wrote nothing (only the earlier cancel exists)');

  await form.getByRole('button', { name: 'Migrate 3 instances' }).click();
  await form
    .getByRole('alertdialog', { name: 'Confirm batch migrate' })
    .getByRole('button', { name: 'Yes, migrate 3 instances' })
    .click();
  await page.getByRole('heading', { name: /Batch migrate/ }).waitFor();
  await page.locator('[data-state="finished"]').waitFor({ timeout: 60_000 });
  assert.equal(await page.locator('tr[data-item][data-state="done"]').count(), 3);

  const instances = await cockpit.db.knex('process_instances').whereIn('id', claims).select('state', 'version');
  assert.deepEqual(
    instances.map((row) => [row.state, row.version]),
    [
      ['active', 2],
      ['active', 2],
      ['active', 2],
    ],
  );
  const tasks = await cockpit.db
    .knex('user_tasks')
    .whereIn('process_instance_id', claims)
    .where({ state: 'open' })
    .pluck('element_id');
  assert.deepEqual(tasks, ['review', 'review', 'review']);
  const [operation] = await cockpit.db.knex('batch_operations').where({ kind: 'migrate' }).select('request');
  assert.deepEqual(operation.request.mappings, [{ sourceElementId: 'check', targetElementId: 'review' }]);
  assert.equal(operation.request.version, 2);
});

test('batch modify from the cockpit: end the task and activate the end event of every migrated instance', async () => {
  const { page, baseUrl } = cockpit;
  await page.goto(`${baseUrl}/ui/#/batch`);
  await page.getByRole('heading', { name: 'Batch operations' }).waitFor();
  const form = page.locator('form.batch-action');
  await form.getByLabel('Operation').selectOption('modify');
  await form.getByLabel('Process', { exact: true }).fill('claim-review');
  await form.getByLabel('Element', { exact: true }).fill('review');
  await form.getByLabel('Terminate elements', { exact: true }).fill('review');
  await form.getByLabel('Activate elements', { exact: true }).fill('end');
  await form.getByRole('button', { name: 'Preview' }).click();
  await form.locator('tr[data-preview-item][data-state="done"]').nth(2).waitFor();
  await cockpit.screenshot('cockpit-batch-modify-preview');
  await form.getByRole('button', { name: 'Modify 3 instances' }).click();
  await form
    .getByRole('alertdialog', { name: 'Confirm batch modify' })
    .getByRole('button', { name: 'Yes, modify 3 instances' })
    .click();
  await page.getByRole('heading', { name: /Batch modify/ }).waitFor();
  await page.locator('[data-state="finished"]').waitFor({ timeout: 60_000 });
  assert.equal(await page.locator('tr[data-item][data-state="done"]').count(), 3);
  const states = await cockpit.db.knex('process_instances').whereIn('id', claims).pluck('state');
  assert.deepEqual(states, ['completed', 'completed', 'completed']);
});
