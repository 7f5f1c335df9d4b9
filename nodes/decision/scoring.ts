/**
 * Pure scoring math: calibrated label probabilities from verbalizer logits, trained heads, and
 * the quality metrics (accuracy, expected calibration error, automation rate / precision).
 */
import type { DecisionModelConfig } from './model.ts';

export function softmax(z: readonly number[]): number[] {
  const max = Math.max(...z);
  const e = z.map((x) => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

/**
 * Calibrated logits of the labels: content-free bias removed (Zhao et al. 2021) when the model's
 * calibration says so, then divided by the fitted temperature.
 */
export function calibratedLogits(
  labelLogits: readonly number[],
  config: Pick<DecisionModelConfig, 'calibration'>,
): number[] {
  const bias = config.calibration?.contentFreeLogits ?? null;
  const t = config.calibration?.temperature ?? 1;
  return labelLogits.map((z, i) => (z - (bias?.[i] ?? 0)) / t);
}

/** A classification head on the frozen GPT: a residual linear layer over the calibrated base logits. */
export interface Head {
  labels: string[];
  /** [labels][hidden] */
  weights: number[][];
  bias: number[];
  temperature: number;
  /** Per-feature mean and scale used to standardize the hidden state. */
  mean: number[];
  scale: number[];
}

export function headLogits(head: Head, base: readonly number[], hidden: ArrayLike<number>): number[] {
  const x = Array.from({ length: head.mean.length }, (_, j) => (hidden[j]! - head.mean[j]!) / head.scale[j]!);
  return base.map((b, i) => {
    let z = b + head.bias[i]!;
    const w = head.weights[i]!;
    for (let j = 0; j < x.length; j++) z += w[j]! * x[j]!;
    return z / head.temperature;
  });
}

export interface Scored {
  label: string;
  confidence: number;
  /** label -> probability */
  scores: Record<string, number>;
}

export function toScored(labels: readonly string[], probs: readonly number[]): Scored {
  let best = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i]! > probs[best]!) best = i;
  const scores: Record<string, number> = {};
  labels.forEach((l, i) => (scores[l] = round(probs[i]!)));
  return { label: labels[best]!, confidence: round(probs[best]!), scores };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

export interface QualityMetrics {
  cases: number;
  accuracy: number;
  /** Expected calibration error, 15 equal-width confidence bins. */
  ece: number;
  /** Log loss (mean negative log-likelihood of the true label). */
  nll: number;
  /** Share of cases with confidence >= threshold (decided without a person). */
  autoRate: number;
  /** Accuracy on those automatically decided cases. */
  autoPrecision: number;
}

export function qualityMetrics(
  results: { probs: readonly number[]; truth: number }[],
  threshold: number,
): QualityMetrics {
  const n = results.length;
  const bins = Array.from({ length: 15 }, () => ({ n: 0, conf: 0, correct: 0 }));
  let correct = 0,
    nll = 0,
    auto = 0,
    autoCorrect = 0;
  for (const { probs, truth } of results) {
    let pred = 0;
    for (let i = 1; i < probs.length; i++) if (probs[i]! > probs[pred]!) pred = i;
    const conf = probs[pred]!;
    const ok = pred === truth ? 1 : 0;
    correct += ok;
    nll -= Math.log(Math.max(probs[truth] ?? 0, 1e-12));
    const bin = bins[Math.min(14, Math.max(0, Math.ceil(conf * 15) - 1))]!;
    bin.n++, (bin.conf += conf), (bin.correct += ok);
    if (conf >= threshold) auto++, (autoCorrect += ok);
  }
  const ece = bins.reduce((s, b) => (b.n ? s + (b.n / n) * Math.abs(b.conf / b.n - b.correct / b.n) : s), 0);
  return {
    cases: n,
    accuracy: correct / n,
    ece,
    nll: nll / n,
    autoRate: auto / n,
    autoPrecision: auto ? autoCorrect / auto : 1,
  };
}
