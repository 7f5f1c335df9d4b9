/**
 * Training a classification head on the frozen GPT's features: a residual linear layer over the
 * standardized final hidden state, added to the base model's calibrated label logits. Starting at
 * zero it *is* the base model, so a head can only move away from the base where reviewers' answers
 * pull it. Full-batch Adam with L2; the temperature is then fitted on calibration cases the weights
 * never saw, never below TEMPERATURE_FLOOR: fitted on its own training cases a head that memorized
 * them scores them all right, the log loss keeps falling as the temperature does, and every answer
 * came out at confidence 1.000 (temperature 0.05, the grid's end).
 */
import { headLogits, softmax, type Head } from './scoring.ts';

export interface HeadCase {
  /** Calibrated base logits. */
  base: number[];
  hidden: ArrayLike<number>;
  /** Index of the reviewer's label. */
  truth: number;
}

export interface HeadTrainingOptions {
  iterations?: number;
  learningRate?: number;
  l2?: number;
  /** Cases held out from the weights, for the temperature (none: temperature 1, the base model's calibration). */
  calibration?: HeadCase[];
}

/** The lowest temperature a head may get: below it a head is sharper than the calibrated base model allows. */
export const TEMPERATURE_FLOOR = 0.75;

export function trainHead(labels: string[], cases: HeadCase[], options: HeadTrainingOptions = {}): Head {
  const iterations = options.iterations ?? 300;
  const lr = options.learningRate ?? 0.05;
  const l2 = options.l2 ?? 1e-3;
  const d = cases[0]!.hidden.length;
  const L = labels.length;
  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(0);
  for (const c of cases) for (let j = 0; j < d; j++) mean[j]! += c.hidden[j]! / cases.length;
  for (const c of cases) for (let j = 0; j < d; j++) scale[j]! += (c.hidden[j]! - mean[j]!) ** 2 / cases.length;
  for (let j = 0; j < d; j++) scale[j] = Math.sqrt(scale[j]!) + 1e-6;
  const xs = cases.map((c) => Array.from({ length: d }, (_, j) => (c.hidden[j]! - mean[j]!) / scale[j]!));

  // Parameters: W [L][d] then b [L], flattened for Adam.
  const P = L * d + L;
  const theta = new Float64Array(P);
  const m = new Float64Array(P);
  const v = new Float64Array(P);
  for (let step = 1; step <= iterations; step++) {
    const grad = new Float64Array(P);
    cases.forEach((c, n) => {
      const x = xs[n]!;
      const z = c.base.map((b, i) => {
        let s = b + theta[L * d + i]!;
        for (let j = 0; j < d; j++) s += theta[i * d + j]! * x[j]!;
        return s;
      });
      const p = softmax(z);
      for (let i = 0; i < L; i++) {
        const g = (p[i]! - (i === c.truth ? 1 : 0)) / cases.length;
        for (let j = 0; j < d; j++) grad[i * d + j]! += g * x[j]!;
        grad[L * d + i]! += g;
      }
    });
    for (let k = 0; k < L * d; k++) grad[k]! += 2 * l2 * theta[k]!;
    for (let k = 0; k < P; k++) {
      m[k] = 0.9 * m[k]! + 0.1 * grad[k]!;
      v[k] = 0.999 * v[k]! + 0.001 * grad[k]! ** 2;
      theta[k]! -= (lr * (m[k]! / (1 - 0.9 ** step))) / (Math.sqrt(v[k]! / (1 - 0.999 ** step)) + 1e-8);
    }
  }
  const head: Head = {
    labels,
    weights: Array.from({ length: L }, (_, i) => Array.from(theta.slice(i * d, (i + 1) * d))),
    bias: Array.from(theta.slice(L * d)),
    temperature: 1,
    mean,
    scale,
  };
  const calibration = options.calibration ?? [];
  head.temperature =
    calibration.length === 0
      ? 1
      : fitTemperature(calibration.map((c) => ({ logits: headLogits(head, c.base, c.hidden), truth: c.truth })));
  return head;
}

/** The temperature that minimizes log loss, by grid search over TEMPERATURE_FLOOR..5 in steps of 0.05. */
export function fitTemperature(rows: { logits: number[]; truth: number }[]): number {
  let best = { nll: Infinity, t: 1 };
  for (let k = Math.round(TEMPERATURE_FLOOR * 20); k <= 100; k++) {
    const t = k / 20;
    let nll = 0;
    for (const r of rows) nll -= Math.log(Math.max(softmax(r.logits.map((z) => z / t))[r.truth]!, 1e-12));
    if (nll < best.nll) best = { nll, t };
  }
  return best.t;
}
