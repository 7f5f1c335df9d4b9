/** Worker processes running real decision nodes SIGKILLed 3 times during 30 instances (100 times during 1,000 in test/long). */
import { it } from 'node:test';
import { killDecisionWorkersDuringRun } from './decision-kill-loop.ts';

it('decision instances complete exactly once while their workers are SIGKILLed; each result names a decision its job made', {
  timeout: 300_000,
}, async () => {
  const result = await killDecisionWorkersDuringRun({ instances: 30, kills: 3, batch: 10, pauseMs: [20, 200] });
  console.log(`decision kill loop: ${JSON.stringify(result)}`);
});
