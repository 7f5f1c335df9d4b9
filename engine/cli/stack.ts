/**
 * Everything `operon start` (and `operon demo`) brings up in one process: the demo applications,
 * the database with migrations, the shipped decision models and bots as nodes, the processes
 * deployed, their webhooks configured, the HTTP API (with the cockpit at /ui) and the workers.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openContext, type CliContext } from './context.ts';
import { deployFiles } from './commands/deploy.ts';
import { warmBpmnParser } from '../model/safe-parse.ts';
import type { WorkerOptions } from '../worker.ts';
import { composition, type DemoAppsServer } from './composition.ts';
import { OperonError } from '../errors.ts';

/** Processes whose webhooks `operon start` configures (open, or signed with OPERON_WEBHOOK_SECRET). */
export const SHIPPED_WEBHOOK_PROCESSES = ['loan-approval', 'order-routing'];

export interface StackOptions {
  port: number;
  host: string;
  /** Preferred port of the demo applications; a busy port falls back to a free one. */
  demoAppsPort: number;
  worker: WorkerOptions | false;
  deploy: boolean;
  /** Folder of .bpmn files; default: ./processes when it exists, else the shipped processes. */
  processesDir?: string;
  logLevel?: string;
  /** Bot runs at once (browser contexts); default the bot node's. */
  botConcurrency?: number;
}

export interface DeployedFile {
  file: string;
  processes: { bpmnProcessId: string; version: number }[];
  /** DMN decisions of a `.dmn` file. */
  decisions?: { decisionId: string; version: number }[];
  error?: string;
}

export interface Stack {
  context: CliContext;
  apiUrl: string;
  apiToken: string;
  /** True when the token was generated (shown once) rather than taken from OPERON_API_TOKEN. */
  tokenGenerated: boolean;
  demoAppsUrl?: string;
  deployed: DeployedFile[];
  /** `kept`: configured before this start (a previous start, or PUT .../webhook), left as it was. */
  webhooks: { bpmnProcessId: string; mode: 'open' | 'signed'; kept: boolean }[];
  close(): Promise<void>;
}

async function startDemoAppsIfShipped(
  port: number,
  context: { warn(message: string): void },
): Promise<DemoAppsServer | undefined> {
  const { startDemoApps } = composition();
  try {
    return await startDemoApps({ port });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') return startDemoApps({ port: 0 });
    context.warn(`demo applications not available: ${(error as Error).message}`);
    return undefined;
  }
}

/** The .bpmn and .dmn files to deploy: the folder given, else ./processes, else the composition's shipped ones. */
export async function processFiles(dir?: string): Promise<string[]> {
  const folder = dir
    ? resolve(dir)
    : existsSync(resolve('processes'))
      ? resolve('processes')
      : composition().processesDir;
  return (await readdir(folder).catch(() => [] as string[]))
    .filter((file) => file.endsWith('.bpmn') || file.endsWith('.dmn'))
    .sort()
    .map((file) => join(folder, file));
}

export async function startStack(options: StackOptions): Promise<Stack> {
  // The HTTP API's modules load while the database starts and the processes deploy.
  const httpApp = import('../http/app.ts');
  httpApp.catch(() => undefined);
  const warnings: string[] = [];
  const demoApps = await startDemoAppsIfShipped(options.demoAppsPort, { warn: (message) => warnings.push(message) });
  let context: CliContext;
  try {
    context = await openContext({
      logLevel: options.logLevel ?? 'info',
      worker: options.worker,
      shippedNodes: { ...(demoApps ? { demoAppsUrl: demoApps.baseUrl } : {}), botConcurrency: options.botConcurrency },
    });
  } catch (error) {
    await demoApps?.close();
    throw error;
  }
  for (const warning of warnings) context.logger.warn(warning);
  try {
    const deployed: DeployedFile[] = [];
    if (options.deploy) {
      // One deployment per file: a broken file is reported and skipped, the others still run. The files
      // deploy at once, so their decision models load side by side (a deployment of one process id
      // waits for another's, see insertDefinition); `deployed` keeps the files' order.
      const files = await processFiles(options.processesDir);
      const results = await Promise.all(
        files.map(async (path): Promise<DeployedFile> => {
          const file = path.split('/').pop()!;
          try {
            const result = await deployFiles(context.engine, [path]);
            context.logger.info(
              { file, processes: result.processes, decisions: result.decisions, warnings: result.warnings },
              'deployed',
            );
            return {
              file,
              processes: result.processes.map((p) => ({ bpmnProcessId: p.bpmnProcessId, version: p.version })),
              decisions: result.decisions.map((d) => ({ decisionId: d.decisionId, version: d.version })),
            };
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            context.logger.error({ file, err: error }, `could not deploy ${file}`);
            process.stderr.write(`error: ${file} was not deployed: ${message}\n`);
            return { file, processes: [], error: message };
          }
        }),
      );
      deployed.push(...results);
    }
    const webhooks = await configureWebhooks(context, deployed);
    const tokenGenerated = !process.env.OPERON_API_TOKEN;
    const apiToken = process.env.OPERON_API_TOKEN ?? `op_${randomBytes(24).toString('base64url')}`;
    const { buildApp } = await httpApp;
    const app = await buildApp({
      engine: context.engine,
      db: context.db,
      logger: context.logger as never,
      apiToken,
      notifications: context.engine.notifications,
    });
    await app.listen({ port: options.port, host: options.host }).catch(async (error: NodeJS.ErrnoException) => {
      await app.close();
      if (error.code !== 'EADDRINUSE') throw error;
      throw new OperonError(
        'OPERON_ERR_PORT_IN_USE',
        `Port ${options.port} (${options.host}) is in use by another process: start with --port <another> or PORT=<another>`,
        { details: { host: options.host, port: options.port } },
      );
    });
    // The thread large uploads are parsed in starts now, not on the first such upload.
    warmBpmnParser();
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    const apiUrl = `http://${options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host}:${port}`;
    context.logger.info({ address: apiUrl }, 'HTTP API listening');
    return {
      context,
      apiUrl,
      apiToken,
      tokenGenerated,
      demoAppsUrl: demoApps?.baseUrl,
      deployed,
      webhooks,
      async close() {
        await app.close();
        await context.close();
        await demoApps?.close();
      },
    };
  } catch (error) {
    await context.close();
    await demoApps?.close();
    throw error;
  }
}

/**
 * The shipped processes' webhooks: a configuration someone made (PUT .../webhook) is kept; otherwise
 * signed with OPERON_WEBHOOK_SECRET when set, else open so the printed curl works as pasted.
 */
export async function configureWebhooks(
  context: Pick<CliContext, 'db'>,
  deployed: DeployedFile[],
): Promise<Stack['webhooks']> {
  const { loadWebhookConfig, saveWebhookConfig } = await import('../http/webhook-config.ts');
  const ids = new Set(deployed.flatMap((d) => d.processes.map((p) => p.bpmnProcessId)));
  const secret = process.env.OPERON_WEBHOOK_SECRET;
  const result: Stack['webhooks'] = [];
  for (const bpmnProcessId of SHIPPED_WEBHOOK_PROCESSES.filter((id) => ids.has(id))) {
    const configured = await loadWebhookConfig(context.db, bpmnProcessId);
    if (configured) {
      result.push({ bpmnProcessId, mode: configured.mode, kept: true });
      continue;
    }
    await saveWebhookConfig(
      context.db,
      bpmnProcessId,
      secret ? { mode: 'signed', secrets: [secret] } : { mode: 'open' },
    );
    result.push({ bpmnProcessId, mode: secret ? 'signed' : 'open', kept: false });
  }
  return result;
}

/** A realistic loan application for the printed curl and the README. */
export const SAMPLE_APPLICATION = {
  applicationId: 'APP-2026-0001',
  applicantId: 'AP-10004',
  applicantName: 'Thomas Müller',
  income: 72000,
  amount: 15000,
  termMonths: 48,
  employment: 'permanent',
  purpose: 'a new kitchen for our flat',
};
