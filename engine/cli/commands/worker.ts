import { openContext } from '../context.ts';
import { numberFlag, type ParsedArgs } from '../args.ts';
import { untilSignal } from '../signals.ts';
import { capacityFlags } from '../capacity.ts';

/** `operon worker [--capacity POOL=N,...] [--concurrency N] [--lock-ms MS]`: runs node types and timers against the database until SIGINT/SIGTERM. */
export async function workerCommand(args: ParsedArgs): Promise<number> {
  const { worker, botContexts } = capacityFlags(args);
  const context = await openContext({
    logLevel: 'info',
    shippedNodes: { botConcurrency: botContexts },
    worker: {
      ...worker,
      lockMs: numberFlag(args, 'lock-ms', 30_000),
      pollIntervalMs: numberFlag(args, 'poll-ms', 1_000),
    },
  });
  context.logger.info({ workerId: context.engine.worker?.workerId }, 'worker running; Ctrl-C stops it');
  await untilSignal();
  await context.close();
  return 0;
}
