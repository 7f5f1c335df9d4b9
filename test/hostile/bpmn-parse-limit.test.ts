/**
 * The parse time limit (OPERON_BPMN_PARSE_TIMEOUT_MS) counts parsing only: a parser thread slow to
 * start (a busy machine; simulated with OPERON_BPMN_PARSER_START_DELAY_MS, longer than the limit)
 * does not make an honest large file unsafe, and the thread stays warm for the next one. Its own
 * file: the thread must be cold at the first parse.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDefinitionsSafely } from '../../engine/model/safe-parse.ts';

const model = (id: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">` +
  `<bpmn:process id="${id}" isExecutable="true"><bpmn:documentation>${'A large, honest Camunda model. '.repeat(4_000)}</bpmn:documentation>` +
  `<bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f" sourceRef="start" targetRef="end" /><bpmn:endEvent id="end" /></bpmn:process></bpmn:definitions>`;

describe('the BPMN parse limit', () => {
  it('does not count the parser thread starting up, nor a parse waiting for it', async () => {
    process.env.OPERON_BPMN_PARSER_START_DELAY_MS = '6000';
    // Generous for parsing ~120 KB of plain text on a busy machine, and shorter than the start-up.
    process.env.OPERON_BPMN_PARSE_TIMEOUT_MS = '4000';
    const first = model('first');
    assert.ok(first.length > 64 * 1024, 'large enough for the parser thread');
    const [a, b] = await Promise.all([
      parseDefinitionsSafely(first, 'first.bpmn'),
      parseDefinitionsSafely(model('second'), 'second.bpmn'),
    ]);
    assert.equal(a![0]!.bpmnProcessId, 'first');
    assert.equal(b![0]!.bpmnProcessId, 'second');
    // Warm now: the next large file does not wait for a start again (it would still pass if it did).
    const [c] = await parseDefinitionsSafely(model('third'), 'third.bpmn');
    assert.equal(c!.bpmnProcessId, 'third');
  });
});
