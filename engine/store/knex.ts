import { ensureHistoryPartitions, historyPartitionNames } from './history-partitions.ts';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { basename, join } from 'node:path';
import { existsSync } from 'node:fs';

/** migrations/ at the repository root: numbered files `000001_name.ts`, never edited after they land. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
const COMPILED_MIGRATIONS_DIR = fileURLToPath(new URL('../../dist/migrations/', import.meta.url));

export interface CreateKnexOptions {
  /** Pool size; a worker needs a few connections, tests one or two. */
  poolMax?: number;
  applicationName?: string;
}

/**
 * Planner cost of a random page read on the engine's own connections. PostgreSQL's default (4)
 * assumes spinning disks; with it, the engine's batch statements (a few dozen rows joined by key
 * against jsonb record sets) were planned as sequential scans until the runtime tables held tens of
 * thousands of rows, which cost a batch more the longer a fresh database ran (bench:engine: 8.4 ->
 * 7.7 ms per batch of 32 completions). 1.1 is the usual value for SSDs and data in memory. Set per
 * session (not as a startup parameter, which PgBouncer refuses); other clients keep the server's value.
 */
const RANDOM_PAGE_COST = '1.1';

/** OPERON_DB_CONNECT_TIMEOUT_MS, default 10 s. */
function connectTimeoutMs(): number {
  return Number(process.env.OPERON_DB_CONNECT_TIMEOUT_MS) || 10_000;
}

/**
 * The hosts of a multi-host connection string (`postgres://user@h1:5432,h2:5432/db?...`, libpq's
 * form), each as a single-host connection string in the order given; undefined for a single host.
 * node-postgres (its URL parser is WHATWG `URL`) rejects the multi-host form, so it is split here.
 * `target_session_attrs` is dropped from each: with several hosts the engine always looks for the
 * read-write one (it writes), whatever the parameter says.
 */
export function splitHostList(connectionString: string): string[] | undefined {
  const match = /^(postgres(?:ql)?:\/\/)([^@/?]*@)?([^/?]*)(.*)$/.exec(connectionString);
  if (!match || !match[3]!.includes(',')) return undefined;
  const [, scheme, auth = '', hostPart, rest] = match;
  const [path, query = ''] = rest!.split('?', 2) as [string, string?];
  const params = query.split('&').filter((param) => param !== '' && !/^target_session_attrs=/.test(param));
  const tail = path + (params.length > 0 ? `?${params.join('&')}` : '');
  return hostPart!
    .split(',')
    .filter((host) => host !== '')
    .map((host) => `${scheme}${auth}${host}${tail}`);
}

/**
 * The first host of `hosts` that accepts writes (`SHOW transaction_read_only` is `off`), tried in
 * order with a short connect timeout. A standby (or a promoted standby's old primary brought back
 * as one) answers `on` and is skipped. Throws a connection-class error (SQLSTATE 08001) when none
 * does, which the engine treats as the database being unavailable (503 + Retry-After, retried).
 */
export async function findReadWriteHost(hosts: string[], timeoutMs: number): Promise<string> {
  const failures: string[] = [];
  for (const host of hosts) {
    const client = new pg.Client({
      connectionString: host,
      application_name: 'operon-host-check',
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
      if (rows[0]?.transaction_read_only === 'off') return host;
      failures.push(`${hostLabel(host)}: read-only`);
    } catch (error) {
      failures.push(`${hostLabel(host)}: ${(error as Error).message}`);
    } finally {
      client.end().catch(() => undefined);
    }
  }
  throw Object.assign(new Error(`no read-write PostgreSQL host among ${hosts.length} (${failures.join('; ')})`), {
    code: '08001',
  });
}

function hostLabel(connectionString: string): string {
  return /@([^/?]*)/.exec(connectionString)?.[1] ?? /\/\/([^/?]*)/.exec(connectionString)?.[1] ?? '?';
}

/** The pg dialect's internals that a host list replaces (knex 3: client.js, dialects/postgres). */
interface PgDialectClient {
  connectionSettings: pg.ClientConfig;
  _acquireOnlyConnection(): Promise<pg.Client>;
}

/**
 * With a host list, each new connection (pool or LISTEN) walks the hosts as libpq does with
 * `target_session_attrs=read-write`: the host that answered last first, then the others in order;
 * connect, `SHOW transaction_read_only`, keep the first that says `off`. Once the primary is gone
 * and a standby promoted, connections to the old primary die and the new ones find the new
 * primary; no engine process restarts. knex's `connection` is a provider that finds the read-write
 * host too, so that the availability probe and the migration lock (which read it) follow it.
 */
function useHostList(knex: Knex, hosts: string[], base: pg.ClientConfig): void {
  const client = knex.client as unknown as PgDialectClient;
  const connectOne = client._acquireOnlyConnection.bind(client);
  let preferred = hosts[0]!;
  client._acquireOnlyConnection = async () => {
    const failures: string[] = [];
    for (const host of [preferred, ...hosts.filter((other) => other !== preferred)]) {
      // connectOne reads connectionSettings synchronously, before its first await.
      client.connectionSettings = { ...base, connectionString: host };
      let connection: pg.Client | undefined;
      try {
        connection = await connectOne();
        const { rows } = await connection.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
        if (rows[0]?.transaction_read_only === 'off') {
          preferred = host;
          return connection;
        }
        failures.push(`${hostLabel(host)}: read-only`);
      } catch (error) {
        failures.push(`${hostLabel(host)}: ${(error as Error).message}`);
      }
      connection?.end().catch(() => undefined);
    }
    throw Object.assign(new Error(`no read-write PostgreSQL host among ${hosts.length} (${failures.join('; ')})`), {
      code: '08001',
    });
  };
}

/** A knex instance over node-postgres for the given connection string (one host, or a libpq-style host list). */
export function createKnex(connectionString: string, options: CreateKnexOptions = {}): Knex {
  const hosts = splitHostList(connectionString);
  const base: pg.ClientConfig = {
    application_name: options.applicationName ?? 'operon',
    connectionTimeoutMillis: connectTimeoutMs(),
  };
  const knex = knexFactory({
    client: 'pg',
    // A server that does not answer at all (a network cut, not a refused connection) fails a new
    // connection after this long instead of the OS's minutes; requests meanwhile get 503 from the
    // availability probe (engine/store/database-availability.ts).
    connection: hosts
      ? ((async () => ({
          ...base,
          connectionString: await findReadWriteHost(hosts, Math.min(connectTimeoutMs(), 2_000)),
        })) as Knex.AsyncConnectionConfigProvider)
      : ({ ...base, connectionString } as Knex.StaticConnectionConfig),
    pool: {
      min: 0,
      max: options.poolMax ?? 10,
      afterCreate: (
        connection: { query: (sql: string, done: (error?: Error) => void) => void },
        done: (error: Error | undefined, connection: unknown) => void,
      ) => {
        connection.query(`SET random_page_cost = ${RANDOM_PAGE_COST}`, (error) => done(error, connection));
      },
    },
    // Migrations are loaded through our own source so .ts files work under tsx without knex's loader.
    migrations: { migrationSource: new DirectoryMigrationSource(MIGRATIONS_DIR), tableName: 'knex_migrations' },
  });
  if (hosts) useHostList(knex, hosts, base);
  return knex;
}

interface MigrationModule {
  up(knex: Knex): Promise<void>;
  down?(knex: Knex): Promise<void>;
}

/** Lists `migrations/*.ts` in file-name order and imports each one. */
class DirectoryMigrationSource implements Knex.MigrationSource<string> {
  constructor(private readonly directory: string) {}

  async getMigrations(): Promise<string[]> {
    const files = await readdir(this.directory);
    return files.filter((file) => /^\d{6}_[\w-]+\.ts$/.test(file)).sort();
  }

  getMigrationName(migration: string): string {
    return migration;
  }

  async getMigration(migration: string): Promise<Knex.Migration> {
    const module = await importMigration(join(this.directory, migration));
    return { up: module.up, down: module.down ?? (async () => undefined) };
  }
}

/**
 * The compiled CLI (dist/, bin/build.mjs) runs without a TypeScript loader: there a migration is
 * imported from dist/migrations/ (same name, .js), else through tsx registered on demand.
 */
async function importMigration(file: string): Promise<MigrationModule> {
  try {
    return (await import(pathToFileURL(file).href)) as MigrationModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
  }
  const compiled = join(COMPILED_MIGRATIONS_DIR, `${basename(file, '.ts')}.js`);
  if (existsSync(compiled)) return (await import(pathToFileURL(compiled).href)) as MigrationModule;
  const { register } = await import('tsx/esm/api');
  register();
  return (await import(pathToFileURL(file).href)) as MigrationModule;
}

/** The session-level advisory lock that orders migrations across processes. */
const MIGRATION_LOCK = 'operon:migrations';

/**
 * Applies every pending migration. Safe to run twice and from several processes at once, on an empty
 * database too: knex's own lock table is created by the first migration run, so two processes
 * creating it together collide (`duplicate key ... pg_type_typname_nsp_index`). An advisory lock,
 * held on a connection of its own for the whole run, lets one process migrate while the others wait
 * and then find nothing to do.
 */
export async function migrateLatest(knex: Knex): Promise<string[]> {
  if (await atLatest(knex)) return [];
  const locker = knexFactory({ client: 'pg', connection: knex.client.config.connection, pool: { min: 1, max: 1 } });
  try {
    return await withSessionLock(locker, async () => {
      const [, applied] = (await knex.migrate.latest()) as [number, string[]];
      // Partitions for this month and the next exist before any worker runs, so a worker's hourly check
      // only does DDL (which locks `history`) at the turn of a month.
      await ensureHistoryPartitions(knex, new Date());
      return applied;
    });
  } finally {
    await locker.destroy();
  }
}

/**
 * Whether there is nothing for migrateLatest to do, in one query without a lock (what a restarted
 * process and every CLI command find): each migration of the source applied and no other, and the
 * history partitions of this month and the next there. False when unsure, e.g. on an empty database.
 */
async function atLatest(knex: Knex): Promise<boolean> {
  const config = knex.client.config.migrations as Knex.MigratorConfig | undefined;
  const source = config?.migrationSource as Knex.MigrationSource<unknown> | undefined;
  if (!source) return false;
  try {
    const names = (await source.getMigrations([])).map((migration) => source.getMigrationName(migration));
    const partitions = historyPartitionNames(new Date());
    const { rows } = await knex.raw<{ rows: { known: number; total: number; partitions: number }[] }>(
      `SELECT count(*) FILTER (WHERE name = ANY(?))::int AS known, count(*)::int AS total,
              (SELECT count(*)::int FROM unnest(?::text[]) AS p(name) WHERE to_regclass(p.name) IS NOT NULL) AS partitions
         FROM ??`,
      [names, partitions, config?.tableName ?? 'knex_migrations'],
    );
    const found = rows[0]!;
    return found.known === names.length && found.total === names.length && found.partitions === partitions.length;
  } catch {
    return false;
  }
}

async function withSessionLock<T>(locker: Knex, run: () => Promise<T>): Promise<T> {
  // The locker's pool holds exactly one connection, so lock and unlock happen on the same session.
  await locker.raw('SELECT pg_advisory_lock(hashtext(?))', [MIGRATION_LOCK]);
  try {
    return await run();
  } finally {
    await locker.raw('SELECT pg_advisory_unlock(hashtext(?))', [MIGRATION_LOCK]);
  }
}
