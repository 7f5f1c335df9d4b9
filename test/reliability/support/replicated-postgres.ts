/**
 * A private primary with a synchronous streaming standby, for the failover test (the shared server
 * on 5432 is never touched): Debian's PostgreSQL binaries (PG_BIN, default
 * /usr/lib/postgresql/15/bin), both data directories under one temp folder, each server on a free
 * port. The primary names the standby in `synchronous_standby_names` with `synchronous_commit = on`,
 * so a commit returns only once the standby has flushed its WAL: a 2xx answered before the failover
 * is on the standby after it. PostgreSQL refuses to run as root; as root the servers run as the
 * `postgres` user (runuser).
 */
import { execFile } from 'node:child_process';
import { appendFile, chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { createKnex, migrateLatest } from '../../../engine/store/knex.ts';
import { freePort } from '../../support/operon-server.ts';

const run = promisify(execFile);
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const STANDBY_NAME = 'operon_standby';

export interface ReplicatedPostgres {
  /** Multi-host connection string: primary first, then the standby. */
  url: string;
  /** Single-host connection strings. */
  primaryUrl: string;
  standbyUrl: string;
  /** Immediate shutdown of the primary (`pg_ctl stop -m immediate`): every backend dies at once. */
  crashPrimary(): Promise<void>;
  /** `pg_ctl promote -w` on the standby: resolves once it accepts writes. */
  promoteStandby(): Promise<void>;
  /** Stops both servers and removes the folder. */
  destroy(): Promise<void>;
}

/** A PostgreSQL binary, as the postgres user when this process is root. */
async function pgTool(tool: string, args: string[]): Promise<string> {
  const [file, argv] =
    userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', join(BIN, tool), ...args]] : [join(BIN, tool), args];
  const { stdout } = await run(file, argv, { timeout: 180_000 });
  return stdout;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number, label: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function startReplicatedPostgres(): Promise<ReplicatedPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'operon-failover-pg-'));
  if (userInfo().uid === 0) await run('chown', ['postgres:postgres', dir]);
  await chmod(dir, 0o711);
  const primaryDir = join(dir, 'primary');
  const standbyDir = join(dir, 'standby');
  const [primaryPort, standbyPort] = [await freePort(), await freePort()];
  const running = new Set<string>();
  const start = async (dataDir: string) => {
    await pgTool('pg_ctl', [
      '-D',
      dataDir,
      '-l',
      join(dir, `${dataDir === primaryDir ? 'primary' : 'standby'}.log`),
      '-w',
      '-t',
      '120',
      'start',
    ]);
    running.add(dataDir);
  };
  const stop = async (dataDir: string, mode: 'fast' | 'immediate') => {
    if (!running.delete(dataDir)) return;
    await pgTool('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '120', 'stop']);
  };
  try {
    await pgTool('initdb', ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '--no-sync']);
    // initdb's pg_hba.conf trusts replication connections from 127.0.0.1 already.
    await appendFile(
      join(primaryDir, 'postgresql.conf'),
      [
        `port = ${primaryPort}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${dir}'`,
        'max_connections = 80',
        'shared_buffers = 32MB',
        'wal_level = replica',
        'max_wal_senders = 5',
        'hot_standby = on',
        // The setting under test: a commit waits for the standby's flush (docs/reliability.md, Failover).
        'synchronous_commit = on',
        `synchronous_standby_names = '${STANDBY_NAME}'`,
        '',
      ].join('\n'),
    );
    await start(primaryDir);
    await pgTool('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(primaryPort),
      '-U',
      'postgres',
      '-D',
      standbyDir,
      '-X',
      'stream',
      '-R',
    ]);
    // Later lines of postgresql.auto.conf win: the standby's own port, the name the primary waits
    // for, and no synchronous standby of its own. The base backup copied the primary's
    // synchronous_standby_names; once promoted, with no standby behind it, every commit would wait
    // for one forever (requests hang, the start queue fills: seen in the first run of this test).
    await appendFile(
      join(standbyDir, 'postgresql.auto.conf'),
      `port = ${standbyPort}\nprimary_conninfo = 'host=127.0.0.1 port=${primaryPort} user=postgres application_name=${STANDBY_NAME}'\nsynchronous_standby_names = ''\n`,
    );
    await start(standbyDir);
    const primaryAdmin = `postgres://postgres@127.0.0.1:${primaryPort}/postgres`;
    await until(
      async () =>
        (
          await query<{ sync_state: string }>(
            primaryAdmin,
            `SELECT sync_state FROM pg_stat_replication WHERE application_name = '${STANDBY_NAME}'`,
          )
        )[0]?.sync_state === 'sync',
      120_000,
      'the standby to stream synchronously',
    );
    await query(primaryAdmin, 'CREATE DATABASE operon');
    const primaryUrl = `postgres://postgres@127.0.0.1:${primaryPort}/operon`;
    const knex = createKnex(primaryUrl, { poolMax: 1 });
    try {
      await migrateLatest(knex);
    } finally {
      await knex.destroy();
    }
    return {
      url: `postgres://postgres@127.0.0.1:${primaryPort},127.0.0.1:${standbyPort}/operon?target_session_attrs=read-write`,
      primaryUrl,
      standbyUrl: `postgres://postgres@127.0.0.1:${standbyPort}/operon`,
      crashPrimary: () => stop(primaryDir, 'immediate'),
      async promoteStandby() {
        await pgTool('pg_ctl', ['-D', standbyDir, '-w', '-t', '120', 'promote']);
      },
      async destroy() {
        await stop(standbyDir, 'immediate').catch(() => undefined);
        await stop(primaryDir, 'immediate').catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stop(standbyDir, 'immediate').catch(() => undefined);
    await stop(primaryDir, 'immediate').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
