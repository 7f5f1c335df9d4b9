/**
 * Full training (minutes, not in the default suite): regenerate the order corpus from its seed,
 * train the GPT with the committed config, export it, and check the quality bar in Node.
 * Run: node --import tsx --test test/long/decision-models.test.ts
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_GENERATE, generate } from '../../models/data/generate.ts';
import { buildTokenizer } from '../../models/tokenizer/train.ts';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import { readLabelledCases } from '../../nodes/decision/agent.ts';
import { hasTorch, python } from '../models/tiny-corpus.ts';

const work = mkdtempSync(join(tmpdir(), 'operon-full-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('the order model retrained from the seed meets the quality bar', {
  skip: (await hasTorch()) ? false : 'needs torch',
  timeout: 60 * 60 * 1000,
}, async () => {
  generate({ ...DEFAULT_GENERATE, out: work, domains: ['order'] });
  await buildTokenizer(work, 'order', 1024, join(work, 'order'));
  await python(['models/gpt/train.py', '--work', work, '--domain', 'order']);
  const modelsDir = join(work, 'models');
  await python(['models/gpt/export.py', '--work', work, '--domain', 'order', '--out', join(modelsDir, 'order')]);
  const agent = await DecisionAgent.load('order', { modelsDir });
  const testMetrics = await agent.evaluate(readLabelledCases(join(work, 'order', 'test.jsonl')), { head: null });
  const shifted = await agent.evaluate(readLabelledCases(join(work, 'order', 'shifted.jsonl')), { head: null });
  assert.ok(testMetrics.accuracy >= 0.97, `test accuracy ${testMetrics.accuracy}`);
  assert.ok(shifted.accuracy >= 0.9, `shifted accuracy ${shifted.accuracy}`);
  assert.ok(testMetrics.ece <= 0.05, `ECE ${testMetrics.ece}`);
  assert.ok(testMetrics.autoRate >= 0.8 && testMetrics.autoPrecision >= 0.99, JSON.stringify(testMetrics));
  await agent.model.session.close();
});
