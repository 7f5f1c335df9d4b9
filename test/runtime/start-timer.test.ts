import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstStartTimer, nextCycle } from '../../engine/timers/start-timer.ts';

const now = new Date('2026-05-01T08:00:00Z');
const cycle = (expression: string) => firstStartTimer({ kind: 'cycle', expression }, now, 'everyHour');

/** Every firing of a start timer: the first, then nextCycle after each until it runs out. */
function firings(expression: string, limit = 10): string[] {
  const out: string[] = [];
  let schedule: ReturnType<typeof nextCycle> = cycle(expression);
  while (schedule && out.length < limit) {
    out.push(schedule.dueAt.toISOString());
    schedule = schedule.cycle ? nextCycle(schedule.cycle, schedule.dueAt) : undefined;
  }
  return out;
}

describe('timer start events', () => {
  it('R3/<date>/PT1H fires first on the start date, three times in all', () => {
    assert.deepEqual(firings('R3/2026-06-01T09:00:00Z/PT1H'), [
      '2026-06-01T09:00:00.000Z',
      '2026-06-01T10:00:00.000Z',
      '2026-06-01T11:00:00.000Z',
    ]);
  });

  it('a start date in the past catches up to the next repetition still to come', () => {
    assert.deepEqual(firings('R5/2026-05-01T05:30:00Z/PT1H'), ['2026-05-01T08:30:00.000Z', '2026-05-01T09:30:00.000Z']);
  });

  it('a cycle without start date fires one interval after deployment; FEEL string literals work too', () => {
    assert.deepEqual(firings('R2/PT15M'), ['2026-05-01T08:15:00.000Z', '2026-05-01T08:30:00.000Z']);
    assert.deepEqual(firings('="R2/PT15M"'), ['2026-05-01T08:15:00.000Z', '2026-05-01T08:30:00.000Z']);
    assert.equal(firings('R/P1D', 3).length, 3, 'an unbounded cycle keeps going');
  });

  it('refuses a text that is not a cycle', () => {
    assert.throws(() => cycle('every hour'), { code: 'OPERON_ERR_BPMN_INVALID' });
  });
});
