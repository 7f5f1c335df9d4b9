/**
 * The committed models (models/loan, models/order) in the Node runtime: known cases, batching,
 * calibrated scores, missing variables, truncation, abort, and deploy-time validation.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecisionAgent } from '../../nodes/decision/agent.ts';
import { BatchingClassifier, lengthRuns } from '../../nodes/decision/classifier.ts';
import { closeDecisionModel, loadDecisionModel } from '../../nodes/decision/model.ts';
import type { Feeds, ModelSession, Outputs } from '../../nodes/decision/session.ts';
import { makeCase, rng } from '../../models/data/generate.ts';
import { createDecisionNode } from '../../nodes/decision/index.ts';
import type { OperonError } from '../../engine/errors.ts';

const known = JSON.parse(readFileSync(new URL('./fixtures/known-cases.json', import.meta.url), 'utf8')) as Record<
  'loan' | 'order',
  { why: string; label: string; variables: Record<string, unknown> }[]
>;

/** Puts `around` between the session and its callers (it gets each batch's runs and the real run); returns the undo. */
function aroundRun(
  session: ModelSession,
  around: (runs: Feeds[], run: ModelSession['run']) => Promise<Outputs[]>,
): () => void {
  const run = session.run.bind(session);
  session.run = (runs) => around(runs, run);
  return () => void (session.run = run);
}

/** Prompts in a batch's runs. */
const rowsOf = (runs: Feeds[]) => runs.reduce((sum, feeds) => sum + feeds.input_ids!.dims[0]!, 0);

for (const model of ['loan', 'order'] as const) {
  describe(`committed model '${model}'`, () => {
    for (const c of known[model]) {
      test(`${c.why} -> ${c.label}`, async () => {
        const agent = await DecisionAgent.load(model);
        const result = await agent.infer(c.variables);
        assert.equal(result.label, c.label);
        assert.equal(result.modelVersion, agent.model.config.version);
        const total = Object.values(result.scores).reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(total - 1) < 1e-4);
        assert.deepEqual(Object.keys(result.scores).sort(), [...agent.labels].sort());
        assert.equal(result.confidence, result.scores[result.label]);
        if (result.grounding && !result.needsReview) {
          // Under the threshold, the written policy may ground the answer (docs/decisions.md, "Selective prediction").
          assert.ok(result.confidence < agent.model.config.threshold, JSON.stringify(result.grounding));
        } else {
          assert.equal(
            result.needsReview,
            result.confidence < agent.model.config.threshold ||
              (result.confidence === agent.model.config.threshold && result.needsReview),
          );
        }
      });
    }

    test('a batch of concurrent decisions gives the same answers as one at a time', async () => {
      const agent = await DecisionAgent.load(model);
      const cases = known[model].map((c) => c.variables);
      const batched = await agent.inferBatch(cases);
      for (const [i, variables] of cases.entries()) {
        const alone = await agent.infer(variables);
        assert.equal(batched[i]!.label, alone.label);
        for (const label of agent.labels) assert.ok(Math.abs(batched[i]!.scores[label]! - alone.scores[label]!) < 1e-4);
      }
    });
  });
}

/**
 * The loan model without the consistency check and the grounding readings, whose copies would add a
 * second wave of prompts per decision: these tests count prompts per decision.
 */
async function loanWithoutCopies(): Promise<DecisionAgent> {
  const models = mkdtempSync(join(tmpdir(), 'operon-batching-'));
  cpSync(fileURLToPath(new URL('../../models/loan/', import.meta.url)), join(models, 'loan'), { recursive: true });
  const file = join(models, 'loan', 'config.json');
  const {
    consistency: _copies,
    grounding: _readings,
    edges: _edges,
    ...config
  } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify(config));
  return DecisionAgent.load('loan', { modelsDir: models });
}

describe('batching', () => {
  test('a full batch waiting is handed to the session while one runs; at most two at a time, the rest waits', async () => {
    const agent = await loanWithoutCopies();
    const calls: { rows: number; inFlight: number }[] = [];
    let inFlight = 0;
    // The second run answers only once the third has been handed over (or after 10 s, which fails
    // the test), so that "while one runs" does not depend on how fast a loaded machine runs them.
    let thirdHanded = (): void => {};
    const third = new Promise<void>((resolve) => {
      thirdHanded = resolve;
      setTimeout(resolve, 10_000).unref();
    });
    const restore = aroundRun(agent.model.session, async (runs, run) => {
      inFlight++;
      calls.push({ rows: rowsOf(runs), inFlight });
      const index = calls.length;
      if (index === 3) thirdHanded();
      try {
        const outputs = await run(runs);
        if (index === 2) await third;
        return outputs;
      } finally {
        inFlight--;
      }
    });
    try {
      const cases = Array.from({ length: 3 * 64 + 10 }, (_, i) => known.loan[i % known.loan.length]!.variables);
      const results = await agent.inferBatch(cases);
      assert.equal(results.length, cases.length);
      for (const [i, result] of results.entries()) assert.equal(result.label, known.loan[i % known.loan.length]!.label);
      assert.deepEqual(
        calls.map((c) => c.rows),
        [64, 64, 64, 10],
      );
      // Full batches went out while one ran (never a third), the partial one once nothing ran.
      assert.deepEqual(
        calls.map((c) => c.inFlight),
        [1, 2, 2, 1],
      );
      calls.length = 0;
      await agent.inferBatch(cases.slice(0, 20));
      assert.deepEqual(calls, [{ rows: 20, inFlight: 1 }], 'a partial batch goes alone');
    } finally {
      restore();
    }
  });
});

describe('runs of similar length', () => {
  test('lengthRuns sorts rows by length and fills each run up to the token budget', () => {
    assert.deepEqual(lengthRuns([50, 10, 30, 10, 40], 90), [[1, 3, 2], [4], [0]]);
    assert.deepEqual(lengthRuns([50, 10, 30, 10, 40], 60), [[1, 3], [2], [4], [0]]);
    assert.deepEqual(lengthRuns([100, 20], 60), [[1], [0]], 'a row longer than the budget runs alone');
    assert.deepEqual(lengthRuns([], 60), []);
  });

  test('a batch of varied cases runs in sorted runs within the budget, each answer as when decided alone', async () => {
    const agent = await loanWithoutCopies();
    const shapes: number[][][] = [];
    const restore = aroundRun(agent.model.session, (runs, run) => {
      shapes.push(runs.map((feeds) => [...feeds.input_ids!.dims]));
      return run(runs);
    });
    try {
      const random = rng(7);
      const cases = Array.from({ length: 64 }, (_, i) => makeCase('loan', random, 'train', 0, String(i)).vars);
      const batched = await agent.inferBatch(cases);
      assert.equal(shapes.length, 1, 'one message for the batch');
      const runs = shapes[0]!;
      assert.ok(runs.length > 1, `${runs.length} runs`);
      assert.equal(
        runs.reduce((sum, [n]) => sum + n!, 0),
        64,
      );
      for (const [n, width] of runs) assert.ok(n! * width! <= 768 || n === 1, `${n} x ${width}`);
      for (let k = 1; k < runs.length; k++) assert.ok(runs[k]![1]! >= runs[k - 1]![1]!, 'runs by length');
      restore();
      for (const [i, variables] of cases.entries()) {
        const alone = await agent.infer(variables);
        assert.equal(batched[i]!.label, alone.label);
        for (const label of agent.labels)
          assert.ok(Math.abs(batched[i]!.scores[label]! - alone.scores[label]!) < 1e-4, `case ${i} ${label}`);
      }
    } finally {
      restore();
    }
  });
});

describe('isolated decisions', () => {
  /** Counts the prompts each of the model's sessions ran until `restore`. */
  function count(session: ModelSession): { rows: number; restore(): void } {
    const counter = { rows: 0, restore: () => {} };
    counter.restore = aroundRun(session, (runs, run) => ((counter.rows += rowsOf(runs)), run(runs)));
    return counter;
  }

  test('a lone decision runs on the calling thread, with the answer the model thread gives; a batch goes to the model thread', async () => {
    const agent = await DecisionAgent.load('loan');
    const { model } = agent;
    assert.ok(model.inline, 'the shipped model is small enough for a second session');
    const prompt = agent.prompt(known.loan[0]!.variables).prompt;
    const worker = count(model.session);
    const inline = count(model.inline);
    try {
      const here = await new BatchingClassifier(model, { inlineBudgetMs: 5 }).features(prompt);
      assert.deepEqual([inline.rows, worker.rows], [1, 0]);
      const there = await new BatchingClassifier(model, { inlineBudgetMs: 0 }).features(prompt);
      assert.deepEqual([inline.rows, worker.rows], [1, 1], 'budget 0: the model thread');
      here.labelLogits.forEach((logit, i) =>
        assert.ok(Math.abs(logit - there.labelLogits[i]!) < 1e-4, `${logit} vs ${there.labelLogits[i]}`),
      );
      const batch = new BatchingClassifier(model, { inlineBudgetMs: 5 });
      await Promise.all(known.loan.slice(0, 3).map((c) => batch.features(agent.prompt(c.variables).prompt)));
      assert.deepEqual([inline.rows, worker.rows], [1, 4], 'three together: the model thread');
    } finally {
      worker.restore();
      inline.restore();
    }
  });

  test('once a lone run takes longer than the budget, lone decisions go to the model thread', async () => {
    const agent = await DecisionAgent.load('loan');
    const { model } = agent;
    const prompt = agent.prompt(known.loan[1]!.variables).prompt;
    const worker = count(model.session);
    const inline = count(model.inline!);
    try {
      const classifier = new BatchingClassifier(model, { inlineBudgetMs: 0.001 });
      await classifier.features(prompt);
      await classifier.features(prompt);
      assert.deepEqual(
        [inline.rows, worker.rows],
        [1, 1],
        'the first run, unmeasured until then, ran inline; it took longer than 1 microsecond',
      );
    } finally {
      worker.restore();
      inline.restore();
    }
  });

  test('OPERON_DECISION_INLINE_MS=0 loads no second session', async () => {
    const before = process.env.OPERON_DECISION_INLINE_MS;
    process.env.OPERON_DECISION_INLINE_MS = '0';
    try {
      const model = await loadDecisionModel(new URL('../../models/order/', import.meta.url).pathname, 'order');
      assert.equal(model.inline, null);
      await closeDecisionModel(model);
    } finally {
      if (before === undefined) delete process.env.OPERON_DECISION_INLINE_MS;
      else process.env.OPERON_DECISION_INLINE_MS = before;
    }
  });
});

describe('bad input', () => {
  test('missing variables are named in an OPERON_ERR_MISSING_VARIABLES error that is not retried', async () => {
    const agent = await DecisionAgent.load('loan');
    const { purpose: _purpose, creditScore: _score, ...rest } = known.loan[0]!.variables;
    await assert.rejects(agent.infer(rest), (error: OperonError) => {
      assert.equal(error.code, 'OPERON_ERR_MISSING_VARIABLES');
      assert.deepEqual(error.details.missing, ['creditScore', 'purpose']);
      assert.equal(error.retryable, false);
      return true;
    });
  });

  test('over-long text is truncated and flagged, and still classified', async () => {
    const agent = await DecisionAgent.load('loan');
    const purpose = `to pay off gambling debts ${'and some more words about my situation '.repeat(60)}`;
    const result = await agent.infer({ ...known.loan[0]!.variables, purpose });
    assert.equal(result.truncated, true);
    assert.ok(result.truncatedFields.includes('purpose'));
    assert.ok(result.prompt.length < purpose.length);
    assert.ok(agent.labels.includes(result.label));
  });

  test('an aborted signal rejects the decision', async () => {
    const agent = await DecisionAgent.load('order');
    const controller = new AbortController();
    controller.abort(new Error('job cancelled'));
    await assert.rejects(agent.infer(known.order[0]!.variables, { signal: controller.signal }), /job cancelled/);
  });
});

describe('deploy-time validation of decision: tasks', () => {
  const node = createDecisionNode();
  const binding = (name: string, headers: Record<string, string> = {}) => ({
    elementId: 'Decide_1',
    taskType: `decision:${name}`,
    name,
    headers,
  });
  const unknownModel = (model: string) => (error: OperonError) => {
    assert.equal(error.code, 'OPERON_ERR_UNKNOWN_MODEL');
    assert.equal(error.details.elementId, 'Decide_1');
    assert.equal(error.details.model, model);
    return true;
  };

  test('a shipped model with matching labels (any order), threshold and result variable is accepted', async () => {
    await node.validate!(
      binding('loan', { labels: 'review, approve, reject', threshold: '0.8', resultVariable: 'loanDecision' }),
    );
    await node.validate!(binding('order'));
  });

  test('a model that does not exist fails, naming the element and model', async () => {
    await assert.rejects(
      Promise.resolve().then(() => node.validate!(binding('mortgage'))),
      unknownModel('mortgage'),
    );
    await assert.rejects(
      Promise.resolve().then(() => node.validate!(binding('../models'))),
      unknownModel('../models'),
    );
  });

  test('labels that do not match the model fail', async () => {
    await assert.rejects(
      Promise.resolve().then(() => node.validate!(binding('loan', { labels: 'yes,no' }))),
      unknownModel('loan'),
    );
    await assert.rejects(
      Promise.resolve().then(() => node.validate!(binding('order', { threshold: '2' }))),
      unknownModel('order'),
    );
  });

  test('a corrupt model.onnx or a missing tokenizer fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'operon-models-'));
    const broken = createDecisionNode({ modelsDir: dir });
    for (const name of ['corrupt', 'notokenizer']) {
      const { mkdirSync } = await import('node:fs');
      mkdirSync(join(dir, name));
      copyFileSync(new URL('../../models/loan/config.json', import.meta.url), join(dir, name, 'config.json'));
    }
    writeFileSync(join(dir, 'corrupt', 'model.onnx'), 'this is not an onnx file');
    copyFileSync(new URL('../../models/loan/tokenizer.json', import.meta.url), join(dir, 'corrupt', 'tokenizer.json'));
    copyFileSync(new URL('../../models/loan/model.onnx', import.meta.url), join(dir, 'notokenizer', 'model.onnx'));
    const fails = (model: string) => (error: OperonError) => (
      unknownModel(model)(error),
      assert.match(String(error.details.reason), model === 'corrupt' ? /corrupt/ : /tokenizer\.json is missing/),
      true
    );
    await assert.rejects(
      Promise.resolve().then(() => broken.validate!(binding('corrupt'))),
      fails('corrupt'),
    );
    await assert.rejects(
      Promise.resolve().then(() => broken.validate!(binding('notokenizer'))),
      fails('notokenizer'),
    );
  });
});
