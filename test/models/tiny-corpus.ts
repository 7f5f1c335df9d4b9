/** A tiny corpus + tokenizer in a temporary folder, for pipeline tests that run real PyTorch. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generate } from '../../models/data/generate.ts';
import { buildTokenizer } from '../../models/tokenizer/train.ts';

export const PYTHON = process.env.OPERON_PYTHON ?? '/usr/bin/python3';
const run = promisify(execFile);

/** True when the Python with PyTorch and onnx (Debian: python3-torch python3-onnx) is there. */
export async function hasTorch(): Promise<boolean> {
  try {
    await run(PYTHON, ['-c', 'import torch, onnx']);
    return true;
  } catch {
    return false;
  }
}

export async function python(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const { stdout } = await run(PYTHON, args, {
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, OMP_NUM_THREADS: '1', ...options.env },
  });
  return stdout;
}

/** Settings for a GPT small enough to train in seconds. */
export const TINY_MODEL = [
  '--set',
  'nLayer=2',
  '--set',
  'nHead=2',
  '--set',
  'dModel=32',
  '--set',
  'maxLen=96',
  '--set',
  'batchSize=16',
  '--set',
  'threads=1',
  '--set',
  'warmup=5',
];

export async function tinyCorpus(domain: 'loan' | 'order' = 'order'): Promise<{ work: string; cleanup(): void }> {
  const work = mkdtempSync(join(tmpdir(), 'operon-tiny-'));
  generate({
    out: work,
    seed: 3,
    sizes: { train: 400, val: 48, test: 16, shifted: 16 },
    noise: 0.02,
    domains: [domain],
  });
  await buildTokenizer(work, domain, 1024, join(work, domain));
  return { work, cleanup: () => rmSync(work, { recursive: true, force: true }) };
}

/** train.py's arguments for the tiny GPT on WORK's order data, `steps` steps and one evaluation at the end; `extra` adds flags (--init, --out, --metrics). */
export const tinyTrainArgs = (work: string, steps: number, extra: string[] = []) => [
  'models/gpt/train.py',
  '--work',
  work,
  '--domain',
  'order',
  ...TINY_MODEL,
  '--set',
  `steps=${steps}`,
  '--set',
  `evalEvery=${steps}`,
  ...extra,
];
