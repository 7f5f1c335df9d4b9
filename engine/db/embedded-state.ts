/**
 * What is known about the embedded PostgreSQL under `.operon/` without starting or connecting to it:
 * its connection settings (`.operon/embedded-postgres.json`, written when it is first set up) and
 * whether its server runs (`.operon/pg/postmaster.pid`, which PostgreSQL writes while it runs: the
 * postmaster's pid on the first line, its port on the fourth). Only node built-ins are loaded here,
 * so `operon db-url` answers in the time node takes to start.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export interface EmbeddedConfig {
  port: number;
  user: string;
  password: string;
  database: string;
}

export const DEFAULT_DIR = '.operon';

export function configPath(dir: string): string {
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

/** Settings for a database not set up yet: a random password; port 0 means "pick a free one". */
export function newEmbeddedConfig(): EmbeddedConfig {
  return { port: 0, user: 'postgres', password: randomBytes(12).toString('hex'), database: 'operon' };
}

export async function writeEmbeddedConfig(dir: string, config: EmbeddedConfig): Promise<void> {
  await mkdir(resolve(dir), { recursive: true });
  await writeFile(configPath(resolve(dir)), JSON.stringify(config, null, 2), { mode: 0o600 });
}

/** A port nothing listens on right now (the kernel's choice). */
export function freePort(): Promise<number> {
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

export interface EmbeddedServer {
  pid: number;
  port: number;
}

/**
 * The embedded server running on the data directory `dir/pg`, from its postmaster.pid: undefined
 * when there is none, or its process is gone (a server that was killed leaves the file behind), or
 * the pid now belongs to a process that is not PostgreSQL (after a reboot or a container restart
 * the old pid is often someone else's; where /proc cannot tell, such a pid counts as running).
 */
export async function runningEmbeddedServer(dir = DEFAULT_DIR): Promise<EmbeddedServer | undefined> {
  let lines: string[];
  try {
    lines = (await readFile(join(resolve(dir), 'pg', 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || !processAlive(pid)) return undefined;
  const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  if (command !== undefined && !/postgres/.test(command.split('\0')[0] ?? '')) return undefined;
  return { pid, port };
}

/** Whether a process with this pid exists (EPERM: it does, but it is another user's, as the server is when operon runs as root). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
