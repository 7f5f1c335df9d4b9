/**
 * Issue 17, item 7, long: 1,000 webhook deliveries with Idempotency-Keys at 100/s, the API server
 * (`operon serve`) SIGKILLed 10 times and the worker process 10 times, every delivery retried like
 * a real sender: all accepted, one instance per key, each completed exactly once, no key in flight.
 * API_KILL_DELIVERIES / API_KILL_KILLS run it smaller.
 */
import { it } from 'node:test';
import { killApiServerUnderWebhookLoad } from '../reliability/api-kill.ts';

it('1,000 deliveries, 10 API server kills and 10 worker kills: every delivery accepted once and completed once', {
  timeout: 1_800_000,
}, async () => {
  const kills = Number(process.env.API_KILL_KILLS ?? 10);
  const result = await killApiServerUnderWebhookLoad({
    deliveries: Number(process.env.API_KILL_DELIVERIES ?? 1_000),
    kills,
    workerKills: kills,
    perSecond: 100,
    acceptWithinMs: 300_000,
  });
  console.log(`api kill (long): ${JSON.stringify(result)}`);
});
