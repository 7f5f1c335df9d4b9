/**
 * The API server (`operon serve`, its own process) SIGKILLed twice under webhook load with
 * Idempotency-Keys, every delivery retried like a real sender: all accepted, one instance per key,
 * no key left blocking (1,000 deliveries, 10 kills and a worker killed too in test/long).
 */
import { it } from 'node:test';
import { killApiServerUnderWebhookLoad } from './api-kill.ts';

it('a killed API server loses no delivery: every retry is accepted, one instance per key, no key left in flight', {
  timeout: 300_000,
}, async () => {
  const result = await killApiServerUnderWebhookLoad({ deliveries: 150, kills: 2, perSecond: 100 });
  console.log(`api kill: ${JSON.stringify(result)}`);
});
