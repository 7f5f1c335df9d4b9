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

const count = (log: string, message: string) => log.split('\n').filter((line) => line.includes(` ${message} `)).length;

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
    await waitFor(
      async () => count(log, 'claiming jobs works again') > 0 && count(log, 'LISTEN connection back') > 0,
      30_000,
      'the worker to say its claims and its LISTEN connection work again',
    );
    // Every loop that failed says so once (the outage is shorter than the 30 s repeat), and says once
    // that it works again: as many failure lines as recovery lines, and some loop did fail.
    const failedClaims = count(log, 'claiming jobs failed');
    assert.ok(failedClaims >= 1, during);
    assert.equal(failedClaims, count(log, 'claiming jobs works again'), log);
    assert.equal(count(log, 'firing timers failed'), count(log, 'firing timers works again'), log);
    assert.equal(count(log, 'LISTEN connection lost; polling until it is back'), 1, log);
    assert.equal(count(log, 'LISTEN connection back'), 1, log);

    // The same worker process carries on.
    const second = await client.engine.startInstance('work-fork-join', { n: 2 });
    await waitForState(client.engine, second.instanceId, 'completed', 30_000);
  } finally {
    if (worker) await stopWorker(worker);
    await client?.close();
    await server?.destroy();
  }
});
