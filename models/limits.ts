/**
 * `npm run models:limits` — how often a shipped model answers against the written policy's limits
 * on cases whose numbers it has not seen together: cases drawn uniformly over every declared
 * input's training range (a seeded draw, not the generator's realistic mixes), with ordinary texts
 * that name nothing the policy decides on (and, for the loan model, a guarantor; for orders, a
 * collection and an urgent note, so that every answer is possible). It counts the answers at or
 * above the review threshold whose case fails one of the label's required conditions
 * (nodes/decision/requires.ts), and how many of those are acted on with the requirements in place
 * (none, unless another signal is off).
 *
 * Usage: tsx models/limits.ts [--cases 20000] [--seed 7] [--models-dir DIR]
 */
import { parseArgs } from 'node:util';
import { DecisionAgent, DEFAULT_MODELS_DIR } from '../nodes/decision/agent.ts';
import { Requirements } from '../nodes/decision/requires.ts';
import { answerOf, decideAll } from './checklist.ts';
import { withValueAt } from '../nodes/decision/inputs.ts';
import { DOMAINS, type DomainName } from './data/domains.ts';
import { rng } from './data/generate.ts';
import { policyRequirements } from './data/policy.ts';

const TEXTS: Record<DomainName, string[]> = {
  loan: [
    'a new kitchen for the house',
    'a used car',
    'our wedding',
    'consolidating two credit cards',
    'new windows',
    'a holiday to Spain',
    'a used car, my dad is my guarantor',
    'secured on my house, a new roof',
  ],
  order: [
    '',
    'leave it with the neighbour',
    'please ring the bell twice',
    'a birthday present for my mum',
    'urgent please',
    'I will collect it from the Leeds depot',
  ],
};

/** One case: every declared input drawn over its training range (enums uniformly), `text` for the free text. */
function drawCase(domain: DomainName, next: () => number, text: string): Record<string, unknown> {
  let vars: Record<string, unknown> = {};
  for (const [name, input] of Object.entries(DOMAINS[domain].inputs)) {
    const spec = input as {
      type: string;
      trainedMin?: number;
      trainedMax?: number;
      decimals?: number;
      values?: string[];
    };
    let value: unknown = text;
    if (spec.type === 'enum') value = spec.values![Math.floor(next() * spec.values!.length)];
    else if (spec.type !== 'text') {
      const raw = spec.trainedMin! + next() * (spec.trainedMax! - spec.trainedMin!);
      const scale = 10 ** (spec.type === 'integer' ? 0 : (spec.decimals ?? 0));
      value = Math.round(raw * scale) / scale;
    }
    vars = withValueAt(vars, name.split('.'), value);
  }
  return vars;
}

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '7' },
    'models-dir': { type: 'string' },
  },
});
for (const domain of ['loan', 'order'] as const) {
  const next = rng(Number(values.seed));
  const texts = TEXTS[domain];
  const cases = Array.from({ length: Number(values.cases) }, (_, i) =>
    drawCase(domain, next, texts[i % texts.length]!),
  );
  const agent = await DecisionAgent.load(domain, { modelsDir: values['models-dir'] ?? DEFAULT_MODELS_DIR });
  const policy = policyRequirements(domain);
  const requirements = new Requirements(policy);
  const outcomes = await decideAll(agent, cases);
  let confident = 0;
  let failing = 0;
  let actedOn = 0;
  const byCondition = new Map<string, number>();
  outcomes.forEach((o, i) => {
    if (!o.label || (o.confidence ?? 0) < agent.model.config.threshold || !Object.hasOwn(policy, o.label)) return;
    confident++;
    const unmet = requirements.unmet(o.label, cases[i]!);
    if (!unmet) return;
    failing++;
    byCondition.set(`${o.label}: ${unmet}`, (byCondition.get(`${o.label}: ${unmet}`) ?? 0) + 1);
    if (answerOf(o) !== 'review') actedOn++;
  });
  const detail = [...byCondition].map(([condition, n]) => `${n} ${condition}`).join('; ');
  console.log(
    `${domain} ${agent.model.config.version}: ${cases.length} cases, ${confident} answers with requirements at or above the threshold ${agent.model.config.threshold}, ${failing} fail one${detail ? ` (${detail})` : ''}, ${actedOn} acted on`,
  );
}
await DecisionAgent.closeAll();
