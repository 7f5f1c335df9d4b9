/**
 * Scheduling fairness on PostgreSQL: a burst of slow bot jobs fills only the bot pool; a `noop` job
 * started behind them is claimed and completed by its own pool while every bot slot is still taken
 * and bot jobs still queue. Also what GET /metrics shows meanwhile.
 *
 * The bot stand-in is a node type in the `bot` pool (like the real bot node) that holds its slot
 * until the test lets it go, so the assertions are about order, never about wall-clock time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { NodeType } from '../../engine/nodes/types.ts';
import { buildApp } from '../../engine/http/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { FAST_WORKER, openEngine, waitFor, waitForState, type TestEngine } from './support/harness.ts';

const BOT_SLOTS = 2;
const BURST = 6;

function serviceTaskProcess(id: string, type: string): { name: string; xml: string } {
  return {
    name: `${id}.bpmn`,
    xml: `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs-${id}" targetNamespace="http://operon.test">
  <bpmn:process id="${id}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="work">
      <bpmn:extensionElements><zeebe:taskDefinition type="${type}" /></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>`,
  };
}

/** Runs in the bot pool and holds its slot until `release()`. */
let release: () => void = () => undefined;
let released = new Promise<void>((resolve) => (release = resolve));
let runningBots = 0;
let mostBotsAtOnce = 0;
let botsFinished = 0;
const slowBot: NodeType = {
  name: 'bot',
  pool: 'bot',
  async run(_input, ctx) {
    runningBots += 1;
    mostBotsAtOnce = Math.max(mostBotsAtOnce, runningBots);
    try {
      await new Promise<void>((resolve, reject) => {
        released.then(resolve);
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
      });
      botsFinished += 1;
      return { filled: true };
    } finally {
      runningBots -= 1;
    }
  },
};

let db: TestDatabase;
let current: TestEngine;
before(async () => {
  db = await createTestDatabase();
  // No `concurrency`: every pool but the bot pool keeps its default.
  const { concurrency: _ignored, ...worker } = FAST_WORKER;
  current = await openEngine(db.url, { extraNodes: [slowBot], worker: { ...worker, capacity: { bot: BOT_SLOTS } } });
  await current.engine.deploy([serviceTaskProcess('slow-form', 'bot:slow-form'), serviceTaskProcess('cheap', 'noop')]);
});
after(async () => {
  release();
  await current?.close();
  await db?.drop();
});

const readyBotJobs = async () =>
  Number(
    (
      await db.knex('jobs').where({ type: 'bot:slow-form', state: 'ready' }).count<{ count: string }[]>('* as count')
    )[0]!.count,
  );

describe('worker capacity', () => {
  it('a burst of slow bot jobs does not delay a noop job: it completes while bot slots are full and bots queue', async () => {
    const bots = [];
    for (let i = 0; i < BURST; i++) bots.push((await current.engine.startInstance('slow-form')).instanceId);
    await waitFor(async () => runningBots === BOT_SLOTS, 10_000, 'the bot pool to fill');
    assert.equal(await readyBotJobs(), BURST - BOT_SLOTS, 'the other bot jobs wait in the queue');

    const { instanceId } = await current.engine.startInstance('cheap');
    const cheap = await waitForState(current.engine, instanceId, 'completed');
    assert.deepEqual(
      cheap.elements.map((e) => [e.elementId, e.state]),
      [
        ['start', 'completed'],
        ['work', 'completed'],
        ['end', 'completed'],
      ],
    );
    assert.equal(botsFinished, 0, 'no bot job had finished when the noop job completed');
    assert.equal(runningBots, BOT_SLOTS, 'every bot slot was still taken');
    assert.equal(await readyBotJobs(), BURST - BOT_SLOTS, 'bot jobs still waited for a slot');
    const pools = Object.fromEntries(current.engine.workerPools().map((pool) => [pool.name, pool]));
    assert.equal(pools.bot?.busy, BOT_SLOTS);
    assert.equal(pools.bot?.capacity, BOT_SLOTS);
    assert.equal(pools.builtin?.claimed, 1, 'the builtin pool claimed the noop job');
    assert.equal(pools.builtin?.busy, 0);

    // Scraped over HTTP while the bots hold their slots.
    const app = await buildApp({
      engine: current.engine,
      db: current.knex,
      defaultMetrics: false,
      notifications: current.engine.notifications,
      apiToken: 'op_capacity_test',
    });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
        headers: { authorization: 'Bearer op_capacity_test' },
      });
      assert.equal(response.status, 200);
      const text = await response.text();
      const sample = (name: string) => Number(new RegExp(`^${name} ([\\d.e+-]+)$`, 'm').exec(text)?.[1]);
      assert.equal(sample('operon_worker_pool_capacity\\{pool="bot"\\}'), BOT_SLOTS);
      assert.equal(sample('operon_worker_pool_busy\\{pool="bot"\\}'), BOT_SLOTS);
      assert.equal(sample('operon_worker_pool_busy\\{pool="builtin"\\}'), 0);
      assert.equal(sample('operon_worker_pool_capacity\\{pool="builtin"\\}'), 16, 'the builtin default');
      assert.equal(sample('operon_worker_pool_claimed_total\\{pool="builtin"\\}'), 1);
      assert.equal(sample('operon_jobs_ready\\{type="bot:slow-form"\\}'), BURST - BOT_SLOTS);
      assert.ok(sample('operon_jobs_ready_oldest_seconds\\{type="bot:slow-form"\\}') >= 0);
      assert.ok(Number.isNaN(sample('operon_jobs_ready\\{type="noop"\\}')), 'no noop job waits');
    } finally {
      await app.close();
    }

    release();
    for (const id of bots) await waitForState(current.engine, id, 'completed', 20_000);
    assert.equal(botsFinished, BURST);
    assert.equal(mostBotsAtOnce, BOT_SLOTS, 'the bot pool never ran more than its slots');
  });

  it('a new burst after the release reuses the freed slots, again no more than the bot pool holds', async () => {
    released = new Promise<void>((resolve) => (release = resolve));
    mostBotsAtOnce = 0;
    const bots = [];
    for (let i = 0; i < 3; i++) bots.push((await current.engine.startInstance('slow-form')).instanceId);
    await waitFor(async () => runningBots === BOT_SLOTS, 10_000, 'the bot pool to fill again');
    const { instanceId } = await current.engine.startInstance('cheap');
    await waitForState(current.engine, instanceId, 'completed');
    assert.equal(runningBots, BOT_SLOTS);
    release();
    for (const id of bots) await waitForState(current.engine, id, 'completed', 20_000);
    assert.equal(mostBotsAtOnce, BOT_SLOTS);
  });
});
