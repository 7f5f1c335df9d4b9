/**
 * DMN over the real API and PostgreSQL: a `.dmn` and a `.bpmn` deployed together as multipart files
 * to a listening server, business rule tasks (zeebe:calledDecision) evaluating the latest decision
 * version with its required decisions, one decision_evaluations row per evaluation, incidents for
 * a UNIQUE violation and a missing decision, and a 400 naming the element of an invalid file.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { eventually, startTestApi, type TestApi } from './support/api.ts';

let api: TestApi;
let base: string;

before(async () => {
  api = await startTestApi();
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
});
after(async () => {
  await api?.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...api.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function deploy(files: Record<string, string>): Promise<{ status: number; body: any }> {
  const form = new FormData();
  for (const [name, xml] of Object.entries(files))
    form.append('file', new Blob([xml], { type: 'application/xml' }), name);
  const response = await fetch(`${base}/api/deployments`, { method: 'POST', headers: api.auth, body: form });
  return { status: response.status, body: JSON.parse(await response.text()) };
}

/** Customer level (UNIQUE, by years) required by the discount (COLLECT SUM over level and amount). */
function discountDmn(goldDiscount: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="pricing" name="Pricing" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="level" name="Customer level">
    <decisionTable id="levelTable">
      <input id="levelYears" label="Years"><inputExpression id="levelYearsExpr" typeRef="number"><text>years</text></inputExpression></input>
      <output id="levelOut" name="level" typeRef="string" />
      <rule id="levelGold"><inputEntry id="lg1"><text>&gt;= 5</text></inputEntry><outputEntry id="lg2"><text>"gold"</text></outputEntry></rule>
      <rule id="levelSilver"><inputEntry id="ls1"><text>[2..5)</text></inputEntry><outputEntry id="ls2"><text>"silver"</text></outputEntry></rule>
      <rule id="levelOverlap"><inputEntry id="lo1"><text>99</text></inputEntry><outputEntry id="lo2"><text>"odd"</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="discount" name="Discount">
    <informationRequirement id="needsLevel"><requiredDecision href="#level" /></informationRequirement>
    <decisionTable id="discountTable" hitPolicy="COLLECT" aggregation="SUM">
      <input id="dLevel" label="Level"><inputExpression id="dLevelExpr"><text>level</text></inputExpression></input>
      <input id="dAmount" label="Amount"><inputExpression id="dAmountExpr"><text>amount</text></inputExpression></input>
      <output id="dOut" name="discount" typeRef="number" />
      <rule id="discountGold"><inputEntry id="dg1"><text>"gold"</text></inputEntry><inputEntry id="dg2"><text>-</text></inputEntry><outputEntry id="dg3"><text>${goldDiscount}</text></outputEntry></rule>
      <rule id="discountSilver"><inputEntry id="dsv1"><text>"silver"</text></inputEntry><inputEntry id="dsv2"><text></text></inputEntry><outputEntry id="dsv3"><text>5</text></outputEntry></rule>
      <rule id="discountLarge"><inputEntry id="dl1"><text>-</text></inputEntry><inputEntry id="dl2"><text>&gt; 1000</text></inputEntry><outputEntry id="dl3"><text>3</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>`;
}

function processXml(id: string, decisionId: string, resultVariable: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs_${id}" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="${id}" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide" />
    <bpmn:businessRuleTask id="decide" name="Decide">
      <bpmn:extensionElements><zeebe:calledDecision decisionId="${decisionId}" resultVariable="${resultVariable}" /></bpmn:extensionElements>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`;
}

async function start(bpmnProcessId: string, variables: Record<string, unknown>): Promise<string> {
  const response = await call('POST', '/api/instances', { bpmnProcessId, variables });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body.instanceId;
}

async function settled(instanceId: string): Promise<any> {
  return eventually(async () => {
    const { body } = await call('GET', `/api/instances/${instanceId}`);
    return body.state !== 'active' || body.incidents.some((i: { state: string }) => i.state === 'open')
      ? body
      : undefined;
  }, 30_000);
}

describe('DMN decisions over the API', () => {
  test('a .dmn and a .bpmn deploy together and a business rule task writes the decision result', async () => {
    const deployed = await deploy({
      'pricing.dmn': discountDmn(10),
      'price.bpmn': processXml('price', 'discount', 'discount'),
    });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    assert.deepEqual(
      deployed.body.decisions.map((d: { decisionId: string; version: number; created: boolean }) => [
        d.decisionId,
        d.version,
        d.created,
      ]),
      [
        ['level', 1, true],
        ['discount', 1, true],
      ],
    );
    assert.deepEqual(
      deployed.body.processes.map((p: { bpmnProcessId: string }) => p.bpmnProcessId),
      ['price'],
    );

    const gold = await settled(await start('price', { years: 7, amount: 2000 }));
    assert.equal(gold.state, 'completed', JSON.stringify(gold));
    assert.equal(gold.variables.discount, 13);
    const nobody = await settled(await start('price', { years: 0, amount: 10 }));
    assert.equal(nobody.state, 'completed');
    assert.equal(nobody.variables.discount, null, 'no rule matched: SUM of nothing is null');

    const rows = await api.db.knex('decision_evaluations').where({ process_instance_id: gold.instanceId }).select('*');
    assert.equal(rows.length, 1);
    assert.equal(rows[0].element_id, 'decide');
    assert.equal(rows[0].decision_id, 'discount');
    assert.equal(rows[0].version, 1);
    assert.deepEqual(rows[0].inputs, { Level: 'gold', Amount: 2000 });
    assert.deepEqual(rows[0].matched_rule_ids, ['discountGold', 'discountLarge']);
    assert.equal(rows[0].output, 13);
    assert.deepEqual(
      rows[0].evaluated.map((e: { decisionId: string; matchedRuleIds: string[] }) => [e.decisionId, e.matchedRuleIds]),
      [
        ['level', ['levelGold']],
        ['discount', ['discountGold', 'discountLarge']],
      ],
    );
  });

  test('a redeployed decision gets a new version, which the next evaluation uses; the same file again is no new version', async () => {
    const again = await deploy({ 'pricing.dmn': discountDmn(10) });
    assert.equal(again.status, 201);
    assert.deepEqual(
      again.body.decisions.map((d: { version: number; created: boolean }) => [d.version, d.created]),
      [
        [1, false],
        [1, false],
      ],
    );
    const changed = await deploy({ 'pricing.dmn': discountDmn(20) });
    assert.deepEqual(
      changed.body.decisions.map((d: { decisionId: string; version: number }) => [d.decisionId, d.version]),
      [
        ['level', 2],
        ['discount', 2],
      ],
    );
    const instance = await settled(await start('price', { years: 9, amount: 5 }));
    assert.equal(instance.variables.discount, 20);
    const row = await api.db.knex('decision_evaluations').where({ process_instance_id: instance.instanceId }).first();
    assert.equal(row.version, 2);
  });

  test('a UNIQUE violation and a decision that is not deployed are incidents with a clear message', async () => {
    // years 99 matches levelGold and levelOverlap: the required decision breaks its UNIQUE hit policy.
    const violated = await settled(await start('price', { years: 99, amount: 1 }));
    const [incident] = violated.incidents;
    assert.equal(incident.code, 'OPERON_ERR_DMN_EVAL');
    assert.equal(incident.elementId, 'decide');
    assert.match(incident.message, /"level".*UNIQUE.*"levelGold", "levelOverlap"/);

    const missing = await deploy({ 'missing.bpmn': processXml('missing', 'nowhere', 'x') });
    assert.equal(missing.status, 201, 'a decision need not be deployed before the process that calls it');
    const waiting = await settled(await start('missing', {}));
    assert.equal(waiting.incidents[0].code, 'OPERON_ERR_DMN_EVAL');
    assert.match(waiting.incidents[0].message, /"nowhere", which is not deployed/);

    // Deploying the decision and resolving the incident evaluates it again.
    const nowhere = discountDmn(10)
      .replace(/"discount"/g, '"nowhere"')
      .replace('id="pricing"', 'id="pricing2"');
    assert.equal((await deploy({ 'nowhere.dmn': nowhere })).status, 201);
    const resolved = await call('POST', `/api/incidents/${waiting.incidents[0].id}/resolve`, {});
    assert.ok(resolved.status < 300, JSON.stringify(resolved.body));
    const done = await eventually(async () => {
      const { body } = await call('GET', `/api/instances/${waiting.instanceId}`);
      return body.state === 'completed' ? body : undefined;
    }, 30_000);
    assert.equal(done.variables.x, null, 'no years or amount: no rule matched');
  });

  test('literal expressions run through the budgeted FEEL worker: a runaway one is stopped with an incident', async () => {
    const literal = (id: string, text: string) => `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="drg_${id}" name="L" namespace="x">
  <decision id="${id}" name="${id}"><variable id="${id}_v" name="${id}" /><literalExpression id="${id}_e"><text>${text}</text></literalExpression></decision>
</definitions>`;
    const deployed = await deploy({
      'sum.dmn': literal('triangle', 'sum(for i in 1..n return i)'),
      'runaway.dmn': literal('runaway', 'count(for i in 1..100000000 return i)'),
      'triangle.bpmn': processXml('triangle', 'triangle', 'total'),
      'runaway.bpmn': processXml('runaway', 'runaway', 'total'),
    });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    const sum = await settled(await start('triangle', { n: 4 }));
    assert.equal(sum.variables.total, 10);
    const runaway = await settled(await start('runaway', {}));
    assert.equal(runaway.state, 'active');
    assert.equal(runaway.incidents[0].code, 'OPERON_ERR_FEEL_BUDGET', JSON.stringify(runaway.incidents[0]));
    assert.match(runaway.incidents[0].message, /decision "runaway"/);
  });

  test('bindingType="versionTag" calls the newest version carrying the tag; no such version is an incident', async () => {
    const tagged = (tag: string, text: string) => `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="drg_tagged" name="T" namespace="x">
  <decision id="tagged" name="tagged"><extensionElements><zeebe:versionTag value="${tag}" /></extensionElements><literalExpression id="tagged_e"><text>${text}</text></literalExpression></decision>
</definitions>`;
    const withTag = (id: string, tag: string) =>
      processXml(id, 'tagged', 'answer').replace(
        'resultVariable="answer"',
        `resultVariable="answer" bindingType="versionTag" versionTag="${tag}"`,
      );
    const first = await deploy({
      'tagged.dmn': tagged('v1', '"one"'),
      'tag-v1.bpmn': withTag('tag-v1', 'v1'),
      'tag-v9.bpmn': withTag('tag-v9', 'v9'),
    });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.decisions[0].versionTag, 'v1');
    assert.equal((await deploy({ 'tagged.dmn': tagged('v2', '"two"') })).body.decisions[0].version, 2);
    const v1 = await settled(await start('tag-v1', {}));
    assert.equal(v1.variables.answer, 'one');
    const row = await api.db.knex('decision_evaluations').where({ process_instance_id: v1.instanceId }).first();
    assert.equal(row.version, 1);
    const v9 = await settled(await start('tag-v9', {}));
    assert.equal(v9.incidents[0].code, 'OPERON_ERR_DMN_EVAL');
    assert.match(v9.incidents[0].message, /no version tagged "v9"/);
  });

  test('an invalid .dmn is refused with 400 and the offending element', async () => {
    const broken = discountDmn(10).replace('<text>&gt;= 5</text>', '<text>[1..</text>');
    const response = await deploy({ 'broken.dmn': broken });
    assert.equal(response.status, 400);
    assert.equal(response.body.error.code, 'OPERON_ERR_FEEL_SYNTAX');
    assert.equal(response.body.error.details.elementId, 'lg1');
    const noLogic = await deploy({
      'empty.dmn':
        '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="e" name="E" namespace="x"><decision id="bare" /></definitions>',
    });
    assert.equal(noLogic.status, 400);
    assert.equal(noLogic.body.error.code, 'OPERON_ERR_DMN_INVALID');
    assert.equal(noLogic.body.error.details.elementId, 'bare');
  });

  test('a DMN body sent as application/xml is told by its namespace', async () => {
    const response = await fetch(`${base}/api/deployments`, {
      method: 'POST',
      headers: { ...api.auth, 'content-type': 'application/xml' },
      body: discountDmn(30),
    });
    const body = await response.json();
    assert.equal(response.status, 201, JSON.stringify(body));
    // "level" is at 4: nowhere.dmn above deployed a decision with that id too (decision ids are global, as in Camunda).
    assert.deepEqual(
      body.decisions.map((d: { decisionId: string; version: number }) => [d.decisionId, d.version]),
      [
        ['level', 4],
        ['discount', 3],
      ],
    );
  });
});
