/** Test harness: the real engine and the HTTP app on a fresh migrated database. */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createEngine, type PostgresEngine } from '../../../engine/engine.ts';
import { buildApp, type BuildAppOptions } from '../../../engine/http/app.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

export interface TestApi {
  db: TestDatabase;
  engine: PostgresEngine;
  app: FastifyInstance;
  token: string;
  auth: { authorization: string };
  close(): Promise<void>;
}

export function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
}

export async function startTestApi(
  options: { bodyLimit?: number; poolMax?: number } & Pick<BuildAppOptions, 'requestTimeoutMs' | 'metricsToken'> = {},
): Promise<TestApi> {
  const db = await createTestDatabase({ poolMax: options.poolMax ?? 10 });
  const engine = createEngine({ db: db.knex });
  const token = `test_${randomBytes(16).toString('hex')}`;
  const app = await buildApp({
    engine,
    db: db.knex,
    apiToken: token,
    bodyLimit: options.bodyLimit ?? 256 * 1024,
    defaultMetrics: false,
    requestTimeoutMs: options.requestTimeoutMs,
    metricsToken: options.metricsToken,
  });
  return {
    db,
    engine,
    app,
    token,
    auth: { authorization: `Bearer ${token}` },
    async close() {
      await app.close();
      await engine.close();
      await db.drop();
    },
  };
}

/** Deploys fixture files through the API and returns the response body. */
export async function deployFixtures(
  api: TestApi,
  ...names: string[]
): Promise<{ processes: { bpmnProcessId: string; version: number }[] }> {
  for (const name of names) {
    const response = await api.app.inject({
      method: 'POST',
      url: '/api/deployments',
      headers: { ...api.auth, 'content-type': 'application/xml' },
      payload: fixture(name),
    });
    if (response.statusCode !== 201) throw new Error(`deploy ${name}: ${response.statusCode} ${response.body}`);
  }
  return {
    processes: (await api.engine.listProcesses()).map((p) => ({ bpmnProcessId: p.bpmnProcessId, version: p.version })),
  };
}

/** Polls until `check` returns a value (the engine's workers run asynchronously). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface HttpClient {
  /** Calls the API over real HTTP with the test token; a string body is sent as BPMN XML, anything else as JSON. */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; headers: Headers }>;
  /** Takes the one ready job of `type` with POST /api/jobs/activate (long polling, no fixed sleep). */
  take(type: string): Promise<any>;
}

/** Listens on a free local port: the client below talks to the API as an outside worker or task list does. */
export async function listenHttp(api: TestApi): Promise<HttpClient> {
  const base = await api.app.listen({ port: 0, host: '127.0.0.1' });
  const call: HttpClient['call'] = async (method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...api.auth,
        ...(body === undefined
          ? {}
          : { 'content-type': typeof body === 'string' ? 'application/xml' : 'application/json' }),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: response.status, json: await response.json(), headers: response.headers };
  };
  const take: HttpClient['take'] = async (type) => {
    for (;;) {
      const { json } = await call('POST', '/api/jobs/activate', {
        type,
        worker: 'outside',
        maxJobs: 1,
        requestTimeoutMs: 5_000,
      });
      if (json.jobs.length > 0) return json.jobs[0];
    }
  };
  return { call, take };
}
