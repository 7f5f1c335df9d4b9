/**
 * Property: whatever events arrive, in whatever order (including stale and unknown ones), `step`
 * never throws, the snapshot stays plain JSON, and every scope's token count equals its element
 * instances plus the tokens waiting at its joins.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BpmnError } from '../../engine/errors.ts';
import type { RuntimeEvent } from '../../engine/runtime/index.ts';
import { InMemoryInstance } from '../../engine/runtime/memory.ts';
import type { RuntimeState } from '../../engine/runtime/state.ts';
import { fixture } from './scenario.ts';

const files = readdirSync(new URL('../fixtures/bpmn/', import.meta.url)).filter((f) => f.endsWith('.bpmn'));

function checkTokens(instance: InMemoryInstance): void {
  const state = instance.snapshot as unknown as RuntimeState;
  assert.deepStrictEqual(JSON.parse(JSON.stringify(state)), state);
  if (state.lifecycle !== 'active') return;
  for (const scope of Object.values(state.elements)) {
    if (scope.tokens === undefined) continue;
    const children = Object.values(state.elements).filter(
      (e) => e.flowScopeKey === scope.key && e.key !== scope.key,
    ).length;
    const waiting = Object.entries(state.joins)
      .filter(([key]) => key.startsWith(`${scope.key}|`))
      .reduce((sum, [, flows]) => sum + Object.values(flows).reduce((a, b) => a + b, 0), 0);
    assert.equal(scope.tokens, children + waiting, `tokens of scope ${scope.key} (${scope.elementId})`);
  }
}

type Action = {
  kind: 'job' | 'error' | 'userTask' | 'message' | 'timer' | 'incident' | 'stale' | 'cancel';
  pick: number;
  flag: boolean;
};

const action = fc.record({
  kind: fc.constantFrom<Action['kind']>(
    'job',
    'job',
    'error',
    'userTask',
    'message',
    'message',
    'timer',
    'timer',
    'incident',
    'stale',
    'cancel',
  ),
  pick: fc.nat(20),
  flag: fc.boolean(),
});

const variables = fc.record({
  orderId: fc.oneof(fc.constant('o'), fc.integer({ min: 1, max: 3 })),
  a: fc.boolean(),
  b: fc.boolean(),
  oops: fc.boolean(),
  viaJoin: fc.boolean(),
  applicant: fc.record({ income: fc.integer({ min: 0, max: 9000 }) }),
  amount: fc.nat(10),
  round: fc.constant(0),
  reminders: fc.constant(0),
  price: fc.nat(9),
  quantity: fc.nat(9),
  minutes: fc.nat(90),
  deadline: fc.constantFrom('2026-01-01T05:00:00Z', 'not a date'),
  carriers: fc.constantFrom([{ name: 'x' }], [], 'x'),
  approvers: fc.constantFrom(['p', 'q'], []),
  rejected: fc.boolean(),
  requestId: fc.constant('r'),
  ruleSet: fc.constant('s'),
});

async function act(instance: InMemoryInstance, a: Action): Promise<void> {
  const pick = <T>(items: T[]) => items[a.pick % items.length];
  switch (a.kind) {
    case 'job': {
      const job = pick([...instance.jobs.values()]);
      if (job) await instance.completeJob(job.elementInstanceKey, a.flag ? { score: 550, viaJoin: true } : {});
      return;
    }
    case 'error': {
      const job = pick([...instance.jobs.values()]);
      if (job) await instance.throwJobError(job.elementInstanceKey, a.flag ? 'REJECTED' : 'FATAL');
      return;
    }
    case 'userTask': {
      const task = pick([...instance.userTasks.values()]);
      if (task) await instance.completeUserTask(task.elementInstanceKey, { rejected: a.flag });
      return;
    }
    case 'message': {
      const subscription = pick(instance.subscriptions);
      if (subscription)
        await instance.publishMessage(subscription.messageName, subscription.correlationKey, { paid: a.pick });
      return;
    }
    case 'timer':
      await instance.advanceClock((a.pick + 1) * 10 * 60_000);
      return;
    case 'incident': {
      const incident = pick([...instance.incidents.values()]);
      if (incident)
        await instance.resolveIncident(incident.elementInstanceKey, {
          orderId: 'fixed',
          deadline: '2026-01-02T00:00:00Z',
          carriers: [],
          creditScore: 1,
          score: 1,
        });
      return;
    }
    case 'stale': {
      const key = String(a.pick);
      const events: RuntimeEvent[] = [
        { type: 'job.completed', elementInstanceKey: key },
        { type: 'userTask.completed', elementInstanceKey: key },
        { type: 'message.correlated', elementInstanceKey: key, messageName: 'nope' },
        { type: 'timer.fired', timerKey: `${key}.${a.pick}` },
        { type: 'incident.resolved', elementInstanceKey: key },
        { type: 'job.bpmnError', elementInstanceKey: key, errorCode: 'X' },
      ];
      await instance.send(events[a.pick % events.length]!);
      return;
    }
    case 'cancel':
      if (a.flag && a.pick % 5 === 0) await instance.cancel();
      return;
  }
}

describe('runtime robustness (property)', () => {
  it('never throws and keeps its token bookkeeping consistent under random events', async () => {
    const graphs = await Promise.all(files.map((f) => fixture(f)));
    await fc.assert(
      fc.asyncProperty(
        fc.nat(graphs.length - 1),
        variables,
        fc.array(action, { maxLength: 25 }),
        async (index, vars, actions) => {
          const handlers = {
            work: () => {},
            'credit-score': (input: Record<string, unknown>) => ({ score: (input.income as number) / 10 }),
            quote: () => {
              throw new BpmnError('NO_QUOTE');
            },
          };
          const processes = Object.fromEntries(graphs.map((g) => [g.bpmnProcessId, g]));
          const instance = await new InMemoryInstance(graphs[index]!, {
            variables: vars,
            handlers: index % 2 === 0 ? handlers : {},
            processes,
          }).start();
          checkTokens(instance);
          for (const a of actions) {
            await act(instance, a);
            checkTokens(instance);
          }
        },
      ),
      { numRuns: 300, seed: 4242 },
    );
  });
});
