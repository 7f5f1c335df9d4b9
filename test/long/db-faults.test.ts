/** pg_terminate_backend on the engine's connections 100 times during a run of 300 instances. */
import { it } from 'node:test';
import { terminateBackendsDuringRun } from '../reliability/db-faults.ts';

it('the engine reconnects by itself after its connections are terminated 100 times mid-run; every instance completes once', async () => {
  const result = await terminateBackendsDuringRun({ instances: 300, kills: 100, everyMs: 100 });
  console.log(`db faults: ${JSON.stringify(result)}`);
});
