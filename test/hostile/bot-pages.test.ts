/**
 * Given bot jobs on pages that attack the browser (endless script, window.open storm, memory bombs),
 * when the worker runs 25 of them (each attack page five times), then each is stopped at its timeout as an incident, the ordinary
 * jobs in between complete, and Chromium's process count comes back to its baseline (1,000 jobs in
 * test/long/bot-pages.test.ts).
 */
import { it } from 'node:test';
import { runHostilePages } from './support/hostile-pages.ts';

it('hostile pages are stopped at the job timeout; the worker stays healthy and the browser process count returns to its baseline', {
  timeout: 600_000,
}, async () => {
  const result = await runHostilePages({ jobs: 25, timeoutMs: 1_000 });
  console.log(`hostile pages: ${JSON.stringify(result)}`);
});
