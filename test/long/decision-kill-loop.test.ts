/**
 * Kill loop with real decision nodes: 1,000 instances whose branches are `decision:loan` and
 * `decision:order` (the shipped ONNX models), worker processes SIGKILLed at random points and
 * replaced 100 times while instances keep arriving. Every instance completes once, every result is
 * applied once and names a decision its job made; a job has more decision rows than one only when
 * it ran more than once (at-least-once, see docs/reliability.md).
 */
import { it } from 'node:test';
import { killDecisionWorkersDuringRun } from '../reliability/decision-kill-loop.ts';

it('1,000 decision instances complete exactly once while workers are SIGKILLed 100 times', {
  timeout: 3_600_000,
}, async () => {
  const result = await killDecisionWorkersDuringRun({ instances: 1_000, kills: 100, batch: 10, pauseMs: [20, 250] });
  console.log(`decision kill loop: ${JSON.stringify(result)}`);
});
