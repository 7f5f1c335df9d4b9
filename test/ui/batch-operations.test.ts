/**
 * The cockpit's batch operations in real headless Chromium: after a credit bureau outage, the
 * Incidents page's "Retry incidents by filter" previews how many instances match (a dry run), retries
 * them in one batch operation, and the batch view follows it to every item done, with the
 * per-instance results.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { OperonError } from '../../engine/errors.ts';
import type { NodeType } from '../../engine/nodes/types.ts';
import { eventually, fixture, startCockpit, type Cockpit } from './support/cockpit.ts';

const INSTANCES = 3;
const bureau = { online: false };
const creditBureauNode: NodeType = {
  name: 'credit-bureau',
  async run(input) {
    if (!bureau.online)
      throw new OperonError('OPERON_ERR_JOB_FAILED', 'credit bureau unreachable: connection refused', {
        retryable: false,
      });
    return { creditScore: Number(input.declaredScore ?? 700) };
  },
};

let cockpit: Cockpit;
const instanceIds: string[] = [];

before(async () => {
  cockpit = await startCockpit({ nodes: [creditBureauNode] });
  await cockpit.engine.deploy([{ name: 'credit-check.bpmn', xml: fixture('credit-check.bpmn') }]);
  for (let i = 0; i < INSTANCES; i++)
    instanceIds.push(
      (await cockpit.engine.startInstance('credit-check', { declaredScore: 600 + i }, { businessKey: `CREDIT-${i}` }))
        .instanceId,
    );
  await eventually(
    async () => ((await cockpit.engine.listIncidents({ state: 'open' })).length === INSTANCES ? true : undefined),
    60_000,
  );
});
after(async () => cockpit?.close());

test('retry incidents by filter from the cockpit: preview, one batch operation, per-instance results', async () => {
  const { page, baseUrl, token } = cockpit;
  await page.goto(`${baseUrl}/ui/#/incidents`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Incidents' }).waitFor();

  const form = page.locator('form.batch-retry');
  await form.getByLabel('Process').fill('credit-check');
  await form.getByLabel('Element').fill('bureau');
  await form.getByRole('button', { name: 'Preview' }).click();
  await form.locator(`.preview-result[data-total="${INSTANCES}"]`).waitFor();
  assert.equal(
    await cockpit.db
      .knex('batch_operations')
      .count('* as n')
      .then((r) => Number(r[0]!.n)),
    0,
  );

  bureau.online = true;
  await form.getByRole('button', { name: `Retry ${INSTANCES} instances` }).click();
  await page.getByRole('heading', { name: /Batch retry/ }).waitFor();
  // The workers apply the items; the page follows until each is done (the retried job completed).
  await page.locator('[data-state="finished"]').waitFor({ timeout: 60_000 });
  assert.equal(await page.locator('tr[data-item][data-state="done"]').count(), INSTANCES);
  assert.match((await page.locator('tr[data-item]').first().textContent()) ?? '', /incident cleared/);

  await page.getByRole('link', { name: '← Batch operations' }).click();
  await page.getByRole('heading', { name: 'Batch operations' }).waitFor();
  const row = page.locator('table.batch-operations tr[data-batch]');
  // The list arrives after the heading (its own request): wait for the row before counting rows.
  await row.locator(`[data-progress="${INSTANCES}/${INSTANCES}"]`).waitFor();
  assert.equal(await row.count(), 1);
  for (const id of instanceIds) assert.equal((await cockpit.engine.getInstance(id))!.state, 'completed');
});
