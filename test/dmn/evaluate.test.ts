/** DMN evaluation: every hit policy, unary tests, multiple outputs, literal expressions and required decisions, from real `.dmn` XML. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OperonError } from '../../engine/errors.ts';
import { evaluateDecision, parseDmn } from '../../engine/dmn/index.ts';

const NS = 'xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"';

const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface TableSpec {
  hitPolicy?: string;
  aggregation?: string;
  inputs: string[];
  /** The input expressions' typeRef, by column. */
  typeRefs?: string[];
  outputs: Array<{ name: string; values?: string }>;
  rules: Array<[string[], string[]]>;
}

function table(id: string, spec: TableSpec): string {
  const attrs = `${spec.hitPolicy ? ` hitPolicy="${spec.hitPolicy}"` : ''}${spec.aggregation ? ` aggregation="${spec.aggregation}"` : ''}`;
  return `<decision id="${id}" name="${id} name"><decisionTable id="${id}_table"${attrs}>
    ${spec.inputs.map((e, i) => `<input id="${id}_in${i}" label="in${i}"><inputExpression id="${id}_ie${i}"${spec.typeRefs?.[i] ? ` typeRef="${spec.typeRefs[i]}"` : ''}><text>${xmlText(e)}</text></inputExpression></input>`).join('')}
    ${spec.outputs.map((o, i) => `<output id="${id}_out${i}" name="${o.name}">${o.values ? `<outputValues id="${id}_ov${i}"><text>${xmlText(o.values)}</text></outputValues>` : ''}</output>`).join('')}
    ${spec.rules.map(([ins, outs], r) => `<rule id="r${r + 1}">${ins.map((t, i) => `<inputEntry id="r${r + 1}_i${i}"><text>${xmlText(t)}</text></inputEntry>`).join('')}${outs.map((t, i) => `<outputEntry id="r${r + 1}_o${i}"><text>${xmlText(t)}</text></outputEntry>`).join('')}</rule>`).join('')}
  </decisionTable></decision>`;
}

const definitions = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><definitions ${NS} id="drg" name="DRG" namespace="http://camunda.org/schema/1.0/dmn">${body}</definitions>`;

async function decide(spec: TableSpec, variables: Record<string, unknown>) {
  const model = await parseDmn(definitions(table('d', spec)), 't.dmn');
  return evaluateDecision(model, 'd', variables);
}

const amounts: TableSpec['rules'] = [
  [['< 100'], ['10']],
  [['[50..200]'], ['20']],
  [['-'], ['5']],
];

describe('DMN hit policies', () => {
  it('UNIQUE gives the one matching output, null when nothing matched, and refuses two matches', async () => {
    const spec: TableSpec = {
      inputs: ['amount'],
      outputs: [{ name: 'fee' }],
      rules: [
        [['< 100'], ['1']],
        [['>= 100'], ['2']],
      ],
    };
    assert.equal((await decide(spec, { amount: 5 })).output, 1);
    const result = await decide(spec, { amount: 500 });
    assert.equal(result.output, 2);
    assert.deepEqual(result.evaluated[0].matchedRuleIds, ['r2']);
    assert.deepEqual(result.evaluated[0].inputs, { in0: 500 });
    assert.equal((await decide({ ...spec, rules: [[['< 100'], ['1']]] }, { amount: 500 })).output, null);
    await assert.rejects(decide({ ...spec, rules: amounts }, { amount: 60 }), (error: OperonError) => {
      assert.equal(error.code, 'OPERON_ERR_DMN_EVAL');
      assert.match(error.message, /UNIQUE.*"r1", "r2", "r3"/);
      return true;
    });
  });

  it('FIRST gives the first match in rule order', async () => {
    const result = await decide(
      { hitPolicy: 'FIRST', inputs: ['amount'], outputs: [{ name: 'fee' }], rules: amounts },
      { amount: 60 },
    );
    assert.equal(result.output, 10);
    assert.deepEqual(result.evaluated[0].matchedRuleIds, ['r1']);
  });

  it('ANY accepts matches that agree and refuses ones that differ', async () => {
    const agree: TableSpec = {
      hitPolicy: 'ANY',
      inputs: ['amount'],
      outputs: [{ name: 'ok' }],
      rules: [
        [['> 1'], ['true']],
        [['> 2'], ['true']],
        [['<= 1'], ['false']],
      ],
    };
    assert.equal((await decide(agree, { amount: 5 })).output, true);
    await assert.rejects(decide({ ...agree, rules: amounts }, { amount: 60 }), /ANY/);
  });

  it('PRIORITY and OUTPUT ORDER rank by the output values', async () => {
    const spec: TableSpec = {
      hitPolicy: 'PRIORITY',
      inputs: ['score'],
      outputs: [{ name: 'level', values: '"high","medium","low"' }],
      rules: [
        [['> 0'], ['"low"']],
        [['> 50'], ['"high"']],
        [['> 20'], ['"medium"']],
      ],
    };
    const priority = await decide(spec, { score: 70 });
    assert.equal(priority.output, 'high');
    assert.deepEqual(priority.evaluated[0].matchedRuleIds, ['r2']);
    const ordered = await decide({ ...spec, hitPolicy: 'OUTPUT ORDER' }, { score: 70 });
    assert.deepEqual(ordered.output, ['high', 'medium', 'low']);
    assert.deepEqual(ordered.evaluated[0].matchedRuleIds, ['r2', 'r3', 'r1']);
    assert.deepEqual((await decide({ ...spec, hitPolicy: 'OUTPUT ORDER' }, { score: -1 })).output, []);
  });

  it('RULE ORDER and COLLECT give every match in rule order', async () => {
    const spec: TableSpec = { hitPolicy: 'RULE ORDER', inputs: ['amount'], outputs: [{ name: 'fee' }], rules: amounts };
    assert.deepEqual((await decide(spec, { amount: 60 })).output, [10, 20, 5]);
    assert.deepEqual((await decide({ ...spec, hitPolicy: 'COLLECT' }, { amount: 500 })).output, [5]);
  });

  it('COLLECT aggregates with SUM, MIN, MAX and COUNT', async () => {
    const spec = (aggregation: string): TableSpec => ({
      hitPolicy: 'COLLECT',
      aggregation,
      inputs: ['amount'],
      outputs: [{ name: 'fee' }],
      rules: amounts,
    });
    assert.equal((await decide(spec('SUM'), { amount: 60 })).output, 35);
    assert.equal((await decide(spec('MIN'), { amount: 60 })).output, 5);
    assert.equal((await decide(spec('MAX'), { amount: 60 })).output, 20);
    assert.equal((await decide(spec('COUNT'), { amount: 60 })).output, 3);
    assert.equal((await decide({ ...spec('SUM'), rules: [[['< 0'], ['1']]] }, { amount: 60 })).output, null);
    assert.equal((await decide({ ...spec('COUNT'), rules: [[['< 0'], ['1']]] }, { amount: 60 })).output, 0);
  });
});

describe('DMN inputs and outputs', () => {
  it('evaluates input expressions, lists of tests, strings, empty and "-" entries', async () => {
    const spec: TableSpec = {
      hitPolicy: 'FIRST',
      inputs: ['customer.category', 'amount * 2', 'region'],
      outputs: [{ name: 'discount' }],
      rules: [
        [['"gold","platinum"', '> 100', 'not("EU")'], ['0.2']],
        [['"gold"', '', '-'], ['0.1']],
        [['', '', ''], ['0']],
      ],
    };
    assert.equal((await decide(spec, { customer: { category: 'gold' }, amount: 60, region: 'US' })).output, 0.2);
    assert.equal((await decide(spec, { customer: { category: 'gold' }, amount: 60, region: 'EU' })).output, 0.1);
    assert.equal((await decide(spec, { customer: { category: 'silver' }, amount: 60 })).output, 0);
  });

  it('gives a context with several outputs, an empty output entry as null', async () => {
    const spec: TableSpec = {
      inputs: ['x'],
      outputs: [{ name: 'a' }, { name: 'b' }],
      rules: [
        [['1'], ['"one"', '']],
        [['2'], ['"two"', 'x + 1']],
      ],
    };
    assert.deepEqual((await decide(spec, { x: 1 })).output, { a: 'one', b: null });
    assert.deepEqual((await decide({ ...spec, hitPolicy: 'COLLECT' }, { x: 2 })).output, [{ a: 'two', b: 3 }]);
  });
});

describe('DMN decision requirements and literal expressions', () => {
  const drg = definitions(`
    ${table('risk', {
      inputs: ['age'],
      outputs: [{ name: 'risk' }],
      rules: [
        [['< 25'], ['"high"']],
        [['>= 25'], ['"low"']],
      ],
    })}
    <decision id="premium" name="Premium">
      <variable id="premium_var" name="Premium" />
      <informationRequirement id="ir1"><requiredDecision href="#risk" /></informationRequirement>
      <literalExpression id="premium_expr"><text>if risk = "high" then base * 2 else base</text></literalExpression>
    </decision>
    <decision id="offer" name="Offer">
      <informationRequirement id="ir2"><requiredDecision href="#premium" /></informationRequirement>
      <informationRequirement id="ir3"><requiredDecision href="#risk" /></informationRequirement>
      <literalExpression id="offer_expr"><text>{price: Premium, risk: risk}</text></literalExpression>
    </decision>`);

  it('evaluates required decisions first and gives their results by id and name', async () => {
    const model = await parseDmn(drg, 'drg.dmn');
    const young = evaluateDecision(model, 'offer', { age: 20, base: 100 });
    assert.deepEqual(young.output, { price: 200, risk: 'high' });
    assert.deepEqual(
      young.evaluated.map((e) => e.decisionId),
      ['risk', 'premium', 'offer'],
    );
    assert.equal(evaluateDecision(model, 'premium', { age: 40, base: 100 }).output, 100);
  });

  it('refuses a decision id the model lacks', async () => {
    const model = await parseDmn(drg, 'drg.dmn');
    assert.throws(
      () => evaluateDecision(model, 'nope', {}),
      (error: OperonError) => error.code === 'OPERON_ERR_DMN_EVAL' && /nope/.test(error.message),
    );
  });
});

describe('DMN deployment checks', () => {
  async function refused(body: string, code: string, elementId: string | undefined): Promise<void> {
    await assert.rejects(parseDmn(definitions(body), 'bad.dmn'), (error: OperonError) => {
      assert.equal(error.code, code, error.message);
      assert.equal(error.details.elementId, elementId, error.message);
      return true;
    });
  }

  it('names the element of a bad unary test, a bad expression, a wrong entry count and a missing requirement', async () => {
    await refused(
      table('d', { inputs: ['x'], outputs: [{ name: 'o' }], rules: [[['[1..'], ['1']]] }),
      'OPERON_ERR_FEEL_SYNTAX',
      'r1_i0',
    );
    await refused(
      table('d', { inputs: ['x +'], outputs: [{ name: 'o' }], rules: [] }),
      'OPERON_ERR_FEEL_SYNTAX',
      'd_in0',
    );
    await refused(
      table('d', { inputs: ['x'], outputs: [{ name: 'o' }], rules: [[['1', '2'], ['1']]] }),
      'OPERON_ERR_DMN_INVALID',
      'r1',
    );
    await refused(
      table('d', { hitPolicy: 'FIRST', aggregation: 'SUM', inputs: ['x'], outputs: [{ name: 'o' }], rules: [] }),
      'OPERON_ERR_DMN_INVALID',
      'd_table',
    );
    await refused(
      '<decision id="a"><informationRequirement id="i"><requiredDecision href="#b" /></informationRequirement><literalExpression id="e"><text>1</text></literalExpression></decision>',
      'OPERON_ERR_DMN_INVALID',
      'a',
    );
    await refused('<decision id="a" />', 'OPERON_ERR_DMN_INVALID', 'a');
  });

  it('refuses what is not DMN', async () => {
    await assert.rejects(parseDmn('<nope', 'x.dmn'), (error: OperonError) => error.code === 'OPERON_ERR_DMN_PARSE');
    const dmn11 =
      '<definitions xmlns="http://www.omg.org/spec/DMN/20151101/dmn.xsd" id="a" name="a" namespace="x"><decision id="d" /></definitions>';
    await assert.rejects(
      parseDmn(dmn11, 'old.dmn'),
      (error: OperonError) => error.code === 'OPERON_ERR_DMN_PARSE' && /DMN 1\.1 or 1\.2/.test(error.message),
    );
  });
});

describe('DMN values of another type than the tests', () => {
  it('a number test on a string, a boolean or a list matches no rule (FEEL: null), as on a missing value', async () => {
    const spec: TableSpec = {
      inputs: ['amount'],
      outputs: [{ name: 'size' }],
      rules: [
        [['< 100'], ['"small"']],
        [['[100..1000]'], ['"medium"']],
        [['> 1000'], ['"large"']],
      ],
    };
    assert.equal((await decide(spec, { amount: 50 })).output, 'small');
    assert.equal((await decide(spec, { amount: 5000 })).output, 'large');
    for (const amount of ['50', 'abc', '', true, [50], null]) {
      const result = await decide(spec, { amount });
      assert.equal(result.output, null, JSON.stringify(amount));
      assert.deepEqual(result.evaluated[0]!.matchedRuleIds, [], JSON.stringify(amount));
    }
  });

  it('a column typed date, dateTime, time or duration reads its strings as that type', async () => {
    const rules: TableSpec['rules'] = [
      [['> date("2016-10-01")'], ['"after"']],
      [['<= date("2016-10-01")'], ['"on or before"']],
    ];
    const dated: TableSpec = { inputs: ['day'], typeRefs: ['date'], outputs: [{ name: 'when' }], rules };
    assert.equal((await decide(dated, { day: '2016-11-01' })).output, 'after');
    assert.equal((await decide(dated, { day: '2016-10-01' })).output, 'on or before');
    assert.equal((await decide(dated, { day: 'soon' })).output, null, 'not a date: no rule');
    assert.equal((await decide(dated, { day: 20161101 })).output, null, 'a number is no date');
    const untyped: TableSpec = { inputs: ['day'], outputs: [{ name: 'when' }], rules };
    assert.equal((await decide(untyped, { day: '2016-11-01' })).output, null, 'without typeRef a string is no date');
    const waited: TableSpec = {
      inputs: ['waited'],
      typeRefs: ['dayTimeDuration'],
      outputs: [{ name: 'late' }],
      rules: [
        [['> duration("PT2H")'], ['true']],
        [['<= duration("PT2H")'], ['false']],
      ],
    };
    assert.equal((await decide(waited, { waited: 'PT3H' })).output, true);
    assert.equal((await decide(waited, { waited: 'PT90M' })).output, false);
    const stamped: TableSpec = {
      inputs: ['at'],
      typeRefs: ['dateTime'],
      outputs: [{ name: 'late' }],
      rules: [[['> date and time("2026-12-01T12:00:00Z")'], ['true']]],
    };
    assert.equal((await decide(stamped, { at: '2026-12-02T08:00:00Z' })).output, true);
  });
});
