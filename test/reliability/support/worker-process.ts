/**
 * A worker in its own process, for reliability tests: `node --import tsx worker-process.ts URL ID`.
 * Registers `test:work`, which takes WORK_MS milliseconds (honouring its AbortSignal), besides the
 * built-in nodes, and the `decision` node with the shipped models when DECISION=1. Prints `ready`
 * once the worker runs. Lease and poll from LOCK_MS / POLL_MS. Exports spans when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set (test/reliability/trace-continuity.test.ts).
 */
import { createKnex } from '../../../engine/store/knex.ts';
import { createEngine } from '../../../engine/engine.ts';
import { createNodeRegistry } from '../../../nodes/index.ts';
import type { Logger, NodeType } from '../../../engine/nodes/types.ts';
import { startTracing } from '../../../engine/telemetry/setup.ts';

const [url, workerId] = process.argv.slice(2);
const workMs = Number(process.env.WORK_MS ?? 10);
const work: NodeType = {
  name: 'test',
  run: (_input, ctx) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve({ [`doneBy_${ctx.elementId}`]: workerId }), workMs);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(ctx.signal.reason);
      });
    }),
};

const tracing = await startTracing({ scheduleDelayMs: 100 });
const knex = createKnex(url!, { poolMax: 6, applicationName: `operon-test-${workerId}` });
const nodes = await createNodeRegistry({ extra: [work], decision: process.env.DECISION === '1' });
// OPERON_TEST_LOG=1: the engine's warnings and errors go to stderr (for debugging a failing test);
// OPERON_TEST_LOG=info: its info lines too.
function stderrLogger(bindings: Record<string, unknown> = {}): Logger {
  const log = (level: string) => (obj: unknown, msg?: string) =>
    process.stderr.write(
      `${level} ${msg ?? ''} ${JSON.stringify({ ...bindings, ...(obj as object) }, (_key, value) => (value instanceof Error ? value.message : value))}\n`,
    );
  return {
    debug() {},
    info: process.env.OPERON_TEST_LOG === 'info' ? log('info') : () => undefined,
    warn: log('warn'),
    error: log('error'),
    child: (more) => stderrLogger({ ...bindings, ...more }),
  };
}
const engine = createEngine({
  db: knex,
  nodes,
  ...(process.env.OPERON_TEST_LOG ? { logger: stderrLogger() } : {}),
  worker: {
    workerId,
    concurrency: Number(process.env.CONCURRENCY ?? 8),
    lockMs: Number(process.env.LOCK_MS ?? 1_500),
    pollIntervalMs: Number(process.env.POLL_MS ?? 200),
  },
});
process.stdout.write('ready\n');
const stop = async () => {
  await engine.close();
  await knex.destroy();
  await tracing?.shutdown();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
