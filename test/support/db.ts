/**
 * Store tests run against a real PostgreSQL: one fresh database per test file, cloned from a
 * migrated template (graphile-worker style), dropped at the end.
 *
 * The server is TEST_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres.
 */
import type { Knex } from 'knex';
import pg from 'pg';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createKnex, MIGRATIONS_DIR, migrateLatest } from '../../engine/store/knex.ts';

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

/**
 * The migrated template's name: it changes with every migration file's name and content, so a
 * server keeps one template per schema and a changed migration gets a new one.
 */
function templateName(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(MIGRATIONS_DIR).sort()) {
    hash.update(file).update(readFileSync(join(MIGRATIONS_DIR, file)));
  }
  return `operon_test_template_${hash.digest('hex').slice(0, 16)}`;
}

/** Serializes template building and cloning across test processes (a clone needs a template nobody is connected to). */
const TEMPLATE_LOCK = 72_360_016;

/**
 * A database migrated by `migrateLatest` and marked a template, built once per schema; a failed
 * build leaves nothing under the template's name (it is renamed only once migrated).
 */
async function ensureTemplate(client: pg.Client, template: string): Promise<void> {
  const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
  if (found.rowCount) return;
  const building = `${template}_building`;
  await client.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
  await client.query(`CREATE DATABASE ${building}`);
  const knex = createKnex(urlFor(building), { poolMax: 2, applicationName: 'operon-test-template' });
  try {
    await migrateLatest(knex);
  } finally {
    await knex.destroy();
  }
  await client.query(`ALTER DATABASE ${building} RENAME TO ${template}`);
  await client.query(`ALTER DATABASE ${template} WITH IS_TEMPLATE true`);
}

/** A new, fully migrated database for one test file: a clone of the migrated template. */
export async function createTestDatabase(options: { poolMax?: number } = {}): Promise<TestDatabase> {
  const name = `operon_test_${randomBytes(6).toString('hex')}`;
  const template = templateName();
  await admin(async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
    try {
      await ensureTemplate(client, template);
      await client.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
    }
  });
  const url = urlFor(name);
  const knex = createKnex(url, { poolMax: options.poolMax ?? 5, applicationName: 'operon-test' });
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
