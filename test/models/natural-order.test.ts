/**
 * The hand-written order data of issue #16: the natural test set (never trained on) is well formed,
 * labelled by the written routing policy, reproducible from its draft, covers every threshold, and
 * shares no note with the generator's text; the hand-written training texts share no text, and no
 * near-duplicate, with the test set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { orderCase, rng } from '../../models/data/generate.ts';
import { labelTestSet, parseDraft, STYLES } from '../../models/data/natural/label-order.ts';
import { ORDER_INTENTS, orderPolicy } from '../../models/data/policy.ts';

const file = (path: string) => readFileSync(new URL(`../../models/data/${path}`, import.meta.url), 'utf8');
const jsonl = (path: string) =>
  file(path)
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as unknown);

const Intent = z.enum(ORDER_INTENTS);
const Style = z.enum(STYLES);
const count = z.number().int().min(0);
const NaturalCase = z.strictObject({
  id: z.string().regex(/^nat-order-\d{4}$/),
  vars: z.strictObject({
    weightKg: z.number().positive(),
    distanceKm: z.number().positive(),
    stock: z.strictObject({ leeds: count, bristol: count, glasgow: count }),
    deadlineHours: z.number().positive(),
    customerTier: z.enum(['standard', 'silver', 'gold', 'platinum']),
    notes: z.string().min(1),
  }),
  intent: Intent,
  policyLabel: z.enum(['warehouse', 'courier', 'pickup']),
  style: Style,
});
type NaturalCase = z.infer<typeof NaturalCase>;
const TrainingText = z.strictObject({ text: z.string().min(1).max(600), intent: Intent, style: Style });
type TrainingText = z.infer<typeof TrainingText>;

const natural: NaturalCase[] = jsonl('natural/order.test.jsonl').map((row) => NaturalCase.parse(row));
const training: TrainingText[] = jsonl('handwritten/order.jsonl').map((row) => TrainingText.parse(row));
const noteOf = (row: NaturalCase) => row.vars.notes;
/** Same text for a reader: case, spacing, punctuation and emoji do not make a note new. */
const normal = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
const words = (text: string) => new Set(normal(text).split(' ').filter(Boolean));
/** Word-set overlap (Jaccard); 1 for the same words in any order. */
function overlap(a: Set<string>, b: Set<string>): number {
  let shared = 0;
  for (const word of a) if (b.has(word)) shared++;
  return shared / (a.size + b.size - shared || 1);
}

let sampled: Set<string> | undefined;
/** Every note the order generator writes in 20k cases per style (train and shifted grammar). */
function generatorNotes(): Set<string> {
  if (sampled) return sampled;
  sampled = new Set<string>();
  for (const style of ['train', 'shifted'] as const) {
    const random = rng(16);
    for (let i = 0; i < 20000; i++) sampled.add(normal(orderCase(random, style).vars.notes));
  }
  return sampled;
}

test('the natural order set has at least 300 cases that match the shared format, with unique ids and notes', () => {
  assert.ok(natural.length >= 300, `${natural.length} cases`);
  assert.equal(new Set(natural.map((row) => row.id)).size, natural.length, 'ids are unique');
  const seen = new Map<string, string>();
  for (const row of natural) {
    const key = normal(noteOf(row)) || noteOf(row);
    assert.ok(!seen.has(key), `${row.id} repeats the note of ${seen.get(key)}: ${noteOf(row)}`);
    seen.set(key, row.id);
  }
});

test('every policyLabel is what orderPolicy says for the case fields and the intent', () => {
  for (const row of natural) assert.equal(row.policyLabel, orderPolicy(row.vars, row.intent), row.id);
});

test('the committed file is exactly what label-order.ts writes from the hand-written draft', () => {
  const draft = parseDraft(file('natural/order.draft.txt'));
  assert.deepEqual(labelTestSet(draft), natural);
});

test('every intent and every routing occurs, in roughly the intended spread', () => {
  const share = (key: string) => natural.filter((row) => row.intent === key).length / natural.length;
  assert.ok(share('neutral') > 0.38 && share('neutral') < 0.52, `neutral ${share('neutral')}`);
  for (const intent of ['collect', 'urgent', 'bulky'])
    assert.ok(share(intent) > 0.14 && share(intent) < 0.24, `${intent} ${share(intent)}`);
  for (const label of ['warehouse', 'courier', 'pickup']) {
    assert.ok(natural.filter((row) => row.policyLabel === label).length >= 30, `label ${label}`);
  }
  const pairs = new Set(natural.map((row) => `${row.intent}/${row.policyLabel}`));
  for (const pair of [
    'neutral/warehouse',
    'neutral/courier',
    'collect/pickup',
    'collect/warehouse',
    'urgent/courier',
    'urgent/warehouse',
    'bulky/warehouse',
  ])
    assert.ok(pairs.has(pair), pair);
});

test('the note decides the routing in a large share of cases, so the set tests reading, not the fields', () => {
  const dependent = natural.filter((row) => row.policyLabel !== orderPolicy(row.vars, 'neutral'));
  assert.ok(dependent.length / natural.length > 0.3, `${dependent.length} text-dependent cases`);
  for (const intent of ['collect', 'urgent', 'bulky'] as const) {
    assert.ok(
      dependent.some((row) => row.intent === intent),
      `a ${intent} note that changes the routing`,
    );
  }
});

test('the case fields meet every policy threshold from both sides, with continuous values', () => {
  const has = (what: string, predicate: (row: NaturalCase) => boolean, atLeast = 3) => {
    const n = natural.filter(predicate).length;
    assert.ok(n >= atLeast, `${what}: ${n}`);
  };
  has('no stock at any depot', (r) => r.vars.stock.leeds + r.vars.stock.bristol + r.vars.stock.glasgow === 0, 10);
  has('weight exactly 30 kg', (r) => r.vars.weightKg === 30);
  has('weight just under 30 kg', (r) => r.vars.weightKg >= 29 && r.vars.weightKg < 30);
  has('weight just over 30 kg', (r) => r.vars.weightKg > 30 && r.vars.weightKg <= 32);
  has('weight beyond the training range (120 kg)', (r) => r.vars.weightKg > 120, 1);
  for (const hours of [10, 18, 20, 23, 24, 25, 47, 48, 49, 72])
    has(`deadline ${hours} h`, (r) => r.vars.deadlineHours === hours, 2);
  for (const km of [299, 300, 301]) has(`distance ${km} km`, (r) => r.vars.distanceKm === km, 1);
  has('distance beyond the training range (700 km)', (r) => r.vars.distanceKm > 700, 1);
  for (const tier of ['standard', 'silver', 'gold', 'platinum'])
    has(`tier ${tier}`, (r) => r.vars.customerTier === tier, 30);
  const weights = new Set(natural.map((r) => r.vars.weightKg));
  assert.ok(
    [...weights].some((w) => !Number.isInteger(w * 2)),
    'weights off the half-kilo grid',
  );
  const gridHours = new Set([4, 8, 12, 24, 36, 48, 72, 96, 120, 168]);
  has('deadlines off the generator grid', (r) => !gridHours.has(r.vars.deadlineHours), 100);
});

test('the notes are written in many styles, including long ones, other languages and empty-ish ones', () => {
  const styles = new Map<string, number>();
  for (const row of natural) styles.set(row.style, (styles.get(row.style) ?? 0) + 1);
  assert.ok(styles.size >= 15, `${styles.size} styles`);
  for (const style of ['negation', 'brand', 'typo', 'textspeak', 'mixed', 'other-language', 'empty-ish']) {
    assert.ok((styles.get(style) ?? 0) >= 3, style);
  }
  const long = natural.filter((row) => noteOf(row).length >= 300).length;
  assert.ok(long >= 8, `${long} notes of 300 characters or more`);
  assert.ok(
    natural.every((row) => noteOf(row).length <= 600),
    'no note longer than 600 characters',
  );
  assert.ok(
    natural.some((row) => /\p{Extended_Pictographic}/u.test(noteOf(row))),
    'emoji',
  );
  assert.ok(
    natural.some((row) => /[àâçéèêëîïôûùüÿñæœäöüßąćęłńóśźż]/i.test(noteOf(row))),
    'accented letters',
  );
});

test('the negated notes the generator never wrote stay neutral', () => {
  const negated = [
    'Not urgent.',
    "don't hold it for collection, deliver please",
    "no pallet needed, it's just the small bracket kit",
  ];
  for (const note of negated) {
    const row = natural.find((r) => noteOf(r) === note);
    assert.ok(row, note);
    assert.equal(row.intent, 'neutral', note);
  }
});

test('no natural note is one the order generator can write', () => {
  const generated = generatorNotes();
  assert.ok(generated.size > 1000, `${generated.size} generator notes sampled`);
  const shared = natural.filter((row) => generated.has(normal(noteOf(row))));
  assert.deepEqual(
    shared.map((row) => `${row.id}: ${noteOf(row)}`),
    [],
  );
});

test('the draft parser refuses unknown intents, styles and pins', () => {
  assert.throws(() => parseDraft('rush plain :: hurry'), /intent rush/);
  assert.throws(() => parseDraft('urgent shouty :: HURRY'), /style shouty/);
  assert.throws(() => parseDraft('urgent plain x=3 :: hurry'), /unknown pin x=3/);
  assert.throws(() => parseDraft('urgent plain hurry'), /separator/);
  assert.deepEqual(parseDraft('# comment\n\nbulky plain w=31.5 s=0,2,0 :: two man lift'), [
    {
      intent: 'bulky',
      style: 'plain',
      pinned: { weightKg: 31.5, stock: { leeds: 0, bristol: 2, glasgow: 0 } },
      notes: 'two man lift',
    },
  ]);
});

test('the hand-written training texts: at least 1,000 distinct notes in the shared format, as written in their draft', () => {
  assert.ok(training.length >= 1000, `${training.length} texts`);
  const draft = parseDraft(file('handwritten/order.draft.txt'));
  assert.deepEqual(
    training,
    draft.map((line) => ({ text: line.notes, intent: line.intent, style: line.style })),
  );
  const seen = new Map<string, string>();
  for (const row of training) {
    const key = normal(row.text) || row.text;
    assert.ok(!seen.has(key), `"${row.text}" repeats "${seen.get(key)}"`);
    seen.set(key, row.text);
  }
});

test('the training texts follow the same intent spread and cover the same styles as the test set', () => {
  const share = (intent: string) => training.filter((row) => row.intent === intent).length / training.length;
  assert.ok(share('neutral') > 0.4 && share('neutral') < 0.5, `neutral ${share('neutral')}`);
  for (const intent of ['collect', 'urgent', 'bulky'])
    assert.ok(share(intent) > 0.15 && share(intent) < 0.22, `${intent} ${share(intent)}`);
  const styles = new Set(training.map((row) => row.style));
  for (const style of new Set(natural.map((row) => row.style))) assert.ok(styles.has(style), style);
  assert.ok(training.filter((row) => row.text.length >= 300).length >= 10, 'long notes');
});

test('no training text is a test note, a near-duplicate of one, or a note the generator can write', () => {
  const tests = natural.map((row) => ({
    note: noteOf(row),
    words: words(noteOf(row)),
    key: normal(noteOf(row)) || noteOf(row),
  }));
  const testKeys = new Set(tests.map((t) => t.key));
  const generated = generatorNotes();
  const problems: string[] = [];
  for (const row of training) {
    const key = normal(row.text) || row.text;
    if (testKeys.has(key)) problems.push(`in the test set: ${row.text}`);
    if (generated.has(normal(row.text))) problems.push(`generator text: ${row.text}`);
    const own = words(row.text);
    for (const t of tests) {
      if (own.size > 0 && overlap(own, t.words) >= 0.7) problems.push(`near-duplicate: "${row.text}" ~ "${t.note}"`);
    }
  }
  assert.deepEqual(problems, []);
});

test('no two training texts are near-duplicates of each other', () => {
  const sets = training.map((row) => words(row.text));
  const close: string[] = [];
  for (let i = 0; i < sets.length; i++) {
    for (let j = i + 1; j < sets.length; j++) {
      if (overlap(sets[i]!, sets[j]!) >= 0.75) close.push(`"${training[i]!.text}" ~ "${training[j]!.text}"`);
    }
  }
  assert.deepEqual(close, []);
});
