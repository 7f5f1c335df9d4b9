/** pg_terminate_backend on the engine's connections 20 times during a run (100 times in test/long). */
import { it } from 'node:test';
import { terminateBackendsDuringRun } from './db-faults.ts';

it('the engine reconnects by itself after its connections are terminated 20 times mid-run; every instance completes once', async () => {
  const result = await terminateBackendsDuringRun({ instances: 60, kills: 20, everyMs: 150 });
  console.log(`db faults: ${JSON.stringify(result)}`);
});
