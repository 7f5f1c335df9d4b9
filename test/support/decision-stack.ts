/**
 * The stack the decision tests share: a real PostgreSQL, an API engine that knows the shipped bots
 * (for the deploy-time check) but runs no jobs, a worker engine that runs the real ONNX decision
 * models only (no browser; bot jobs wait for the test or stay open), and the HTTP app over the API
 * engine. Also the one-task process those tests deploy around a decision node.
 */
import type { FastifyInstance } from 'fastify';
import { createEngine, type PostgresEngine } from '../../engine/engine.ts';
import { buildApp } from '../../engine/http/app.ts';
import type { NodeRegistry } from '../../engine/nodes/registry.ts';
import { createNodeRegistry } from '../../nodes/index.ts';
import { shippedBotNode } from '../../processes/demo/nodes.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

export interface DecisionStack {
  db: TestDatabase;
  api: PostgresEngine;
  worker: PostgresEngine;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function startDecisionStack(options: {
  apiToken: string;
  poolMax: number;
  concurrency: number;
}): Promise<DecisionStack> {
  const db = await createTestDatabase({ poolMax: options.poolMax });
  const apiNodes: NodeRegistry = await createNodeRegistry({
    decision: true,
    extra: [await shippedBotNode({ baseUrl: 'http://127.0.0.1:9' })],
  });
  const workerNodes: NodeRegistry = await createNodeRegistry({ decision: true });
  const api = createEngine({ db: db.knex, nodes: apiNodes });
  const worker = createEngine({
    db: db.knex,
    nodes: workerNodes,
    worker: { concurrency: options.concurrency, pollIntervalMs: 50, lockMs: 60_000 },
  });
  const app = await buildApp({ engine: api, db: db.knex, apiToken: options.apiToken, defaultMetrics: false });
  return {
    db,
    api,
    worker,
    app,
    async close() {
      await app.close();
      await worker.close();
      await api.close();
      await workerNodes.close();
      await apiNodes.close();
      await db.drop();
    },
  };
}

/** A process with one service task of `type` between a start and an end event. */
export function oneTaskProcess(processId: string, type: string, retries: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="D_${processId}" targetNamespace="http://example.com">
  <bpmn:process id="${processId}" isExecutable="true">
    <bpmn:startEvent id="Start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="Decide">
      <bpmn:extensionElements><zeebe:taskDefinition type="${type}" retries="${retries}" /></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="End"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="Decide" />
    <bpmn:sequenceFlow id="f2" sourceRef="Decide" targetRef="End" />
  </bpmn:process>
</bpmn:definitions>`;
}
