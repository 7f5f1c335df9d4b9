/**
 * Store tests run against a real PostgreSQL: one fresh database per test file, cloned from a
 * migrated template (graphile-worker style), dropped at the end.
 *
 * The server is TEST_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres.
 */
import type { Knex } from 'knex';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { createKnex, migrateLatest } from '../../engine/store/knex.ts';

export const ADMIN_URL =
  process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function urlFor(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Runs `fn` on a connection to the server's maintenance database. */
export async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  knex: Knex;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** A new, fully migrated database for one test file. */
export async function createTestDatabase(options: { poolMax?: number } = {}): Promise<TestDatabase> {
  const name = `operon_test_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = urlFor(name);
  const knex = createKnex(url, { poolMax: options.poolMax ?? 5, applicationName: 'operon-test' });
  await migrateLatest(knex);
  return {
    name,
    url,
    knex,
    async drop() {
      await knex.destroy();
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
