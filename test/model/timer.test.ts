import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addIsoDuration, parseIsoCycle, parseIsoDate, parseIsoDuration } from '../../engine/model/timer.ts';
import { computeTimerDue } from '../../engine/runtime/index.ts';

const now = new Date('2026-03-10T08:00:00Z');

describe('ISO 8601 timers', () => {
  it('adds durations with calendar months and weeks in UTC', () => {
    assert.equal(addIsoDuration(now, parseIsoDuration('P1M2DT3H')!).toISOString(), '2026-04-12T11:00:00.000Z');
    assert.equal(
      addIsoDuration(new Date('2026-01-31T12:00:00Z'), parseIsoDuration('P1M')!).toISOString(),
      '2026-02-28T12:00:00.000Z',
    );
    assert.equal(
      addIsoDuration(new Date('2024-02-29T00:00:00Z'), parseIsoDuration('P1Y')!).toISOString(),
      '2025-02-28T00:00:00.000Z',
    );
    assert.equal(addIsoDuration(now, parseIsoDuration('P2W')!).toISOString(), '2026-03-24T08:00:00.000Z');
    assert.equal(addIsoDuration(now, parseIsoDuration('PT0.5S')!).toISOString(), '2026-03-10T08:00:00.500Z');
    for (const bad of ['P', 'PT', '1H', 'P1H', 'soon']) assert.equal(parseIsoDuration(bad), undefined, bad);
  });

  it('reads dates without an offset as UTC, never the host zone', () => {
    assert.equal(parseIsoDate('2026-05-01T10:00:00')!.toISOString(), '2026-05-01T10:00:00.000Z');
    assert.equal(parseIsoDate('2026-05-01T10:00:00+02:00')!.toISOString(), '2026-05-01T08:00:00.000Z');
    assert.equal(parseIsoDate('2026-05-01T10:00:00Z[Europe/Berlin]')!.toISOString(), '2026-05-01T10:00:00.000Z');
    assert.equal(
      parseIsoDate('2026-05-01T10:00:00@Europe/Berlin')!.toISOString(),
      '2026-05-01T08:00:00.000Z',
      'summer time',
    );
    assert.equal(
      parseIsoDate('2026-01-15T10:00:00[Europe/Berlin]')!.toISOString(),
      '2026-01-15T09:00:00.000Z',
      'winter time',
    );
    assert.equal(parseIsoDate('2026-05-01')!.toISOString(), '2026-05-01T00:00:00.000Z');
    assert.equal(parseIsoDate('2026-05-01T10:00:00@Nowhere/Special'), undefined);
    assert.equal(parseIsoDate('tomorrow'), undefined);
  });

  it('computes cycles: interval from now, or from a start date, with the rest of the cycle', () => {
    assert.deepEqual(computeTimerDue({ kind: 'cycle', expression: 'R3/PT1H' }, now), {
      ok: true,
      dueAt: '2026-03-10T09:00:00.000Z',
      cycle: 'R2/PT1H',
    });
    assert.deepEqual(computeTimerDue({ kind: 'cycle', expression: 'R/P1D' }, now), {
      ok: true,
      dueAt: '2026-03-11T08:00:00.000Z',
      cycle: 'R/P1D',
    });
    assert.deepEqual(computeTimerDue({ kind: 'cycle', expression: 'R1/PT5M' }, now), {
      ok: true,
      dueAt: '2026-03-10T08:05:00.000Z',
    });
    assert.deepEqual(computeTimerDue({ kind: 'cycle', expression: 'R2/2026-03-12T09:00:00Z/P1D' }, now), {
      ok: true,
      dueAt: '2026-03-12T09:00:00.000Z',
      cycle: 'R1/P1D',
    });
    assert.deepEqual(computeTimerDue({ kind: 'cycle', expression: 'R/2026-03-01T09:00:00Z/P1D' }, now), {
      ok: true,
      dueAt: '2026-03-10T09:00:00.000Z',
      cycle: 'R/P1D',
    });
    assert.equal(parseIsoCycle('R3/not-a-date/PT1H'), undefined);
  });

  it('evaluates FEEL timers against the variables', () => {
    assert.deepEqual(computeTimerDue({ kind: 'duration', expression: '="PT" + string(n) + "M"' }, now, { n: 30 }), {
      ok: true,
      dueAt: '2026-03-10T08:30:00.000Z',
    });
    assert.deepEqual(computeTimerDue({ kind: 'date', expression: '=due' }, now, { due: '2026-04-01T00:00:00Z' }), {
      ok: true,
      dueAt: '2026-04-01T00:00:00.000Z',
    });
    assert.equal(computeTimerDue({ kind: 'date', expression: '=due' }, now, {}).ok, false);
    assert.deepEqual(
      computeTimerDue({ kind: 'date', expression: '=date and time("2026-04-01T10:00:00@Europe/Berlin")' }, now),
      { ok: true, dueAt: '2026-04-01T08:00:00.000Z' },
    );
  });

  it('FEEL now() and today() answer with the step clock, not the machine clock', () => {
    assert.deepEqual(computeTimerDue({ kind: 'date', expression: '=now() + duration("P1D")' }, now), {
      ok: true,
      dueAt: '2026-03-11T08:00:00.000Z',
    });
    assert.deepEqual(computeTimerDue({ kind: 'date', expression: '=string(today()) + "T12:00:00Z"' }, now), {
      ok: true,
      dueAt: '2026-03-10T12:00:00.000Z',
    });
  });
});
