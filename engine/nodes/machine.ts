/**
 * What this machine can run at once, for node types sizing themselves (the bot node's browser
 * contexts) and for the worker's pools (engine/jobs/pools.ts), which use the same figures.
 */
import { availableParallelism, freemem } from 'node:os';

/** Memory one browser context is planned with (Chromium renderer plus page). */
const BOT_CONTEXT_BYTES = 512 * 1024 * 1024;

export interface Machine {
  cores: number;
  freeBytes: number;
}

export function thisMachine(): Machine {
  return { cores: availableParallelism(), freeBytes: freemem() };
}

/** Browser contexts this machine can drive at once: one per core, half a GiB each, at least one. */
export function defaultBotContexts(machine: Machine = thisMachine()): number {
  return Math.max(1, Math.min(machine.cores, Math.floor(machine.freeBytes / BOT_CONTEXT_BYTES)));
}
