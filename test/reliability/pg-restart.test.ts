/** A private PostgreSQL shut down immediately and restarted twice mid-run (five times in test/long). */
import { it } from 'node:test';
import { restartPostgresDuringRun } from './pg-restart.ts';

it('the worker reconnects by itself after PostgreSQL restarts mid-run; every instance completes once, nothing half-written', {
  timeout: 180_000,
}, async () => {
  const result = await restartPostgresDuringRun({ instances: 60, restarts: 2, downMs: 1_000 });
  console.log(`pg restart: ${JSON.stringify(result)}`);
});
