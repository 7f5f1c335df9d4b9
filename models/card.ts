/**
 * Writes models/<name>/MODEL_CARD.md from the model's config.json and a fresh evaluation
 * (`tsx models/eval.ts --write-cards`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { DOMAINS, type DomainName } from './data/domains.ts';
import { DEFAULT_GENERATE, SPLIT_TEXTS } from './data/generate.ts';
import type { ContrastSet, evaluateModel } from './eval.ts';
import type { CorpusManifest } from './corpus/build.ts';
import { languageName } from '../nodes/decision/language.ts';
import type { GroundingSettings } from '../nodes/decision/grounding.ts';
import type { EdgeSettings } from '../nodes/decision/edges.ts';
import type { NeighbourSettings } from '../nodes/decision/neighbours.ts';
import type { VouchSettings } from '../nodes/decision/vouch.ts';
import { MAX_WINDOWS } from '../nodes/decision/windows.ts';

type Evaluation = Awaited<ReturnType<typeof evaluateModel>>;
const f4 = (x: number) => x.toFixed(4);
const pct = (x: number) => `${Math.round(x * 100)}%`;

/** config.json training.continuedFrom: the shipped model a run continued from (train.py --init). */
export interface ContinuedFrom {
  checkpoint: string;
  sha256: string;
  /** 'pretrained': the run started from an English checkpoint (models:pretrain), not a task model. */
  kind?: string;
  version?: string;
  training?: { config: { lr: number }; history: { step: number; seconds: number }[] };
}

/** The card's line on config.json `grounding` (nodes/decision/grounding.ts); empty without it. */
function groundingLine(grounding: GroundingSettings | undefined): string {
  if (!grounding) return '';
  const readings = Object.entries(grounding.readings).map(
    ([name, values]) =>
      `${name} (${Object.entries(values)
        .map(([field, value]) => `${field} ${value}`)
        .join(', ')}; counted at ${grounding.thresholds?.[name] ?? grounding.threshold})`,
  );
  return `Grounded answers (config.json \`grounding\`, docs/decisions.md "Selective prediction"): an answer under the threshold (${Object.keys(grounding.answers).join(', ')}) is automated when the written policy gives it for the case's fields and the model's readings of the text on the reference cases ${readings.join(' and ')}.\n`;
}

/** The card's line on config.json `requires` (nodes/decision/requires.ts); empty without it. */
function requirementsLine(requires: Record<string, string[]> | undefined): string {
  if (!requires) return '';
  const needs = Object.entries(requires).map(
    ([label, conditions]) => `an automated ${label} needs ${conditions.map((c) => `\`${c}\``).join(', ')}`,
  );
  return `Required conditions (config.json \`requires\`, the written policy's limits; docs/decisions.md "Selective prediction"): ${needs.join('; ')}; a case that fails one goes to review.\n`;
}

/** The card's lines on config.json `edges` (nodes/decision/edges.ts), `decisiveWords` (familiarity.ts), `neighbours` (neighbours.ts) and `vouch` (vouch.ts); empty without them. */
function edgesAndMisspellingsLines(config: {
  edges?: EdgeSettings;
  decisiveWords?: string[];
  typoWords?: string[];
  neighbours?: NeighbourSettings;
  vouch?: VouchSettings;
}): string {
  const edges = config.edges?.length
    ? `Policy edges (config.json \`edges\`, docs/decisions.md "Selective prediction"): an automated answer on ${config.edges.map((e) => `${e.field} ${e.at}`).join(', ')} is scored again at ${config.edges.map((e) => e.like).join(', ')}, the values the written policy treats the same; another answer goes to review.\n`
    : '';
  const misspelt = config.decisiveWords?.length
    ? `Misspelt decisive words (config.json \`decisiveWords\`, ${config.decisiveWords.length} words; docs/decisions.md "Misspelt decisive words"): an automated answer whose text has a word outside lexicon.txt one typo from one of them${config.typoWords?.length ? ` (or one of \`typoWords\`, ${config.typoWords.length} lexicon words that are no English word)` : ''} is read again with the word spelt right; another answer, or one under the threshold, goes to review.\n`
    : '';
  const n = config.neighbours;
  const ruledOut = (intents: Record<string, string[]>) => {
    const always = Object.keys(intents).filter((i) => intents[i]!.join() === 'true');
    const sometimes = Object.keys(intents).filter((i) => intents[i]!.join() !== 'true');
    return [
      always.length ? `${always.join(', ')} always` : '',
      sometimes.length ? `${sometimes.join(', ')} for some fields` : '',
    ]
      .filter(Boolean)
      .join('; ');
  };
  const neighbours = n
    ? `Nearest labelled texts (config.json \`neighbours\`, ${n.file}: the train fold of the hand-written texts; docs/decisions.md "Nearest labelled texts"): an automated answer whose text has ${Math.round(n.share * 100)}% or more of the similarity of its ${n.k} nearest labelled texts in intents under which the written policy does not give it for the case's fields goes to review (${Object.entries(
        n.never,
      )
        .map(([label, intents]) => `${label}: ${ruledOut(intents)}`)
        .join('; ')}).\n`
    : '';
  const v = config.vouch;
  const vouch = v
    ? `Unvouched words (config.json \`vouch\`, ${v.file}: per word, the training texts of each intent that hold it; docs/decisions.md "Unvouched words"): ${Object.entries(
        v.against,
      )
        .map(
          ([label, intents]) =>
            `an automated ${label} that a text of intent ${intents.join(' or ')} would rule out for the case's fields`,
        )
        .join(
          '; ',
        )} goes to review when a word of the text is in fewer than ${v.min} training text${v.min === 1 ? '' : 's'} of the intents that allow it${v.unless ? ` (unless the grounding readings meet ${v.unless.map((c) => `\`${c}\``).join(' and ')})` : ''}.\n`
    : '';
  return edges + misspelt + neighbours + vouch;
}

/** The `--set key=value` flags a run's config needs on top of models/continue.config.json (threads aside: it only sets speed). */
export function continueOverrides(runConfig: Record<string, unknown>, base: Record<string, unknown>): string[] {
  return Object.entries(runConfig)
    .filter(([key, value]) => key !== 'threads' && JSON.stringify(value) !== JSON.stringify(base[key]))
    .map(([key, value]) => `--set ${key}=${value}`);
}

/** The model card's sentence on the model a run continued from; empty for a run from scratch. */
export function continuedNote(c: ContinuedFrom | null | undefined, overrides: string[] = []): string {
  if (!c) return '';
  if (c.kind === 'pretrained') {
    return `The task run started from the English checkpoint above (${c.checkpoint}, SHA-256 \`${c.sha256.slice(0, 16)}…\`): \`train.py --init\`.
`;
  }
  const last = c.training?.history.at(-1);
  const prior = last
    ? `, itself trained ${last.step} steps at lr ${c.training!.config.lr} (about ${Math.round(last.seconds / 60)} min) on the earlier data`
    : '';
  const how =
    overrides.length > 0
      ? `models/gpt/continue.py --domain <domain> ${overrides.join(' ')}\` (\`npm run models:continue\` with those settings changed)`
      : 'npm run models:continue` (models/continue.config.json)';
  return `These steps continued from the model shipped before (version ${c.version ?? 'unknown'}, ${c.checkpoint} SHA-256
\`${c.sha256.slice(0, 16)}…\`${prior}): \`${how}.
`;
}

/** config.json `training`: one run's settings, steps and what it started from. */
interface RunRecord<Config = Record<string, unknown>> {
  config: Config;
  history: { step: number; seconds: number }[];
  continuedFrom?: ContinuedFrom;
}

/** config.json training.soup: the checkpoints whose weights were averaged (models/gpt/soup.py). */
export interface SoupIngredient {
  checkpoint: string;
  sha256: string;
  weight: number;
  version?: string | null;
}

/** The model card's sentence on a weight average, empty when the model is one run's weights. */
export function soupNote(soup: SoupIngredient[] | null | undefined): string {
  if (!soup?.length) return '';
  const parts = soup.map(
    (s) =>
      `${s.version ? `version ${s.version} (${s.checkpoint}, ` : `${s.checkpoint} (`}SHA-256 \`${s.sha256.slice(0, 16)}…\`) with weight ${s.weight}`,
  );
  return `The shipped weights are the average of ${parts.join(' and ')}: a model soup (Wortsman et al. 2022),
\`npm run models:soup\` (models/gpt/soup.py). The run above is the last of them; the average answers like the runs together at the cost of one.
`;
}

/** config.json `ensemble` (export.py --member): every member's temperature and run; the first is `training`. */
export interface EnsembleRecord {
  combine: string;
  members: {
    temperature: number;
    parameters: number;
    training: RunRecord<{ lr: number; seed: number; steps: number }>;
  }[];
}

/** The model card's paragraph on an ensemble, empty for a single model. */
export function ensembleNote(ensemble: EnsembleRecord | null | undefined): string {
  if (!ensemble?.members.length) return '';
  const others = ensemble.members.slice(1).map((m, i) => {
    const last = m.training.history.at(-1);
    const start =
      m.training.continuedFrom?.kind === 'pretrained'
        ? `started from the same English checkpoint (${m.training.continuedFrom.checkpoint})`
        : 'trained from scratch';
    return `member ${i + 2}: the same shape ${start} on today's data with seed ${m.training.config.seed}, ${last?.step ?? m.training.config.steps} steps at lr ${m.training.config.lr}${last ? ` (about ${Math.round(last.seconds / 60)} min)` : ''}, temperature ${m.temperature}`;
  });
  return `**An ensemble of ${ensemble.members.length} GPTs** (export.py \`--member\`; docs/decisions.md "An ensemble of two GPTs"): the run above is member 1 (temperature ${ensemble.members[0]!.temperature}); ${others.join('; ')}.
Each reads the same prompt, and the answer is the mean of their label probabilities, each calibrated by its own temperature
(a deep ensemble, Lakshminarayanan et al. 2017): where the members read a text differently, the mean is less sure and the case goes to review.
One ONNX graph runs every member, so a decision costs one forward pass of each; the parameter count above is all members together.
`;
}

/** What pretraining.* in config.json says about English pretraining (models/gpt/pretrain.py). */
export interface Pretraining {
  corpus_sha256: string;
  corpus_tokens: number;
  tokens_seen: number;
  final?: { step: number; val_loss: number } | null;
}

/** The model card's sentence on English pretraining (or its absence), from config.json's `pretraining`. */
export function pretrainingNote(p: Pretraining | null | undefined): string {
  if (!p) return 'No English pretraining: the weights start at random and learn from the task data only.';
  const corpus = JSON.parse(readFileSync(new URL('./corpus/manifest.json', import.meta.url), 'utf8')) as CorpusManifest;
  const sources = corpus.sources.map((s) => `${s.package} ${s.version} (${s.licence})`).join('; ');
  const named =
    corpus.total.sha256 === p.corpus_sha256
      ? `models/corpus/manifest.json: ${sources}`
      : 'a corpus other than models/corpus/manifest.json';
  const loss = p.final ? `; validation loss ${p.final.val_loss} after ${p.final.step} steps` : '';
  return `Pretrained on English before the task (\`npm run models:pretrain\`): ${p.tokens_seen} tokens seen
from a corpus of ${p.corpus_tokens} tokens, SHA-256 \`${p.corpus_sha256}\`, ${named}${loss}.`;
}

/** The training text of a model trained on today's data (models:continue): hand-written, wide generator, grammar. */
const wideData = (
  domain: DomainName,
) => `The free text of ${pct(SPLIT_TEXTS.train.handwritten)} of training cases is a sentence
written by hand (the train fold of models/data/handwritten/${domain}.jsonl); of the rest, ${pct(SPLIT_TEXTS.train.wide)} comes from the wide
generator (models/data/wide.ts: brands, makes, slang, negation, corrections, mixed purposes, text-speak,
formal letters, questions, chatter and long notes, casing, emoji) and the others from a grammar of sentence
frames; a third of the generated texts get one edit (typo, casing, synonym, courtesy clause). No generated
training text equals a natural test case or shares 60% of its words with one. Validation takes half its
texts from the dev fold nobody trained on. The test split is grammar-only; the *shifted* split uses frames
(and some objects, people, fillers) that never occur in training. `;

/** The training text of a model trained before the wide generator existed. */
const grammarData = (domain: DomainName) => `The free text of 45% of training cases is a sentence
written by hand (the train fold of models/data/handwritten/${domain}.jsonl), the rest comes from a grammar of
sentence frames, a third of it with one edit (typo, casing, synonym, courtesy clause); validation takes
half its texts from the dev fold nobody trained on (models/data/wide.ts did not exist yet). The test split is
grammar-only; the *shifted* split uses frames (and some objects, people, fillers) that never occur in training. `;

export function writeModelCard(modelsDir: string, domain: DomainName, e: Evaluation): void {
  const dir = join(modelsDir, domain);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const spec = DOMAINS[domain];
  const arch = config.architecture;
  const training = config.training;
  const fromPretrained = training.continuedFrom?.kind === 'pretrained';
  // A continuation of a shipped model (models:continue), not a run from the English checkpoint.
  const continued = Boolean(training.continuedFrom) && !fromPretrained;
  const overrides = continued
    ? continueOverrides(
        training.config,
        JSON.parse(readFileSync(new URL('./continue.config.json', import.meta.url), 'utf8')),
      )
    : [];
  const last = training.history[training.history.length - 1];
  const card = `# Model card: \`${domain}\` (version ${config.version})

A decoder-only transformer (GPT) ${config.pretraining ? 'pretrained on English text, then trained' : 'trained from scratch'} on synthetic ${domain === 'loan' ? 'loan applications' : 'orders'} serialized as text,
followed by their decision. Operon's \`decision:${domain}\` service tasks use it to choose one of
**${spec.labels.join(' / ')}** with a calibrated confidence; below the threshold the case goes to a person.

## Intended use and limits
- Demonstration and template for Operon decision nodes. It learned a *written synthetic policy*
  (models/data/policy.ts), not any real lending or logistics practice. Do not use it for real
  ${domain === 'loan' ? 'credit decisions' : 'routing'} without training on your own reviewed data.
- It knows only the words of its training texts (${config.architecture.vocab_size} BPE tokens; \`lexicon.txt\` lists the
  ${config.lexiconWords ?? '?'} word forms): a text made mostly of other words (another language, a topic it never saw) goes
  to review, and so does an answer that changes when the text is slightly reworded (docs/decisions.md,
  "Selective prediction").
- ${domain === 'loan' ? 'The applicant name is not part of the prompt: the model cannot use it.' : 'Stock is read per depot (leeds, bristol, glasgow); other depots are not modelled.'}
- It learned the policy's numeric limits from examples, not as rules: on combinations of numbers its
  training rarely had it can answer against them${domain === 'loan' ? ' (a strong applicant asking for 146000 over 4 months is approved at 0.97)' : ' (a 30.4 kg parcel by courier at 0.997)'}.
  An automated answer whose fields fail the policy's required conditions goes to review
  (config.json \`requires\`; \`npm run models:limits\` counts how often it would have happened).

## Input
Prompt template (config.json \`template\`):

\`\`\`
${config.template}
\`\`\`

${Object.entries(spec.variables)
  .map(([k, v]) => `- \`${k}\`: ${v}`)
  .join('\n')}

Free text (\`${spec.textVariables.join('`, `')}\`) longer than ${config.maxTextChars} characters is cut, and prompts longer than
${config.maxLength} tokens lose the end of the text; both are flagged in the decision record. A confident answer to a cut
text is read to the end in up to ${MAX_WINDOWS} overlapping parts and automated only when every part gives it at the threshold
(docs/decisions.md, "Long text, read in overlapping parts").
${spec.textVariables
  .map((name) => {
    const phrase = spec.inputs[name]?.whenBlank;
    return phrase
      ? `Blank \`${name}\` is read as "${phrase}" and decided as usual.`
      : `Blank \`${name}\` goes to review with the reason \`${name} is blank\`.`;
  })
  .join('\n')}

## Training data
\`npm run models:data\`: seed ${DEFAULT_GENERATE.seed}, ${DEFAULT_GENERATE.sizes.train} training / ${DEFAULT_GENERATE.sizes.val} validation /
${DEFAULT_GENERATE.sizes.test} test / ${DEFAULT_GENERATE.sizes.shifted} shifted cases, label noise ${DEFAULT_GENERATE.noise} on the training split only.
Every number is drawn continuously over a realistic range (one case in four near a policy threshold)
and labelled by the policy from its exact value. ${training.continuedFrom ? wideData(domain) : grammarData(domain)}Training data SHA-256: \`${config.trainingDataSha256}\`.

${pretrainingNote(config.pretraining)}

## Model and training
${arch.n_layer} layers, ${arch.n_head} heads, width ${arch.d_model}, context ${arch.max_len}, ${e.params ?? '~0.9M'} parameters, tied embeddings.
Causal-LM pretraining on \`prompt + decision word + <eos>\` with the loss on the decision word weighted
${training.config.labelLossWeight}x; AdamW (lr ${training.config.lr}, weight decay ${training.config.weightDecay}, warmup ${training.config.warmup}, cosine decay${(training.config.layerDecay ?? 1) !== 1 ? `, layer-wise learning-rate decay ${training.config.layerDecay}` : ''}),
batch ${training.config.batchSize}, gradient clipping ${training.config.gradClip}, ${last.step} steps,
${training.worldSize} process(es), about ${Math.round(last.seconds / 60)} min on 1–2 shared CPU cores (train.config.json).
${continuedNote(training.continuedFrom, overrides)}${soupNote(training.soup)}${ensembleNote(config.ensemble)}

Classification scores the first token of each label word at the last prompt position (one forward
pass). Calibration: **${config.calibration.method}** (temperature ${config.calibration.temperature}), chosen on the validation split
by the lowest ECE among none / temperature / content-free + temperature (Zhao et al. 2021):
ECE uncalibrated ${config.metrics.validation.eceUncalibrated}, temperature ${config.metrics.validation.eceTemperature}, content-free ${config.metrics.validation.eceContentFree}.
Review settings (\`npm run models:tune-review\`, chosen on ${config.reviewTuning?.source && config.reviewTuning.source !== 'dev fold' ? `the cases of ${config.reviewTuning.source}` : 'the validation cases with hand-written dev-fold text, never on the natural test set'}): threshold ${config.threshold}, unfamiliar words ${config.familiarity ? `${config.familiarity.minWords} words and ${config.familiarity.minShare * 100}% of the text` : 'off'},
consistency ${config.consistency ? `${config.consistency.copies} reworded copies` : 'off'}, boundary check ${config.boundary ? `numbers moved by ${config.boundary.relative * 100}%` : 'off'}${config.reviewTuning ? `; on those cases: ${config.reviewTuning.autoRate} automated at precision ${config.reviewTuning.autoPrecision} (target ${config.reviewTuning.precisionTarget})${config.reviewTuning.crossValidated ? `, chosen on one half and measured on the other: ${config.reviewTuning.crossValidated.autoRate} at ${config.reviewTuning.crossValidated.autoPrecision}` : ''}` : ''}.${config.reviewTuning?.kept ? `\n${config.reviewTuning.kept}` : ''}
${requirementsLine(config.requires)}${config.parts ? `Mixed signals (config.json \`parts\`, docs/decisions.md "Selective prediction"): an automated answer goes to review when a part of the free text, read alone, is at least ${config.parts.confidence ?? config.threshold} sure of a label that neither the whole text nor the field left blank gets.\n` : ''}${edgesAndMisspellingsLines(config)}${groundingLine(config.grounding)}${config.language ? `Language (config.json \`language\`, docs/decisions.md "Selective prediction"): free text that reads as another language than ${languageName(config.language)}, with half its words missing from lexicon.txt, goes to review.\n` : ''}${config.screen ? `Screened words (config.json \`screen\`, docs/decisions.md "Selective prediction"): an automated ${config.screen.labels.join(' or ')} whose text holds one of ${config.screen.words.length} words and phrases (${config.screen.words.slice(0, 6).join(', ')} ...) goes to review.\n` : ''}${config.instructions ? `Instruction words (config.json \`instructions\`, docs/decisions.md "Selective prediction"): an automated ${config.instructions.labels.join(' or ')} whose text holds one of ${config.instructions.words.length} words that address the decision (${config.instructions.words.slice(0, 6).join(', ')} ...) goes to review.\n` : ''}
## Quality (\`npm run eval:model\`, Node runtime, policy labels)
| measure | value |
|---|---|
| test accuracy (${e.test.cases} cases) | ${f4(e.test.accuracy)} |
| shifted (rephrased) accuracy (${e.shifted.cases}) | ${f4(e.shifted.accuracy)} |
| rules-only baseline, test | ${f4(e.rulesOnlyAccuracy)} |
| text-dependent test cases (${e.textDependent.cases}): model / rules-only | ${f4(e.textDependent.modelAccuracy)} / ${f4(e.textDependent.rulesOnlyAccuracy)} |
| expected calibration error, test | ${f4(e.test.ece)} |
| decided automatically at threshold ${e.threshold} | ${f4(e.test.autoRate)} |
| precision of automatic decisions | ${f4(e.test.autoPrecision)} |
| shifted: auto rate / precision | ${f4(e.shifted.autoRate)} / ${f4(e.shifted.autoPrecision)} |

## Natural-language cases
${e.natural.cases} cases written by hand in everyday wording (test/decision/fixtures/natural-${domain}.jsonl,
not used for training or tuning): **${e.natural.correct}/${e.natural.cases}** correct.
${e.natural.misses.length ? `Misses:\n\n${e.natural.misses.map((m) => `- "${m.text}": expected ${m.expected}, got ${m.got} (confidence ${m.confidence.toFixed(3)})`).join('\n')}\n\nThe model learned the words of its corpus; rare wording (brand names, slang such as "bookies") can\nbe misread with high confidence. Route such cases to review by lowering automation (higher threshold),\nand train a head from the reviewers' answers.` : ''}

${naturalSection(e, config.reviewTuning?.source)}${holdoutSection(e)}
## Speed (this 2-core machine, shared with other work: load average ${loadavg()[0].toFixed(1)} while measured)
| measure | value |
|---|---|
| single decision p50 / p95 | ${e.p50Ms.toFixed(2)} ms / ${e.p95Ms.toFixed(2)} ms |
| batched (2000 concurrent decisions) | ${e.batchPerS.toFixed(0)} decisions/s |
| load (session + tokenizer) | ${e.coldLoadMs.toFixed(0)} ms |

Speed depends heavily on what else runs on the 2 cores; BENCHMARKS.md has runs at several loads
(up to 946 decisions/s batched at a load average of about 6–10).

## Reproduce
\`\`\`
npm run models:data && npm run models:tokenizer && npm run models:train && npm run models:export
${fromPretrained ? pretrainedRunLines(domain, config) : ''}${continued ? `npm run models:data && ${overrides.length > 0 ? `npx tsx models/tokenizer/train.ts --tokenizer 'models/{domain}/tokenizer.json' && python3 models/gpt/continue.py --domain ${domain} ${overrides.join(' ')}` : 'npm run models:continue'} && npm run models:export   # the continuation on today's data\n` : ''}${training.soup ? `npm run models:soup -- ${training.soup.map((s: SoupIngredient) => s.checkpoint).join(' ')} --out models/.work/soup.pt && python3 models/gpt/export.py --domain ${domain} --checkpoint models/.work/soup.pt   # the ingredients named above\n` : ''}${config.decisiveWords ? `npx tsx models/decisive-words.ts --write --model ${domain}   # the misspelt-word check\n` : ''}${config.neighbours ? `npx tsx models/neighbours.ts --write --model ${domain} --k ${config.neighbours.k} --share ${config.neighbours.share}   # the nearest-texts check, before tuning the threshold (it measures with the check); --tune chooses k and share on the dev fold\n` : ''}${config.vouch ? `npx tsx models/vouch.ts --write --model ${domain}   # the unvouched-words check, from the training data above\n` : ''}npm run models:tune-review -- --model ${domain} --precision ${config.reviewTuning?.precisionTarget ?? 0.99}${tuneCasesArgs(config.reviewTuning?.source)}${config.reviewTuning?.kept ? '   # prints the settings; config.json keeps the ones named above\nnpm run eval:model -- --write-cards' : ' --write && npm run eval:model -- --write-cards'}
\`\`\`
`;
  writeFileSync(join(dir, 'MODEL_CARD.md'), card);
}

/** `models:tune-review` arguments naming the cases config.json `reviewTuning.source` lists ("dev fold + FILE"). */
export function tuneCasesArgs(source: string | undefined): string {
  if (!source?.includes('models/data/natural/')) return '';
  const cases = source.split(' + ').map((part) => (part === 'dev fold' ? '--cases dev' : `--cases ${part}`));
  return ` ${cases.join(' ')} --without-boundary --without-consistency`;
}

/**
 * The card's commands for a run that started from a pretrained checkpoint (`train.py --init`), one
 * per ensemble member, then the export that joins them: the tokenizer is the checkpoint's own.
 */
function pretrainedRunLines(domain: DomainName, config: { training: RunRecord; ensemble?: EnsembleRecord }): string {
  const base = JSON.parse(readFileSync(new URL('./train.config.json', import.meta.url), 'utf8'));
  const runs = [config.training, ...(config.ensemble?.members.slice(1).map((m) => m.training) ?? [])];
  const out = (i: number) => `models/.work/${domain}/checkpoints/member-${i + 1}.pt`;
  const train = runs.map(
    (run, i) =>
      `python3 models/gpt/train.py --domain ${domain} --init models/pretrained/${run.continuedFrom?.checkpoint} ${continueOverrides(run.config, base).join(' ')} --out ${out(i)}`,
  );
  const members = runs.slice(1).map((_, i) => ` --member ${out(i + 1)}`);
  return `npm run models:data && npx tsx models/tokenizer/train.ts --domain ${domain} --tokenizer models/pretrained/tokenizer.json
${train.join('\n')}
python3 models/gpt/export.py --domain ${domain} --checkpoint ${out(0)}${members.join('')}   # the pretrained run${runs.length > 1 ? 's, one ensemble' : ''}
`;
}

/** The holdout set's numbers, when eval had the set. */
function holdoutSection(e: Evaluation): string {
  const h = e.laterSets.holdout;
  if (!h) return '';
  return `## Holdout set (models/data/natural/*.holdout.jsonl, written by hand later, never trained or tuned on)
${h.cases} cases in wording that no training or generated text shares: accuracy **${f4(h.accuracy)}**, automated ${f4(h.autoRate)}
at precision **${f4(h.autoPrecision)}** (${h.wrong} wrong of ${h.automated}), ECE ${f4(h.ece)}. Unlike the natural set above, nothing was
chosen with these cases, so this is the estimate for wording the model has not seen.
${misspeltLine(e)}${contrastLine(e)}
`;
}

/** What each contrast set holds, for its heading. */
const CONTRAST_HEADINGS: Record<ContrastSet, string> = {
  contrast:
    'Contrast set (models/data/natural/*.contrast.txt: texts in the words of another meaning, "investing in a heat pump"; never trained on)',
  'meaning-first':
    'Meaning-first set (models/data/natural/*.meaning-first.txt: a meaning said first, then an ordinary instruction, "top priority order, the buzzer says Okafor"; never trained on)',
  openings:
    'Openings set (models/data/natural/*.openings.txt: a short opening that decides, alone and before each of seven ordinary endings, "Emergency order, leave it behind the bins"; never trained on)',
  idioms:
    'Idioms set (models/data/natural/*.idioms.txt: urgency or its absence in an idiom, alone and before each of seven ordinary endings, "Time is of the essence, drop it in the porch"; never trained on)',
  wording:
    'Wording set (models/data/natural/*.wording.txt: urgency or its absence in everyday wording, alone and before each of three ordinary endings, "Please don\'t let this one sit in a queue, the side gate is open"; never trained on)',
  everyday:
    'Everyday set (models/data/natural/*.everyday.txt: notes in everyday words a delivery note seldom uses, unhurried or urgent, "The greenhouse is unlocked, pop it on the potting bench", "Please dispatch this posthaste"; never trained on)',
};

/** The contrast sets: ordinary texts in the words of another meaning, meaning-first notes; on the reference field sets. */
function contrastLine(e: Evaluation): string {
  return e.contrast
    .map((k) => {
      const wrong = [...new Set(k.examples.map((x) => `"${x.text}" (${x.got}, not ${x.expected})`))];
      return `
${CONTRAST_HEADINGS[k.set]}:
${k.texts} texts on ${k.cases / k.texts} reference field sets where the text alone decides; ${k.automated} of ${k.cases} automated, **${k.wrong} wrong**${wrong.length ? `: ${wrong.join(', ')}` : ''}.
`;
    })
    .join('');
}

/** The misspelt-decision copies of the natural and holdout cases. */
function misspeltLine(e: Evaluation): string {
  const m = e.misspelt;
  if (m.copies === 0) return '';
  return `
Misspelt decisions: ${m.copies} of the natural and holdout cases again with one decisive word misspelt ("urgnet", "gambilng");
${m.automated} automated, **${m.wrong} wrong** (the rest go to a person).
`;
}

/** The natural test set's numbers and the behavioural suite, when eval had the set. */
function naturalSection(e: Evaluation, tunedOn?: string): string {
  const n = e.naturalSet;
  if (!n) return '';
  const c = n.checklist;
  const styles = Object.entries(n.byStyle)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([style, m]) => `| ${style} | ${m.cases} | ${f4(m.accuracy)} | ${f4(m.autoRate)} | ${f4(m.autoPrecision)} |`)
    .join('\n');
  const tuned = tunedOn?.includes('models/data/natural/')
    ? 'never trained on; the review settings were chosen with them among other cases, so the automation and precision below are in-sample: the estimate on unseen cases is under "Model and training"'
    : 'never trained or tuned on';
  return `## Natural test set (models/data/natural, written by hand, ${tuned})
${n.cases} cases: accuracy **${f4(n.accuracy)}**, automated ${f4(n.autoRate)} at precision **${f4(n.autoPrecision)}**, ECE ${f4(n.ece)}.
Behavioural suite: ${c.invariance.flips} flips of ${c.invariance.automated} automated cases under meaning-preserving perturbations
(${c.invariance.variants} copies, ${c.invariance.toReview} sent to review instead); directional failures ${c.directional.failures} of ${c.directional.pairs} pairs;
number sweeps: ${c.sweeps.departures} departures from the policy of ${c.sweeps.points} points (${c.sweeps.reviews} to review).

| style | cases | accuracy | automated | precision of automated |
|---|---|---|---|---|
${styles}

`;
}
