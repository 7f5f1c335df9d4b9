/**
 * Text in another language as a review signal: the rule (detector and lexicon share together), a
 * model folder with a language the detector does not know refused at load, and the shipped models
 * sending other-language texts nobody trained or tuned on (models/data/natural/other-language.jsonl)
 * to a person while leaving the English natural and hand-written texts alone.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import { Lexicon } from '../../nodes/decision/familiarity.ts';
import {
  DETECTABLE_LANGUAGES,
  languageDetector,
  languageError,
  languageReason,
} from '../../nodes/decision/language.ts';
import { readModelConfig } from '../../nodes/decision/model.ts';

after(() => DecisionAgent.closeAll());

const models = fileURLToPath(new URL('../../models/', import.meta.url));
const detect = await languageDetector();
const lexicon = new Lexicon(['new', 'kitchen', 'for', 'the', 'house', 'car', 'wedding', 'my', 'boiler', 'combi']);

test('a text that reads as another language, with half its words unknown, goes to review with the language named', () => {
  assert.equal(
    languageReason('purpose', 'Hochzeit', 'en', lexicon, detect),
    'purpose reads as German (de), not the English the model was trained on: a person reads it',
  );
  assert.match(languageReason('purpose', 'voiture neuve', 'en', lexicon, detect)!, /^purpose reads as French \(fr\)/);
  assert.match(
    languageReason('notes', 'Bitte schnell liefern', 'en', null, detect)!,
    /^notes reads as German/,
    'no lexicon',
  );
});

test('a text in another script is asked about too, and goes to review when the detector cannot place it', () => {
  assert.match(
    languageReason('purpose', 'покупка автомобиля', 'en', lexicon, detect)!,
    /^purpose reads as Russian \(ru\)/,
  );
  assert.match(languageReason('purpose', 'νέο αυτοκίνητο', 'en', lexicon, detect)!, /^purpose reads as Greek/);
  for (const text of ['新车', '새 차', 'מטבח חדש']) {
    assert.equal(detect(text), '', `the smallest database cannot place ${text}`);
    assert.equal(
      languageReason('purpose', text, 'en', lexicon, detect),
      'purpose is written in another script than the English the model was trained on: a person reads it',
      text,
    );
  }
  assert.equal(
    languageReason('purpose', '新车', 'zh', null, detect),
    null,
    'not for a model whose texts are not in Latin letters',
  );
  assert.equal(languageReason('purpose', 'new kitchen for the house 🏠', 'en', lexicon, detect), null);
});

test('English, known words, a detector that cannot tell, or an empty text do not', () => {
  assert.equal(languageReason('purpose', 'new kitchen for the house', 'en', lexicon, detect), null);
  // The detector reads this as Dutch; one unknown word in five is under the share.
  assert.notEqual(detect('New Worcester Bosch combi boiler'), 'en');
  assert.equal(languageReason('purpose', 'New Worcester Bosch combi boiler', 'en', lexicon, detect), null);
  assert.equal(languageReason('purpose', '', 'en', lexicon, detect), null);
  assert.equal(languageReason('purpose', '🎉 2024 !!', 'en', lexicon, detect), null);
  assert.equal(languageReason('purpose', 'Hochzeit im Mai', 'de', null, detect), null, 'the expected language');
});

test('config.json language must be a code the detector knows; a folder with another does not load', async () => {
  const { eld } = await import('eld/extrasmall');
  assert.deepEqual([...DETECTABLE_LANGUAGES].sort(), Object.values(eld.info().Languages).sort());
  assert.equal(languageError(undefined), null);
  assert.equal(languageError('en'), null);
  assert.match(languageError('english')!, /ISO 639-1 codes the detector knows \(.*\ben\b.*\), not "english"/);
  assert.match(languageError(7)!, /not 7/);
  const dir = mkdtempSync(join(tmpdir(), 'operon-language-'));
  try {
    for (const file of ['model.onnx', 'tokenizer.json']) cpSync(join(models, 'loan', file), join(dir, file));
    const config = JSON.parse(readFileSync(join(models, 'loan', 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, language: 'xx' }));
    assert.throws(
      () => readModelConfig(dir, 'loan'),
      (error: Error & { code?: string }) =>
        error.code === 'OPERON_ERR_UNKNOWN_MODEL' && /language must be one of .*not "xx"/.test(error.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

interface OtherLanguageText {
  domain: 'loan' | 'order';
  language: string;
  text: string;
}
const otherLanguage = readFileSync(join(models, 'data/natural/other-language.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as OtherLanguageText);

/** Cases every other review signal lets through: numbers well inside every policy limit. */
const STRONG = {
  loan: { income: 80000, debts: 2000, creditScore: 760, amount: 12000, termMonths: 36, employment: 'permanent' },
  order: {
    weightKg: 4,
    distanceKm: 120,
    stock: { leeds: 10, bristol: 5, glasgow: 3 },
    deadlineHours: 72,
    customerTier: 'standard',
  },
};
const FIELD = { loan: 'purpose', order: 'notes' } as const;

/**
 * Texts the shipped models still automate: the detector (eld's smallest database, kept for its
 * memory) cannot tell their language, and they have too few unfamiliar words for familiarity.ts.
 */
const KNOWN_MISSES = new Set(['spoed alstublieft', 'acil lütfen']);

for (const domain of ['loan', 'order'] as const) {
  test(`the shipped ${domain} model sends other-language texts to a person`, async () => {
    const agent = await DecisionAgent.load(domain);
    const texts = otherLanguage.filter((t) => t.domain === domain);
    assert.ok(texts.length >= 40, `${texts.length} texts`);
    const results = await Promise.all(texts.map((t) => agent.infer({ ...STRONG[domain], [FIELD[domain]]: t.text })));
    const automated = texts.filter((_, i) => !results[i].needsReview).map((t) => t.text);
    assert.deepEqual(
      automated.filter((t) => !KNOWN_MISSES.has(t)),
      [],
      'automated although written in another language',
    );
    // A foreign word for a forbidden purpose beside an English one: a name rule once let these through.
    if (domain === 'loan')
      for (const purpose of ['Glücksspiel debts', 'Scommesse weekend']) {
        const result = await agent.infer({ ...STRONG.loan, purpose });
        assert.equal(result.needsReview, true, `${purpose}: ${result.label} ${result.confidence}`);
      }
    for (const text of [
      'новая кухня',
      'покупка автомобиля',
      '新车',
      '装修厨房',
      'سيارة جديدة',
      'νέο αυτοκίνητο',
      '새 차',
    ]) {
      const result = await agent.infer({ ...STRONG[domain], [FIELD[domain]]: text });
      assert.ok(
        result.reviewReasons.some((reason) => / (reads as|is written in another script than) /.test(reason)),
        `${text}: ${result.reviewReasons.join('; ')}`,
      );
    }
    const byLanguage = results.filter((r) => r.reviewReasons.some((reason) => / reads as /.test(reason))).length;
    assert.ok(byLanguage >= 10, `${byLanguage} held by the language signal (the rest by familiarity or confidence)`);
    // English texts are left alone: the natural sets and the hand-written training texts.
    const english = new Set<string>();
    for (const file of [`natural/${domain}.test.jsonl`, `natural/${domain}.holdout.jsonl`]) {
      for (const line of readFileSync(join(models, 'data', file), 'utf8')
        .trim()
        .split('\n')) {
        const row = JSON.parse(line) as { vars: Record<string, unknown>; style?: string };
        if (row.style !== 'other-language') english.add(String(row.vars[FIELD[domain]]));
      }
    }
    for (const line of readFileSync(join(models, 'data/handwritten', `${domain}.jsonl`), 'utf8')
      .trim()
      .split('\n')) {
      const row = JSON.parse(line) as { text: string; style?: string };
      if (row.style !== 'other-language') english.add(row.text);
    }
    const { lexicon, config } = agent.model;
    const flagged = [...english].filter(
      (t) => languageReason(FIELD[domain], t, config.language!, lexicon, detect) !== null,
    );
    assert.ok(english.size > 1000, `${english.size} English texts`);
    assert.ok(
      flagged.length / english.size < 0.005,
      `${flagged.length} of ${english.size} English texts flagged: ${flagged.join(' | ')}`,
    );
  });
}
