/**
 * The lending policy lives in one place: the shipped DMN table of hard limits
 * (processes/loan-hard-limits.dmn) decides exactly what rule 2 of models/data/policy.ts decides.
 * Cases sweep every threshold from both sides and every employment; where the table matches, the
 * written policy rejects whatever the text's intent, and where it does not, no hard limit applies.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { evaluateDecision, parseDmn } from '../../engine/dmn/index.ts';
import { LOAN_HARD_LIMITS, LOAN_INTENTS, loanHardLimit, loanPolicy } from '../../models/data/policy.ts';

const xml = readFileSync(new URL('../../processes/loan-hard-limits.dmn', import.meta.url), 'utf8');
const RULE_OF = { 'credit-score': 'rule-credit-score', unemployed: 'rule-unemployed', debts: 'rule-debts' } as const;
const INTENTS = LOAN_INTENTS;

it('the DMN hard limits and the written policy agree across every threshold', async () => {
  const model = await parseDmn(xml, 'loan-hard-limits.dmn');
  const { minCreditScore, maxDebts } = LOAN_HARD_LIMITS;
  const scores = [300, minCreditScore - 1, minCreditScore - 0.5, minCreditScore, minCreditScore + 1, 850];
  const debts = [0, maxDebts - 1, maxDebts - 0.01, maxDebts, maxDebts + 1, 250000];
  const employments = ['permanent', 'self-employed', 'contract', 'part-time', 'retired', 'student', 'unemployed'];
  let matched = 0;
  let cases = 0;
  for (const creditScore of scores)
    for (const debt of debts)
      for (const employment of employments) {
        const c = { income: 50000, debts: debt, creditScore, amount: 10000, termMonths: 36, employment, purpose: 'x' };
        const result = evaluateDecision(model, 'loan-hard-limits', c);
        const [evaluated] = result.evaluated;
        const limit = loanHardLimit(c);
        const where = JSON.stringify({ creditScore, debts: debt, employment });
        if (limit === null) {
          assert.equal(result.output, null, `no hard limit applies to ${where}, the table matched`);
          assert.deepEqual(evaluated!.matchedRuleIds, []);
          for (const intent of INTENTS)
            if (intent !== 'prohibited') assert.notEqual(loanPolicy(c, intent), 'reject', where);
        } else {
          matched++;
          const output = result.output as { outcome: string; reason: string };
          assert.equal(output.outcome, 'reject', where);
          assert.deepEqual(
            evaluated!.matchedRuleIds,
            [RULE_OF[limit]],
            `the first rule of the policy decides ${where}`,
          );
          for (const intent of INTENTS) assert.equal(loanPolicy(c, intent), output.outcome, `${where} (${intent})`);
        }
        cases++;
      }
  assert.equal(cases, 252);
  assert.ok(matched > 0 && matched < cases, `${matched} of ${cases} cases hit a hard limit`);
});

it('the table states the thresholds of policy.ts in its rules', () => {
  assert.match(xml, new RegExp(`&lt; ${LOAN_HARD_LIMITS.minCreditScore}<`));
  assert.match(xml, new RegExp(`&gt;= ${LOAN_HARD_LIMITS.maxDebts}<`));
  assert.match(xml, new RegExp(`"${LOAN_HARD_LIMITS.rejectedEmployment}"<`));
});
