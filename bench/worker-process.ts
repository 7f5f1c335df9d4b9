/**
 * One engine worker process for the benchmarks: runs the built-in nodes on DATABASE_URL with
 * BENCH_CONCURRENCY jobs at a time (plus a `probe` node for the pickup benchmark), prints `ready`,
 * answers `rss` messages on its IPC channel, and stops cleanly on SIGTERM.
 */
import { createKnex } from '../engine/store/knex.ts';
import { createEngine } from '../engine/engine.ts';
import { createNodeRegistry } from '../nodes/index.ts';
import type { NodeType } from '../engine/nodes/types.ts';

/** `probe`: returns the wall-clock time the worker started it (pickup latency = that - job.created_at). */
const probeNode: NodeType = {
  name: 'probe',
  async run() {
    return { pickedAt: Date.now() };
  },
};

const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const db = createKnex(process.env.DATABASE_URL!, {
  poolMax: Number(process.env.BENCH_POOL ?? Math.min(concurrency, 10)),
  applicationName: 'operon-bench-worker',
});
const engine = createEngine({
  db,
  nodes: await createNodeRegistry({ extra: [probeNode] }),
  worker: { concurrency, pollIntervalMs: Number(process.env.BENCH_POLL_MS ?? 1000) },
});
process.stdout.write('ready\n');
// The memory benchmark asks for this process's resident set size (after a full GC when exposed).
process.on('message', (message) => {
  if (message !== 'rss') return;
  (globalThis as { gc?: () => void }).gc?.();
  process.send?.({ rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed });
});
process.once('SIGTERM', () => {
  void engine
    .close()
    .then(() => db.destroy())
    .then(() => process.exit(0));
});
