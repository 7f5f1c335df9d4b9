/**
 * The shipped loan process's hybrid decision, over the HTTP API on a real PostgreSQL with the real
 * ONNX loan model: the hard-limit table answers first and the model is skipped; when no limit
 * applies the model answers; decision_answers says which. The bots' jobs are taken and answered
 * through the job API, as an external worker would (test/e2e/processes.test.ts runs the same paths
 * with the real bots in Chromium).
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { TestDatabase } from '../support/db.ts';
import { startDecisionStack, type DecisionStack } from '../support/decision-stack.ts';
import { waitFor } from '../engine/support/harness.ts';

const TOKEN = 'loan-hybrid-token';
const auth = { authorization: `Bearer ${TOKEN}` };
let stack: DecisionStack;
let db: TestDatabase;
let app: FastifyInstance;

async function call(method: 'GET' | 'POST' | 'PUT', url: string, payload?: object): Promise<any> {
  for (;;) {
    const response = await app.inject({ method, url, headers: auth, ...(payload ? { payload } : {}) });
    // 503: the database probe stalled on a loaded machine; nothing was done, so ask again.
    if (response.statusCode === 503) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    assert.ok(response.statusCode < 300, `${method} ${url}: ${response.statusCode} ${response.body}`);
    return response.json();
  }
}

before(async () => {
  // The API knows the shipped bots (deploy-time check) but runs no jobs; the worker runs the
  // decision model only, so the bots' jobs wait for this test to answer them.
  stack = await startDecisionStack({ apiToken: TOKEN, poolMax: 10, concurrency: 2 });
  ({ db, app } = stack);
  for (const file of ['loan-hard-limits.dmn', 'loan-approval.bpmn']) {
    const xml = await readFile(new URL(`../../processes/${file}`, import.meta.url), 'utf8');
    const response = await app.inject({
      method: 'POST',
      url: '/api/deployments',
      headers: { ...auth, 'content-type': 'application/xml', 'x-file-name': file },
      payload: xml,
    });
    assert.equal(response.statusCode, 201, response.body);
  }
});

after(async () => {
  await stack?.close();
});

/** Takes the instance's next job of `type` and completes it with `variables`. */
async function answerJob(instanceId: string, type: string, variables: Record<string, unknown>): Promise<void> {
  const job = await waitFor(
    async () => {
      const { jobs } = await call('POST', '/api/jobs/activate', {
        type,
        worker: 'loan-hybrid-test',
        maxJobs: 10,
        lockMs: 60_000,
        requestTimeoutMs: 1_000,
      });
      const mine = jobs.find((j: { instanceId: string }) => j.instanceId === instanceId);
      // Jobs of other instances go back at once (this test runs one instance at a time).
      for (const other of jobs.filter((j: { instanceId: string }) => j !== mine))
        await call('POST', `/api/jobs/${other.id}/fail`, {
          worker: 'loan-hybrid-test',
          attempt: other.attempt,
          errorMessage: 'not this test',
          retries: other.retries,
        });
      return mine;
    },
    120_000,
    `a ${type} job`,
  );
  await call('POST', `/api/jobs/${job.id}/complete`, { worker: 'loan-hybrid-test', attempt: job.attempt, variables });
}

async function run(applicant: { creditScore: number; openDebts: number; employment: string }) {
  const { instanceId } = await call('POST', '/api/instances', {
    bpmnProcessId: 'loan-approval',
    variables: {
      applicationId: `APP-HYBRID-${applicant.creditScore}`,
      applicantName: 'Test Applicant',
      income: 72000,
      amount: 15000,
      termMonths: 48,
      employment: applicant.employment,
      purpose: 'a new kitchen for our flat',
    },
  });
  await answerJob(instanceId, 'bot:credit-bureau', {
    creditScore: applicant.creditScore,
    openDebts: applicant.openDebts,
  });
  return instanceId as string;
}

it('a hard limit rejects by its rule: no model decision, recorded as rule:... in decision_answers', async () => {
  const id = await run({ creditScore: 455, openDebts: 1200, employment: 'permanent' });
  await answerJob(id, 'bot:core-banking', { bookingReference: 'BK-1', bookedDecision: 'reject' });
  const view = await waitFor(
    async () => {
      const v = await call('GET', `/api/instances/${id}`);
      return v.state === 'completed' ? v : undefined;
    },
    60_000,
    'the instance to end',
  );
  const path = view.elements
    .filter((e: { state: string }) => e.state === 'completed')
    .map((e: { elementId: string }) => e.elementId);
  assert.ok(path.includes('DecidedByRule') && !path.includes('DecideLoan'), path.join(' '));
  assert.equal(view.variables.outcome, 'reject');
  assert.deepEqual(view.decisions, []);
  const answers = await db.knex('decision_answers').where({ process_instance_id: id }).select('decided_by', 'answer');
  assert.deepEqual(answers, [
    {
      decided_by: 'rule:loan-hard-limits/rule-credit-score',
      answer: { outcome: 'reject', reason: 'credit score below 580' },
    },
  ]);
});

it('no hard limit: the model decides, recorded as model:loan@<version>; the table matched nothing', async () => {
  const id = await run({ creditScore: 780, openDebts: 0, employment: 'permanent' });
  const decision = await waitFor(
    async () =>
      (await db.knex('decisions').where({ process_instance_id: id }).first('model_version', 'label')) as
        | { model_version: string; label: string }
        | undefined,
    120_000,
    'the model decision',
  );
  const evaluation = await db
    .knex('decision_evaluations')
    .where({ process_instance_id: id })
    .first('matched_rule_ids', 'output');
  assert.deepEqual(evaluation, { matched_rule_ids: [], output: null });
  const answers = await db.knex('decision_answers').where({ process_instance_id: id }).select('source', 'decided_by');
  assert.deepEqual(answers, [{ source: 'model', decided_by: `model:loan@${decision.model_version}` }]);
  const view = await call('GET', `/api/instances/${id}`);
  assert.equal(view.variables.hardLimit, null);
  assert.ok(view.elements.some((e: { elementId: string }) => e.elementId === 'DecideLoan'));
});
