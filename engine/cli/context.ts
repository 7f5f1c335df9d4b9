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
import { composition } from './composition.ts';
import { startTracing } from '../telemetry/setup.ts';

export interface CliContext {
  url: string;
  db: Knex;
  engine: PostgresEngine;
  logger: Logger & pino.Logger;
  close(): Promise<void>;
}

export function createLogger(defaultLevel: string): pino.Logger {
  return pino(
    { level: process.env.LOG_LEVEL ?? defaultLevel, base: { service: 'operon' } },
    pino.destination({ dest: 2, sync: true }),
  );
}

export interface OpenContextOptions {
  logLevel: string;
  worker?: WorkerOptions | false;
  poolMax?: number;
  /**
   * The decision models and the shipped bots, the bots pointed at `demoAppsUrl` (default
   * DEMO_APPS_URL, else the demo apps' default http://127.0.0.1:3100). Also what deployments of
   * `bot:`/`decision:` tasks are checked against.
   */
  shippedNodes?: boolean | { demoAppsUrl?: string; botConcurrency?: number };
  /** How `decision:` tasks are checked at deployment (DecisionNodeOptions.deployCheck); default `load`. */
  decisionDeployCheck?: 'load' | 'files';
}

/** The default address of the demo applications (`operon start` serves them there). */
export const DEFAULT_DEMO_APPS_URL = 'http://127.0.0.1:3100';

function shippedNodeOptions(
  option: OpenContextOptions['shippedNodes'],
): { demoAppsUrl: string; botConcurrency?: number } | undefined {
  if (!option) return undefined;
  const demoAppsUrl =
    (option === true ? undefined : option.demoAppsUrl) ?? process.env.DEMO_APPS_URL ?? DEFAULT_DEMO_APPS_URL;
  const botConcurrency = option === true ? undefined : option.botConcurrency;
  return { demoAppsUrl, ...(botConcurrency ? { botConcurrency } : {}) };
}

export async function openContext(options: OpenContextOptions): Promise<CliContext> {
  const logger = createLogger(options.logLevel);
  // OTLP export when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set (docs/observability.md); nothing loaded otherwise.
  const tracing = await startTracing();
  if (tracing) logger.info({ url: tracing.url }, 'exporting traces over OTLP/HTTP');
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
  // The composition root (app/composition.ts) chooses the node implementations.
  const nodes = await composition().nodes({
    db,
    shipped: shippedNodeOptions(options.shippedNodes),
    ...(options.decisionDeployCheck ? { decisionDeployCheck: options.decisionDeployCheck } : {}),
  });
  const engine = createEngine({ db, nodes, logger, worker: options.worker ?? false });
  return {
    url: database.url,
    db,
    engine,
    logger,
    async close() {
      await engine.close();
      await nodes.close();
      await tracing?.shutdown().catch((error) => logger.warn({ err: error }, 'could not export the last spans'));
      await db.destroy();
      await database.stop();
    },
  };
}
