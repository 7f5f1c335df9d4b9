/**
 * The mixed-signals check (parts.ts): how a free text is split into parts, and, on the shipped
 * order model, that an automated answer goes to review exactly when a part read alone is sure
 * enough of a label that neither the whole text nor the text left blank gets.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import { partsError, textParts } from '../../nodes/decision/parts.ts';
import { checkSignalOnNaturalCases } from './copies-check.ts';
import { shippedFolderWith } from './support/model-folder.ts';

after(() => DecisionAgent.closeAll());

const MIXED = /^notes: the part '(.*)' read alone is (\w+) \(([\d.]+)\), the whole text (\w+): the text mixes signals$/;

/** Fields on which only the note decides: courier if it is urgent, the warehouse otherwise. */
const fields = {
  weightKg: 2,
  distanceKm: 50,
  stock: { leeds: 5, bristol: 0, glasgow: 0 },
  deadlineHours: 72,
  customerTier: 'standard',
};

/** A copy of the shipped order folder without the check: what the model answers to each copy. */
function withoutParts(): string {
  return shippedFolderWith('order', ({ parts: _parts, ...config }) => config);
}

test('textParts: sentences, clauses and joined requests; nothing for a text of one part', () => {
  assert.deepEqual(textParts('Urgent please, and ring the bell twice as the buzzer is broken'), [
    'Urgent please',
    'and ring the bell twice as the buzzer is broken',
  ]);
  assert.deepEqual(textParts("Please hurry, it's medication for my dad. Knock on the window; the bell doesn't work"), [
    'Please hurry',
    "it's medication for my dad.",
    'Knock on the window',
    "the bell doesn't work",
  ]);
  assert.deepEqual(textParts("I'm near the Bristol depot but I'd still like it delivered"), [
    "I'm near the Bristol depot",
    "but I'd still like it delivered",
  ]);
  assert.deepEqual(textParts('Not a small parcel - it needs a forklift'), [
    'Not a small parcel',
    'it needs a forklift',
  ]);
  assert.deepEqual(textParts('need it asap 🙏🙏🙏'), [], 'one part');
  assert.deepEqual(textParts('Fragile, x, 🙏, Fragile'), [], 'parts of under two letters dropped, repeats once');
  assert.deepEqual(textParts(''), []);
  assert.deepEqual(textParts('a b, c d, e f, g h', 3), ['a b', 'c d', 'e f']);
});

test('partsError: an object with a confidence in (0, 1] and a whole maxParts from 2 to 32', () => {
  assert.equal(partsError(undefined), null);
  assert.equal(partsError({}), null);
  assert.equal(partsError({ confidence: 0.5, maxParts: 4 }), null);
  assert.match(partsError(true)!, /must be an object/);
  assert.match(partsError({ confidence: 0 })!, /confidence must be a number in \(0, 1\]/);
  assert.match(partsError({ confidence: '0.5' })!, /confidence/);
  assert.match(partsError({ maxParts: 1 })!, /maxParts must be a whole number/);
  assert.match(partsError({ neutral: 'warehouse' })!, /unknown settings: neutral/);
});

test('a folder whose parts setting is not valid does not load, and says why', async () => {
  const models = shippedFolderWith('order', (config) => ({ ...config, parts: { confidence: 2 } }));
  await assert.rejects(
    DecisionAgent.load('order', { modelsDir: models }),
    /parts\.confidence must be a number in \(0, 1\]/,
  );
});

test('the shipped order model sends urgency said first and lost in the whole note to a person', async () => {
  const checked = await DecisionAgent.load('order');
  assert.deepEqual(checked.model.config.parts, { confidence: 0.5 });
  // Without the unvouched-words check too, which sends this note to a person as well ('already' is
  // only in collections, 'waited' in no training text; test/decision/vouch.test.ts).
  const plain = await DecisionAgent.load('order', {
    modelsDir: shippedFolderWith('order', ({ parts: _parts, vouch: _vouch, ...config }) => config),
  });
  const notes = "Priority delivery please, I've already waited two weeks. The entrance is on the alley side";
  const unchecked = await plain.infer({ ...fields, notes });
  assert.equal(unchecked.label, 'warehouse', 'the model misreads the whole note');
  assert.equal(unchecked.needsReview, false, 'and would act on it');
  const result = await checked.infer({ ...fields, notes });
  assert.equal(result.needsReview, true);
  const reason = result.reviewReasons.map((r) => MIXED.exec(r)).find(Boolean);
  assert.ok(reason, result.reviewReasons.join(' | '));
  assert.equal(reason[1], 'Priority delivery please');
  assert.equal(reason[2], 'courier');
  assert.equal(reason[4], 'warehouse');
  // An ordinary note in several parts stays automated.
  const ordinary = await checked.infer({
    ...fields,
    notes: 'Leave it with the neighbour, ring the bell twice. Thanks',
  });
  assert.equal(ordinary.needsReview, false, ordinary.reviewReasons.join(' | '));
  assert.equal(ordinary.label, 'warehouse');
});

test('on natural order cases, the check fires exactly when a part alone reads another label than the whole and the blank note', async (t) => {
  const { automated, flagged } = await checkSignalOnNaturalCases(
    'order',
    {
      checked: await DecisionAgent.load('order'),
      plain: await DecisionAgent.load('order', { modelsDir: withoutParts() }),
    },
    {
      fired: (r) => MIXED.test(r),
      // The blank note first, then the parts.
      copies: (variables) => {
        const parts = textParts(String(variables.notes));
        return parts.length ? ['', ...parts].map((notes) => ({ ...variables, notes })) : [];
      },
      differs: (base, [blank, ...parts]) =>
        parts.some((p) => p.label !== base.label && p.label !== blank!.label && p.confidence >= 0.5),
    },
  );
  t.diagnostic(`${automated} automated, ${flagged} sent to review by the parts check`);
});

test('the parts of a note go to the model in the same run as the note itself, unless the note was cut to fit', async () => {
  const agent = await DecisionAgent.load('order', { modelsDir: shippedFolderWith('order', (config) => config) });
  const rows: number[] = [];
  for (const session of [agent.model.session, agent.model.inline]) {
    if (!session) continue;
    const run = session.run.bind(session);
    session.run = (runs) => {
      rows.push(runs.reduce((sum, feeds) => sum + feeds.input_ids!.dims[0]!, 0));
      return run(runs);
    };
  }
  const notes = 'Leave it with the neighbour, ring the bell twice. Thanks';
  const result = await agent.infer({ ...fields, notes });
  assert.equal(result.needsReview, false, result.reviewReasons.join(' | '));
  // One run: the note and its three parts, each read alone.
  assert.deepEqual(rows, [1 + textParts(notes).length]);
  // A note over maxChars (400 for order notes) is cut: the case runs alone first, its parts only if it is automated.
  rows.length = 0;
  const long = `${'Leave it with the neighbour at number twelve, ring the bell twice. '.repeat(8)}Thanks`;
  const cut = await agent.infer({ ...fields, notes: long });
  assert.ok(cut.truncatedFields.includes('notes'), cut.truncatedFields.join());
  assert.equal(rows[0], 1, `the first run read ${rows[0]} rows`);
});
