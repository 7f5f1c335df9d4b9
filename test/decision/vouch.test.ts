/**
 * The unvouched-words check (nodes/decision/vouch.ts): words count only in training texts of the
 * intents that allow the answer, the check applies only where an intent it names rules the answer
 * out, malformed settings and files are refused at load, the shipped order folder's words.tsv is
 * what models/vouch.ts writes from the training data, and the shipped order model's confident
 * warehouse for an urgent note in words it never saw in an ordinary note goes to a person, in
 * process and through `operon decide`, while ordinary notes (misspelt too) and bulky ones stay
 * automated.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import { loadDecisionModel, readModelConfig } from '../../nodes/decision/model.ts';
import { Vouch, vouchError, type VouchSettings } from '../../nodes/decision/vouch.ts';
import { MAX_READ_CHARS } from '../../nodes/decision/neighbours.ts';
import { policyVouch } from '../../models/data/policy.ts';
import { REFERENCE_FIELDS } from '../../models/neighbours.ts';
import { trainingTexts, WORDS_FILE, wordCounts } from '../../models/vouch.ts';
import { wordnetWords } from '../../models/decisive-words.ts';
import { shippedFolderWith } from './support/model-folder.ts';

after(() => DecisionAgent.closeAll());

const shipped = (domain: string) => fileURLToPath(new URL(`../../models/${domain}/`, import.meta.url));
const SETTINGS: VouchSettings = { file: 'words.tsv', min: 1, against: { warehouse: ['urgent'] } };
/** A parcel in stock, due in 72 h, 150 km away: an urgent note sends it by courier, an ordinary one from the warehouse. */
const NEAR = REFERENCE_FIELDS.order[0]!;
/** The same parcel 450 km away: the warehouse whatever the note's urgency. */
const FAR = REFERENCE_FIELDS.order[1]!;

test('wordCounts: each text counts once per word, under its intent; intents and words sorted; English words one typo from a training word listed alone', () => {
  const tsv = wordCounts(
    [
      { text: 'Leave it in the porch, the PORCH', intent: 'neutral' },
      { text: 'urgent, leave it', intent: 'urgent' },
      { text: "I'll collect it", intent: 'collect' },
    ],
    null,
  );
  assert.equal(
    tsv,
    [
      'word\tcollect\tneutral\turgent',
      'collect\t1\t0\t0',
      "i'll\t1\t0\t0",
      'in\t0\t1\t0',
      'it\t1\t1\t1',
      'leave\t0\t1\t1',
      'porch\t0\t1\t0',
      'the\t0\t1\t0',
      'urgent\t0\t0\t1',
      '',
    ].join('\n'),
  );
  // 'happy' and 'snappy' are one typo from 'nappy', 'bags' from 'bag'; 'clock' is no typo of these.
  const english = new Set(['happy', 'snappy', 'bags', 'clock']);
  assert.equal(
    wordCounts([{ text: 'the nappy bag', intent: 'neutral' }], english),
    'word\tneutral\nbag\t1\nbags\nhappy\nnappy\t1\nsnappy\nthe\t1\n',
  );
});

test('a word counts only in texts of the intents that allow the answer, and only where a named intent rules it out', () => {
  const vouch = Vouch.parse(
    'word\tbulky\tcollect\tneutral\turgent\nleave\t0\t0\t5\t2\nporch\t0\t0\t1\t0\nnow\t0\t3\t0\t9\nsofa\t4\t0\t0\t0\n',
    { ...SETTINGS, min: 2 },
  );
  assert.equal(vouch.words, 4);
  const near = ['urgent', 'collect'];
  // 'porch' is in one ordinary text, under min 2; 'now' only in collect and urgent texts, which rule warehouse out.
  assert.deepEqual(vouch.unvouched('warehouse', near, { notes: 'leave it now, porch' }), [
    { field: 'notes', words: ['it', 'now', 'porch'], allowed: ['bulky', 'neutral'] },
  ]);
  assert.deepEqual(vouch.unvouched('warehouse', near, { notes: 'leave, leave' }), []);
  assert.deepEqual(vouch.unvouched('warehouse', ['collect'], { notes: 'snappy' }), [], 'urgent does not rule it out');
  assert.deepEqual(vouch.unvouched('courier', near, { notes: 'snappy' }), [], 'no check for courier');
  assert.equal(
    vouch.reason('warehouse', near, vouch.unvouched('warehouse', near, { notes: 'aa bb cc dd ee ff gg hh' })),
    "notes has 'aa', 'bb', 'cc', 'dd', 'ee' and 3 more, in no training text of intent bulky or neutral: the model cannot vouch that the text is not urgent, which rules out warehouse for this case: a person checks the answer warehouse",
  );
  // A misspelling of a vouched word (four letters or more) reads as that word, a possessive as its
  // word; an English word the file lists alone does not ('sleeve' is no typo of 'leave').
  const typos = Vouch.parse(
    'word\tneutral\turgent\nleave\t5\t0\nporch\t2\t0\nit\t9\t0\nin\t9\t0\nthe\t9\t0\nnow\t0\t9\nsleeve\n',
    SETTINGS,
  );
  assert.deepEqual(typos.unvouched('warehouse', near, { notes: "laeve it in the prch, leav it, porch's" }), []);
  assert.deepEqual(typos.unvouched('warehouse', near, { notes: 'sleeve it, noww, nw' }), [
    { field: 'notes', words: ['sleeve', 'noww', 'nw'], allowed: ['neutral'] },
  ]);
  // A long text is read to MAX_READ_CHARS, as the nearest-texts check reads it.
  const long = `${'leave it in the porch '.repeat(Math.ceil(MAX_READ_CHARS / 22))}snappy`;
  assert.ok(long.length > MAX_READ_CHARS);
  assert.deepEqual(typos.unvouched('warehouse', near, { notes: long }), []);
  assert.deepEqual(typos.unvouched('warehouse', near, { notes: `snappy ${long}` })[0]?.words, ['snappy']);
  // A run of letters longer than any word is not read as a misspelling (its one-typo spellings
  // would be 52 per letter, each as long as the run).
  assert.deepEqual(
    typos.unvouched('warehouse', near, { notes: 'e'.repeat(MAX_READ_CHARS - 1) })[0]?.words.map((w) => w.length),
    [MAX_READ_CHARS - 1],
  );
  const unless = Vouch.parse('word\turgent\n', { ...SETTINGS, unless: ['soon = "warehouse"'] });
  assert.equal(unless.stands({ later: 'warehouse', soon: 'warehouse' }), true);
  assert.equal(unless.stands({ later: 'warehouse', soon: 'courier' }), false);
  assert.equal(unless.stands({ later: 'warehouse', soon: null }), false, 'a reading that does not count');
  assert.equal(vouch.stands({ soon: 'warehouse' }), false, 'without unless nothing stands');
});

test('malformed settings are named, and a folder with them, without its file or with a bad line does not load', async () => {
  const labels = ['warehouse', 'courier', 'pickup'];
  const readings = ['later', 'soon'];
  assert.equal(vouchError(undefined, labels, readings, true), null);
  assert.equal(vouchError(SETTINGS, labels, readings, true), null);
  assert.match(vouchError([], labels, readings, true)!, /must be an object/);
  assert.match(vouchError({ ...SETTINGS, file: '../x' }, labels, readings, true)!, /file name in the model folder/);
  assert.match(vouchError({ ...SETTINGS, min: 0 }, labels, readings, true)!, /min must be a whole number/);
  assert.match(vouchError({ ...SETTINGS, against: ['urgent'] }, labels, readings, true)!, /must map answers/);
  assert.match(
    vouchError({ ...SETTINGS, against: { approve: ['x'] } }, labels, readings, true)!,
    /'approve', which is not/,
  );
  assert.match(vouchError({ ...SETTINGS, against: { warehouse: [] } }, labels, readings, true)!, /must list intents/);
  assert.match(vouchError(SETTINGS, labels, readings, false)!, /needs the nearest-texts check/);
  assert.match(vouchError({ ...SETTINGS, unless: ['soon = "x"'] }, labels, null, true)!, /has no `grounding`/);
  assert.match(vouchError({ ...SETTINGS, unless: ['late = "x"'] }, labels, readings, true)!, /reads late/);
  assert.throws(() => Vouch.parse('words\turgent\n', SETTINGS), /first line must be 'word'/);
  assert.throws(() => Vouch.parse('word\tneutral\n', SETTINGS), /names 'urgent', which words.tsv does not count/);
  assert.throws(
    () => Vouch.parse('word\turgent\nnow\t1\t2\n', SETTINGS),
    /words.tsv:2 needs a word and 1 whole counts/,
  );

  const models = mkdtempSync(join(tmpdir(), 'operon-vouch-'));
  cpSync(shipped('order'), join(models, 'order'), { recursive: true });
  const dir = join(models, 'order');
  const file = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...config, vouch: { ...SETTINGS, against: { ship: ['urgent'] } } }));
  assert.throws(() => readModelConfig(dir, 'order'), /vouch.against names 'ship', which is not one of the labels/);
  writeFileSync(file, JSON.stringify({ ...config, vouch: { ...SETTINGS, file: 'counts.tsv' } }));
  await assert.rejects(loadDecisionModel(dir, 'order'), /vouch.file counts.tsv is missing/);
  writeFileSync(join(dir, 'counts.tsv'), 'word\tneutral\turgent\nnow\t-1\t2\n');
  await assert.rejects(loadDecisionModel(dir, 'order'), /counts.tsv:2 needs a word and 2 whole counts/);
});

test("the shipped order folder: words.tsv is what models/vouch.ts writes from the training data, and vouch is the policy's", () => {
  const config = readModelConfig(shipped('order'), 'order');
  assert.deepEqual(config.vouch, { file: WORDS_FILE, min: 1, ...policyVouch('order') });
  const tsv = readFileSync(join(shipped('order'), WORDS_FILE), 'utf8');
  assert.equal(tsv, wordCounts(trainingTexts('order'), wordnetWords()));
  const lines = tsv.split('\n').slice(1, -1);
  assert.ok(lines.filter((l) => l.includes('\t')).length > 3000, 'the training texts have thousands of words');
  assert.ok(
    lines.includes('snappier') || lines.includes('clock'),
    'English words one typo from a training word are listed alone',
  );
  assert.equal(readModelConfig(shipped('loan'), 'loan').vouch, undefined, 'not measured for loan, so not set');
});

test('the shipped order model: a confident warehouse for an urgent note in words never seen in an ordinary note goes to a person; ordinary and bulky notes stay automated', async () => {
  // The same folder without the check, to show it is this check that sends the case to a person.
  const models = mkdtempSync(join(tmpdir(), 'operon-vouch-off-'));
  cpSync(shipped('order'), join(models, 'order'), { recursive: true });
  const file = join(models, 'order', 'config.json');
  const { vouch: _, ...config } = JSON.parse(readFileSync(file, 'utf8'));
  writeFileSync(file, JSON.stringify(config));
  const without = await DecisionAgent.load('order', { modelsDir: models });
  const agent = await DecisionAgent.load('order');

  // 'chop' is only in urgent training texts ("chop chop"); the model reads the note as ordinary.
  const chop = { ...NEAR, notes: 'Chop chop on this one' };
  const off = await without.infer(chop);
  assert.deepEqual([off.label, off.needsReview], ['warehouse', false], 'without the check it is acted on');
  assert.ok(off.confidence >= off.threshold, `confident: ${off.confidence}`);
  const on = await agent.infer(chop);
  assert.equal(on.label, 'warehouse');
  assert.deepEqual(on.reviewReasons, [
    "notes has 'chop', in no training text of intent bulky or neutral: the model cannot vouch that the text is not urgent, which rules out warehouse for this case: a person checks the answer warehouse",
  ]);
  const far = await agent.infer({ ...FAR, notes: chop.notes });
  assert.deepEqual([far.label, far.needsReview], ['warehouse', false], 'at 450 km an urgent note is the warehouse too');

  const porch = await agent.infer({ ...NEAR, notes: 'leave it in the porch please' });
  assert.deepEqual([porch.label, porch.needsReview], ['warehouse', false], 'every word is in ordinary notes');
  const misspelt = await agent.infer({ ...NEAR, notes: 'pls leave it wiht the nieghbour at 12' });
  assert.deepEqual(
    [misspelt.label, misspelt.needsReview],
    ['warehouse', false],
    'misspelt ordinary words are ordinary',
  );
  // 'chesterfield' is in no training text; the model reads the note as bulky (the `soon` reading, due
  // in 12 h, is the warehouse), and a bulky parcel goes from the warehouse whatever else it says.
  const sofa = await agent.infer({ ...NEAR, notes: 'Chesterfield sofa, needs a two-man team' });
  assert.deepEqual([sofa.label, sofa.needsReview], ['warehouse', false]);
  assert.deepEqual(
    Vouch.parse(readFileSync(join(shipped('order'), WORDS_FILE), 'utf8'), SETTINGS).unvouched('warehouse', ['urgent'], {
      notes: 'Chesterfield sofa',
    })[0]?.words,
    ['chesterfield'],
  );
});

test('it never changes an answer: on random notes, with and without the check, the same label and confidence, and at most its own reason more (and the confidence one, for a grounded answer)', async () => {
  const without = await DecisionAgent.load('order', {
    modelsDir: shippedFolderWith('order', ({ vouch: _, ...config }) => config),
  });
  const agent = await DecisionAgent.load('order');
  let fired = 0;
  // Words of ordinary notes, words only urgent notes have, words no note has, and misspellings.
  const words = [
    'leave',
    'it',
    'in',
    'the',
    'porch',
    'please',
    'neighbour',
    'bins',
    'now',
    'chop',
    'asap',
    'snappy',
    'okafor',
    'plese',
    'nieghbour',
    'clock',
  ];
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.constantFrom(...words), { minLength: 1, maxLength: 6 }),
      fc.constantFrom(NEAR, FAR, REFERENCE_FIELDS.order[2]!),
      async (picked, fields) => {
        const variables = { ...fields, notes: picked.join(' ') };
        const [off, on] = [await without.infer(variables), await agent.infer(variables)];
        assert.equal(on.label, off.label);
        assert.equal(on.confidence, off.confidence);
        const extra = on.reviewReasons.filter((r) => !off.reviewReasons.includes(r));
        assert.ok(
          off.reviewReasons.every((r) => on.reviewReasons.includes(r)),
          'no reason is lost',
        );
        // Its reason, and for a grounded answer under the threshold, which is no longer automated, the confidence's.
        const own = extra.filter((r) => / in no training text of intent /.test(r));
        assert.ok(own.length <= 1, extra.join('; '));
        assert.ok(
          extra.every(
            (r) => own.includes(r) || (own.length === 1 && /^confidence \S+ is below the review threshold/.test(r)),
          ),
          extra.join('; '),
        );
        if (extra.length > 0) assert.equal(off.needsReview, false, 'only an answer that would be automated is checked');
        if (own.length > 0) fired++;
      },
    ),
    { numRuns: 40, seed: 7 },
  );
  assert.ok(fired > 0, 'some random notes were sent to a person by the check');
});

test('operon decide: the same note goes to a person through the CLI (a child process), with the reason', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--import',
      'tsx',
      'nodes/decision/cli.ts',
      'decide',
      'order',
      '--vars',
      JSON.stringify({ ...NEAR, notes: 'Chop chop on this one' }),
      '--json',
    ],
    { env: process.env },
  );
  const json = JSON.parse(stdout);
  assert.deepEqual([json.label, json.needsReview], ['warehouse', true]);
  assert.ok(
    json.reviewReasons.some((r: string) =>
      r.startsWith("notes has 'chop', in no training text of intent bulky or neutral"),
    ),
    json.reviewReasons.join('; '),
  );
});
