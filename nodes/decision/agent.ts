/**
 * `DecisionAgent`: one model folder, loaded once per process, plus the classification heads trained
 * from reviewers' answers. `infer` / `inferBatch` decide, `evaluate` measures, `train` fits a new
 * head from reviewed decisions (database or JSONL) and registers it only if it beats the active
 * version on held-out cases; `activate` switches versions (rollback).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { OperonError } from '../../engine/errors.ts';
import { BatchingClassifier, type PromptFeatures } from './classifier.ts';
import { trainHead } from './head.ts';
import { checkDecisionInputs, textInputs } from './inputs.ts';
import { closeDecisionModel, loadDecisionModel, type DecisionModel } from './model.ts';
import { renderPrompt, templateVariables, type RenderOptions, type TextSpan } from './prompt.ts';
import { calibratedLogits, headLogits, qualityMetrics, softmax, toScored, type Head, type QualityMetrics, type Scored } from './scoring.ts';

/** models/ at the repository root. */
export const DEFAULT_MODELS_DIR = fileURLToPath(new URL('../../models/', import.meta.url));

export interface InferOptions {
  signal?: AbortSignal;
  /** Confidence below which `needsReview` is true (default: the model's). */
  threshold?: number;
  /** Prompt template override (default: the model's). */
  template?: string;
}

export interface DecisionResult extends Scored {
  modelVersion: string;
  /** Confidence below the threshold, or one of `reviewReasons`. */
  needsReview: boolean;
  /** Why a person must look at this case whatever the confidence (odd inputs, text imitating fields). */
  reviewReasons: string[];
  threshold: number;
  /** The prompt the model read. */
  prompt: string;
  /** Its length in tokens (at most the model's maxLength). */
  tokens: number;
  truncated: boolean;
  truncatedFields: string[];
  latencyMs: number;
}

/** A case turned into a prompt: what the model reads and why it may need review. */
export interface CasePrompt {
  prompt: string;
  /** Free-text values in `prompt`: the only parts the token budget cuts. */
  textSpans: TextSpan[];
  /** Text variables cut to their character limit. */
  truncatedFields: string[];
  reviewReasons: string[];
}

export interface LabelledCase {
  variables: Record<string, unknown>;
  label: string;
  /** Stable id for the train / held-out split. */
  id?: string;
}

export interface TrainReport {
  promoted: boolean;
  reason: string;
  version: string | null;
  comparedWith: string;
  trainingCases: number;
  heldOutCases: number;
  candidate: QualityMetrics;
  active: QualityMetrics;
}

interface ActiveHead {
  version: string;
  head: Head;
}

const agents = new Map<string, Promise<DecisionAgent>>();

export class DecisionAgent {
  readonly model: DecisionModel;
  readonly #classifier: BatchingClassifier;
  #db: Knex | undefined;
  #active: { head: ActiveHead | null; loadedAt: number } = { head: null, loadedAt: -Infinity };
  readonly #renderOptionsByTemplate = new Map<string, RenderOptions>();

  private constructor(model: DecisionModel, db?: Knex) {
    this.model = model;
    this.#classifier = new BatchingClassifier(model);
    this.#db = db;
  }

  /** Loads a model folder (`<modelsDir>/<name>`); once per process and folder. */
  static async load(name: string, options: { modelsDir?: string; db?: Knex } = {}): Promise<DecisionAgent> {
    const dir = resolve(options.modelsDir ?? DEFAULT_MODELS_DIR, name);
    let agent = agents.get(dir);
    if (!agent) {
      agent = loadDecisionModel(dir, name).then((model) => new DecisionAgent(model));
      agents.set(dir, agent);
      agent.catch(() => agents.delete(dir));
    }
    const loaded = await agent;
    if (options.db) loaded.#db = options.db;
    return loaded;
  }

  /** Stops every loaded model's inference worker (worker shutdown). */
  static async closeAll(): Promise<void> {
    const loaded = [...agents.values()];
    agents.clear();
    await Promise.allSettled(loaded.map(async (agent) => closeDecisionModel((await agent).model)));
  }

  get name(): string {
    return this.model.name;
  }
  get labels(): string[] {
    return this.model.config.labels;
  }
  get baseVersion(): string {
    return this.model.config.version;
  }

  /**
   * The prompt for a case. Throws OPERON_ERR_DECISION_INPUT for a declared input that is malformed
   * and OPERON_ERR_MISSING_VARIABLES naming what is missing. With declared inputs, every template
   * variable that is not a declared number, enum ... is free text: cut first and guarded.
   */
  prompt(variables: Record<string, unknown>, template = this.model.config.template): CasePrompt {
    const inputs = this.model.config.inputs;
    const reviewReasons = inputs ? checkDecisionInputs(this.name, inputs, variables) : [];
    const rendered = renderPrompt(template, variables, this.#renderOptions(template));
    if (rendered.missing.length > 0) {
      throw new OperonError('OPERON_ERR_MISSING_VARIABLES', `Decision model '${this.name}' needs variables: ${rendered.missing.join(', ')}`, { details: { model: this.name, missing: rendered.missing }, retryable: false });
    }
    for (const field of rendered.forged) reviewReasons.push(`${field} contains text that looks like the prompt's own fields (a field name followed by a number, a value or a colon)`);
    return { prompt: rendered.prompt, textSpans: rendered.textSpans, truncatedFields: rendered.truncated, reviewReasons };
  }

  /** How a template is rendered for this model; the same for every case, so kept per template. */
  #renderOptions(template: string): RenderOptions {
    let options = this.#renderOptionsByTemplate.get(template);
    if (!options) {
      const { config } = this.model;
      const inputs = config.inputs;
      const textVariables = inputs
        ? templateVariables(template).filter((name) => !inputs[name] || inputs[name].type === 'text')
        : (config.textVariables ?? []);
      options = {
        textVariables: [...new Set([...textVariables, ...textInputs(inputs)])],
        maxTextChars: config.maxTextChars,
        maxChars: Object.fromEntries(Object.entries(inputs ?? {}).flatMap(([name, spec]) => (spec.maxChars ? [[name, spec.maxChars]] : []))),
        guardText: inputs !== undefined,
        enumValues: Object.values(inputs ?? {}).flatMap((spec) => spec.values ?? []),
      };
      // Templates come from task headers: a bounded cache, not one entry per string ever seen.
      if (this.#renderOptionsByTemplate.size >= 64) this.#renderOptionsByTemplate.clear();
      this.#renderOptionsByTemplate.set(template, options);
    }
    return options;
  }

  /** The active head (from the database, re-read at most every 5 s so CLI activations apply). */
  async activeHead(): Promise<ActiveHead | null> {
    if (!this.#db || !this.model.hasHidden) return null;
    if (Date.now() - this.#active.loadedAt < 5000) return this.#active.head;
    const row = (await this.#db('decision_model_versions').where({ model_name: this.name, active: true, base_file_hash: this.model.fileHash }).first()) as { version: string; head: Head } | undefined;
    this.#active = { head: row ? { version: row.version, head: row.head } : null, loadedAt: Date.now() };
    return this.#active.head;
  }

  #probabilities(features: PromptFeatures, head: ActiveHead | null): number[] {
    const base = calibratedLogits(features.labelLogits, this.model.config);
    return head && features.hidden ? softmax(headLogits(head.head, base, features.hidden)) : softmax(base);
  }

  async infer(variables: Record<string, unknown>, options: InferOptions = {}): Promise<DecisionResult> {
    const started = performance.now();
    const rendered = this.prompt(variables, options.template);
    const [features, head] = await Promise.all([this.#classifier.features(rendered, options.signal), this.activeHead()]);
    const probs = this.#probabilities(features, head);
    const scored = toScored(this.labels, probs);
    const threshold = options.threshold ?? this.model.config.threshold;
    const reviewReasons = [...rendered.reviewReasons];
    if (features.cutFields.includes('prompt') && this.model.config.inputs) {
      reviewReasons.push(`the structured fields alone are longer than the model's context (${this.model.config.maxLength} tokens): the middle of the prompt was cut`);
    }
    const truncatedFields = [...new Set([...rendered.truncatedFields, ...features.cutFields])];
    return {
      ...scored,
      modelVersion: head?.version ?? this.baseVersion,
      // Compared unrounded, so threshold 1 always asks a person.
      needsReview: Math.max(...probs) < threshold || reviewReasons.length > 0,
      reviewReasons,
      threshold,
      prompt: features.prompt ?? rendered.prompt,
      tokens: features.tokens,
      truncated: features.truncated || truncatedFields.length > 0,
      truncatedFields,
      latencyMs: Math.round((performance.now() - started) * 1000) / 1000,
    };
  }

  /** Decides many cases; they share inference batches. */
  inferBatch(cases: Record<string, unknown>[], options: InferOptions = {}): Promise<DecisionResult[]> {
    return Promise.all(cases.map((variables) => this.infer(variables, options)));
  }

  /** Quality of the active version (or of `head`, or of the base model with `head: null`) on labelled cases. */
  async evaluate(cases: LabelledCase[], options: { threshold?: number; head?: ActiveHead | null } = {}): Promise<QualityMetrics & { version: string }> {
    const head = options.head === undefined ? await this.activeHead() : options.head;
    const features = await this.#features(cases);
    const results = features.map((f, i) => ({ probs: this.#probabilities(f, head), truth: this.#labelIndex(cases[i]!.label) }));
    return { ...qualityMetrics(results, options.threshold ?? this.model.config.threshold), version: head?.version ?? this.baseVersion };
  }

  #labelIndex(label: string): number {
    const index = this.labels.indexOf(label);
    if (index < 0) throw new OperonError('OPERON_ERR_NODE_INPUT', `'${label}' is not a label of model '${this.name}' (${this.labels.join(', ')})`, { details: { model: this.name, label } });
    return index;
  }

  async #features(cases: LabelledCase[]): Promise<PromptFeatures[]> {
    const prompts = cases.map((c) => this.prompt(c.variables));
    const out: PromptFeatures[] = [];
    for (let i = 0; i < prompts.length; i += 256) out.push(...(await this.#classifier.run(prompts.slice(i, i + 256))));
    return out;
  }

  /**
   * Trains a head from reviewed decisions (`source: 'database'`) or labelled cases, holds out a
   * quarter (by a hash of each case's id), and registers + activates the head only when its
   * held-out accuracy is strictly higher than the active version's.
   */
  async train(options: { cases?: LabelledCase[]; source?: string; heldOutShare?: number } = {}): Promise<TrainReport> {
    const db = this.#requireDb();
    if (!this.model.hasHidden) throw new OperonError('OPERON_ERR_NODE_INPUT', `Model '${this.name}' exports no hidden state; heads need an operon-gpt model`, { details: { model: this.name } });
    const cases = options.cases ?? (await this.reviewedCases());
    const share = options.heldOutShare ?? 0.25;
    const isHeldOut = (c: LabelledCase, i: number) => createHash('sha256').update(c.id ?? String(i)).digest()[0]! / 256 < share;
    const train = cases.filter((c, i) => !isHeldOut(c, i));
    const heldOut = cases.filter((c, i) => isHeldOut(c, i));
    const active = await this.activeHead();
    const comparedWith = active?.version ?? this.baseVersion;
    const empty: QualityMetrics = { cases: 0, accuracy: 0, ece: 0, nll: 0, autoRate: 0, autoPrecision: 0 };
    if (train.length < 20 || heldOut.length < 10) {
      return { promoted: false, reason: `too few reviewed cases (${train.length} training, ${heldOut.length} held out; need 20 and 10)`, version: null, comparedWith, trainingCases: train.length, heldOutCases: heldOut.length, candidate: empty, active: empty };
    }
    const trainFeatures = await this.#features(train);
    const head = trainHead(
      this.labels,
      trainFeatures.map((f, i) => ({ base: calibratedLogits(f.labelLogits, this.model.config), hidden: f.hidden!, truth: this.#labelIndex(train[i]!.label) })),
    );
    const candidate = await this.evaluate(heldOut, { head: { version: 'candidate', head } });
    const current = await this.evaluate(heldOut, { head: active });
    const better = candidate.accuracy > current.accuracy;
    const report: TrainReport = {
      promoted: false,
      reason: better ? '' : `held-out accuracy ${candidate.accuracy.toFixed(4)} does not beat ${comparedWith} (${current.accuracy.toFixed(4)})`,
      version: null,
      comparedWith,
      trainingCases: train.length,
      heldOutCases: heldOut.length,
      candidate,
      active: current,
    };
    if (!better) return report;
    const version = await db.transaction(async (trx) => {
      const [row] = (await trx('decision_model_versions')
        .insert({
          model_name: this.name,
          version: `pending-${Date.now()}-${Math.random()}`,
          base_version: this.baseVersion,
          base_file_hash: this.model.fileHash,
          head: JSON.stringify(head),
          metrics: JSON.stringify({ heldOut: candidate, comparedWith: { ...current, version: comparedWith } }),
          training_cases: train.length,
          source: options.source ?? (options.cases ? 'cases' : 'database'),
        })
        .returning('id')) as { id: number }[];
      const name = `${this.baseVersion}+head.${row!.id}`;
      await trx('decision_model_versions').where({ id: row!.id }).update({ version: name });
      await trx('decision_model_versions').where({ model_name: this.name, active: true }).update({ active: false });
      await trx('decision_model_versions').where({ id: row!.id }).update({ active: true, activated_at: trx.fn.now() });
      return name;
    });
    this.#active.loadedAt = -Infinity;
    return { ...report, promoted: true, reason: `held-out accuracy ${candidate.accuracy.toFixed(4)} beats ${comparedWith} (${current.accuracy.toFixed(4)})`, version };
  }

  /** Reviewed decisions of this model: the prompt's inputs and the reviewer's label. */
  async reviewedCases(): Promise<LabelledCase[]> {
    const rows = (await this.#requireDb()('decisions')
      .where({ model_name: this.name })
      .whereNotNull('reviewed_label')
      .orderBy('created_at')
      .select('id', 'inputs', 'reviewed_label')) as { id: string; inputs: Record<string, unknown>; reviewed_label: string }[];
    return rows.map((r) => ({ id: r.id, variables: r.inputs, label: r.reviewed_label }));
  }

  /** Makes `version` the one that decides: a head version, or the base version (rollback). */
  async activate(version: string): Promise<void> {
    const db = this.#requireDb();
    await db.transaction(async (trx) => {
      if (version !== this.baseVersion && version !== 'base') {
        const row = await trx('decision_model_versions').where({ model_name: this.name, version }).first();
        if (!row) throw new OperonError('OPERON_ERR_NOT_FOUND', `Model '${this.name}' has no version '${version}'`, { details: { model: this.name, version } });
      }
      await trx('decision_model_versions').where({ model_name: this.name, active: true }).update({ active: false });
      if (version !== this.baseVersion && version !== 'base') {
        await trx('decision_model_versions').where({ model_name: this.name, version }).update({ active: true, activated_at: trx.fn.now() });
      }
    });
    this.#active.loadedAt = -Infinity;
  }

  /** Registered versions: the base model and every head, with which one is active. */
  async versions(): Promise<{ version: string; kind: 'base' | 'head'; active: boolean; createdAt?: string; metrics?: unknown }[]> {
    const rows = this.#db
      ? ((await this.#db('decision_model_versions').where({ model_name: this.name }).orderBy('id')) as { version: string; active: boolean; created_at: Date; metrics: unknown }[])
      : [];
    const anyActive = rows.some((r) => r.active);
    return [
      { version: this.baseVersion, kind: 'base', active: !anyActive, metrics: this.model.config.metrics },
      ...rows.map((r) => ({ version: r.version, kind: 'head' as const, active: r.active, createdAt: r.created_at.toISOString(), metrics: r.metrics })),
    ];
  }

  #requireDb(): Knex {
    if (!this.#db) throw new OperonError('OPERON_ERR_NODE_INPUT', 'This needs a database (--database-url or OPERON_DATABASE_URL)', { details: { model: this.name } });
    return this.#db;
  }
}

/** Reads a JSONL file of `{ variables | vars, label }` lines. */
export function readLabelledCases(file: string): LabelledCase[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line, i) => {
      const row = JSON.parse(line) as { variables?: Record<string, unknown>; vars?: Record<string, unknown>; label?: string; policyLabel?: string; id?: string };
      return { id: row.id ?? `${file}:${i}`, variables: (row.variables ?? row.vars)!, label: (row.policyLabel ?? row.label)! };
    });
}

