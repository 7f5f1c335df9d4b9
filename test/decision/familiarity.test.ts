/**
 * Unfamiliar words as a review signal: the lexicon's typo tolerance, the share rule, and the
 * shipped models sending text they were never trained on to a person whatever their confidence.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import { Lexicon, textWords, unfamiliarReason } from '../../nodes/decision/familiarity.ts';

after(() => DecisionAgent.closeAll());

const lexicon = new Lexicon(['new', 'kitchen', 'for', 'the', 'house', 'holiday', 'car', 'wedding', 'my']);

test('words are lowercase letter runs; accents are dropped, digits and emoji are not words', () => {
  assert.deepEqual(textWords('New KITCHEN for my café 🎉 2024!'), ['new', 'kitchen', 'for', 'my', 'cafe']);
});

test('a known word one typo away is familiar; short words must match exactly', () => {
  for (const typo of ['kitchne', 'kitchn', 'kittchen', 'kitcken', 'hoilday']) assert.ok(lexicon.knows(typo), typo);
  assert.ok(!lexicon.knows('kchn'));
  assert.ok(!lexicon.knows('cat'), 'three letters: no typo tolerance');
  assert.ok(!lexicon.knows('bitcoin'));
});

test('review needs both enough unfamiliar words and a large enough share of the text', () => {
  assert.equal(unfamiliarReason('purpose', 'new kitchen for the house', lexicon), null);
  assert.equal(
    unfamiliarReason('purpose', 'new kitchen for the house, Zanzibar', lexicon),
    null,
    'one unfamiliar word is not enough',
  );
  const reason = unfamiliarReason('purpose', 'Uusi keittiö taloon', lexicon);
  assert.match(
    reason!,
    /^purpose has words the model was not trained on \('uusi', 'keittio', 'taloon'\): 3 of 3 words$/,
  );
  assert.equal(
    unfamiliarReason('purpose', 'new kitchen for the house, the car for the wedding, my holiday, zzq qqz', lexicon, {
      minWords: 2,
      minShare: 0.2,
    }),
    null,
    'two of 14 words is under the share',
  );
  assert.equal(unfamiliarReason('purpose', '', lexicon), null);
});

for (const domain of ['loan', 'order'] as const) {
  const dir = fileURLToPath(new URL(`../../models/${domain}/`, import.meta.url));
  test(`the shipped ${domain} model knows its training words and sends a text in an unknown language to review`, {
    skip: !existsSync(`${dir}lexicon.txt`) && 'no lexicon.txt',
  }, async () => {
    const words = readFileSync(`${dir}lexicon.txt`, 'utf8').trim().split('\n');
    assert.ok(words.length > 500, `${words.length} words`);
    const agent = await DecisionAgent.load(domain);
    const base =
      domain === 'loan'
        ? { income: 52000, debts: 3000, creditScore: 700, amount: 10000, termMonths: 36, employment: 'permanent' }
        : {
            weightKg: 2,
            distanceKm: 50,
            stock: { leeds: 3, bristol: 0, glasgow: 1 },
            deadlineHours: 72,
            customerTier: 'standard',
          };
    const field = domain === 'loan' ? 'purpose' : 'notes';
    const familiar = await agent.infer({
      ...base,
      [field]: domain === 'loan' ? 'a new kitchen for the house' : 'please leave it with the neighbour',
    });
    assert.ok(!familiar.reviewReasons.some((r) => r.includes('not trained on')), familiar.reviewReasons.join('; '));
    const foreign = await agent.infer({
      ...base,
      [field]: 'Hyvää päivää, tarvitsen rahaa keittiöremonttiin ja pihatöihin',
    });
    assert.equal(foreign.needsReview, true);
    assert.ok(
      foreign.reviewReasons.some((r) => r.startsWith(`${field} has words the model was not trained on`)),
      foreign.reviewReasons.join('; '),
    );
  });
}

test('the shipped loan model trained on purposes in other languages, but their words are not in its lexicon: such a purpose goes to a person', async () => {
  const agent = await DecisionAgent.load('loan');
  const strong = {
    income: 72000,
    debts: 2000,
    creditScore: 790,
    amount: 12000,
    termMonths: 36,
    employment: 'permanent',
  };
  for (const purpose of [
    'Kredit für ein neues Auto',
    'pagar mis deudas de juego',
    'une nouvelle cuisine pour la maison',
    'Umzug nach Kanada, für immer',
  ]) {
    const result = await agent.infer({ ...strong, purpose });
    assert.equal(result.needsReview, true, `${purpose}: ${result.label} ${result.confidence}`);
    assert.ok(
      result.reviewReasons.some((r) => r.startsWith('purpose has words the model was not trained on')),
      `${purpose}: ${result.reviewReasons.join('; ')}`,
    );
  }
});

test('the shipped order model sends notes in other languages to a person, urgent ones included', async () => {
  const agent = await DecisionAgent.load('order');
  const order = {
    weightKg: 2,
    distanceKm: 120,
    stock: { leeds: 4, bristol: 2, glasgow: 0 },
    deadlineHours: 72,
    customerTier: 'standard',
  };
  for (const notes of [
    'Bitte schnell liefern, es ist dringend',
    'lo recogeré yo mismo en Leeds',
    'por favor entregar mañana',
  ]) {
    const result = await agent.infer({ ...order, notes });
    assert.equal(result.needsReview, true, `${notes}: ${result.label} ${result.confidence}`);
    assert.ok(
      result.reviewReasons.some((r) => r.startsWith('notes has words the model was not trained on')),
      `${notes}: ${result.reviewReasons.join('; ')}`,
    );
  }
});
