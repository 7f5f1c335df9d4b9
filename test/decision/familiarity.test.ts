/**
 * Unfamiliar words as a review signal: the lexicon's typo tolerance, the share rule, and the
 * shipped models sending text they were never trained on to a person whatever their confidence;
 * misspelt decisive words ("urget") as a signal of their own.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import { writeDecisiveWords } from '../../models/decisive-words.ts';
import {
  Lexicon,
  misspeltReason,
  oneEditApart,
  textWords,
  unfamiliarReason,
} from '../../nodes/decision/familiarity.ts';

after(() => DecisionAgent.closeAll());

/** Ordinary cases, the free text left out. */
const LOAN_CASE = {
  income: 52000,
  debts: 3000,
  creditScore: 700,
  amount: 10000,
  termMonths: 36,
  employment: 'permanent',
};
const ORDER_CASE = {
  weightKg: 2,
  distanceKm: 50,
  stock: { leeds: 3, bristol: 0, glasgow: 1 },
  deadlineHours: 72,
  customerTier: 'standard',
};

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

test('one edit apart: an insertion, deletion, substitution or swap of neighbours, nothing more', () => {
  for (const [a, b] of [
    ['urgent', 'urget'],
    ['urgent', 'urgnet'],
    ['urgent', 'urgennt'],
    ['urgent', 'urgant'],
    ['casino', 'caisno'],
    ['depot', 'deepot'],
  ])
    assert.ok(oneEditApart(a, b) && oneEditApart(b, a), `${a} ~ ${b}`);
  for (const [a, b] of [
    ['urgent', 'urgent'],
    ['urgent', 'ugrnet'],
    ['urgent', 'urg'],
    ['gambling', 'gabmlin'],
    ['expedite', 'expedient'],
  ])
    assert.ok(!oneEditApart(a, b), `${a} !~ ${b}`);
});

test('a misspelt decisive word outside the lexicon goes to a person; lexicon words, their endings and short words never do', () => {
  const words = new Lexicon(['urgent', 'please', 'setting', 'the', 'bell', 'ring', 'betting', 'court', 'depot']);
  const decisive = ['urgent', 'betting', 'court', 'depot'];
  assert.equal(
    misspeltReason('notes', 'urget, and please ring the bell twice', words, decisive),
    "notes has 'urget', one letter from 'urgent', a word that decides the case: the model may not read it as 'urgent'",
  );
  assert.equal(misspeltReason('notes', 'URGENT please', words, decisive), null, 'spelt right');
  assert.equal(misspeltReason('purpose', 'setting up the house', words, decisive), null, "a lexicon word: 'setting'");
  assert.equal(
    misspeltReason('purpose', 'would a holiday count', words, decisive),
    null,
    "'court' is too short to call",
  );
  assert.equal(misspeltReason('notes', 'deppot', words, decisive), null, 'five letters: too short to call');
  assert.equal(misspeltReason('notes', 'urgently please, the bell', words, decisive), null, 'urgent with an ending');
  assert.equal(misspeltReason('notes', 'zanzibar please', words, decisive), null, 'far from every decisive word');
});

for (const domain of ['loan', 'order'] as const) {
  const dir = fileURLToPath(new URL(`../../models/${domain}/`, import.meta.url));
  test(`the shipped ${domain} model knows its training words and sends a text in an unknown language to review`, {
    skip: !existsSync(`${dir}lexicon.txt`) && 'no lexicon.txt',
  }, async () => {
    const words = readFileSync(`${dir}lexicon.txt`, 'utf8').trim().split('\n');
    assert.ok(words.length > 500, `${words.length} words`);
    const agent = await DecisionAgent.load(domain);
    const base = domain === 'loan' ? LOAN_CASE : ORDER_CASE;
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

test('with decisiveWords written, the shipped models send a misspelt decisive word to a person, naming the word it may stand for', async () => {
  // The shipped configs leave the check off (docs/decisions.md: it costs automation on the natural
  // sets); models/decisive-words.ts --write turns it on, here in a copy of the model folders.
  const modelsDir = mkdtempSync(join(tmpdir(), 'operon-decisive-'));
  for (const domain of ['loan', 'order'] as const) {
    cpSync(fileURLToPath(new URL(`../../models/${domain}/`, import.meta.url)), join(modelsDir, domain), {
      recursive: true,
    });
    const words = writeDecisiveWords(modelsDir, domain);
    assert.ok(words.every((w) => w.length >= 6));
  }
  const order = await DecisionAgent.load('order', { modelsDir });
  assert.ok(order.model.config.decisiveWords?.includes('urgent'));
  const misspelt = await order.infer({ ...ORDER_CASE, notes: 'urget, and please ring the bell twice' });
  assert.equal(misspelt.needsReview, true);
  assert.ok(
    misspelt.reviewReasons.some((r) => r.startsWith("notes has 'urget', one letter from 'urgent'")),
    misspelt.reviewReasons.join('; '),
  );
  const spelt = await order.infer({ ...ORDER_CASE, notes: 'urgent, and please ring the bell twice' });
  assert.ok(!spelt.reviewReasons.some((r) => r.includes('one letter from')), spelt.reviewReasons.join('; '));
  const shipped = await DecisionAgent.load('order');
  assert.equal(shipped.model.config.decisiveWords, undefined, 'off in the shipped folder');
  const loan = await DecisionAgent.load('loan', { modelsDir });
  const gambling = await loan.infer({ ...LOAN_CASE, purpose: 'Kitchen tiles plus a bit for the caisno trip' });
  assert.equal(gambling.needsReview, true);
  assert.ok(
    gambling.reviewReasons.some((r) => r.startsWith("purpose has 'caisno', one letter from 'casino'")),
    gambling.reviewReasons.join('; '),
  );
});

test('a model folder with malformed decisiveWords is refused when it loads, naming the field', async () => {
  const modelsDir = mkdtempSync(join(tmpdir(), 'operon-decisive-bad-'));
  const dir = join(modelsDir, 'order');
  cpSync(fileURLToPath(new URL('../../models/order/', import.meta.url)), dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, decisiveWords: ['urgent', 'Rush 2day'] }));
  await assert.rejects(DecisionAgent.load('order', { modelsDir }), /decisiveWords must be lowercase words/);
});
