/**
 * What every database-backed command needs: the connection (DATABASE_URL or the embedded server),
 * migrations applied, a logger, the node registry and an engine. `close()` releases all of it.
 */
import pino from 'pino';
import type { Knex } from 'knex';
import { createKnex, migrateLatest } from '../store/knex.ts';
import { openDatabase } from '../db/database.ts';
import { createEngine, type PostgresEngine } from '../engine.ts';
import type { WorkerOptions } from '../worker.ts';
import type { Logger } from '../nodes/types.ts';

export interface CliContext {
  url: string;
  db: Knex;
  engine: PostgresEngine;
  logger: Logger & pino.Logger;
  close(): Promise<void>;
}

export function createLogger(defaultLevel: string): pino.Logger {
  return pino({ level: process.env.LOG_LEVEL ?? defaultLevel, base: { service: 'operon' } }, pino.destination({ dest: 2, sync: true }));
}

export interface OpenContextOptions {
  logLevel: string;
  worker?: WorkerOptions | false;
  poolMax?: number;
  /** What the workers run besides noop/http/fail (`operon start`: decision node, bots). */
  nodes?: Record<string, unknown>;
}

export async function openContext(options: OpenContextOptions): Promise<CliContext> {
  const logger = createLogger(options.logLevel);
  const database = await openDatabase({ log: (line) => logger.debug({ postgres: line.trim() }) });
  const db = createKnex(database.url, { poolMax: options.poolMax ?? 10, applicationName: 'operon-cli' });
  try {
    const applied = await migrateLatest(db);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  } catch (error) {
    await db.destroy();
    await database.stop();
    throw error;
  }
  // Imported here so the node implementations (and whatever they load) stay out of commands that do not run them.
  const { createNodeRegistry } = await import('../../nodes/index.ts');
  const nodes = await createNodeRegistry((options.nodes ?? {}) as Parameters<typeof createNodeRegistry>[0]);
  const engine = createEngine({ db, nodes, logger, worker: options.worker ?? false });
  return {
    url: database.url,
    db,
    engine,
    logger,
    async close() {
      await engine.close();
      await nodes.close();
      await db.destroy();
      await database.stop();
    },
  };
}
