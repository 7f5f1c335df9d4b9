/**
 * `--capacity bot=2,decision=4` and `--concurrency N` for the commands that run workers (`start`,
 * `worker`, `demo`): the worker's pools (engine/jobs/pools.ts) and the bot node's browser contexts,
 * kept equal so a claimed bot job never waits inside the node for a context.
 */
import { numberFlag, stringFlag, type ParsedArgs } from './args.ts';
import { environmentCapacity, parseCapacity } from '../jobs/pools.ts';
import type { WorkerOptions } from '../worker.ts';

export interface CapacityFlags {
  worker: Pick<WorkerOptions, 'capacity' | 'concurrency'>;
  /** Browser contexts of the shipped bot node; undefined = its default (the bot pool's default too). */
  botContexts?: number;
}

/** `botFlag`: a flag that sets the bot pool alone (`operon demo --bot-concurrency N`); `--capacity bot=` wins over it. */
export function capacityFlags(
  args: ParsedArgs,
  options: { env?: NodeJS.ProcessEnv; botFlag?: string } = {},
): CapacityFlags {
  for (const name of ['capacity', 'concurrency', ...(options.botFlag ? [options.botFlag] : [])]) {
    if (args.flags[name] === true) throw new Error(`--${name} needs a value`);
  }
  const text = stringFlag(args, 'capacity');
  const botFlag =
    options.botFlag && args.flags[options.botFlag] !== undefined ? numberFlag(args, options.botFlag, 0) : undefined;
  const capacity =
    text === undefined && botFlag === undefined
      ? undefined
      : { ...(botFlag === undefined ? {} : { bot: botFlag }), ...parseCapacity(text ?? '') };
  const concurrency = args.flags.concurrency === undefined ? undefined : numberFlag(args, 'concurrency', 0);
  const env = options.env ?? process.env;
  const bot = capacity?.bot ?? environmentCapacity(env).bot ?? concurrency;
  return {
    worker: { ...(capacity ? { capacity } : {}), ...(concurrency !== undefined ? { concurrency } : {}) },
    // 0 slots: no bot runs here, and the node's limiter needs at least one.
    botContexts: bot ? bot : undefined,
  };
}
