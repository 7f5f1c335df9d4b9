import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { OperonError } from '../../engine/errors.ts';
import { parseDefinitions } from '../../engine/model/index.ts';
import type {
  Activity,
  ConditionalGateway,
  EventElement,
  ScriptTask,
  SubProcess,
  UserTask,
} from '../../engine/model/graph.ts';

type ErrorEvent = Extract<EventElement, { eventKind: 'error' }>;

const read = (name: string) => readFileSync(new URL(`../fixtures/bpmn/${name}`, import.meta.url), 'utf8');

describe('parseDefinitions: Camunda 8 models', () => {
  it('turns a model into a plain graph with start events, job tasks, headers, retries and mappings', async () => {
    const [graph, ...rest] = await parseDefinitions(read('loan-check.bpmn'), 'loan-check.bpmn');
    assert.equal(rest.length, 0);
    assert.equal(graph!.bpmnProcessId, 'loan-check');
    assert.equal(graph!.name, 'Loan check');
    assert.deepEqual(graph!.startEvents, [{ elementId: 'received', kind: 'none' }]);
    assert.deepEqual(graph!.serviceTasks, [
      { elementId: 'score', taskType: 'credit-score', retries: 5, headers: { bureau: 'acme' } },
    ]);
    const score = graph!.elements.score!;
    assert.deepEqual(score.inputs, [
      { source: 'applicant.income', target: 'income' },
      { source: 'amount', target: 'requested' },
    ]);
    assert.deepEqual(score.outputs, [{ source: 'score', target: 'creditScore' }]);
    assert.equal((graph!.elements.decide as ConditionalGateway).defaultFlow, 'toReject');
    assert.equal(graph!.flows.toApprove!.condition, 'creditScore >= 600');
    assert.deepEqual((graph!.elements.review as UserTask).userTask, { candidateGroups: ['underwriters'] });
    assert.deepStrictEqual(JSON.parse(JSON.stringify(graph)), graph, 'the graph is plain JSON');
  });

  it('lists message and timer start events and skips non-executable processes', async () => {
    const graphs = await parseDefinitions(read('start-events.bpmn'), 'start-events.bpmn');
    assert.deepEqual(
      graphs.map((g) => g.bpmnProcessId),
      ['start-events'],
    );
    assert.deepEqual(graphs[0]!.startEvents, [
      { elementId: 'byHand', kind: 'none' },
      { elementId: 'byMessage', kind: 'message', messageName: 'order-placed' },
      { elementId: 'nightly', kind: 'timer', timer: { kind: 'cycle', expression: 'R/P1D' } },
    ]);
  });

  it('counts send and business-rule tasks with a task definition as job tasks, retries default 3', async () => {
    const [graph] = await parseDefinitions(read('script-and-tasks.bpmn'), 'script-and-tasks.bpmn');
    assert.deepEqual(graph!.serviceTasks, [
      { elementId: 'send', taskType: 'mailer', retries: 3, headers: {} },
      { elementId: 'rule', taskType: '="rules:" + ruleSet', retries: 1, headers: {} },
    ]);
    assert.deepEqual((graph!.elements.sum as ScriptTask).script, { expression: 'a + b', resultVariable: 'total' });
  });

  it('links boundary events to their host and subprocess children to their scope', async () => {
    const [graph] = await parseDefinitions(read('errors.bpmn'), 'errors.bpmn');
    assert.deepEqual((graph!.elements.check as Activity).boundaryEvents, ['catchRejected']);
    assert.equal((graph!.elements.catchRejected as ErrorEvent).errorCode, 'REJECTED');
    assert.equal((graph!.elements.catchAny as ErrorEvent).errorCode, undefined);
    assert.equal(graph!.elements.inner!.parentId, 'sub');
    assert.equal((graph!.elements.sub as SubProcess).startEventId, 'subStart');
    assert.equal((graph!.elements.throwOops as ErrorEvent).errorCode, 'OOPS');
  });
});

describe('parseDefinitions: bad input names the file and the element', () => {
  const cases: Array<[file: string, code: string, elementId: string | undefined]> = [
    ['invalid/malformed.bpmn', 'OPERON_ERR_BPMN_PARSE', undefined],
    ['invalid/not-bpmn.xml', 'OPERON_ERR_BPMN_PARSE', undefined],
    ['invalid/no-start.bpmn', 'OPERON_ERR_BPMN_INVALID', 'no-start'],
    ['invalid/duplicate-ids.bpmn', 'OPERON_ERR_BPMN_INVALID', 'work'],
    ['invalid/unresolved-ref.bpmn', 'OPERON_ERR_BPMN_INVALID', 'toNowhere'],
    ['invalid/unknown-element.bpmn', 'OPERON_ERR_BPMN_INVALID', 'wizard'],
    ['invalid/bad-feel.bpmn', 'OPERON_ERR_FEEL_SYNTAX', 'badCondition'],
    ['invalid/bad-mapping.bpmn', 'OPERON_ERR_FEEL_SYNTAX', 'call'],
    ['invalid/unsupported.bpmn', 'OPERON_ERR_BPMN_UNSUPPORTED', 'either'],
    ['invalid/missing-task-type.bpmn', 'OPERON_ERR_BPMN_INVALID', 'call'],
  ];
  for (const [file, code, elementId] of cases) {
    it(`${file} -> ${code}${elementId ? ` naming ${elementId}` : ''}`, async () => {
      await assert.rejects(parseDefinitions(read(file), file), (error: unknown) => {
        assert.ok(error instanceof OperonError);
        assert.equal(error.code, code);
        assert.equal(error.details.file, file);
        assert.equal(error.details.elementId, elementId);
        assert.match(error.message, new RegExp(file.replace('.', '\\.')));
        return true;
      });
    });
  }

  it('reports the line of malformed XML', async () => {
    await assert.rejects(
      parseDefinitions(read('invalid/malformed.bpmn'), 'm.bpmn'),
      (error: OperonError) => error.details.line === 5,
    );
  });

  it('rejects a gateway flow without condition that is not the default', async () => {
    const xml = read('loan-check.bpmn').replace(' default="toReject"', '');
    await assert.rejects(
      parseDefinitions(xml, 'x.bpmn'),
      (error: OperonError) => error.code === 'OPERON_ERR_BPMN_INVALID' && error.details.elementId === 'toReject',
    );
  });

  it('rejects a literal timer that is not ISO 8601', async () => {
    const xml = read('timers.bpmn').replace('PT1H', 'one hour');
    await assert.rejects(
      parseDefinitions(xml, 't.bpmn'),
      (error: OperonError) => error.code === 'OPERON_ERR_BPMN_INVALID' && error.details.elementId === 'wait1h',
    );
  });

  it('rejects a receive task whose message has no correlation key', async () => {
    const xml = read('messages.bpmn').replace('<zeebe:subscription correlationKey="=orderId" />', '');
    await assert.rejects(
      parseDefinitions(xml, 'm.bpmn'),
      (error: OperonError) => error.code === 'OPERON_ERR_BPMN_INVALID' && error.details.elementId === 'waitPayment',
    );
  });

  it('rejects a multi-instance activity without inputCollection, and standard loops as unsupported', async () => {
    const multi = read('parallel.bpmn').replace(
      '<bpmn:serviceTask id="taskA">',
      '<bpmn:serviceTask id="taskA"><bpmn:multiInstanceLoopCharacteristics />',
    );
    await assert.rejects(
      parseDefinitions(multi, 'p.bpmn'),
      (error: OperonError) => error.code === 'OPERON_ERR_BPMN_INVALID' && error.details.elementId === 'taskA',
    );
    const loop = read('parallel.bpmn').replace(
      '<bpmn:serviceTask id="taskA">',
      '<bpmn:serviceTask id="taskA"><bpmn:standardLoopCharacteristics />',
    );
    await assert.rejects(
      parseDefinitions(loop, 'p.bpmn'),
      (error: OperonError) => error.code === 'OPERON_ERR_BPMN_UNSUPPORTED' && error.details.elementId === 'taskA',
    );
  });

  it('reads zeebe:loopCharacteristics of a multi-instance activity', async () => {
    const [graph] = await parseDefinitions(read('multi-instance.bpmn'), 'mi.bpmn');
    assert.deepEqual((graph!.elements.quote as Activity).multiInstance, {
      sequential: false,
      inputCollection: 'carriers',
      inputElement: 'carrier',
      outputCollection: 'quotes',
      outputElement: '{carrier: carrierName, price: price}',
    });
    assert.deepEqual((graph!.elements.approvals as Activity).multiInstance, {
      sequential: true,
      inputCollection: 'approvers',
      inputElement: 'approver',
      completionCondition: 'rejected = true',
    });
  });

  it('reads execution listeners in document order (Camunda runs them as jobs)', async () => {
    const xml = read('parallel.bpmn').replace(
      '<zeebe:taskDefinition type="work-a" />',
      '<zeebe:taskDefinition type="work-a" /><zeebe:executionListeners><zeebe:executionListener eventType="start" type="audit" /><zeebe:executionListener eventType="end" type="=&quot;log-&quot; + x" retries="=2" /></zeebe:executionListeners>',
    );
    const [graph] = await parseDefinitions(xml, 'p.bpmn');
    assert.deepEqual(graph!.elements.taskA!.listeners, {
      start: [{ type: 'audit', retries: 3 }],
      end: [{ type: '="log-" + x', retries: 3, retriesExpression: '2' }],
    });
  });
});

describe('every fixture', () => {
  it('parses to a graph that survives JSON unchanged (the store keeps it as jsonb)', async () => {
    const { readdirSync } = await import('node:fs');
    const files = readdirSync(new URL('../fixtures/bpmn/', import.meta.url)).filter((f) => f.endsWith('.bpmn'));
    assert.ok(files.length >= 15);
    for (const file of files) {
      const graphs = await parseDefinitions(read(file), file, { callActivities: true });
      for (const graph of graphs) {
        assert.deepStrictEqual(JSON.parse(JSON.stringify(graph)), graph, file);
        for (const element of Object.values(graph.elements)) {
          for (const flowId of [...element.incoming, ...element.outgoing])
            assert.ok(graph.flows[flowId], `${file}: ${element.id} -> ${flowId}`);
        }
      }
    }
  });
});

describe('unknown zeebe extension elements', () => {
  it('are refused naming the element they sit in', async () => {
    const xml = read('loan-check.bpmn').replace(
      '<zeebe:taskDefinition type="credit-score" retries="5" />',
      '<zeebe:taskDefinition type="credit-score" retries="5" /><zeebe:futureThing a="1" />',
    );
    await assert.rejects(parseDefinitions(xml, 'x.bpmn'), {
      code: 'OPERON_ERR_BPMN_INVALID',
      details: {
        file: 'x.bpmn',
        elementId: 'score',
        elementType: 'zeebe:futureThing',
        reason: 'unknown type <zeebe:FutureThing>',
      },
    });
  });
});
