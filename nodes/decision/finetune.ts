/**
 * Fine-tuning the GPT itself (LoRA), the parts that do not need the agent: checking the
 * hyperparameters before anything runs, the PyTorch subprocess (models/gpt/finetune.py) and
 * installing a folder that passed the promotion gate. `DecisionAgent.train(inputs, labels, options)`
 * (agent.ts) encodes the cases, runs these and puts the new folder through the gate.
 */
import type { Actor } from '../../engine/store/audit-log.ts';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OperonError } from '../../engine/errors.ts';
import type { GateFinding, GuardSet, SetEvaluation } from './promotion.ts';
import type { QualityMetrics } from './scoring.ts';

const FINETUNE_SCRIPT = fileURLToPath(new URL('../../models/gpt/finetune.py', import.meta.url));

/** The Python with PyTorch: OPERON_PYTHON, else PYTHON (as package.json's scripts), else /usr/bin/python3. */
export function pythonPath(): string {
  return process.env.OPERON_PYTHON || process.env.PYTHON || '/usr/bin/python3';
}

export interface FinetuneHyperparameters {
  /** AdamW learning rate of the LoRA weights (default 5e-4). */
  learningRate: number;
  /** AdamW weight decay (default 0.01). */
  weightDecay: number;
  /** Cases per step (default 16). */
  batchSize: number;
  /** Gradient norm clipping (default 1.0). */
  gradClip: number;
  /** Optimizer steps (default 100). */
  steps: number;
  /** Rank of the low-rank updates (default 8; at most the model width). */
  loraRank: number;
  /** LoRA scale numerator: updates are scaled by alpha / rank (default 2 x rank). */
  loraAlpha: number;
}

export interface FinetuneOptions extends Partial<FinetuneHyperparameters> {
  /** Replayed policy-labelled synthetic cases per training case (default 4, as for heads). */
  replayRatio?: number;
  /** Share of the cases held out (by a hash of each case's id) for the gate's reviewed set (default 0.25). */
  heldOutShare?: number;
  /** Stable ids of the cases, for the held-out split (default: their index). */
  ids?: string[];
  /** Guard sets the fine-tuned model may not regress on (default: the domain's standard, shifted and natural sets). */
  guardSets?: GuardSet[];
  /** Where the new folder goes (default `<models dir>/.finetune/<version>/<model>`). */
  out?: string;
  /** Version of the new folder (default `<base version>+ft.<UTC timestamp>`). */
  version?: string;
  /** Copy the folder over the model's own when it passes the gate; the old one is kept (installFinetuned). */
  install?: boolean;
  /** Who fine-tunes: recorded in the audit trail when the agent has a database (default system:embedded). */
  actor?: Actor;
  /** PyTorch CPU threads in the subprocess (default 2). */
  threads?: number;
  seed?: number;
  /** Each progress line of the subprocess (`{ start }`, `{ progress }`, `{ final }`). */
  onProgress?: (line: Record<string, unknown>) => void;
  signal?: AbortSignal;
}

export const FINETUNE_DEFAULTS = {
  learningRate: 5e-4,
  weightDecay: 0.01,
  batchSize: 16,
  gradClip: 1.0,
  steps: 100,
  loraRank: 8,
} as const;

/** One entry of the training history (every tenth of the steps and the last). */
export interface FinetuneStep {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
  seconds: number;
  /** On the calibration cases (a fifth of the training mix the weights never saw). */
  heldOut?: { accuracy: number; nll: number; ece: number };
}

export interface FinetuneReport {
  /** The new model folder (model.onnx, tokenizer.json, config.json, lexicon.txt, weights.pt). */
  dir: string;
  version: string;
  baseVersion: string;
  /** True when no guard set and not the reviewed held-out cases show a regression. */
  passed: boolean;
  state: 'passed' | 'refused';
  /** True when the folder was copied over the model's own (`install` and a passing gate). */
  installed: boolean;
  /** Where the replaced folder was kept, when installed. */
  previousDir: string | null;
  reason: string;
  regressions: GateFinding[];
  /** Per set: each metric of the base and the fine-tuned model, the difference and its 95 % paired bootstrap interval. */
  evaluation: SetEvaluation[];
  /** The reviewed held-out cases, scored by both. */
  heldOut: { base: QualityMetrics; finetuned: QualityMetrics };
  trainingCases: number;
  replayCases: number;
  calibrationCases: number;
  heldOutCases: number;
  hyperparameters: FinetuneHyperparameters;
  history: FinetuneStep[];
  trainableParameters: number;
  parameters: number;
  temperature: number;
  seconds: number;
}

function invalid(field: string, reason: string, value: unknown): OperonError {
  return new OperonError('OPERON_ERR_VALIDATION', `Fine-tuning: ${field} ${reason} (got ${JSON.stringify(value)})`, {
    details: { field, reason, value },
  });
}

/**
 * The hyperparameters with their defaults, or OPERON_ERR_VALIDATION naming the first bad one, before
 * anything is encoded or started. `width` is the model's d_model (a LoRA rank above it is no
 * low-rank update).
 */
export function finetuneHyperparameters(options: FinetuneOptions, width: number | undefined): FinetuneHyperparameters {
  const h = { ...FINETUNE_DEFAULTS, ...definedOnly(options) };
  const loraAlpha = options.loraAlpha ?? 2 * h.loraRank;
  const check = (field: string, value: unknown, ok: (n: number) => boolean, reason: string) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) throw invalid(field, reason, value);
  };
  const int = (lo: number, hi: number) => (n: number) => Number.isInteger(n) && n >= lo && n <= hi;
  check('learningRate', h.learningRate, (n) => n > 0 && n <= 1, 'must be a number > 0 and <= 1');
  check('weightDecay', h.weightDecay, (n) => n >= 0 && n <= 10, 'must be a number >= 0 and <= 10');
  check('batchSize', h.batchSize, int(1, 4096), 'must be an integer from 1 to 4096');
  check('gradClip', h.gradClip, (n) => n > 0, 'must be a number > 0');
  check('steps', h.steps, int(1, 1_000_000), 'must be an integer from 1 to 1000000');
  check(
    'loraRank',
    h.loraRank,
    int(1, width ?? 4096),
    `must be an integer from 1 to ${width ?? 4096}${width ? ' (the model width)' : ''}`,
  );
  check('loraAlpha', loraAlpha, (n) => n > 0, 'must be a number > 0');
  if (options.replayRatio !== undefined)
    check('replayRatio', options.replayRatio, (n) => n >= 0 && n <= 100, 'must be a number from 0 to 100');
  if (options.heldOutShare !== undefined)
    check('heldOutShare', options.heldOutShare, (n) => n > 0 && n < 1, 'must be a number between 0 and 1');
  if (options.threads !== undefined) check('threads', options.threads, int(1, 256), 'must be an integer from 1 to 256');
  if (options.seed !== undefined) check('seed', options.seed, int(0, 2 ** 31 - 1), 'must be a non-negative integer');
  return {
    learningRate: h.learningRate,
    weightDecay: h.weightDecay,
    batchSize: h.batchSize,
    gradClip: h.gradClip,
    steps: h.steps,
    loraRank: h.loraRank,
    loraAlpha,
  };
}

function definedOnly(options: FinetuneOptions): Partial<FinetuneHyperparameters> {
  const keys = ['learningRate', 'weightDecay', 'batchSize', 'gradClip', 'steps', 'loraRank'] as const;
  return Object.fromEntries(keys.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]));
}

/** Inputs and labels as the SDK takes them: two arrays of the same length, labels of the model. */
export function checkTrainingPairs(inputs: unknown[], labels: unknown, modelLabels: string[]): void {
  if (inputs.length === 0) throw invalid('inputs', 'must hold at least one case', []);
  if (!Array.isArray(labels)) throw invalid('labels', 'must be an array of labels', labels);
  if (labels.length !== inputs.length) {
    throw new OperonError('OPERON_ERR_VALIDATION', `Fine-tuning: ${inputs.length} inputs but ${labels.length} labels`, {
      details: { field: 'labels', reason: 'length-mismatch', inputs: inputs.length, labels: labels.length },
    });
  }
  inputs.forEach((input, index) => {
    if (!input || typeof input !== 'object' || Array.isArray(input)) {
      throw new OperonError('OPERON_ERR_VALIDATION', `Fine-tuning: inputs[${index}] must be an object of variables`, {
        details: { field: 'inputs', index },
      });
    }
  });
  labels.forEach((label, index) => {
    if (typeof label !== 'string' || !modelLabels.includes(label)) {
      throw new OperonError(
        'OPERON_ERR_VALIDATION',
        `Fine-tuning: labels[${index}] ${JSON.stringify(label)} is not a label of the model (${modelLabels.join(', ')})`,
        {
          details: { field: 'labels', index, label, expected: modelLabels },
        },
      );
    }
  });
}

/** The weights a folder is fine-tuned from, or OPERON_ERR_FINETUNE_FAILED saying how to get them. */
export function requireWeights(modelDir: string, name: string): string {
  const file = join(modelDir, 'weights.pt');
  if (!existsSync(file)) {
    throw new OperonError(
      'OPERON_ERR_FINETUNE_FAILED',
      `Model '${name}' has no weights.pt in ${modelDir}: re-export it with models/gpt/export.py, which writes the PyTorch weights beside model.onnx`,
      {
        details: { model: name, reason: 'no-weights', dir: modelDir },
      },
    );
  }
  return file;
}

export interface FinetuneRun {
  modelDir: string;
  trainFile: string;
  heldOutFile: string | null;
  out: string;
  version: string;
  hyperparameters: FinetuneHyperparameters;
  threads: number;
  seed: number;
  onProgress?: (line: Record<string, unknown>) => void;
  signal?: AbortSignal;
}

export interface FinetuneResult {
  history: FinetuneStep[];
  final: Record<string, unknown> & {
    version: string;
    temperature: number;
    trainableParameters: number;
    parameters: number;
    seconds: number;
  };
}

/** Runs models/gpt/finetune.py and collects its JSON lines; OPERON_ERR_FINETUNE_FAILED with its stderr when it fails. */
export function runFinetune(run: FinetuneRun): Promise<FinetuneResult> {
  const h = run.hyperparameters;
  const args = [
    FINETUNE_SCRIPT,
    '--model-dir',
    run.modelDir,
    '--train',
    run.trainFile,
    ...(run.heldOutFile ? ['--held-out', run.heldOutFile] : []),
    '--out',
    run.out,
    '--version',
    run.version,
    '--lr',
    String(h.learningRate),
    '--weight-decay',
    String(h.weightDecay),
    '--batch-size',
    String(h.batchSize),
    '--grad-clip',
    String(h.gradClip),
    '--steps',
    String(h.steps),
    '--lora-rank',
    String(h.loraRank),
    '--lora-alpha',
    String(h.loraAlpha),
    '--threads',
    String(run.threads),
    '--seed',
    String(run.seed),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(pythonPath(), args, {
      env: { ...process.env, OMP_NUM_THREADS: String(run.threads) },
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: run.signal,
    });
    const history: FinetuneStep[] = [];
    let final: FinetuneResult['final'] | null = null;
    let stdout = '';
    let stderr = '';
    const onLine = (line: string) => {
      if (!line.startsWith('{')) return;
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (parsed.progress) history.push(parsed.progress as FinetuneStep);
      if (parsed.final) final = parsed.final as FinetuneResult['final'];
      run.onProgress?.(parsed);
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const lines = stdout.split('\n');
      stdout = lines.pop()!;
      lines.forEach(onLine);
    });
    // Only the end matters for the error: torch's export warnings can be long.
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-8000)));
    const fail = (reason: string, extra: Record<string, unknown>, cause?: unknown) =>
      new OperonError('OPERON_ERR_FINETUNE_FAILED', `Fine-tuning ${basename(run.modelDir)} failed: ${reason}`, {
        details: { reason: 'subprocess', ...extra, stderr: stderr.trim().split('\n').slice(-6).join('\n') },
        cause,
      });
    child.on('error', (error) => reject(fail(error.message, { python: pythonPath() }, error)));
    child.on('close', (code, signal) => {
      if (stdout) onLine(stdout);
      if (code === 0 && final) resolve({ history, final });
      else reject(fail(code === 0 ? 'no final line' : `exit ${code ?? signal}`, { exitCode: code, signal }));
    });
  });
}

/**
 * Puts a fine-tuned folder in place of the model's own. The folder being replaced is moved, whole,
 * to `<models dir>/.versions/<model>/<its version>` (a second install of the same version replaces
 * that copy); moving it back is the rollback. The new folder is copied, so the fine-tune output
 * stays where it was written.
 */
export function installFinetuned(modelDir: string, newDir: string): string {
  const name = basename(modelDir);
  const oldVersion = (() => {
    try {
      return String(
        (JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown',
      );
    } catch {
      return 'unknown';
    }
  })();
  const previous = join(dirname(modelDir), '.versions', name, oldVersion.replace(/[^\w.+-]/g, '_'));
  mkdirSync(dirname(previous), { recursive: true });
  rmSync(previous, { recursive: true, force: true });
  const staged = `${modelDir}.installing`;
  rmSync(staged, { recursive: true, force: true });
  cpSync(newDir, staged, { recursive: true });
  // Two renames: the model folder is never half-copied; at worst, for an instant, missing.
  renameSync(modelDir, previous);
  renameSync(staged, modelDir);
  return previous;
}
