/**
 * The cockpit in real headless Chromium against a real engine: sign in with the API token, find a
 * loan application waiting at its review task on the diagram, review it from the inbox (the answer
 * becomes the decision's reviewed label) and watch the instance end; an instance stuck on an
 * incident shows it on the diagram, and Retry, once the credit bureau is back, lets it finish; a
 * business rule task's DMN evaluation shows its inputs, matched rule and output, and who answered.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OperonError } from '../../engine/errors.ts';
import type { NodeType } from '../../engine/nodes/types.ts';
import { createDecisionNode } from '../../nodes/decision/index.ts';
import { GROUNDED_LOAN_CASE, WINDOWED_LOAN_CASE } from '../decision/support/policy-cases.ts';
import { eventually, fixture, startCockpit, type Cockpit } from './support/cockpit.ts';

/** A credit bureau that is down until the test brings it back. */
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

const application = {
  applicantName: 'Ada Lovelace',
  income: 85000,
  debts: 3000,
  creditScore: 780,
  amount: 12000,
  termMonths: 36,
  employment: 'permanent',
  purpose: 'a new kitchen',
};

describe('cockpit and task inbox in the browser', () => {
  let cockpit: Cockpit;
  let loanInstanceId: string;
  let creditInstanceId: string;
  let groundedInstanceId: string;
  let windowedInstanceId: string;
  const artifactsDir = mkdtempSync(join(tmpdir(), 'operon-ui-artifacts-'));

  before(async () => {
    cockpit = await startCockpit({ nodes: [createDecisionNode(), creditBureauNode], artifactsDir });
    await cockpit.engine.deploy([
      { name: 'loan-review.bpmn', xml: fixture('loan-review.bpmn') },
      { name: 'credit-check.bpmn', xml: fixture('credit-check.bpmn') },
      { name: 'expense-form.bpmn', xml: fixture('expense-form.bpmn') },
      // The same process at the model's own threshold, so that an answer the policy grounds is automated.
      {
        name: 'loan-grounded.bpmn',
        xml: fixture('loan-review.bpmn')
          .replaceAll('loan-application', 'loan-grounded')
          .replace('id="defs-loan-review"', 'id="defs-loan-grounded"')
          .replace('name="Loan application"', 'name="Grounded loan"')
          .replace('<zeebe:header key="threshold" value="1" />', '')
          .replace('name="Review application"', 'name="Check the grounded answer"'),
      },
    ]);
    ({ instanceId: loanInstanceId } = await cockpit.engine.startInstance('loan-application', application, {
      businessKey: 'LOAN-1001',
    }));
    ({ instanceId: groundedInstanceId } = await cockpit.engine.startInstance(
      'loan-grounded',
      { applicantName: 'Grace Hopper', ...GROUNDED_LOAN_CASE },
      { businessKey: 'LOAN-1002' },
    ));
    ({ instanceId: windowedInstanceId } = await cockpit.engine.startInstance(
      'loan-grounded',
      { applicantName: 'Katherine Johnson', ...WINDOWED_LOAN_CASE },
      { businessKey: 'LOAN-1003' },
    ));
    ({ instanceId: creditInstanceId } = await cockpit.engine.startInstance(
      'credit-check',
      { declaredScore: 690 },
      { businessKey: 'CREDIT-7' },
    ));
    // Generous: the first decision loads the ONNX model, on a machine other tests share.
    await eventually(
      async () =>
        (await cockpit.engine.listUserTasks({ state: 'open', instanceId: loanInstanceId })).length === 1
          ? true
          : undefined,
      90_000,
    );
    await eventually(
      async () =>
        (await cockpit.engine.listIncidents({ state: 'open', instanceId: creditInstanceId })).length === 1
          ? true
          : undefined,
      90_000,
    );
  });
  after(async () => {
    await cockpit?.close();
    rmSync(artifactsDir, { recursive: true, force: true });
  });

  test('the token is asked once, a wrong one is refused, and it is never shown', async () => {
    const { page, baseUrl, token } = cockpit;
    await page.goto(`${baseUrl}/ui`);
    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Processes' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('operon.apiToken')), token);
    assert.ok(!(await page.content()).includes(token), 'the token appears nowhere in the page');
    await page.reload();
    await page.getByRole('heading', { name: 'Processes' }).waitFor();
  });

  test('the process list shows versions and counts; the diagram shows where instances wait', async () => {
    const { page } = cockpit;
    const loanRow = page.locator('tr[data-process="loan-application"]');
    await loanRow.waitFor();
    assert.match(await loanRow.innerText(), /Loan application[\s\S]*v1/);
    await loanRow.getByRole('link', { name: 'Loan application' }).click();
    await page.locator('.diagram[data-loaded="true"]').waitFor();
    // One active token at the review task, drawn as a badge on the diagram.
    const badge = page.locator('.operon-badge-active[data-element-id="review"]');
    await badge.waitFor();
    assert.equal(await badge.innerText(), '1');
    // Nothing is clipped: every shape, label and badge lies inside the diagram's box.
    const outside = await page.locator('.diagram').evaluate((diagram) => {
      const box = diagram.getBoundingClientRect();
      const parts = [...diagram.querySelectorAll('.djs-shape, .djs-label, .operon-badge-active')];
      return parts
        .map((part) => ({ id: part.getAttribute('data-element-id'), rect: part.getBoundingClientRect() }))
        .filter(({ rect }) => rect.width > 0)
        .filter(
          ({ rect }) =>
            rect.top < box.top || rect.bottom > box.bottom || rect.left < box.left || rect.right > box.right,
        )
        .map(({ id }) => id);
    });
    assert.deepEqual(outside, [], 'diagram parts drawn outside the visible area');
    assert.equal(
      await page.locator('.djs-element[data-element-id="assess"]').count(),
      1,
      'the diagram drew the service task',
    );
    await cockpit.screenshot('cockpit-process');

    // A second version of the credit check: both versions are listed, the stuck instance under v1.
    await cockpit.engine.deploy([
      {
        name: 'credit-check.bpmn',
        xml: fixture('credit-check.bpmn').replace('name="Credit check"', 'name="Credit check (bureau v2)"'),
      },
    ]);
    await page.goto(`${cockpit.baseUrl}/ui/#/processes`);
    const creditRows = page.locator('tr[data-process="credit-check"]');
    await creditRows.nth(1).waitFor();
    assert.deepEqual(await creditRows.evaluateAll((rows) => rows.map((row) => row.getAttribute('data-version'))), [
      '2',
      '1',
    ]);
    const v1 = page.locator('tr[data-process="credit-check"][data-version="1"]');
    assert.equal(await v1.locator('td.has-incidents').innerText(), '1');
    assert.match(await creditRows.first().innerText(), /Credit check \(bureau v2\)/);
    await cockpit.screenshot('cockpit-processes');
  });

  test('the loan application waits at the review task on its diagram, with the model decision', async () => {
    const { page } = cockpit;
    await page.getByRole('link', { name: 'Instances' }).click();
    await page.getByLabel('Process').selectOption('loan-application');
    await page.getByLabel('State').selectOption('active');
    const row = page.locator(`tr[data-instance="${loanInstanceId}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), /LOAN-1001[\s\S]*active[\s\S]*Review application/);
    await cockpit.screenshot('cockpit-instances');
    await row.getByRole('link').click();
    await page.locator('.diagram[data-loaded="true"]').waitFor();
    await page.locator('.djs-element.operon-active[data-element-id="review"]').waitFor();
    assert.equal(
      await page.locator('.djs-element.operon-completed[data-element-id="assess"]').count(),
      1,
      'the decision task is on the completed path',
    );
    assert.equal(
      await page.locator('.djs-connection.operon-taken[data-element-id="toReview"]').count(),
      1,
      'the flow taken is marked',
    );
    assert.equal(await page.locator('.operon-badge-active[data-element-id="review"]').innerText(), '1');

    const decision = (await cockpit.db.knex('decisions').where({ process_instance_id: loanInstanceId }).first()) as {
      label: string;
      model_version: string;
    };
    const decisionRow = page.locator('table.decisions tbody tr');
    await decisionRow.waitFor();
    const text = await decisionRow.innerText();
    assert.ok(text.includes(decision.label) && text.includes(decision.model_version), text);
    assert.match(text, /needs review/);
    assert.match(text, /not reviewed/);
    const { review_reasons: reasons } = await cockpit.db
      .knex('decisions')
      .where({ process_instance_id: loanInstanceId })
      .first('review_reasons');
    assert.ok(reasons.length > 0 && reasons.every((r: string) => text.includes(r)), `the reasons are shown: ${text}`);
    assert.equal(
      await page.locator('.answered-by').innerText(),
      `model:loan@${decision.model_version}`,
      'the facts say which model answered',
    );
    assert.match(await page.locator('table.variables').innerText(), /applicantName[\s\S]*Ada Lovelace/);
    assert.match(await page.locator('.timeline').innerText(), /userTask\.created|element\.activated/);
    await cockpit.screenshot('cockpit-instance-waiting');
  });

  /** The text of the instance page's one decision row, once the decision is in the database. */
  async function decisionRowText(instanceId: string): Promise<string> {
    const { page } = cockpit;
    await eventually(
      async () =>
        (await cockpit.db.knex('decisions').where({ process_instance_id: instanceId })).length ? true : undefined,
      90_000,
    );
    await page.goto(`${cockpit.baseUrl}/ui/#/instances/${instanceId}`);
    const decisionRow = page.locator('table.decisions tbody tr');
    await decisionRow.waitFor();
    return decisionRow.innerText();
  }

  test('a decision automated under its threshold because the policy grounds it shows its readings', async () => {
    const text = await decisionRowText(groundedInstanceId);
    assert.doesNotMatch(text, /needs review/);
    assert.match(text, /grounded by the policy on strong approve 9\d\.\d %, secured \w+ \d+\.\d %/);
  });

  test('a decision on a purpose longer than the model reads at once shows the overlapping parts it read', async () => {
    const text = await decisionRowText(windowedInstanceId);
    assert.doesNotMatch(text, /needs review/);
    assert.match(text, /read in \d overlapping parts: 0-\d+ approve 9\d\.\d %, \d+-\d+ approve 9\d\.\d %/);
  });

  test('the reviewer claims the task in the inbox, answers, and the instance reaches its end', async () => {
    const { page } = cockpit;
    await page.getByRole('link', { name: /Tasks/ }).click();
    await page.locator(`.task-list li >> text=Review application`).click();
    const card = page.locator('article.task');
    await card.waitFor();
    // No name to type: the reviewer is whoever signed in (here the development token, identity "dev").
    assert.equal(await card.getByLabel('Your name').count(), 0);
    await card.locator('.me', { hasText: 'dev' }).waitFor();
    await card.getByRole('button', { name: 'Claim' }).click();
    await card.locator('.assignee', { hasText: 'dev' }).waitFor();
    const [task] = await cockpit.engine.listUserTasks({ state: 'open', instanceId: loanInstanceId });
    assert.equal(task!.assignee, 'dev');

    // The case is the form: the application's fields, and the model's answer to confirm or overrule.
    assert.equal(await card.getByLabel('applicantName').inputValue(), 'Ada Lovelace');
    assert.equal(
      await card.locator('.review input[type=radio]').count(),
      2,
      'approve or reject: "review" is the question, not an answer',
    );
    await card.getByLabel('approve').check();
    await cockpit.screenshot('cockpit-inbox');
    await card.getByRole('button', { name: 'Complete' }).click();

    await page.waitForURL(`**/ui/#/instances/${loanInstanceId}`);
    await page.locator('.instance-state .state-completed').waitFor();
    await page.locator('.djs-element.operon-completed[data-element-id="decided"]').waitFor();
    assert.equal(await page.locator('.djs-element.operon-active').count(), 0, 'no token left');
    assert.deepEqual(
      await page
        .locator('.djs-connection.operon-taken')
        .evaluateAll((flows) => flows.map((f) => f.getAttribute('data-element-id')).sort()),
      ['toAssess', 'toDecided', 'toReview'],
    );
    await page.locator('td.reviewed', { hasText: 'approve' }).waitFor();
    assert.match(await page.locator('td.reviewed').innerText(), /approve[\s\S]*dev/);
    await cockpit.screenshot('cockpit-instance-completed');

    const decision = (await cockpit.db.knex('decisions').where({ process_instance_id: loanInstanceId }).first()) as {
      reviewed_label: string;
      reviewed_by: string;
    };
    assert.equal(decision.reviewed_label, 'approve');
    assert.equal(decision.reviewed_by, 'dev');
    const instance = await cockpit.engine.getInstance(loanInstanceId);
    assert.equal(instance!.state, 'completed');
    assert.equal(instance!.variables.reviewedLabel, 'approve');
    assert.equal(instance!.variables.reviewer, 'dev');
  });

  test('an incident shows on the diagram, and Retry resolves it once the bureau is back', async () => {
    const { page } = cockpit;
    await page.getByRole('link', { name: /Incidents/ }).click();
    const row = page.locator('table.incidents tbody tr');
    await row.waitFor();
    assert.match(await row.innerText(), /bureau[\s\S]*credit bureau unreachable/);
    await cockpit.screenshot('cockpit-incidents');
    await row.getByRole('link').click();

    await page.locator('.diagram[data-loaded="true"]').waitFor();
    await page.locator('.djs-element.operon-incident[data-element-id="bureau"]').waitFor();
    assert.equal(await page.locator('.operon-badge-incident[data-element-id="bureau"]').innerText(), '1');
    assert.match(await page.locator('.incident.card').innerText(), /credit bureau unreachable/);

    // The bot runner's audit row for the failed attempt, with its screenshot and trace in the artifacts
    // directory, written while the page is open: polling shows it without a reload.
    await page.evaluate(() => Object.assign(window, { operonSamePage: true }));
    mkdirSync(join(artifactsDir, 'run-1'));
    await page.screenshot({ path: join(artifactsDir, 'run-1', 'failure.png') });
    writeFileSync(join(artifactsDir, 'run-1', 'trace.zip'), Buffer.from(`PK\x05\x06${'\0'.repeat(18)}`, 'binary'));
    const startedAt = new Date(Date.now() - 2_400);
    await cockpit.db.knex('bot_runs').insert({
      process_instance_id: creditInstanceId,
      element_id: 'bureau',
      job_id: 'job-1',
      attempt: 1,
      bot: 'credit-bureau',
      started_at: startedAt,
      finished_at: new Date(startedAt.getTime() + 1_834),
      duration_ms: 1_834,
      outcome: 'failed',
      error_code: 'OPERON_ERR_JOB_FAILED',
      error_message: 'credit bureau unreachable: connection refused',
      screenshot_path: 'run-1/failure.png',
      trace_path: join(artifactsDir, 'run-1', 'trace.zip'),
    });
    const botRun = page.locator('table.bot-runs tbody tr');
    await botRun.waitFor();
    assert.equal(
      await page.evaluate(() => (window as unknown as { operonSamePage?: boolean }).operonSamePage),
      true,
      'the page was not reloaded',
    );
    assert.match(await botRun.innerText(), /bureau[\s\S]*credit-bureau[\s\S]*failed[\s\S]*1\.8 s/);
    await botRun.getByRole('button', { name: 'show screenshot' }).click();
    const image = botRun.locator('img.screenshot');
    await image.waitFor();
    assert.ok(
      (await image.evaluate((img: HTMLImageElement) => img.decode().then(() => img.naturalWidth))) > 100,
      'the screenshot is a real image',
    );
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      botRun.getByRole('button', { name: 'download trace' }).click(),
    ]);
    const saved = join(artifactsDir, 'downloaded.zip');
    await download.saveAs(saved);
    assert.deepEqual(readFileSync(saved), readFileSync(join(artifactsDir, 'run-1', 'trace.zip')));
    assert.ok(statSync(saved).size > 0);
    await cockpit.screenshot('cockpit-incident');

    bureau.online = true;
    await page.locator('.incident.card').getByRole('button', { name: 'Retry' }).click();
    await page.locator('.instance-state .state-completed').waitFor();
    await page.locator('.djs-element.operon-completed[data-element-id="checked"]').waitFor();
    assert.equal(await page.locator('.djs-element.operon-incident').count(), 0);
    const instance = await cockpit.engine.getInstance(creditInstanceId);
    assert.equal(instance!.state, 'completed');
    assert.equal(instance!.variables.creditScore, 690);
    assert.deepEqual(
      instance!.incidents.map((i) => i.state),
      ['resolved'],
    );
  });

  test("a business rule task's decision table shows its inputs, the matched rule and the output", async () => {
    const dmn = readFileSync(new URL('../../processes/loan-hard-limits.dmn', import.meta.url), 'utf8');
    await cockpit.engine.deploy([
      { name: 'loan-hard-limits.dmn', xml: dmn },
      { name: 'hard-limits.bpmn', xml: fixture('hard-limits.bpmn') },
    ]);
    const { instanceId } = await cockpit.engine.startInstance('hard-limits', {
      creditScore: 455,
      employment: 'permanent',
      debts: 1200,
    });
    const { instanceId: passed } = await cockpit.engine.startInstance('hard-limits', {
      creditScore: 700,
      employment: 'permanent',
      debts: 1200,
    });
    const { page } = cockpit;
    await page.goto(`${cockpit.baseUrl}/ui/#/instances/${instanceId}`);
    const row = page.locator('table.decision-evaluations tbody tr');
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, /Hard limits of the lending policy[\s\S]*loan-hard-limits v1/);
    assert.match(text, /Credit score[\s\S]*455/);
    assert.equal(await row.locator('.matched-rules').innerText(), 'rule-credit-score');
    const output = await row.locator('.output').innerText();
    assert.ok(output.includes('"outcome": "reject"') && output.includes('"reason": "credit score below 580"'), output);
    assert.equal(await page.locator('.answered-by').innerText(), 'rule:loan-hard-limits/rule-credit-score');
    await cockpit.screenshot('cockpit-instance-decision-table');

    // Moving to another instance by hash never shows the first one's page under the new address, not
    // even for the frame before the new instance has loaded (its API answer is held back here).
    const held = `**/api/instances/${passed}`;
    await page.route(held, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      // On a loaded machine the page may have re-requested or the route been removed meanwhile:
      // the delay is all this handler is for, so a route already handled is not an error.
      await route.continue().catch((error: Error) => {
        if (!/already handled/.test(error.message)) throw error;
      });
    });
    const firstFrame = await page.evaluate(
      (next) =>
        new Promise<string>((resolve) => {
          addEventListener('hashchange', () => requestAnimationFrame(() => resolve(document.body.innerText)), {
            once: true,
          });
          location.hash = `#/instances/${next}`;
        }),
      passed,
    );
    assert.ok(!firstFrame.includes(instanceId), "the first instance is not shown under the second one's address");
    assert.ok(!firstFrame.includes('rule-credit-score'), 'nor its decision table');
    await page.locator('h1', { hasText: passed }).waitFor();
    await page.unroute(held);
    await page.locator('table.decision-evaluations tbody tr').waitFor();
    assert.equal(await page.locator('.matched-rules').innerText(), 'no rule matched');
    assert.equal(await page.locator('.answered-by').count(), 0, 'no rule and no model answered');
  });

  test('a task with a Camunda form (zeebe:formDefinition) is filled in with form-js', async () => {
    const { page, engine } = cockpit;
    const { instanceId } = await engine.startInstance('expense-approval', { employee: 'Sam Okafor', amount: 420 });
    const task = await eventually(async () => (await engine.listUserTasks({ state: 'open', instanceId }))[0]);
    await page.goto(`${cockpit.baseUrl}/ui/#/tasks/${task.id}`);
    const card = page.locator('article.task');
    await card.locator('.camunda-form .fjs-form').waitFor();
    assert.equal(await card.getByLabel('Employee').inputValue(), 'Sam Okafor', 'the form shows the case variables');
    await card.getByRole('button', { name: 'Complete' }).click();
    await card.getByRole('alert').waitFor();
    assert.equal(
      (await engine.listUserTasks({ state: 'open', instanceId })).length,
      1,
      'an invalid form completes nothing',
    );

    await card.getByLabel('Approve the expense').check();
    await card.getByLabel(/Comment/).fill('receipt attached');
    await cockpit.screenshot('cockpit-form');
    await card.getByRole('button', { name: 'Complete' }).click();
    await page.waitForURL(`**/ui/#/instances/${instanceId}`);
    await page.locator('.instance-state .state-completed').waitFor();
    const instance = await engine.getInstance(instanceId);
    assert.equal(instance!.state, 'completed');
    assert.equal(instance!.variables.approved, true);
    assert.equal(instance!.variables.approverComment, 'receipt attached');
  });
});
