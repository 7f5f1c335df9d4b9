/**
 * The DMN TCK runner (bench/dmn-tck.ts, `npm run dmn:tck`) on test cases of our own written in the
 * TCK's format (test/fixtures/dmn-tck): DMN 1.5 files read as 1.3, scalar / list / component / nil
 * values, a decision Operon refuses cut out while the file's other decisions still run, and the
 * per-level counts the command prints.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { it } from 'node:test';
import { formatReport, parseXml, runTck, sameValue, valueOf } from '../../bench/dmn-tck.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/dmn-tck', import.meta.url));

it('counts passed test cases per compliance level and says why the others failed', async () => {
  const report = await runTck(FIXTURES);
  assert.deepEqual(report.levels, [
    { level: 'compliance-level-2', models: 2, modelsRefused: 0, cases: 4, passed: 4 },
    { level: 'compliance-level-3', models: 1, modelsRefused: 1, cases: 4, passed: 3 },
  ]);
  const failed = report.results.filter((r) => !r.passed);
  assert.equal(failed.length, 1);
  assert.equal(failed[0]!.caseId, '0001-mixed-test-01#004');
  assert.match(failed[0]!.reason!, /decision "d_boxed" has a Context/);
  assert.match(formatReport(report, true), /compliance-level-3\s+1\s+1\s+4\s+3\s+75\.0 %/);
});

it('reads TCK values: entities, nil, lists, components; compares numbers with a tolerance', () => {
  const node = parseXml(
    `<?xml version="1.0"?><!-- c --><expected xmlns:xsi="x"><component name="a &amp; b"><value xsi:type="xsd:decimal">0.3</value></component>
     <component name="l"><list><item><value xsi:type="xsd:boolean">true</value></item><item><value xsi:nil="true"/></item></list></component>
     <component name="s"><value><![CDATA[<raw>]]></value></component></expected>`,
  );
  assert.deepEqual(valueOf(node, false), { 'a & b': 0.3, l: [true, null], s: '<raw>' });
  assert.ok(sameValue(0.1 + 0.2, 0.3));
  assert.ok(!sameValue(0.31, 0.3));
  assert.ok(sameValue('P1Y', 'P1Y'));
  assert.ok(!sameValue(['x'], ['x', 'y']));
  assert.throws(() => parseXml('<a><b></a>'), /does not close/);
});

it('npm run dmn:tck prints the table; without a path it prints its usage', async () => {
  const run = promisify(execFile);
  const script = fileURLToPath(new URL('../../bench/dmn-tck.ts', import.meta.url));
  const { stdout } = await run(process.execPath, [
    '--import',
    'tsx',
    script,
    FIXTURES,
    '--level',
    'compliance-level-2',
  ]);
  assert.match(stdout, /compliance-level-2\s+2\s+0\s+4\s+4\s+100\.0 %/);
  await assert.rejects(
    run(process.execPath, ['--import', 'tsx', script]),
    (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 2);
      assert.match(error.stderr, /usage: npm run dmn:tck/);
      return true;
    },
  );
});
