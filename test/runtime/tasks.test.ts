import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BpmnError } from '../../engine/errors.ts';
import { effectsOf, fixture, scenario, trail } from './scenario.ts';
import type { ConditionalGateway, JobTask, ScriptTask, UserTask } from '../../engine/model/graph.ts';

const scoreBy = (divisor: number) => ({
  'credit-score': (input: Record<string, unknown>) => ({ score: (input.income as number) / divisor }),
});

describe('service task + exclusive gateway (loan-check.bpmn)', () => {
  it('given a good score, when the job completes, then the yes flow is taken and the output mapping sets creditScore', async () => {
    const graph = await fixture('loan-check.bpmn');
    const instance = await scenario(graph, {
      variables: { applicant: { income: 7000 }, amount: 100 },
      handlers: scoreBy(10),
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(trail(instance), [
      'received:completed',
      'score:completed',
      'decide:completed',
      'approved:completed',
    ]);
    assert.deepEqual(instance.variables, { applicant: { income: 7000 }, amount: 100, creditScore: 700 });
    const [job] = effectsOf(instance, 'job.create');
    assert.equal(job!.taskType, 'credit-score');
    assert.equal(job!.retries, 5);
    assert.deepEqual(job!.headers, { bureau: 'acme' });
    assert.equal(job!.input.income, 7000, 'input mappings are local variables of the task');
    assert.equal(job!.input.requested, 100);
    assert.deepEqual(
      effectsOf(instance, 'flow.taken').map((f) => f.flowId),
      ['toScore', 'toDecide', 'toApprove'],
    );
    assert.deepEqual(instance.history.at(-1), { type: 'instance.completed' });
  });

  it('given a bad score, the default flow is taken', async () => {
    const instance = await scenario(await fixture('loan-check.bpmn'), {
      variables: { applicant: { income: 1000 }, amount: 1 },
      handlers: scoreBy(10),
    });
    assert.deepEqual(instance.completedElementIds, ['received', 'score', 'decide', 'rejected']);
    assert.equal(instance.variables.income, undefined, 'local input variables do not leak to the root');
  });

  it('given a borderline score, a user task waits and completes with variables', async () => {
    const instance = await scenario(
      await fixture('loan-check.bpmn'),
      { variables: { applicant: { income: 5500 }, amount: 1 }, handlers: scoreBy(10) },
      async (i) => {
        assert.equal(i.state, 'active');
        const task = i.userTask('review');
        assert.ok(task);
        assert.equal(task.name, 'Review application');
        assert.equal(task.input.creditScore, 550);
        await i.completeUserTask('review', { decision: 'approve' });
      },
    );
    assert.equal(instance.state, 'completed');
    assert.equal(instance.variables.decision, 'approve');
    const [created] = effectsOf(instance, 'userTask.create');
    assert.deepEqual(created!.candidateGroups, ['underwriters']);
    assert.deepEqual(instance.completedElementIds.at(-1), 'reviewed');
  });

  it('an external job (no handler) waits until completed', async () => {
    const instance = await scenario(
      await fixture('loan-check.bpmn'),
      { variables: { applicant: { income: 1 }, amount: 1 } },
      async (i) => {
        assert.equal(i.state, 'active');
        assert.deepEqual(
          [...i.jobs.values()].map((j) => j.elementId),
          ['score'],
        );
        await i.completeJob('score', { score: 650 });
      },
    );
    assert.deepEqual(instance.completedElementIds.at(-1), 'approved');
  });

  it('a job failing past its retries becomes an incident; resolving retries the job', async () => {
    const options = () => {
      let calls = 0;
      const handlers = {
        'credit-score': () => {
          calls += 1;
          if (calls <= 5) throw new Error('bureau down');
          return { score: 600 };
        },
      };
      return { variables: { applicant: { income: 1 }, amount: 1 }, handlers };
    };
    const instance = await scenario(await fixture('loan-check.bpmn'), options, async (i) => {
      assert.equal(i.state, 'active');
      assert.equal([...i.incidents.values()][0]!.code, 'OPERON_ERR_JOB_FAILED');
      await i.resolveIncident('score');
    });
    assert.equal(instance.state, 'completed');
    assert.equal(instance.variables.creditScore, 600);
  });
});

describe('exclusive gateway incidents', () => {
  it('no matching condition and no default flow -> OPERON_ERR_NO_OUTGOING_FLOW; resolving with variables re-evaluates', async () => {
    const graph = structuredClone(await fixture('loan-check.bpmn'));
    delete (graph.elements.decide as ConditionalGateway).defaultFlow;
    graph.flows.toReject!.condition = 'creditScore < 0';
    const instance = await scenario(
      graph,
      { variables: { applicant: { income: 10 }, amount: 1 }, handlers: scoreBy(10) },
      async (i) => {
        const [incident] = [...i.incidents.values()];
        assert.equal(incident!.code, 'OPERON_ERR_NO_OUTGOING_FLOW');
        assert.equal(incident!.elementId, 'decide');
        assert.equal(i.state, 'active');
        await i.resolveIncident('decide', { creditScore: 900 });
      },
    );
    assert.equal(instance.state, 'completed');
    assert.equal(instance.completedElementIds.at(-1), 'approved');
    assert.equal(instance.variables.creditScore, 900);
  });

  it('a condition that is not boolean -> OPERON_ERR_CONDITION_NOT_BOOLEAN', async () => {
    const graph = structuredClone(await fixture('loan-check.bpmn'));
    graph.flows.toApprove!.condition = 'creditScore + 1';
    const instance = await scenario(graph, {
      variables: { applicant: { income: 10 }, amount: 1 },
      handlers: scoreBy(10),
    });
    const [incident] = effectsOf(instance, 'incident.raise');
    assert.equal(incident!.code, 'OPERON_ERR_CONDITION_NOT_BOOLEAN');
    assert.equal(incident!.elementId, 'decide');
    assert.equal(incident!.details!.flowId, 'toApprove');
    assert.equal(instance.state, 'active');
    assert.deepEqual(trail(instance).at(-1), 'decide:active');
  });

  it('a condition on a missing variable (null) is an incident too, not a silent default', async () => {
    const instance = await scenario(await fixture('loan-check.bpmn'), {
      variables: { applicant: { income: 10 }, amount: 1 },
      handlers: { 'credit-score': () => ({}) },
    });
    assert.equal([...instance.incidents.values()][0]!.code, 'OPERON_ERR_CONDITION_NOT_BOOLEAN');
  });
});

describe('script, none, manual, throw, send and business-rule tasks (script-and-tasks.bpmn)', () => {
  it('runs the script in FEEL, passes through none tasks and creates jobs with evaluated task types', async () => {
    const seen: string[] = [];
    const handlers = {
      mailer: (input: Record<string, unknown>) => {
        seen.push(`mail ${input.total}`);
      },
      'rules:gold': (_input: Record<string, unknown>, job: { attempt: number }) => {
        seen.push(`rules attempt ${job.attempt}`);
        return { tier: 'gold' };
      },
    };
    const instance = await scenario(await fixture('script-and-tasks.bpmn'), {
      variables: { a: 2, b: 3, ruleSet: 'gold' },
      handlers,
    });
    assert.equal(instance.state, 'completed');
    assert.deepEqual(instance.completedElementIds, ['start', 'sum', 'plain', 'manual', 'throw', 'send', 'rule', 'end']);
    assert.deepEqual(instance.variables, { a: 2, b: 3, ruleSet: 'gold', total: 5, tier: 'gold' });
    assert.deepEqual(
      effectsOf(instance, 'job.create').map((j) => j.taskType),
      ['mailer', 'rules:gold'],
    );
    assert.deepEqual(seen, ['mail 5', 'rules attempt 1', 'mail 5', 'rules attempt 1']);
  });

  it('a script on a missing variable yields null (FEEL null semantics) and the instance goes on', async () => {
    const graph = structuredClone(await fixture('script-and-tasks.bpmn'));
    (graph.elements.sum as ScriptTask).script.expression = 'a + b';
    const instance = await scenario(graph, {
      variables: { a: 2 },
      handlers: { mailer: () => {}, 'rules:x': () => {} },
    });
    // FEEL: 2 + null = null; the instance goes on and the result is stored as null.
    assert.equal(instance.variables.total, null);
  });

  it('a BpmnError thrown by a handler without a catching boundary is an incident', async () => {
    const handlers = {
      mailer: () => {
        throw new BpmnError('NO_MAILBOX');
      },
    };
    const instance = await scenario(await fixture('script-and-tasks.bpmn'), {
      variables: { a: 1, b: 1, ruleSet: 'x' },
      handlers,
    });
    const [incident] = effectsOf(instance, 'incident.raise');
    assert.equal(incident!.code, 'OPERON_ERR_UNCAUGHT_BPMN_ERROR');
    assert.equal(incident!.elementId, 'send');
    assert.equal(incident!.details!.errorCode, 'NO_MAILBOX');
    assert.equal(instance.state, 'active');
  });
});

describe('user task assignment', () => {
  it('evaluates FEEL assignee and candidate groups when the task is created', async () => {
    const graph = structuredClone(await fixture('loan-check.bpmn'));
    (graph.elements.review as UserTask).userTask = {
      assignee: '=applicant.owner',
      candidateGroups: ['=["risk", region]'],
    };
    const instance = await scenario(graph, {
      variables: { applicant: { income: 5500, owner: 'kim' }, amount: 1, region: 'north' },
      handlers: scoreBy(10),
    });
    const [task] = effectsOf(instance, 'userTask.create');
    assert.equal(task!.assignee, 'kim');
    assert.deepEqual(task!.candidateGroups, ['risk', 'north']);
  });
});

describe('a file as Camunda Modeler saves it (modeler-export.bpmn)', () => {
  it('parses collaboration, diagram, annotations and properties, and runs', async () => {
    const instance = await scenario(await fixture('modeler-export.bpmn'), {
      variables: { customer: { firstName: 'Ada' } },
    });
    assert.equal(instance.state, 'completed');
    assert.equal(instance.variables.greeting, 'Hello, Ada!');
    assert.deepEqual(instance.completedElementIds, ['StartEvent_1', 'Activity_greet', 'Event_done']);
  });
});

describe('job retries as FEEL', () => {
  it('evaluates =retries when the job is created', async () => {
    const { parseDefinitions } = await import('../../engine/model/index.ts');
    const { readFileSync } = await import('node:fs');
    const xml = readFileSync(new URL('../fixtures/bpmn/loan-check.bpmn', import.meta.url), 'utf8').replace(
      'retries="5"',
      'retries="=maxTries + 1"',
    );
    const [graph] = await parseDefinitions(xml, 'loan-check.bpmn');
    assert.equal((graph!.elements.score as JobTask).job.retriesExpression, 'maxTries + 1');
    const instance = await scenario(graph!, { variables: { applicant: { income: 1 }, amount: 1, maxTries: 6 } });
    assert.equal(effectsOf(instance, 'job.create')[0]!.retries, 7);
  });
});

describe('FEEL clock', () => {
  it('now() in a script is the step clock, also in an iterating expression (worker)', async () => {
    const graph = structuredClone(await fixture('script-and-tasks.bpmn'));
    (graph.elements.sum as ScriptTask).script.expression =
      '{at: string(now()), days: for d in [1, 2] return string(today() + duration("P" + string(d) + "D"))}';
    const instance = await scenario(graph, { now: new Date('2026-07-04T09:30:00Z'), variables: { ruleSet: 'x' } });
    assert.deepEqual(instance.variables.total, { at: '2026-07-04T09:30:00Z', days: ['2026-07-05', '2026-07-06'] });
  });
});
