/**
 * The pure parts of the timer limits: the cycle floor, catch-up without a loop, the clamp for stored
 * cycles, the start rate token bucket and the policy from the environment.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeTimerDue } from '../../engine/runtime/timers.ts';
import { firstStartTimer, nextCycle } from '../../engine/timers/start-timer.ts';
import { StartRateLimiter } from '../../engine/timers/start-rate-limiter.ts';
import { resolveTimerPolicy } from '../../engine/timers/timer-policy.ts';
import { parseIsoCycle } from '../../engine/model/timer.ts';

const now = new Date('2026-05-01T08:00:00.250Z');
const cycle = (expression: string) => computeTimerDue({ kind: 'cycle', expression }, now);

describe('the minimum cycle interval', () => {
  it('refuses cycles below it, wherever the interval comes from', () => {
    for (const expression of ['R/PT0S', 'R/P0D', 'R5/PT0.5S', 'R/P0.5M', 'R/2000-01-01T00:00:00Z/PT0S']) {
      const due = computeTimerDue({ kind: 'cycle', expression }, now);
      assert.equal(due.ok, false, expression);
      assert.equal(!due.ok && due.code, 'OPERON_ERR_TIMER_CYCLE_TOO_SHORT', expression);
    }
    assert.equal(computeTimerDue({ kind: 'cycle', expression: '="R/" + i' }, now, { i: 'PT0S' }).ok, false);
    const computed = { kind: 'cycle', expression: '="R/" + i' } as const;
    assert.equal(computeTimerDue(computed, now, { i: 'PT0S' }, 0).ok, true, 'a floor of 0 lets it through');
    const tooShort = (error: { code?: string; details?: { elementId?: string } }) =>
      error.code === 'OPERON_ERR_TIMER_CYCLE_TOO_SHORT' && error.details?.elementId === 'tick';
    assert.throws(() => firstStartTimer({ kind: 'cycle', expression: 'R/PT0S' }, now, 'tick'), tooShort);
  });

  it('leaves durations and dates alone: PT0S and a past date fire once, now', () => {
    assert.deepEqual(computeTimerDue({ kind: 'duration', expression: 'PT0S' }, now), {
      ok: true,
      dueAt: now.toISOString(),
    });
    const past = computeTimerDue({ kind: 'date', expression: '1970-01-01T00:00:00Z' }, now);
    assert.deepEqual(past, { ok: true, dueAt: '1970-01-01T00:00:00.000Z' });
  });

  it('a stored cycle below the floor is clamped when it fires again', () => {
    assert.deepEqual(nextCycle('R/PT0S', now), { dueAt: new Date(now.getTime() + 1000), cycle: 'R/PT0S' });
    assert.deepEqual(nextCycle('R/PT0S', now, 20), { dueAt: new Date(now.getTime() + 20), cycle: 'R/PT0S' });
    assert.deepEqual(nextCycle('R2/PT1H', now), { dueAt: new Date(now.getTime() + 3_600_000), cycle: 'R1/PT1H' });
  });
});

describe('catching up a cycle whose start date is past', () => {
  it('jumps to the next repetition still to come without stepping through a billion of them', () => {
    assert.deepEqual(cycle('R/1970-01-01T00:00:00Z/PT1S'), {
      ok: true,
      dueAt: '2026-05-01T08:00:01.000Z',
      cycle: 'R/PT1S',
    });
  });

  it('counts the repetitions it skipped', () => {
    // 10 repetitions from 07:59:55, one per second: 5 lapsed (to 08:00:00), the sixth at 08:00:01 is next, 4 after it.
    assert.deepEqual(cycle('R10/2026-05-01T07:59:55Z/PT1S'), {
      ok: true,
      dueAt: '2026-05-01T08:00:01.000Z',
      cycle: 'R3/PT1S',
    });
    assert.deepEqual(
      cycle('R3/2026-01-01T00:00:00Z/PT1S'),
      { ok: true, dueAt: now.toISOString() },
      'all lapsed: once, now',
    );
    assert.deepEqual(cycle('R/2026-01-31T00:00:00Z/P1M'), {
      ok: true,
      dueAt: '2026-05-28T00:00:00.000Z',
      cycle: 'R/P1M',
    });
  });

  it('refuses repetition counts that would lose digits', () => {
    assert.equal(parseIsoCycle('R99999999999999999999999/PT1H'), undefined);
    assert.equal(parseIsoCycle(`R${Number.MAX_SAFE_INTEGER}/PT1H`)?.repetitions, Number.MAX_SAFE_INTEGER);
  });
});

describe('the start rate limiter', () => {
  it('lets a burst through, then one start per 1/rate, and says how long to wait', () => {
    const limiter = new StartRateLimiter(5, 2);
    assert.deepEqual([limiter.take('p', 0), limiter.take('p', 0)], [0, 0]);
    assert.equal(limiter.take('p', 0), 200);
    assert.equal(limiter.take('other', 0), 0, 'each process has its own bucket');
    assert.equal(limiter.take('p', 100), 100);
    assert.equal(limiter.take('p', 200), 0);
    assert.equal(limiter.delayed().get('p'), 2);
  });
});

describe('the timer policy', () => {
  it('reads OPERON_TIMER_MIN_INTERVAL as ISO 8601 or milliseconds; options win', () => {
    assert.equal(resolveTimerPolicy({}, {}).minCycleIntervalMs, 1000);
    assert.equal(resolveTimerPolicy({}, { OPERON_TIMER_MIN_INTERVAL: 'PT0.2S' }).minCycleIntervalMs, 200);
    assert.equal(resolveTimerPolicy({}, { OPERON_TIMER_MIN_INTERVAL: '250' }).minCycleIntervalMs, 250);
    assert.equal(
      resolveTimerPolicy({ minCycleIntervalMs: 5 }, { OPERON_TIMER_MIN_INTERVAL: '250' }).minCycleIntervalMs,
      5,
    );
    const policy = resolveTimerPolicy({}, { OPERON_TIMER_START_RATE: '10' });
    assert.deepEqual(policy, { minCycleIntervalMs: 1000, startsPerSecond: 10, startBurst: 10 });
  });

  it('refuses settings that would switch the limits off', () => {
    const settings = [
      { OPERON_TIMER_MIN_INTERVAL: 'P1M' },
      { OPERON_TIMER_MIN_INTERVAL: '0' },
      { OPERON_TIMER_START_RATE: '0' },
      { OPERON_TIMER_START_RATE: 'fast' },
    ];
    for (const env of settings) {
      assert.throws(() => resolveTimerPolicy({}, env), { code: 'OPERON_ERR_VALIDATION' }, JSON.stringify(env));
    }
  });
});
