/**
 * A model folder, loaded once per process: model.onnx + tokenizer.json + config.json.
 *
 * Two kinds of folders work:
 * - `operon-gpt` (models/loan, models/order): our exported GPT, whose ONNX outputs are the logits
 *   and final hidden state at the scoring position;
 * - any HuggingFace causal LM exported by Optimum (`input_ids`, `attention_mask`[, `position_ids`]
 *   -> `logits` [batch, sequence, vocab]) with its tokenizer.json, plus an `operon.json` holding
 *   labels, verbalizers and the prompt template (config.json there is the HuggingFace one).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { decisiveWordsError, Lexicon, type FamiliaritySettings } from './familiarity.ts';
import type { BoundarySettings } from './boundary.ts';
import { edgesError, type EdgeSettings } from './edges.ts';
import type { ConsistencySettings } from './consistency.ts';
import { partsError, type PartsSettings } from './parts.ts';
import { Grounding, groundingError, type GroundingSettings } from './grounding.ts';
import { neighboursError, TextNeighbours, type NeighbourSettings } from './neighbours.ts';
import { Vouch, vouchError, type VouchSettings } from './vouch.ts';
import { Requirements, requiresError, type RequiresSettings } from './requires.ts';
import { Screen, screenError, type ScreenSettings } from './screen.ts';
import { join } from 'node:path';
import { Tokenizer } from 'tokenizers';
import { OperonError } from '../../engine/errors.ts';
import { inputsError, type DecisionInputs } from './inputs.ts';
import { languageDetector, languageError, type LanguageDetector } from './language.ts';
import { startInlineSession, startSession, type ModelSession } from './session.ts';

/** What config.json (or operon.json) says about a model. */
export interface DecisionModelConfig {
  name: string;
  version: string;
  format?: 'operon-gpt' | 'hf-causal-lm';
  labels: string[];
  /** Word the model writes for each label; the first token of ` <word>` is scored. */
  verbalizers: string[];
  template: string;
  /**
   * Declared input fields (inputs.ts): types, ranges, enums, and the range seen in training. Without
   * it any value is rendered as it is; with it malformed values are refused and odd ones reviewed.
   */
  inputs?: DecisionInputs;
  textVariables?: string[];
  maxTextChars?: number;
  maxLength: number;
  threshold: number;
  padId?: number;
  calibration?: { method: string; temperature: number; contentFreeLogits?: number[] | null };
  /** When free text has too many words missing from lexicon.txt, the decision goes to review (familiarity.ts). */
  familiarity?: FamiliaritySettings;
  /** The language of the training texts (ISO 639-1): free text in another goes to review (language.ts). */
  language?: string;
  /** Automated answers are checked on reworded copies of the free text (consistency.ts). */
  consistency?: ConsistencySettings;
  /** Automated answers are checked on each part of the free text read alone (parts.ts). */
  parts?: PartsSettings;
  /** Automated answers are checked on copies with each declared number nudged (boundary.ts). */
  boundary?: BoundarySettings;
  /** Automated answers on a threshold of the written policy are checked against the value it is treated as (edges.ts). */
  edges?: EdgeSettings;
  /** Automated answers with these labels go to review when the free text holds one of these words (screen.ts). */
  screen?: ScreenSettings;
  /** Words that decide a case: a free-text word outside lexicon.txt one typo from one of them is read again spelt right (familiarity.ts). */
  decisiveWords?: string[];
  /** Lexicon words that are no English word and one typo from a decisive word: read again spelt right all the same (familiarity.ts). */
  typoWords?: string[];
  /** Automated answers with these labels go to review when the free text holds one of these words, which address the decision (screen.ts). */
  instructions?: ScreenSettings;
  /** Automated answers with these labels go to review when the case fails one of their FEEL conditions (requires.ts). */
  requires?: RequiresSettings;
  /** Answers below the threshold that the policy grounds on reference readings of the text are automated (grounding.ts). */
  grounding?: GroundingSettings;
  /** Automated answers go to review when the free text's nearest labelled texts are of intents under which the policy does not give them for the case's fields (neighbours.ts). */
  neighbours?: NeighbourSettings;
  /** Automated answers a text of an intent here would rule out go to review when a word of the free text is in no training text of the intents that allow them (vouch.ts). */
  vouch?: VouchSettings;
  metrics?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface DecisionModel {
  name: string;
  dir: string;
  config: DecisionModelConfig;
  /** SHA-256 of model.onnx. */
  fileHash: string;
  /** The ONNX session, in a worker thread. */
  session: ModelSession;
  /** The same model on the calling thread, for isolated decisions (classifier.ts); null when off or too big. */
  inline: ModelSession | null;
  tokenizer: Tokenizer;
  /** Token id scored for each label. */
  verbalizerIds: number[];
  /** Tokens at the end of the template (after its last placeholder) that truncation must keep. */
  suffixTokens: number;
  /** The ONNX graph has a `hidden` output (features for trained heads). */
  hasHidden: boolean;
  padId: number;
  /** The training texts' words (lexicon.txt); null when the folder has none. */
  lexicon: Lexicon | null;
  /** config.json's `typoWords`, empty when it has none. */
  typos: ReadonlySet<string>;
  /** config.json's `screen`, ready to match; null when it has none. */
  screen: Screen | null;
  /** config.json's `instructions`, ready to match; null when it has none. */
  instructions: Screen | null;
  /** config.json's `requires`, ready to check; null when it has none. */
  requirements: Requirements | null;
  /** config.json's `grounding`, ready to check; null when it has none. */
  grounding: Grounding | null;
  /** config.json's `neighbours` with its labelled texts, ready to read; null when it has none. */
  neighbours: TextNeighbours | null;
  /** config.json's `vouch` with its word counts, ready to read; null when it has none. */
  vouch: Vouch | null;
  /** The language detector when config.json has `language`, else null. */
  detectLanguage: LanguageDetector | null;
}

function unknownModel(name: string, reason: string, cause?: unknown): OperonError {
  return new OperonError('OPERON_ERR_UNKNOWN_MODEL', `Decision model '${name}' cannot be loaded: ${reason}`, {
    details: { model: name, reason },
    cause,
  });
}

/** Only plain folder names: a model name comes from BPMN and must not walk the file system. */
export function isModelName(name: string): boolean {
  return /^[A-Za-z0-9][\w.-]*$/.test(name);
}

/** Reads and checks a model folder's files, without creating an inference session. */
export function readModelConfig(dir: string, name: string): DecisionModelConfig {
  if (!isModelName(name)) throw unknownModel(name, 'not a valid model name');
  for (const file of ['model.onnx', 'tokenizer.json'])
    if (!existsSync(join(dir, file))) throw unknownModel(name, `${file} is missing in ${dir}`);
  const configFile = existsSync(join(dir, 'operon.json')) ? 'operon.json' : 'config.json';
  let config: DecisionModelConfig;
  try {
    config = JSON.parse(readFileSync(join(dir, configFile), 'utf8')) as DecisionModelConfig;
  } catch (error) {
    throw unknownModel(name, `${configFile} is missing or not JSON`, error);
  }
  const ok =
    Array.isArray(config.labels) &&
    config.labels.length >= 2 &&
    Array.isArray(config.verbalizers) &&
    config.verbalizers.length === config.labels.length &&
    typeof config.template === 'string' &&
    typeof config.maxLength === 'number';
  if (!ok) throw unknownModel(name, `${configFile} lacks labels, verbalizers, template or maxLength`);
  const badInputs = inputsError(config.inputs);
  if (badInputs) throw unknownModel(name, `${configFile}: ${badInputs}`);
  const badLanguage = languageError(config.language);
  if (badLanguage) throw unknownModel(name, `${configFile}: ${badLanguage}`);
  const badScreen = screenError(config.screen);
  if (badScreen) throw unknownModel(name, `${configFile}: ${badScreen}`);
  const badDecisive = decisiveWordsError(config.decisiveWords);
  if (badDecisive) throw unknownModel(name, `${configFile}: ${badDecisive}`);
  const badTypos = decisiveWordsError(config.typoWords, 'typoWords');
  if (badTypos) throw unknownModel(name, `${configFile}: ${badTypos}`);
  const badInstructions = screenError(config.instructions, 'instructions');
  if (badInstructions) throw unknownModel(name, `${configFile}: ${badInstructions}`);
  const badRequires = requiresError(config.requires, config.labels, config.inputs);
  if (badRequires) throw unknownModel(name, `${configFile}: ${badRequires}`);
  const badEdges = edgesError(config.edges, config.inputs);
  if (badEdges) throw unknownModel(name, `${configFile}: ${badEdges}`);
  const badGrounding = groundingError(config.grounding, config.labels, config.inputs);
  if (badGrounding) throw unknownModel(name, `${configFile}: ${badGrounding}`);
  const badParts = partsError(config.parts);
  if (badParts) throw unknownModel(name, `${configFile}: ${badParts}`);
  const badNeighbours = neighboursError(config.neighbours, config.labels, config.inputs);
  if (badNeighbours) throw unknownModel(name, `${configFile}: ${badNeighbours}`);
  const badVouch = vouchError(
    config.vouch,
    config.labels,
    config.grounding ? Object.keys(config.grounding.readings) : null,
    config.neighbours !== undefined,
  );
  if (badVouch) throw unknownModel(name, `${configFile}: ${badVouch}`);
  return { ...config, threshold: config.threshold ?? 0.9, version: config.version ?? '0', name };
}

/**
 * The longest single-prompt run, in ms as measured, that may run on the calling thread: an
 * isolated decision then skips the hand-off to the model thread and back (classifier.ts).
 * `OPERON_DECISION_INLINE_MS`, default 5; 0 turns it off (no second session is loaded).
 */
export function inlineBudgetMs(): number {
  const value = Number(process.env.OPERON_DECISION_INLINE_MS ?? 5);
  return Number.isFinite(value) && value >= 0 ? value : 5;
}

/** Bigger models get no second session: it would hold a second copy of the weights. */
const INLINE_MAX_BYTES = 32 * 1024 * 1024;

/** Loads a model folder. Inference threads: `options.threads`, else OPERON_DECISION_THREADS, else 1. */
export async function loadDecisionModel(
  dir: string,
  name: string,
  options: { threads?: number } = {},
): Promise<DecisionModel> {
  const config = readModelConfig(dir, name);
  const path = join(dir, 'model.onnx');
  const threads = options.threads ?? (Number(process.env.OPERON_DECISION_THREADS) || 1);
  const bytes = readFileSync(path);
  const [worker, inlineSession] = await Promise.allSettled([
    startSession(path, { threads }),
    inlineBudgetMs() > 0 && bytes.length <= INLINE_MAX_BYTES
      ? startInlineSession(path, { threads })
      : Promise.resolve(null),
  ]);
  const inline = inlineSession.status === 'fulfilled' ? inlineSession.value : null;
  const close = () => Promise.allSettled([worker.status === 'fulfilled' && worker.value.close(), inline?.close()]);
  if (worker.status === 'rejected') {
    await close();
    throw unknownModel(name, `model.onnx is corrupt: ${(worker.reason as Error).message}`, worker.reason);
  }
  const session = worker.value;
  let tokenizer: Tokenizer;
  try {
    tokenizer = Tokenizer.fromFile(join(dir, 'tokenizer.json'));
  } catch (error) {
    await close();
    throw unknownModel(name, `tokenizer.json is corrupt: ${(error as Error).message}`, error);
  }
  if (
    !session.inputNames.includes('input_ids') ||
    !session.inputNames.includes('attention_mask') ||
    !session.outputNames.includes('logits')
  ) {
    await close();
    throw unknownModel(name, 'model.onnx must take input_ids and attention_mask and return logits');
  }
  const verbalizerIds: number[] = [];
  for (const word of config.verbalizers) {
    const ids = (await tokenizer.encode(` ${word}`)).getIds();
    if (ids.length === 0) {
      await close();
      throw unknownModel(name, `verbalizer '${word}' encodes to no token`);
    }
    verbalizerIds.push(ids[0]!);
  }
  if (new Set(verbalizerIds).size !== verbalizerIds.length) {
    await close();
    throw unknownModel(name, 'two labels share their first verbalizer token');
  }
  // A check's own file in the folder (its name in config.json `<key>.file`), parsed; null without the setting.
  const checkFile = async <T>(key: 'neighbours' | 'vouch', parse: (text: string) => T): Promise<T | null> => {
    const file = config[key]?.file;
    if (file === undefined) return null;
    if (!existsSync(join(dir, file))) {
      await close();
      throw unknownModel(name, `${key}.file ${file} is missing`);
    }
    try {
      return parse(readFileSync(join(dir, file), 'utf8'));
    } catch (error) {
      await close();
      throw unknownModel(name, (error as Error).message, error);
    }
  };
  const neighbours = await checkFile('neighbours', (text) => TextNeighbours.parse(text, config.neighbours!));
  const vouch = await checkFile('vouch', (text) => Vouch.parse(text, config.vouch!));
  const tail = config.template.slice(config.template.lastIndexOf('}') + 1);
  const suffixTokens = (await tokenizer.encode(tail)).getIds().length;
  return {
    name,
    dir,
    config,
    fileHash: createHash('sha256').update(bytes).digest('hex'),
    session,
    inline,
    tokenizer,
    verbalizerIds,
    suffixTokens,
    hasHidden: session.outputNames.includes('hidden'),
    padId: config.padId ?? 0,
    lexicon: existsSync(join(dir, 'lexicon.txt'))
      ? Lexicon.parse(readFileSync(join(dir, 'lexicon.txt'), 'utf8'))
      : null,
    typos: new Set(config.typoWords ?? []),
    screen: config.screen ? new Screen(config.screen) : null,
    instructions: config.instructions ? new Screen(config.instructions) : null,
    requirements: config.requires ? new Requirements(config.requires) : null,
    grounding: config.grounding ? new Grounding(config.grounding) : null,
    neighbours,
    vouch,
    detectLanguage: config.language ? await languageDetector() : null,
  };
}

/** Stops the model's sessions (worker thread and inline). */
export async function closeDecisionModel(model: DecisionModel): Promise<void> {
  await Promise.all([model.session.close(), model.inline?.close()]);
}
