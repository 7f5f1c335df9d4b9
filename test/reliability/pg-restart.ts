/**
 * Shared body of the PostgreSQL restart tests: a private real PostgreSQL (its own data directory
 * and port; the shared server is never touched), fork/join instances run by one worker process,
 * and the server shut down immediately (`pg_ctl stop -m immediate`: every backend dies, crash
 * recovery on start) `restarts` times mid-run, staying down `downMs` each time. The worker process
 * is never restarted. Every instance must complete exactly once with nothing half-written, the
 * worker must reconnect by itself (its pool and its LISTEN connection), and so must the API
 * engine of the test process.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { Knex } from 'knex';
import { createKnex } from '../../engine/store/knex.ts';
import { fixture, openEngine, waitFor, type TestEngine } from '../engine/support/harness.ts';
import { assertEachCompletedOnce } from './support/exactly-once.ts';
import { startPrivatePostgres } from './support/private-postgres.ts';
import { spawnWorker, stopWorker } from './support/spawn.ts';

const WORKER = 'pg-restart-worker';

export interface RestartResult {
  instances: number;
  restarts: number;
  /** Jobs whose lease ran out because the server went away under them (claimed again, attempt > 1). */
  jobsRetried: number;
  /** API starts refused while the server was down (retried by the caller, as a webhook client would). */
  startsRefused: number;
  seconds: number;
}

/** Runs `probe` until it answers; a query on a connection the restart killed counts as no answer. */
async function untilAnswered<T>(
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
  label: string,
): Promise<T> {
  let lastError: unknown;
  return waitFor(() => probe().catch((error) => void (lastError = error)), timeoutMs, label).catch((error: Error) => {
    throw new Error(`${error.message} (last query error: ${(lastError as Error | undefined)?.message ?? 'none'})`);
  });
}

/** The server is down on purpose: knex's console warnings about refused connections are expected noise. */
function quiet(knex: Knex): void {
  Object.assign((knex.client as { logger: object }).logger, { _warn: () => undefined, _error: () => undefined });
}

async function countCompleted(knex: Knex, ids: string[]): Promise<number> {
  const [row] = await knex('process_instances')
    .whereIn('id', ids)
    .where({ state: 'completed' })
    .count<{ count: string }[]>('* as count');
  return Number(row!.count);
}

export async function restartPostgresDuringRun(options: {
  instances: number;
  restarts: number;
  downMs: number;
}): Promise<RestartResult> {
  const server = await startPrivatePostgres();
  const startedAt = performance.now();
  const knex = createKnex(server.url, { poolMax: 2, applicationName: 'operon-test-observer' });
  let client: TestEngine | undefined;
  let worker: ChildProcess | undefined;
  let startsRefused = 0;
  try {
    quiet(knex);
    client = await openEngine(server.url, { worker: false });
    quiet(client.knex);
    const api = client.engine;
    await api.deploy([fixture('work-fork-join.bpmn')]);
    const ids: string[] = [];
    // As a webhook client would: a start refused while the server is away is sent again.
    const startOne = async (n: number) => {
      for (let attempt = 1; ; attempt++) {
        try {
          ids.push((await api.startInstance('work-fork-join', { n })).instanceId);
          return;
        } catch (error) {
          startsRefused++;
          if (attempt >= 200) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    };
    const firstHalf = Math.ceil(options.instances / 2);
    for (let i = 0; i < firstHalf; i++) await startOne(i);
    worker = await spawnWorker(server.url, WORKER, {
      WORK_MS: '20',
      LOCK_MS: '1500',
      POLL_MS: '200',
      CONCURRENCY: '8',
    });
    const pid = worker.pid;
    let workerLog = '';
    worker.stdout!.on('data', (chunk) => (workerLog = (workerLog + chunk).slice(-4_000)));
    worker.stderr!.on('data', (chunk) => (workerLog = (workerLog + chunk).slice(-4_000)));
    const explain = async (error: Error) => {
      const states = await knex('process_instances')
        .select('state')
        .count('* as count')
        .groupBy('state')
        .catch(() => 'unreadable');
      const jobs = await knex('jobs')
        .select('state', 'owner')
        .count('* as count')
        .groupBy('state', 'owner')
        .catch(() => 'unreadable');
      throw new Error(
        `${error.message}: ${JSON.stringify({ states, jobs, worker: worker?.exitCode ?? 'alive', workerLog })}`,
      );
    };

    let next = firstHalf;
    for (let round = 1; round <= options.restarts; round++) {
      // Crash while work is under way: some instances done, others with leased jobs.
      const target = Math.floor((firstHalf * round) / (options.restarts + 1));
      await untilAnswered(
        async () => (await countCompleted(knex, ids)) >= target,
        60_000,
        `${target} instances completed before restart ${round}`,
      ).catch(explain);
      await server.crash();
      // Start more instances while the server is down: each start waits for it, then lands once.
      const starting = (async () => {
        const end = firstHalf + Math.floor(((options.instances - firstHalf) * round) / options.restarts);
        for (; next < end; next++) await startOne(next);
      })();
      await new Promise((resolve) => setTimeout(resolve, options.downMs));
      await server.start();
      await starting;
    }
    assert.equal(ids.length, options.instances);

    await untilAnswered(
      async () => (await countCompleted(knex, ids)) === ids.length,
      90_000,
      `all ${ids.length} instances to complete after ${options.restarts} restarts`,
    ).catch(explain);

    // Nothing half-written: no instance or job row beyond what was acknowledged, each result applied once.
    const all = await knex('process_instances').select('id', 'state');
    assert.equal(all.length, ids.length, 'every acknowledged start is one instance, and no start landed twice');
    await assertEachCompletedOnce(knex, ids);
    const [incidents] = await knex('incidents').count<{ count: string }[]>('* as count');
    assert.equal(Number(incidents!.count), 0, 'a server restart is never an incident');

    // The same worker process, reconnected by itself: alive, listening again, and still working.
    assert.equal(worker.exitCode, null, 'the worker process never exited');
    assert.equal(worker.signalCode, null);
    assert.equal(worker.pid, pid);
    await untilAnswered(
      async () => {
        const { rows } = await knex.raw(
          `SELECT 1 FROM pg_stat_activity WHERE application_name = ? AND query LIKE 'LISTEN%'`,
          [`operon-test-${WORKER}`],
        );
        return rows.length > 0;
      },
      15_000,
      'the worker to LISTEN again after the restart',
    );
    const { instanceId } = await api.startInstance('work-fork-join', { n: -1 });
    await untilAnswered(
      async () => (await api.getInstance(instanceId))?.state === 'completed',
      15_000,
      'an instance after the restarts',
    );
    const owners = await knex('jobs').where({ process_instance_id: instanceId }).distinct('owner');
    assert.deepEqual(
      owners.map((row) => row.owner).filter((owner) => owner !== null),
      [WORKER],
    );

    const [retried] = await knex('jobs')
      .whereIn('process_instance_id', ids)
      .where('attempt', '>', 1)
      .count<{ count: string }[]>('* as count');
    return {
      instances: ids.length,
      restarts: server.starts - 1,
      jobsRetried: Number(retried!.count),
      startsRefused,
      seconds: Math.round((performance.now() - startedAt) / 100) / 10,
    };
  } finally {
    if (worker) await stopWorker(worker, 'SIGKILL');
    await client?.close().catch(() => undefined);
    await knex.destroy();
    await server.destroy();
  }
}
