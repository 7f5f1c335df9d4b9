/**
 * The HTTP API in its own process for the webhook benchmark: `buildApp` over DATABASE_URL on a free
 * port, no worker (the benchmark measures accepting and persisting). Prints `port=<n>`; stops on
 * SIGTERM. With BENCH_BARE=1 it serves only a bare fastify `POST /webhooks/:id` answering 202,
 * the same-machine baseline for the latency ratio.
 */
import Fastify from 'fastify';
import { createKnex } from '../engine/store/knex.ts';
import { createEngine } from '../engine/engine.ts';
import { buildApp } from '../engine/http/app.ts';
import { createNodeRegistry } from '../nodes/index.ts';

let close: () => Promise<void>;
let port: number;
if (process.env.BENCH_BARE === '1') {
  const app = Fastify();
  app.post('/webhooks/:id', async (_request, reply) => reply.status(202).send({ instanceId: 'none' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as { port: number }).port;
  close = () => app.close();
} else {
  const db = createKnex(process.env.DATABASE_URL!, { poolMax: 10, applicationName: 'operon-bench-api' });
  const engine = createEngine({ db, nodes: await createNodeRegistry() });
  const app = await buildApp({ engine, db, defaultMetrics: false, notifications: engine.notifications });
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as { port: number }).port;
  close = async () => {
    await app.close();
    await engine.close();
    await db.destroy();
  };
}
process.stdout.write(`port=${port}\n`);
process.once('SIGTERM', () => void close().then(() => process.exit(0)));
