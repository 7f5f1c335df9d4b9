import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openContext, type CliContext } from '../context.ts';
import { numberFlag, type ParsedArgs } from '../args.ts';
import { deployFiles } from './deploy.ts';
import { untilSignal } from '../signals.ts';

async function listen(context: CliContext, port: number, apiToken: string): Promise<{ close(): Promise<void> } | undefined> {
  let buildApp: ((options: { engine: CliContext['engine']; db: CliContext['db']; logger?: unknown; apiToken?: string }) => Promise<{ listen(o: { port: number; host: string }): Promise<string>; close(): Promise<void> }>) | undefined;
  try {
    ({ buildApp } = (await import('../../http/app.ts')) as never);
  } catch (error) {
    context.logger.warn({ err: error }, 'the HTTP API is not available in this build; running without it');
    return undefined;
  }
  const app = await buildApp!({ engine: context.engine, db: context.db, logger: context.logger, apiToken });
  const address = await app.listen({ port, host: process.env.HOST ?? '0.0.0.0' });
  context.logger.info({ address }, 'HTTP API listening');
  return app;
}

/** The API token: OPERON_API_TOKEN, or a fresh one printed once (the API keeps only its hash). */
function apiToken(context: CliContext): string {
  if (process.env.OPERON_API_TOKEN) return process.env.OPERON_API_TOKEN;
  const token = `op_${randomBytes(24).toString('base64url')}`;
  process.stdout.write(`API token (shown once): ${token}\n`);
  context.logger.info('generated an API token; set OPERON_API_TOKEN to choose your own');
  return token;
}

/**
 * `operon start`: database (embedded unless DATABASE_URL), migrations, deploy processes/*.bpmn,
 * HTTP API and workers. `operon serve`: the API only (workers run elsewhere).
 */
export async function startCommand(args: ParsedArgs, mode: 'start' | 'serve'): Promise<number> {
  const context = await openContext({ logLevel: 'info', worker: mode === 'start' && !args.flags['no-worker'] ? { concurrency: numberFlag(args, 'concurrency', 8) } : false });
  try {
    if (mode === 'start' && !args.flags['no-deploy']) {
      const dir = resolve('processes');
      const files = (await readdir(dir).catch(() => [] as string[])).filter((file) => file.endsWith('.bpmn')).sort();
      // One deployment per file: a broken file is reported and skipped, the others still run.
      for (const file of files) {
        try {
          const result = await deployFiles(context.engine, [join(dir, file)]);
          context.logger.info({ file, processes: result.processes, warnings: result.warnings }, 'deployed');
        } catch (error) {
          context.logger.error({ file, err: error }, `could not deploy processes/${file}`);
          process.stderr.write(`error: processes/${file} was not deployed: ${error instanceof Error ? error.message : String(error)}\n`);
        }
      }
    }
    const port = numberFlag(args, 'port', Number(process.env.PORT ?? 3000));
    const app = await listen(context, port, apiToken(context));
    context.logger.info({ database: context.url.replace(/:[^:@/]+@/, ':***@') }, `operon ${mode} running; Ctrl-C stops it`);
    await untilSignal();
    await app?.close();
    return 0;
  } finally {
    await context.close();
  }
}
