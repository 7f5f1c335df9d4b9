/**
 * Given timers built to start work as fast as the engine can (`R/PT0S` start timers, cycles computed
 * to zero, cycles that start in 1970, new versions deployed while the old one fires), then a literal
 * cycle below the minimum interval is refused at deployment with 400 naming the element, a computed
 * one raises an incident, a deployment stops the previous version's start timer for good even while
 * two engines fire it, and timer starts of one process are held to the start rate.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine, type PostgresEngine } from '../../engine/engine.ts';
import { createKnex } from '../../engine/store/knex.ts';
import { buildApp } from '../../engine/http/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { startTestApi, type TestApi } from '../http/support/api.ts';
import { FAST_WORKER, waitFor } from '../engine/support/harness.ts';
import { boundaryCycleProcess, catchCycleProcess, startTimerProcess } from './support/timer-processes.ts';
import { deployRace } from './support/deploy-race.ts';

describe('deploying cycles below the minimum interval (default 1 s)', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi();
  });
  after(async () => api?.close());

  const deploy = (xml: string) =>
    api.app.inject({
      method: 'POST',
      url: '/api/deployments',
      headers: { ...api.auth, 'content-type': 'application/xml' },
      payload: xml,
    });

  const refused: Record<string, [string, string]> = {
    'R/PT0S on a start timer': [startTimerProcess('zero', 'R/PT0S'), 'tick'],
    'R/PT0S as a FEEL string literal': [startTimerProcess('zeroFeel', '="R/PT0S"'), 'tick'],
    'R5/PT0.5S (bounded, still too fast)': [startTimerProcess('half', 'R5/PT0.5S'), 'tick'],
    'R/P0D': [startTimerProcess('zeroDays', 'R/P0D'), 'tick'],
    'R/<date in the past>/PT0S': [startTimerProcess('pastZero', 'R/2000-01-01T00:00:00Z/PT0S'), 'tick'],
    'R/P0.5M (a month fraction that adds nothing)': [startTimerProcess('monthFraction', 'R/P0.5M'), 'tick'],
    'R/PT0.1S on a non-interrupting boundary timer': [boundaryCycleProcess('boundaryFast', 'R/PT0.1S'), 'remind'],
    'R/PT0S on an intermediate catch event': [catchCycleProcess('catchZero', 'R/PT0S'), 'wait'],
  };
  for (const [name, [xml, elementId]] of Object.entries(refused)) {
    it(`refuses ${name} with 400 naming the element, and writes nothing`, async () => {
      const response = await deploy(xml);
      assert.equal(response.statusCode, 400, response.body);
      const { error } = response.json() as {
        error: { code: string; message: string; details: Record<string, unknown> };
      };
      assert.equal(error.code, 'OPERON_ERR_TIMER_CYCLE_TOO_SHORT');
      assert.equal(error.details.elementId, elementId);
      assert.equal(error.details.minIntervalMs, 1000);
      assert.match(error.message, new RegExp(elementId));
      const [definitions] = await api.db.knex('process_definitions').count<{ count: string }[]>('* as count');
      const [timers] = await api.db.knex('timers').count<{ count: string }[]>('* as count');
      assert.deepEqual([Number(definitions!.count), Number(timers!.count)], [0, 0]);
    });
  }

  it('refuses a repetition count too large to count down (R99999999999999999999999/PT1H) and a negative interval', async () => {
    for (const cycle of ['R99999999999999999999999/PT1H', 'R/-PT1S']) {
      const response = await deploy(startTimerProcess('huge', cycle));
      assert.equal(response.statusCode, 400, response.body);
      assert.equal(response.json().error.code, 'OPERON_ERR_BPMN_INVALID');
      assert.equal(response.json().error.details.elementId, 'tick');
    }
  });

  it('accepts an unbounded 1 s cycle that started in 1970: the first firing is the next second, computed without a loop', async () => {
    const before = Date.now();
    const response = await deploy(startTimerProcess('since1970', 'R/1970-01-01T00:00:00Z/PT1S'));
    assert.equal(response.statusCode, 201, response.body);
    const timer = await api.db.knex('timers').whereNull('process_instance_id').first();
    const dueAt = new Date(timer.due_at).getTime();
    assert.ok(
      dueAt >= before && dueAt % 1000 === 0,
      `due at a whole second from now on, got ${new Date(dueAt).toISOString()}`,
    );
    assert.equal(timer.cycle, 'R/PT1S');
  });

  it('accepts cycles at the minimum interval on start and catch events', async () => {
    for (const xml of [startTimerProcess('once', 'R1/PT1S'), catchCycleProcess('catchOnce', 'R1/PT1S')]) {
      const response = await deploy(xml);
      assert.equal(response.statusCode, 201, response.body);
    }
  });
});

describe('a cycle computed at run time below the minimum interval', () => {
  let db: TestDatabase;
  let engine: PostgresEngine;
  before(async () => {
    db = await createTestDatabase();
    engine = createEngine({ db: db.knex, worker: FAST_WORKER });
    await engine.deploy([{ name: 'remind.bpmn', xml: boundaryCycleProcess('remindEvery', '="R/" + interval') }]);
  });
  after(async () => {
    await engine?.close();
    await db?.drop();
  });

  it('raises an OPERON_ERR_TIMER_CYCLE_TOO_SHORT incident on the task and schedules nothing', async () => {
    const { instanceId } = await engine.startInstance('remindEvery', { interval: 'PT0S' });
    const incident = await waitFor(
      () => db.knex('incidents').where({ process_instance_id: instanceId }).first(),
      10_000,
      'the incident',
    );
    assert.equal(incident.code, 'OPERON_ERR_TIMER_CYCLE_TOO_SHORT');
    assert.equal(incident.element_id, 'approve');
    assert.match(incident.message, /remind/);
    const [timers] = await db
      .knex('timers')
      .where({ process_instance_id: instanceId })
      .count<{ count: string }[]>('* as count');
    assert.equal(Number(timers!.count), 0, 'no timer row: nothing can fire');
    const [instances] = await db.knex('process_instances').count<{ count: string }[]>('* as count');
    assert.equal(Number(instances!.count), 1);
  });

  it('runs the same process with a legal interval', async () => {
    const { instanceId } = await engine.startInstance('remindEvery', { interval: 'PT1H' });
    const scheduled = () => db.knex('timers').where({ process_instance_id: instanceId, state: 'scheduled' }).first();
    const timer = await waitFor(scheduled, 10_000, 'the timer');
    assert.equal(timer.cycle, 'R/PT1H');
    assert.equal(await db.knex('incidents').where({ process_instance_id: instanceId }).first(), undefined);
  });
});

describe('a new version stops the start timer of the one before', () => {
  let db: TestDatabase;
  const engines: PostgresEngine[] = [];
  before(async () => {
    db = await createTestDatabase();
    // Two engine processes on one database, each with its own pool; a 20 ms floor keeps firings back to back.
    for (let i = 0; i < 2; i++) {
      const knex = createKnex(db.url, { poolMax: 4, applicationName: `operon-test-engine-${i}` });
      engines.push(
        createEngine({ db: knex, worker: FAST_WORKER, timerLimits: { minCycleIntervalMs: 20, startsPerSecond: 1000 } }),
      );
    }
  });
  after(async () => {
    for (const engine of engines) {
      await engine.close();
      await engine.db.destroy();
    }
    await db?.drop();
  });

  it('v2 and v3 deployed while two engines fire v1 every 20 ms: no version starts an instance after its successor committed', async () => {
    const result = await deployRace(engines[0]!, db.knex, { processId: 'ticker', cycle: 'R/PT0.02S', versions: 3 });
    assert.deepEqual(
      [...result.final],
      [...result.frozen],
      'instance counts of v1 and v2 did not move after the next deployment',
    );
    assert.deepEqual(
      result.scheduledTimers,
      [{ version: 3, count: 1 }],
      'one scheduled start timer, of the latest version',
    );
  });
});

describe('a start timer of a superseded version left scheduled (the database the finding left)', () => {
  let db: TestDatabase;
  let engine: PostgresEngine | undefined;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await engine?.close();
    await db?.drop();
  });

  it('is cancelled when it comes due and starts nothing; the latest version keeps its timer', async () => {
    const deployer = createEngine({ db: db.knex });
    await deployer.deploy([{ name: 'leak.bpmn', xml: startTimerProcess('leak', 'R/PT1H', 'leak v1') }]);
    await deployer.deploy([{ name: 'leak.bpmn', xml: startTimerProcess('leak', 'R/PT1H', 'leak v2') }]);
    await deployer.close();
    const v1 = await db.knex('process_definitions').where({ bpmn_process_id: 'leak', version: 1 }).first();
    // What an engine without the deployment lock left behind: v1's timer scheduled, due now.
    await db
      .knex('timers')
      .where({ definition_id: v1.id })
      .update({ state: 'scheduled', due_at: db.knex.fn.now(), cycle: 'R/PT0S' });
    engine = createEngine({ db: db.knex, worker: FAST_WORKER });
    const retired = async () =>
      (await db.knex('timers').where({ definition_id: v1.id, state: 'scheduled' })).length === 0;
    await waitFor(retired, 30_000, 'the v1 timer to be retired');
    const [instances] = await db.knex('process_instances').count<{ count: string }[]>('* as count');
    assert.equal(Number(instances!.count), 0, 'no instance of v1');
    const states = await db.knex('timers').where({ definition_id: v1.id }).pluck('state');
    assert.deepEqual(states, ['cancelled']);
    const v2Timers = await db
      .knex('timers as t')
      .join('process_definitions as d', 'd.id', 't.definition_id')
      .where({ 'd.version': 2, 't.state': 'scheduled' });
    assert.equal(v2Timers.length, 1);
  });
});

describe('the timer start rate per process', () => {
  let db: TestDatabase;
  let engine: PostgresEngine;
  // Low enough that even a busy machine fires the 1 ms cycle faster than this.
  const RATE = 2;
  const BURST = 2;
  before(async () => {
    db = await createTestDatabase();
    const timerLimits = { minCycleIntervalMs: 1, startsPerSecond: RATE, startBurst: BURST };
    engine = createEngine({ db: db.knex, worker: FAST_WORKER, timerLimits });
  });
  after(async () => {
    await engine?.close();
    await db?.drop();
  });

  it('a 1 ms cycle starts no more than burst + rate x elapsed instances; its timer is delayed, not dropped', async () => {
    const started = Date.now();
    await engine.deploy([{ name: 'flood.bpmn', xml: startTimerProcess('flood', 'R/PT0.001S') }]);
    await waitFor(async () => (engine.startRate.delayed().get('flood') ?? 0) >= 5, 60_000, 'the limit to delay starts');
    const [row] = await db
      .knex('process_instances')
      .where({ bpmn_process_id: 'flood' })
      .count<{ count: string }[]>('* as count');
    const elapsedS = (Date.now() - started) / 1000;
    const count = Number(row!.count);
    assert.ok(count >= BURST, `the burst went through (${count})`);
    assert.ok(
      count <= BURST + RATE * elapsedS + 1,
      `${count} instances in ${elapsedS.toFixed(1)} s at ${RATE}/s, burst ${BURST}`,
    );
    const scheduled = await db.knex('timers').whereNull('process_instance_id').where({ state: 'scheduled' });
    assert.equal(scheduled.length, 1, 'the timer is still scheduled');
    assert.equal(scheduled[0].cycle, 'R/PT0.001S');
    const app = await buildApp({
      engine,
      db: db.knex,
      defaultMetrics: false,
      notifications: engine.notifications,
      apiToken: 'op_timer_test',
    });
    try {
      const metrics = await app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: 'Bearer op_timer_test' },
      });
      const delayed = Number(/^operon_timer_starts_delayed_total (\d+)$/m.exec(metrics.body)?.[1]);
      assert.ok(delayed >= 5, `operon_timer_starts_delayed_total counts the delayed starts (${delayed})`);
    } finally {
      await app.close();
    }
  });
});
