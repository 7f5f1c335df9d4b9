/**
 * Runs the model on prompts. Concurrent requests are gathered into one batch per inference call
 * (micro-batching): while a batch runs, new prompts queue and go together in the next one.
 * Inference runs in a worker thread (session.ts), so the event loop stays responsive.
 *
 * A full batch that is waiting does not wait for the running one to come back: it is tokenized and
 * handed to the worker thread at once, which runs it right after the current one (one at a time,
 * the session's runs are synchronous there). Otherwise the model thread sits idle while this thread,
 * busy with the engine's own work, gets round to the next batch: inside a worker process at 128 jobs
 * in flight the model thread was busy 80-85 % of the time, 84-92 % with the handover, and a worker
 * drained a backlog of decision jobs 5 % faster (four interleaved pairs, BENCHMARKS.md).
 *
 * Inside a batch, prompts of similar length run together (lengthRuns), in one message to the
 * worker thread. A prompt that arrives alone while nothing runs goes to the model's session on this
 * thread instead, while such runs stay within the inline budget (#isolatedSession).
 */
import { inlineBudgetMs, type DecisionModel } from './model.ts';
import type { TextSpan } from './prompt.ts';
import type { Feeds, ModelSession } from './session.ts';
import { fitToBudget } from './token-budget.ts';

/** A prompt, or a rendered one whose free-text spans the token budget may cut. */
export type PromptInput = string | { prompt: string; textSpans: TextSpan[] };

export interface PromptFeatures {
  /** Raw logits of each label's verbalizer token at the scoring position. */
  labelLogits: number[];
  /** Final hidden state at the scoring position, when the model exports it. */
  hidden?: Float32Array;
  /** All next-token logits at the scoring position (only when asked for: tests, diagnostics). */
  logits?: Float32Array;
  tokens: number;
  /** Tokens were dropped to fit maxLength. */
  truncated: boolean;
  /** Free-text variables cut to fit maxLength; when they were not enough, also 'prompt' (the middle was cut). */
  cutFields: string[];
  /** The prompt the model read, when tokens were dropped from free text. */
  prompt?: string;
}

interface Pending {
  prompt: PromptInput;
  signal?: AbortSignal;
  resolve(features: PromptFeatures): void;
  reject(error: unknown): void;
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : Object.assign(new Error('The decision was aborted'), { name: 'AbortError' });
}

/** A running batch and a full one queued behind it in the worker thread. */
const MAX_IN_FLIGHT = 2;
/** Padded tokens per inference run (see lengthRuns). */
export const RUN_TOKENS = 768;

export class BatchingClassifier {
  readonly #model: DecisionModel;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  /** Batches handed to the session and not yet back: at most MAX_IN_FLIGHT, the second only when full. */
  #inFlight = 0;
  #scheduled = false;
  readonly #runTokens: number;
  readonly #inlineBudgetMs: number;
  /** Moving average of single-prompt runs (ms), wherever they ran; 0 until the first. */
  #singleRunMs = 0;

  constructor(model: DecisionModel, options: { maxBatch?: number; runTokens?: number; inlineBudgetMs?: number } = {}) {
    this.#model = model;
    this.#maxBatch = options.maxBatch ?? 64;
    this.#runTokens = options.runTokens ?? RUN_TOKENS;
    this.#inlineBudgetMs = options.inlineBudgetMs ?? inlineBudgetMs();
  }

  /** Features of one prompt; batched with whatever else is waiting. */
  features(prompt: PromptInput, signal?: AbortSignal): Promise<PromptFeatures> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const pending: Pending = { prompt, signal, resolve, reject };
      signal?.addEventListener('abort', () => reject(abortError(signal)), { once: true });
      this.#queue.push(pending);
      if (this.#inFlight > 0) {
        if (this.#queue.length >= this.#maxBatch) this.#pump();
      } else if (!this.#scheduled) {
        // Prompts arriving in the same turn of the event loop go together.
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#pump();
        });
      }
    });
  }

  #pump(): void {
    while (
      this.#queue.length > 0 &&
      this.#inFlight < MAX_IN_FLIGHT &&
      (this.#inFlight === 0 || this.#queue.length >= this.#maxBatch)
    ) {
      const batch = this.#queue.splice(0, this.#maxBatch).filter((p) => !p.signal?.aborted);
      if (batch.length === 0) continue;
      const session = batch.length === 1 && this.#inFlight === 0 ? this.#isolatedSession() : this.#model.session;
      this.#inFlight++;
      this.#run(
        session,
        batch.map((p) => p.prompt),
      )
        .then(
          (results) => batch.forEach((p, i) => p.resolve(results[i]!)),
          (error: unknown) => batch.forEach((p) => p.reject(error)),
        )
        .finally(() => {
          this.#inFlight--;
          this.#pump();
        });
    }
  }

  /**
   * One inference call over the given prompts, bypassing the queue: rows sorted by token count and
   * cut into runs of at most `runTokens` padded tokens (right padding), which the worker thread runs
   * back to back.
   */
  run(prompts: PromptInput[], options: { fullLogits?: boolean } = {}): Promise<PromptFeatures[]> {
    return this.#run(this.#model.session, prompts, options);
  }

  /**
   * Where a lone prompt runs while nothing else does: on this thread when the model has a session
   * here and a single prompt's run takes at most the inline budget. Handing it to the model thread
   * and back cost two thread wake-ups, 0.3 ms of a 2-3 ms decision on a 2-core VM, whatever carried
   * the signal (messages or Atomics); the price here is that one run blocks the event loop. Under
   * load prompts gather while it runs and go to the model thread as a batch.
   */
  #isolatedSession(): ModelSession {
    const { inline } = this.#model;
    return inline && this.#inlineBudgetMs > 0 && this.#singleRunMs <= this.#inlineBudgetMs
      ? inline
      : this.#model.session;
  }

  async #run(
    session: ModelSession,
    prompts: PromptInput[],
    options: { fullLogits?: boolean } = {},
  ): Promise<PromptFeatures[]> {
    const model = this.#model;
    const rows = await encodePrompts(model, prompts);
    const runs = lengthRuns(
      rows.map((r) => r.ids.length),
      this.#runTokens,
    );
    const feeds = runs.map((run) => this.#feeds(run.map((row) => rows[row]!.ids)));
    const started = performance.now();
    const outputs = await session.run(feeds);
    if (rows.length === 1) {
      const ms = performance.now() - started;
      this.#singleRunMs = this.#singleRunMs === 0 ? ms : 0.8 * this.#singleRunMs + 0.2 * ms;
    }
    const features: PromptFeatures[] = new Array(rows.length);
    runs.forEach((run, k) => {
      const { logits, hidden } = outputs[k]!;
      const data = logits!.data;
      const vocab = logits!.dims[logits!.dims.length - 1]!;
      const width = logits!.dims.length === 3 ? logits!.dims[1]! : 0;
      const d = hidden ? hidden.dims[1]! : 0;
      run.forEach((row, i) => {
        const { ids, truncated, cutFields, prompt } = rows[row]!;
        // 2-D logits come from our export (already at the scoring position); 3-D from Optimum exports.
        const offset = width > 0 ? (i * width + ids.length - 1) * vocab : i * vocab;
        features[row] = {
          labelLogits: model.verbalizerIds.map((id) => data[offset + id]!),
          hidden: hidden ? hidden.data.slice(i * d, (i + 1) * d) : undefined,
          logits: options.fullLogits ? data.slice(offset, offset + vocab) : undefined,
          tokens: ids.length,
          truncated,
          cutFields,
          ...(prompt !== undefined ? { prompt } : {}),
        };
      });
    });
    return features;
  }

  /** The model's inputs for rows of token ids, right-padded to the longest. */
  #feeds(rows: number[][]): Feeds {
    const model = this.#model;
    const width = Math.max(1, ...rows.map((r) => r.length));
    const n = rows.length;
    const inputIds = new BigInt64Array(n * width).fill(BigInt(model.padId));
    const mask = new BigInt64Array(n * width);
    rows.forEach((r, i) => r.forEach((id, j) => ((inputIds[i * width + j] = BigInt(id)), (mask[i * width + j] = 1n))));
    const feeds: Feeds = {
      input_ids: { data: inputIds, dims: [n, width] },
      attention_mask: { data: mask, dims: [n, width] },
    };
    if (model.session.inputNames.includes('position_ids')) {
      const positions = new BigInt64Array(n * width);
      for (let i = 0; i < n; i++) for (let j = 0; j < width; j++) positions[i * width + j] = BigInt(j);
      feeds.position_ids = { data: positions, dims: [n, width] };
    }
    return feeds;
  }
}

/** A prompt as the model reads it: token ids within maxLength, and what the budget cut. */
export interface EncodedPrompt {
  ids: number[];
  truncated: boolean;
  cutFields: string[];
  prompt?: string;
}

/**
 * Token ids of prompts as the model reads them: the tokenizer, then the token budget (free text cut
 * first, token-budget.ts; else the middle of the prompt). Fine-tuning (finetune.ts) encodes its
 * cases here too, so it trains on exactly the ids inference feeds the model.
 */
export async function encodePrompts(model: DecisionModel, prompts: PromptInput[]): Promise<EncodedPrompt[]> {
  const max = model.config.maxLength;
  const texts = prompts.map((p) => (typeof p === 'string' ? p : p.prompt));
  const encodings = await model.tokenizer.encodeBatch(texts);
  return encodings.map((e, i): EncodedPrompt => {
    const ids = e.getIds();
    if (ids.length <= max) return { ids, truncated: false, cutFields: [] };
    const input = prompts[i]!;
    const fitted =
      typeof input === 'string' ? null : fitToBudget(input.prompt, input.textSpans, ids, e.getOffsets(), max);
    if (fitted) return { ...fitted, truncated: true };
    // The structured part alone is too long: keep the case's head and the template's closing
    // tokens ("decision:"), cut in between.
    const keepTail = Math.min(model.suffixTokens, max - 1);
    return {
      ids: [...ids.slice(0, max - keepTail), ...ids.slice(ids.length - keepTail)],
      truncated: true,
      cutFields: ['prompt'],
    };
  });
}

/**
 * Row indices grouped into runs: sorted by length, each run as many rows as fit `budget` padded
 * tokens (rows x its longest row; at least one row). Each row's answer is its own (right padding,
 * masked), so the grouping changes only the work: a batch of 64 loan prompts (33-55 tokens) padded to
 * its longest is 14 % padding, and runs of about 768 tokens kept the model's working set small; the
 * model thread ran 15-21 % more rows per second than one run of 64 (both models, BENCHMARKS.md).
 */
export function lengthRuns(lengths: number[], budget: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]!);
  const runs: number[][] = [];
  for (const row of order) {
    const run = runs.at(-1);
    if (run && (run.length + 1) * lengths[row]! <= budget) run.push(row);
    else runs.push([row]);
  }
  return runs;
}
