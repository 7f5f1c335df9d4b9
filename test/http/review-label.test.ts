/**
 * A review task's answer over real HTTP (app.listen on 127.0.0.1, fetch): reviewers decide between
 * the model's answers, so `reviewedLabel: "review"` (the model's "ask a person") is refused with a
 * 400 naming the field, on both completion routes, and the task stays open.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createEngine, type PostgresEngine } from '../../engine/engine.ts';
import { buildApp } from '../../engine/http/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const TOKEN = 'review-label-token';
const REVIEW_BPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_Review" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="review-label" isExecutable="true">
    <bpmn:startEvent id="Start"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Review" name="Review"><bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="End"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Start" targetRef="Review" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Review" targetRef="End" />
  </bpmn:process>
</bpmn:definitions>`;

let db: TestDatabase;
let engine: PostgresEngine;
let app: FastifyInstance;
let baseUrl: string;

before(async () => {
  db = await createTestDatabase();
  engine = createEngine({ db: db.knex });
  app = await buildApp({ engine, db: db.knex, apiToken: TOKEN, defaultMetrics: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await engine.deploy([{ name: 'review-label.bpmn', xml: REVIEW_BPMN }]);
});
after(async () => {
  await app?.close();
  await engine?.close();
  await db?.drop();
});

/** An open review task whose instance holds a loan decision that needs review. */
async function reviewTask(): Promise<{ instanceId: string; taskId: string; decisionId: string }> {
  const decisionId = randomUUID();
  const scores = { approve: 0.41, reject: 0.12, review: 0.47 };
  const { instanceId } = await engine.startInstance('review-label', {
    loanDecision: { decisionId, label: 'review', confidence: 0.47, scores, needsReview: true },
  });
  await db.knex('decisions').insert({
    id: decisionId,
    process_instance_id: instanceId,
    model_name: 'loan',
    model_version: '1',
    model_file_hash: 'a'.repeat(64),
    prompt: 'p',
    inputs: {},
    scores,
    label: 'review',
    confidence: 0.47,
    threshold: 0.94,
    needs_review: true,
    latency_ms: 2,
  });
  const [task] = await engine.listUserTasks({ state: 'open', instanceId });
  assert.ok(task, 'the review task is open');
  return { instanceId, taskId: task.id, decisionId };
}

async function complete(
  path: string,
  variables: Record<string, unknown>,
): Promise<{ status: number; body: { error?: { code: string; message: string; details: Record<string, unknown> } } }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ variables }),
  });
  return { status: response.status, body: (await response.json()) as never };
}

describe('the reviewer chooses among the answers, not "review"', () => {
  for (const route of ['/api/tasks', '/api/ui/tasks']) {
    it(`${route}/{id}/complete refuses reviewedLabel "review" with 400 naming the field; approve is taken`, async () => {
      const { instanceId, taskId, decisionId } = await reviewTask();
      const refused = await complete(`${route}/${taskId}/complete`, {
        reviewedLabel: 'review',
        reviewer: 'alice@bank.example',
      });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error?.code, 'OPERON_ERR_VALIDATION');
      assert.equal(refused.body.error?.details.field, 'body.variables.reviewedLabel');
      assert.deepEqual([...(refused.body.error!.details.labels as string[])].sort(), ['approve', 'reject']);
      assert.match(refused.body.error!.message, /'review' asks for a review/);
      assert.equal((await engine.listUserTasks({ state: 'open', instanceId })).length, 1, 'the task stays open');
      assert.equal((await db.knex('decisions').where({ id: decisionId }).first('reviewed_label')).reviewed_label, null);

      const done = await complete(`${route}/${taskId}/complete`, {
        reviewedLabel: 'approve',
        reviewer: 'alice@bank.example',
      });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      const row = await db.knex('decisions').where({ id: decisionId }).first('reviewed_label', 'reviewed_by');
      assert.deepEqual({ ...row }, { reviewed_label: 'approve', reviewed_by: 'alice@bank.example' });
    });
  }
});
