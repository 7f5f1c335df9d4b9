/**
 * 1,000 bot jobs on pages that attack the browser (endless script, window.open storm, memory
 * bombs) with ordinary jobs in between: each hostile job is stopped at its timeout as an incident,
 * the worker stays healthy, and Chromium's process count comes back to its baseline.
 */
import { it } from 'node:test';
import { runHostilePages } from '../hostile/support/hostile-pages.ts';

it('1,000 hostile-page jobs: stopped at the timeout, the worker healthy, the browser process count back to its baseline', {
  timeout: 3_600_000,
}, async () => {
  const result = await runHostilePages({ jobs: 1_000, timeoutMs: 1_000 });
  console.log(`hostile pages: ${JSON.stringify(result)}`);
});
