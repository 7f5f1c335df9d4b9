/**
 * The shared check of a selective-prediction signal that rescores copies of a case (consistency:
 * reworded text; boundary: nudged numbers; parts: the text's parts): on natural cases, an automated
 * answer goes to review exactly when its copies, scored by the plain model, disagree with it (by
 * default: one of them gets another label).
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { DecisionAgent, DecisionResult } from '../../nodes/decision/agent.ts';
import { readNaturalCases } from '../../models/checklist.ts';

export async function checkSignalOnNaturalCases(
  domain: 'loan' | 'order',
  agents: { checked: DecisionAgent; plain: DecisionAgent },
  signal: {
    fired: (reason: string) => boolean;
    copies: (variables: Record<string, unknown>) => Record<string, unknown>[];
    differs?: (base: DecisionResult, copies: DecisionResult[]) => boolean;
  },
): Promise<{ automated: number; flagged: number }> {
  const { checked, plain } = agents;
  const cases = readNaturalCases(
    fileURLToPath(new URL(`../../models/data/natural/${domain}.test.jsonl`, import.meta.url)),
  ).slice(0, 60);
  let automated = 0;
  let flagged = 0;
  for (const c of cases) {
    const base = await plain.infer(c.variables);
    const result = await checked.infer(c.variables);
    assert.equal(result.label, base.label);
    const fired = result.reviewReasons.some(signal.fired);
    if (base.needsReview) {
      assert.ok(!fired, 'answers that go to review anyway are not checked');
      continue;
    }
    automated++;
    const copies = await Promise.all(signal.copies(c.variables).map((copy) => plain.infer(copy)));
    const differs = signal.differs ? signal.differs(base, copies) : copies.some((copy) => copy.label !== base.label);
    assert.equal(fired, differs, `${c.id}: ${JSON.stringify(c.variables)}`);
    assert.equal(result.needsReview, differs);
    if (differs) flagged++;
  }
  assert.ok(automated > 0, 'some natural cases are automated');
  return { automated, flagged };
}
