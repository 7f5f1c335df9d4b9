/**
 * Shared body of the message-race tests: `runs` times, an instance reaches a message catch event
 * (opening its subscription) at the same moment as its message is published with a time to live.
 * Every message must be correlated exactly once and every instance must complete: a message that
 * arrives while its subscription is being opened is buffered, never lost.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createTestDatabase } from '../support/db.ts';
import { openEngine, waitFor } from '../engine/support/harness.ts';

export async function messageRace(
  runs: number,
  parallel = 10,
): Promise<{ runs: number; correlatedAtPublish: number; buffered: number }> {
  const db = await createTestDatabase();
  const { engine, close } = await openEngine(db.url, { worker: false });
  try {
    await engine.deploy([
      {
        name: 'await-message.bpmn',
        xml: readFileSync(new URL('./fixtures/await-message.bpmn', import.meta.url), 'utf8'),
      },
    ]);
    let correlatedAtPublish = 0;
    const instanceIds: string[] = [];
    for (let batch = 0; batch < runs; batch += parallel) {
      const size = Math.min(parallel, runs - batch);
      await Promise.all(
        Array.from({ length: size }, async (_, k) => {
          const orderId = `order-${batch + k}`;
          const [started, published] = await Promise.all([
            engine.startInstance('await-message', { orderId }),
            engine.publishMessage({
              name: 'paid',
              correlationKey: orderId,
              variables: { paidFor: orderId },
              timeToLiveMs: 60_000,
            }),
          ]);
          instanceIds.push(started.instanceId);
          if (published.correlated) correlatedAtPublish++;
        }),
      );
    }
    const completed = await waitFor(
      async () => {
        const rows = await db
          .knex('process_instances')
          .whereIn('id', instanceIds)
          .andWhere({ state: 'completed' })
          .count<{ count: string }[]>('* as count');
        return Number(rows[0]!.count) === runs ? runs : undefined;
      },
      20_000,
      `all ${runs} instances to complete`,
    ).catch(async () => {
      const stuck = await db
        .knex('process_instances')
        .whereIn('id', instanceIds)
        .andWhereNot({ state: 'completed' })
        .count<{ count: string }[]>('* as count');
      const buffered = await db.knex('messages').where({ state: 'buffered' }).count<{ count: string }[]>('* as count');
      assert.fail(
        `${stuck[0]!.count} of ${runs} instances never got their message; ${buffered[0]!.count} messages left buffered with an open subscription`,
      );
    });
    assert.equal(completed, runs);
    const messages = await db
      .knex('messages')
      .select('state')
      .count<{ state: string; count: string }[]>('* as count')
      .groupBy('state');
    const byState = Object.fromEntries(messages.map((m) => [m.state, Number(m.count)]));
    assert.equal(byState.buffered ?? 0, 0, 'no message is left buffered');
    // Each instance took exactly one message: its variables carry its own order id.
    const variables = await db.knex('process_instances').whereIn('id', instanceIds).select('variables');
    for (const row of variables) assert.equal(row.variables.paidFor, row.variables.orderId);
    return { runs, correlatedAtPublish, buffered: byState.correlated ?? 0 };
  } finally {
    await close();
    await db.drop();
  }
}
