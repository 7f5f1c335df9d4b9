/**
 * A database outage is logged once when it starts and once when it ends, not once per poll: the
 * worker polls every 200 ms here from several loops, and before FailureLog a few seconds of outage
 * wrote an error line per loop per poll (about 250 lines in 25 s with the default 1 s poll).
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { fixture, openEngine, waitFor, waitForState, type TestEngine } from '../engine/support/harness.ts';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.ts';
import { spawnWorker, stopWorker } from './support/spawn.ts';

/** The worker's log lines with this message (support/worker-process.ts writes `level message {json}`). */
const lines = (log: string, message: string) => log.split('\n').filter((line) => line.includes(` ${message} {`));

it('a worker logs a 4-second database outage once per loop when it starts and once when it ends, then carries on', {
  timeout: 120_000,
}, async () => {
  let server: PrivatePostgres | undefined;
  let client: TestEngine | undefined;
  let worker: ChildProcess | undefined;
  let log = '';
  try {
    server = await startPrivatePostgres();
    client = await openEngine(server.url, { worker: false });
    await client.engine.deploy([fixture('work-fork-join.bpmn')]);
    worker = await spawnWorker(server.url, 'outage-log-worker', { POLL_MS: '200', OPERON_TEST_LOG: 'info' });
    worker.stderr!.on('data', (chunk) => (log += chunk));
    const first = await client.engine.startInstance('work-fork-join', { n: 1 });
    await waitForState(client.engine, first.instanceId, 'completed', 30_000);

    await server.crash();
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const during = log;
    await server.start();
    // Every loop that failed says so once (the outage is shorter than the 30 s repeat), and once
    // that it works again: per pool, one failure line and then one recovery line.
    const perPool = (message: string) => {
      const pools = new Map<string, number>();
      for (const line of lines(log, message)) {
        const pool = String((JSON.parse(line.slice(line.indexOf('{'))) as { pool?: string }).pool);
        pools.set(pool, (pools.get(pool) ?? 0) + 1);
      }
      return pools;
    };
    await waitFor(
      async () =>
        perPool('claiming jobs works again').size > 0 &&
        perPool('claiming jobs works again').size === perPool('claiming jobs failed').size &&
        lines(log, 'firing timers works again').length === lines(log, 'firing timers failed').length &&
        lines(log, 'LISTEN connection back').length > 0,
      30_000,
      'every failing loop of the worker to say it works again',
    );
    for (const message of ['claiming jobs failed', 'claiming jobs works again']) {
      for (const [pool, n] of perPool(message)) assert.equal(n, 1, `${message} for pool ${pool}: ${n} lines\n${log}`);
    }
    assert.ok(lines(log, 'firing timers failed').length <= 1, log);
    assert.equal(lines(log, 'LISTEN connection lost; polling until it is back').length, 1, log);
    assert.equal(lines(log, 'LISTEN connection back').length, 1, log);
    assert.ok(lines(during, 'claiming jobs failed').length >= 1, `the outage was logged while it lasted:\n${during}`);

    // The same worker process carries on.
    const second = await client.engine.startInstance('work-fork-join', { n: 2 });
    await waitForState(client.engine, second.instanceId, 'completed', 30_000);
  } finally {
    if (worker) await stopWorker(worker);
    await client?.close();
    await server?.destroy();
  }
});
