/**
 * Multi-host connection strings (docs/reliability.md#failover): split as libpq writes them, and a
 * host that does not answer or only reads is passed over for the one that accepts writes. Real
 * PostgreSQL (the shared test server); the failover itself: test/long/failover.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { createKnex, findReadWriteHost, splitHostList } from '../../engine/store/knex.ts';
import { isTransientDatabaseError } from '../../engine/store/transient-error.ts';
import { createTestDatabase } from '../support/db.ts';

/** A port nothing listens on: bound, then closed. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

describe('host lists', () => {
  it('splits a libpq multi-host string into single-host strings, dropping target_session_attrs', () => {
    assert.equal(splitHostList('postgres://u:p@db1:5432/operon'), undefined);
    assert.deepEqual(
      splitHostList('postgres://u:p@db1:5432,db2:5433/operon?target_session_attrs=read-write&sslmode=disable'),
      ['postgres://u:p@db1:5432/operon?sslmode=disable', 'postgres://u:p@db2:5433/operon?sslmode=disable'],
    );
    assert.deepEqual(splitHostList('postgresql://db1,db2/operon'), [
      'postgresql://db1/operon',
      'postgresql://db2/operon',
    ]);
  });

  it('passes over a host that refuses connections and uses the next one', { timeout: 120_000 }, async () => {
    const db = await createTestDatabase({ poolMax: 1 });
    const down = await closedPort();
    const url = new URL(db.url);
    const list = `postgres://${url.username}${url.password ? `:${url.password}` : ''}@127.0.0.1:${down},${url.host}${url.pathname}?target_session_attrs=read-write`;
    const knex = createKnex(list, { poolMax: 2 });
    try {
      const { rows } = await knex.raw('SELECT inet_server_port() AS port');
      assert.equal(Number(rows[0].port), Number(url.port || 5432));
      assert.equal(
        await findReadWriteHost(splitHostList(list)!, 2_000),
        `postgres://${url.username}${url.password ? `:${url.password}` : ''}@${url.host}${url.pathname}`,
      );
    } finally {
      await knex.destroy();
      await db.drop();
    }
  });

  it('no read-write host, and a write refused by a standby, count as the database being away', async () => {
    const down = await closedPort();
    const error = await findReadWriteHost([`postgres://postgres@127.0.0.1:${down}/x`], 1_000).catch(
      (caught: unknown) => caught,
    );
    assert.ok(isTransientDatabaseError(error), String(error));
    assert.ok(
      isTransientDatabaseError(
        Object.assign(new Error('cannot execute INSERT in a read-only transaction'), { code: '25006' }),
      ),
    );
  });
});
