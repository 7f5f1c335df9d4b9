/** A private PostgreSQL shut down immediately (pg_ctl stop -m immediate) and restarted 5 times during a run of 1,000 instances. */
import { it } from 'node:test';
import { restartPostgresDuringRun } from '../reliability/pg-restart.ts';

it('the worker reconnects by itself after 5 immediate PostgreSQL restarts mid-run; every instance completes once, nothing half-written', {
  timeout: 900_000,
}, async () => {
  const result = await restartPostgresDuringRun({ instances: 1_000, restarts: 5, downMs: 3_000 });
  console.log(`pg restart: ${JSON.stringify(result)}`);
});
