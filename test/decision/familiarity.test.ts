/**
 * Unfamiliar words as a review signal: the lexicon's typo tolerance, the share rule, and the
 * shipped models sending text they were never trained on to a person whatever their confidence;
 * misspelt decisive words ("urget"), read again spelt right, as a signal of their own.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import { ORDER_MISSPELT_NOTES } from './support/misspelt-notes.ts';
import { decisiveWordsOf, isEnglish, typoWordsOf, wordnetWords } from '../../models/decisive-words.ts';
import {
  Lexicon,
  misspellings,
  oneEditApart,
  respell,
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

test('misspellings: a word outside the lexicon one typo from a decisive word, with each word it may stand for; lexicon words, their endings and far words are not', () => {
  const words = new Lexicon(['urgent', 'please', 'setting', 'the', 'bell', 'ring', 'betting', 'court', 'depot']);
  const decisive = ['urgent', 'betting', 'court', 'depot', 'casino', 'casing'];
  assert.deepEqual(misspellings('notes', 'urget, and please ring the bell twice', words, decisive), [
    { field: 'notes', word: 'urget', meant: 'urgent' },
  ]);
  assert.deepEqual(misspellings('notes', 'URGENT please', words, decisive), [], 'spelt right');
  assert.deepEqual(misspellings('purpose', 'setting up the house', words, decisive), [], "a lexicon word: 'setting'");
  assert.deepEqual(misspellings('notes', 'the deppot please', words, decisive), [
    { field: 'notes', word: 'deppot', meant: 'depot' },
  ]);
  assert.deepEqual(
    misspellings('purpose', 'casins', words, decisive),
    [
      { field: 'purpose', word: 'casins', meant: 'casino' },
      { field: 'purpose', word: 'casins', meant: 'casing' },
    ],
    'every decisive word it may stand for',
  );
  assert.deepEqual(misspellings('notes', 'urgently please, the bell', words, decisive), [], 'urgent with an ending');
  assert.deepEqual(misspellings('notes', 'zanzibar please', words, decisive), [], 'far from every decisive word');
  assert.deepEqual(misspellings('notes', 'crt', words, decisive), [], 'three letters: too short to call');
});

/** WordNet's words, read once for the tests below (about 0.3 s). */
let wordnet: ReadonlySet<string> | undefined;
const englishWords = () => (wordnet ??= wordnetWords());

test('typoWords: a lexicon word that is no English word and one typo from a decisive word is read again all the same', () => {
  const english = englishWords();
  for (const word of ['setting', 'getting', 'stopped', 'fridays', "friday's", 'parties', 'staring', 'broke', 'urgent'])
    assert.ok(isEnglish(word, english), word);
  for (const word of ['urgnt', 'urgant', 'gaurantor', 'colect', 'werehouse'])
    assert.ok(!isEnglish(word, english), word);
  const lexicon = ['urgnt', 'urgant', 'urgent', 'setting', 'betting', 'getting', 'please', 'zanzibar'].join('\n');
  const typos = typoWordsOf(lexicon, ['urgent', 'betting'], english);
  assert.deepEqual(typos, ['urgant', 'urgnt'], 'English words and decisive words are not typos');
  const words = Lexicon.parse(lexicon);
  assert.deepEqual(misspellings('notes', 'urgnt please', words, ['urgent']), [], 'a lexicon word, no typoWords');
  assert.deepEqual(misspellings('notes', 'urgnt please, setting off', words, ['urgent', 'betting'], new Set(typos)), [
    { field: 'notes', word: 'urgnt', meant: 'urgent' },
  ]);
});

test('respell: every whole-word occurrence, in any case, spelt as meant; other words and parts of words are left alone', () => {
  assert.equal(
    respell("Urget! and URGET again, not urgetly or the urget's", 'urget', 'urgent'),
    "urgent! and urgent again, not urgetly or the urgent's",
  );
  assert.equal(respell('nothing to change', 'urget', 'urgent'), 'nothing to change');
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

test('the shipped models read a misspelt decisive word again spelt right: another answer, or one under the threshold, goes to a person; a misspelling read as meant costs nothing', async () => {
  for (const domain of ['loan', 'order'] as const) {
    const dir = fileURLToPath(new URL(`../../models/${domain}/`, import.meta.url));
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(
      config.decisiveWords,
      decisiveWordsOf(domain, readFileSync(join(dir, 'lexicon.txt'), 'utf8')),
      `${domain}: the list models/decisive-words.ts --write gives`,
    );
    assert.ok(config.decisiveWords.every((w: string) => w.length >= 6));
    assert.deepEqual(
      config.typoWords,
      typoWordsOf(readFileSync(join(dir, 'lexicon.txt'), 'utf8'), config.decisiveWords, englishWords()),
      `${domain}: the typo words models/decisive-words.ts --write gives`,
    );
  }
  // Each note has one decisive word misspelt; on ORDER_CASE the note alone decides. Whatever the
  // model, a note whose spelt-right reading gets another answer (or one under the threshold) goes to
  // a person with the reason, and an automated note is answered as if spelt right.
  const order = await DecisionAgent.load('order');
  const threshold = order.model.config.threshold;
  const kinds = new Set<string>();
  let checked = 0;
  for (const [notes, word, meant] of ORDER_MISSPELT_NOTES) {
    // The lexicon is the model's own: a misspelling its training text holds is a word it knows.
    if (!order.prompt({ ...ORDER_CASE, notes }).misspelt.some((m) => m.word === word && m.meant === meant)) continue;
    checked++;
    const misspelt = await order.infer({ ...ORDER_CASE, notes });
    const spelt = await order.infer({ ...ORDER_CASE, notes: notes.replace(word, meant) });
    assert.ok(!spelt.reviewReasons.some((r) => r.includes('one letter from')), spelt.reviewReasons.join('; '));
    const reason = misspelt.reviewReasons.find((r) =>
      r.startsWith(`notes has '${word}', one letter from '${meant}', a word that decides the case: spelt '${meant}', `),
    );
    if (reason) {
      kinds.add('misread');
      assert.equal(misspelt.needsReview, true);
      assert.ok(
        spelt.label !== misspelt.label || spelt.confidence < threshold,
        `${notes}: spelt right ${spelt.label} ${spelt.confidence}`,
      );
    } else if (!misspelt.needsReview) {
      kinds.add('read as meant');
      assert.equal(misspelt.label, spelt.label, `${notes}: automated ${misspelt.label}, spelt right ${spelt.label}`);
    }
  }
  assert.ok(checked >= 6, `${checked} notes with a misspelling the check names`);
  assert.deepEqual([...kinds].sort(), ['misread', 'read as meant'], 'the list shows both outcomes');

  const loan = await DecisionAgent.load('loan');
  const gambling = await loan.infer({ ...LOAN_CASE, purpose: 'Kitchen tiles plus a bit for the caisno trip' });
  assert.equal(gambling.needsReview, true);
  assert.ok(
    gambling.reviewReasons.includes(
      `purpose has 'caisno', one letter from 'casino', a word that decides the case: spelt 'casino', the model answers reject, not ${gambling.label}`,
    ),
    gambling.reviewReasons.join('; '),
  );
  const guarantor = { ...LOAN_CASE, purpose: 'my dad is my garantor, for a car' };
  assert.deepEqual(
    loan.prompt(guarantor).misspelt.map((m) => [m.word, m.meant]),
    [['garantor', 'guarantor']],
  );
  const read = await loan.infer(guarantor);
  assert.deepEqual([read.label, read.needsReview], ['approve', false], read.reviewReasons.join('; '));
});

test('a model folder with malformed decisiveWords or typoWords is refused when it loads, naming the field', async () => {
  const modelsDir = mkdtempSync(join(tmpdir(), 'operon-decisive-bad-'));
  const dir = join(modelsDir, 'order');
  cpSync(fileURLToPath(new URL('../../models/order/', import.meta.url)), dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, decisiveWords: ['urgent', 'Rush 2day'] }));
  await assert.rejects(DecisionAgent.load('order', { modelsDir }), /decisiveWords must be lowercase words/);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, typoWords: 'urgnt' }));
  await assert.rejects(DecisionAgent.load('order', { modelsDir }), /typoWords must be lowercase words/);
});
