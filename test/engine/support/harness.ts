/**
 * Test harness for engine tests: fixtures, engines on a test database, and waiting for a state.
 * "Restart" means closing the engine and its pool and opening new ones on the same database.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import type { DeployFile, InstanceView } from '../../../engine/api.ts';
import type { Clock } from '../../../engine/clock.ts';
import { createEngine, type PostgresEngine } from '../../../engine/engine.ts';
import type { NodeType } from '../../../engine/nodes/types.ts';
import { createKnex } from '../../../engine/store/knex.ts';
import type { WorkerOptions } from '../../../engine/worker.ts';
import { createNodeRegistry, type HttpNodeOptions } from '../../../nodes/index.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function fixture(name: string): DeployFile {
  return { name, xml: readFileSync(FIXTURES + name, 'utf8') };
}

/** Short leases and polls so tests stay fast. */
export const FAST_WORKER: WorkerOptions = { lockMs: 2_000, pollIntervalMs: 100, concurrency: 8, shutdownGraceMs: 500 };

export interface TestEngine {
  engine: PostgresEngine;
  knex: Knex;
  close(): Promise<void>;
}

/**
 * An engine with its own pool on `url`; `worker` false = API only (nothing runs jobs or timers).
 * `http` configures the http node (a test that calls a 127.0.0.1 server allows it explicitly).
 * `clock`: engine time (a `ManualClock` the test moves); engines on one database share it.
 */
export async function openEngine(
  url: string,
  options: { worker?: WorkerOptions | false; extraNodes?: NodeType[]; http?: HttpNodeOptions; clock?: Clock } = {},
): Promise<TestEngine> {
  const knex = createKnex(url, { poolMax: 5, applicationName: 'operon-test-engine' });
  const nodes = await createNodeRegistry({ extra: options.extraNodes, http: options.http });
  const engine = createEngine({
    db: knex,
    nodes,
    worker: options.worker === undefined ? FAST_WORKER : options.worker,
    backoff: { baseMs: 50, maxMs: 200 },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return {
    engine,
    knex,
    async close() {
      await engine.close();
      await nodes.close();
      await knex.destroy();
    },
  };
}

/**
 * Polls `probe` every `intervalMs` until it returns a truthy value (or throws after `timeoutMs`).
 * A probe that reads an instance over the API costs milliseconds of CPU: a wait that lasts minutes
 * (bots in Chromium) polls less often, or its probes take the CPU the work it waits for needs.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false | null>,
  timeoutMs = 10_000,
  label = 'condition',
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function waitForState(
  engine: PostgresEngine,
  instanceId: string,
  state: InstanceView['state'],
  timeoutMs = 10_000,
): Promise<InstanceView> {
  return waitFor(
    async () => {
      const view = await engine.getInstance(instanceId);
      return view?.state === state ? view : undefined;
    },
    timeoutMs,
    `instance ${instanceId} to be ${state}`,
  );
}

/** Element ids with their states, in activation order. */
export function path(view: InstanceView): string[] {
  return view.elements.map((element) => `${element.elementId}:${element.state}`);
}
