/**
 * `npm run bench:decision` — decision node speed on this machine, against the bare onnxruntime call
 * in the same command.
 *
 * For each shipped model (`--quick`: loan only):
 * - cold load: a fresh process loading model.onnx + tokenizer.json and making its first decision;
 * - agent (nodes/decision/agent.ts): single decision latency (one at a time) p50 / p95, and
 *   decisions per second with N concurrent callers (the agent batches them, at most 64 a call);
 * - bare: the same model.onnx and tokenizer.json through onnxruntime-node's InferenceSession (same
 *   session options and intra-op threads) and the tokenizers package on the main thread, doing the
 *   agent's work by hand: render the prompt, encodeBatch, truncate, right-pad, one run() per batch,
 *   calibrated softmax over the label tokens. p50 one case at a time, and decisions per second in
 *   batches of min(N, 64), the batch each concurrency gives the agent. Its labels are checked equal
 *   to the agent's;
 * - overhead = agent / bare time per decision (p50: latency ratio; throughput: bare/agent rate);
 * - bare in runs: the bare call grouping each batch of 64 into runs of similar length by hand, as the
 *   agent does (classifier.ts lengthRuns), against the agent at concurrency 128: how much of the
 *   agent's rate is the grouping;
 * - event-loop delay while the agent decides 2000 cases (the loop must stay responsive);
 * - boundaryCheck: single decisions with the boundary check switched on (10 %), p50 and p50 over the
 *   bare p50: what that selective-prediction signal would cost (it is off in the shipped configs);
 * - withoutRequirements: the same single decisions with config.json `requires` off, timed in the same
 *   loop as the agent and the bare call, p50 and p50 over the bare p50: set beside the agent's own
 *   p50, what the required conditions cost (requires.ts);
 * - withoutParts: the same with config.json `parts` off, where the model has it (order): what the
 *   mixed-signals check costs (parts.ts; its parts go to the model in the case's own batch);
 * - withoutVouch: the same with config.json `vouch` off, where the model has it (order): what the
 *   unvouched-words check costs an ordinary case (vouch.ts: word lookups, no forward pass);
 * - grounded: single decisions of the natural and holdout cases the agent grounds (grounding.ts: an
 *   answer under the threshold, its reference readings scored in one more batch), p50 over the bare
 *   p50 on the same cases: what a grounded decision costs;
 * - windowed: the same for the natural and holdout cases whose long text the agent reads in
 *   overlapping windows (windows.ts: one more run per window, one after another);
 * - onEdge and misspelt: the same for natural and holdout cases moved onto a policy edge (edges.ts)
 *   and with one decisive word misspelt (familiarity.ts), kept where the check ran (the answer
 *   would be automated): one more run for the copy;
 * - unvouched: the same for the natural and holdout cases the unvouched-words check sends to a
 *   person (vouch.ts: the grounding readings scored in one more batch, unless already scored).
 *
 * Then the decision node inside a process on PostgreSQL (bench/decision-process.ts): instances of
 * start -> `decision:loan` -> end, a worker process with concurrency 128 (jobs waiting for the model
 * are what fills its batches; a job keeps its slot until its result committed); job latency p50 one
 * at a time and under load, decisions per second with `--instances` started at once, against the
 * bare batched rate at the agent's batch cap (64). The same process with a `noop` task shows the engine's own share:
 * process_net_overhead = (1/process_per_s - 1/noop_per_s) / (1/bare_per_s), the time a decision
 * adds to an instance in units of one bare batched decision.
 *
 * Usage: tsx bench/decision.ts [--quick] [--instances 2000] [--json FILE]
 * Last line: `agent_p50_ms=.. bare_p50_ms=.. p50_overhead=.. agent_per_s=.. bare_per_s=..
 * throughput_overhead=.. bare_in_runs_per_s=.. in_runs_overhead=.. process_per_s=.. process_job_p50_ms=.. process_vs_bare=..
 * process_overhead=.. process_net_overhead=..` (loan model; agent at concurrency 128, bare batch 64).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from 'tokenizers';
import { DecisionAgent, DEFAULT_MODELS_DIR } from '../nodes/decision/agent.ts';
import { lengthRuns, RUN_TOKENS } from '../nodes/decision/classifier.ts';
import type { DecisionModelConfig } from '../nodes/decision/model.ts';
import { readNaturalCases } from '../models/checklist.ts';
import { renderPrompt } from '../nodes/decision/prompt.ts';
import { calibratedLogits, softmax, toScored, type Scored } from '../nodes/decision/scoring.ts';
import { makeCase, rng } from '../models/data/generate.ts';
import { perturbText, TEXT_VARIABLE } from '../models/data/perturb.ts';
import { withValueAt } from '../nodes/decision/inputs.ts';
import { disableOnnxTelemetry, sessionOptions } from '../nodes/decision/session.ts';
import { runDecisionProcess, type DecisionProcessResult } from './decision-process.ts';
import { elapsed, percentile, round } from './lib.ts';

type Case = Record<string, unknown>;

/** The agent's default batch cap (BatchingClassifier maxBatch). */
const MAX_BATCH = 64;
/** Worker concurrency of the in-process run (and the agent's headline concurrency); compared with the bare rate at batch min(it, MAX_BATCH). */
const PROCESS_CONCURRENCY = 128;

if (process.argv[2] === '--cold') {
  const started = performance.now();
  const agent = await DecisionAgent.load(process.argv[3]!);
  const loaded = performance.now();
  await agent.infer(makeCase(process.argv[3] as 'loan', rng(1), 'train', 0, 'x').vars);
  console.log(JSON.stringify({ loadMs: loaded - started, firstDecisionMs: performance.now() - loaded }));
  process.exit(0);
}

/**
 * The bare call: what a script using onnxruntime-node and tokenizers directly does for the same
 * decision. Mirrors nodes/decision/model.ts (session options, verbalizer and suffix tokens) and
 * classifier.ts `run` (truncation, padding, position ids, label logits), without the queue, the
 * worker thread, the active-head lookup or the result record.
 */
class BareDecision {
  private constructor(
    readonly config: DecisionModelConfig,
    readonly session: ort.InferenceSession,
    readonly tokenizer: Tokenizer,
    readonly verbalizerIds: number[],
    readonly suffixTokens: number,
  ) {}

  static async load(name: string): Promise<BareDecision> {
    const dir = join(DEFAULT_MODELS_DIR, name);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as DecisionModelConfig;
    disableOnnxTelemetry();
    const session = await ort.InferenceSession.create(
      join(dir, 'model.onnx'),
      sessionOptions(Number(process.env.OPERON_DECISION_THREADS) || 1),
    );
    const tokenizer = Tokenizer.fromFile(join(dir, 'tokenizer.json'));
    const verbalizerIds = await Promise.all(
      config.verbalizers.map(async (word) => (await tokenizer.encode(` ${word}`)).getIds()[0]!),
    );
    const suffixTokens = (await tokenizer.encode(config.template.slice(config.template.lastIndexOf('}') + 1))).getIds()
      .length;
    return new BareDecision(config, session, tokenizer, verbalizerIds, suffixTokens);
  }

  /** One run() over the cases; with `runTokens`, one run() per group of similar length, as the agent does (lengthRuns). */
  async decide(cases: Case[], runTokens?: number): Promise<Scored[]> {
    const { config } = this;
    const prompts = cases.map(
      (c) =>
        renderPrompt(config.template, c, { textVariables: config.textVariables, maxTextChars: config.maxTextChars })
          .prompt,
    );
    const encodings = await this.tokenizer.encodeBatch(prompts);
    const max = config.maxLength;
    const rows = encodings.map((e) => {
      const ids = e.getIds();
      if (ids.length <= max) return ids;
      const keepTail = Math.min(this.suffixTokens, max - 1);
      return [...ids.slice(0, max - keepTail), ...ids.slice(ids.length - keepTail)];
    });
    if (runTokens === undefined) return this.#run(rows);
    const scored: Scored[] = new Array(rows.length);
    for (const run of lengthRuns(
      rows.map((r) => r.length),
      runTokens,
    ))
      (await this.#run(run.map((i) => rows[i]!))).forEach((s, k) => (scored[run[k]!] = s));
    return scored;
  }

  async #run(rows: number[][]): Promise<Scored[]> {
    const { config } = this;
    const n = rows.length;
    const width = Math.max(1, ...rows.map((r) => r.length));
    const inputIds = new BigInt64Array(n * width).fill(BigInt(config.padId ?? 0));
    const mask = new BigInt64Array(n * width);
    rows.forEach((r, i) => r.forEach((id, j) => ((inputIds[i * width + j] = BigInt(id)), (mask[i * width + j] = 1n))));
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', inputIds, [n, width]),
      attention_mask: new ort.Tensor('int64', mask, [n, width]),
    };
    if (this.session.inputNames.includes('position_ids')) {
      const positions = new BigInt64Array(n * width);
      for (let i = 0; i < n; i++) for (let j = 0; j < width; j++) positions[i * width + j] = BigInt(j);
      feeds.position_ids = new ort.Tensor('int64', positions, [n, width]);
    }
    const { logits } = await this.session.run(feeds);
    const data = logits!.data as Float32Array;
    const vocab = logits!.dims[logits!.dims.length - 1]!;
    return rows.map((r, i) => {
      const offset = logits!.dims.length === 3 ? (i * width + r.length - 1) * vocab : i * vocab;
      const labelLogits = this.verbalizerIds.map((id) => data[offset + id]!);
      return toScored(config.labels, softmax(calibratedLogits(labelLogits, config)));
    });
  }
}

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, instances: { type: 'string' }, json: { type: 'string' } },
});
const quick = values.quick;
const caseCount = quick ? 64 : 2000;
const singleCount = quick ? 20 : 500;
const concurrencies = quick ? [1, 8, PROCESS_CONCURRENCY] : [1, 8, 32, 64, PROCESS_CONCURRENCY, 256];
const log = (line: string) => console.log(line);

/** Decisions per second of `decide` over all cases, `batch` at a time, one batch after another. */
async function batchedRate(decide: (cases: Case[]) => Promise<unknown>, cases: Case[], batch: number): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < cases.length; i += batch) await decide(cases.slice(i, i + batch));
  return cases.length / ((performance.now() - t) / 1000);
}

interface ModelReport {
  coldLoadMs: number;
  firstDecisionMs: number;
  agent: { p50Ms: number; p95Ms: number; decisionsPerSecond: Record<string, number> };
  /** `decisionsPerSecond` by the agent's concurrency it was measured next to, in batches of min(concurrency, 64). */
  bare: {
    p50Ms: number;
    p95Ms: number;
    decisionsPerSecond: Record<string, number>;
    inRunsPerSecond: number;
    sameLabels: boolean;
  };
  /** `inRuns`: against the bare call grouping each batch of 64 into runs of similar length as the agent does. */
  overhead: { p50: number; throughput: Record<string, number>; inRuns: number };
  eventLoopDelayMaxMs: number;
  /** Single decisions with the boundary check on (10 %): p50, and p50 over the bare p50. */
  boundaryCheck: { p50Ms: number; p50Overhead: number };
  /** Single decisions with the required conditions off: p50, and p50 over the bare p50. */
  withoutRequirements: { p50Ms: number; p50Overhead: number };
  /** Single decisions with the mixed-signals check off (a model whose config.json has `parts`): the same. */
  withoutParts?: { p50Ms: number; p50Overhead: number };
  /** Single decisions with the unvouched-words check off (a model whose config.json has `vouch`): the same. */
  withoutVouch?: { p50Ms: number; p50Overhead: number };
  /** Single grounded decisions (natural and holdout cases the agent grounds): p50, the bare p50 on them, and the ratio. */
  grounded: { cases: number; p50Ms: number; bareP50Ms: number; p50Overhead: number };
  /** Single decisions of the natural and holdout cases whose text the agent reads in windows: the same measures. */
  windowed: { cases: number; p50Ms: number; bareP50Ms: number; p50Overhead: number };
  /** Single decisions on a policy edge, where the edge check ran: p50, the bare p50 on them, and the ratio. */
  onEdge: { cases: number; p50Ms: number; bareP50Ms: number; p50Overhead: number };
  /** Single decisions with a misspelt decisive word, where the re-reading ran: the same. */
  misspelt: { cases: number; p50Ms: number; bareP50Ms: number; p50Overhead: number };
  /** Single decisions the unvouched-words check sends to a person: the same. */
  unvouched: { cases: number; p50Ms: number; bareP50Ms: number; p50Overhead: number };
}

/** The in-process run against the bare batched rate: overhead = bare rate / rate; net = net of the noop process's cost. */
type ProcessReport = DecisionProcessResult & {
  bareBatchPerSecond: number;
  vsBare: number;
  overhead: number;
  netOverhead: number;
  backlogOverhead: number;
  backlogNetOverhead: number;
};

const report: { date: string; threads: number; models: Record<string, ModelReport>; process?: ProcessReport } = {
  date: new Date().toISOString(),
  threads: Number(process.env.OPERON_DECISION_THREADS) || 1,
  models: {},
};
const caseSets: Record<string, Case[]> = {};

for (const model of quick ? (['loan'] as const) : (['loan', 'order'] as const)) {
  const cold = JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', 'bench/decision.ts', '--cold', model], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop()!,
  );
  const agent = await DecisionAgent.load(model);
  const bare = await BareDecision.load(model);
  const random = rng(99);
  const cases = Array.from(
    { length: caseCount },
    (_, i) => makeCase(model, random, 'train', 0, String(i)).vars as Case,
  );
  caseSets[model] = cases;

  // Same answers, or the comparison means nothing.
  const agentLabels = (await agent.inferBatch(cases.slice(0, 200))).map((r) => r.label);
  const bareLabels: string[] = [];
  for (let i = 0; i < Math.min(200, cases.length); i += MAX_BATCH)
    bareLabels.push(...(await bare.decide(cases.slice(i, Math.min(200, i + MAX_BATCH)))).map((r) => r.label));
  const sameLabels = agentLabels.join() === bareLabels.join();
  if (!sameLabels) throw new Error(`${model}: the bare baseline's labels differ from the agent's`);

  for (const c of cases.slice(0, 50)) await agent.infer(c), await bare.decide([c]);
  // Single decisions, agent and bare interleaved so both see the same machine load.
  // The required conditions (nodes/decision/requires.ts; on in the shipped configs) are switched
  // off for a third call in the same loop, so that all three see the same load.
  const agentSingle: number[] = [];
  const bareSingle: number[] = [];
  const withoutRequirements: number[] = [];
  const withoutParts: number[] = [];
  const withoutVouch: number[] = [];
  const shippedRequirements = agent.model.requirements;
  const shippedParts = agent.model.config.parts;
  const shippedVouch = agent.model.vouch;
  for (const c of cases.slice(0, singleCount)) {
    agentSingle.push(await elapsed(() => agent.infer(c)));
    bareSingle.push(await elapsed(() => bare.decide([c])));
    agent.model.requirements = null;
    withoutRequirements.push(await elapsed(() => agent.infer(c)));
    agent.model.requirements = shippedRequirements;
    if (shippedParts) {
      agent.model.config.parts = undefined;
      withoutParts.push(await elapsed(() => agent.infer(c)));
      agent.model.config.parts = shippedParts;
    }
    if (shippedVouch) {
      agent.model.vouch = null;
      withoutVouch.push(await elapsed(() => agent.infer(c)));
      agent.model.vouch = shippedVouch;
    }
  }

  // The boundary check (nodes/decision/boundary.ts; off in the shipped configs): the same single
  // decisions with it on, against the same bare p50, to say what switching it on costs.
  const shippedBoundary = agent.model.config.boundary;
  agent.model.config.boundary = { relative: 0.1 };
  const boundarySingle: number[] = [];
  for (const c of cases.slice(0, singleCount)) boundarySingle.push(await elapsed(() => agent.infer(c)));
  agent.model.config.boundary = shippedBoundary;

  // Grounded decisions (grounding.ts): answers under the threshold whose reference readings are
  // scored too. The natural and holdout cases the agent grounds, one at a time, agent and bare
  // call interleaved on the same cases: what a grounded decision costs against one bare run.
  const natural = ['test', 'holdout'].flatMap((set) =>
    readNaturalCases(`models/data/natural/${model}.${set}.jsonl`).map((c) => c.variables as Case),
  );
  const naturalResults = await agent.inferBatch(natural);
  /** Single decisions of `picked`, agent and bare call interleaved: the p50s and their ratio. */
  const againstBare = async (picked: Case[]) => {
    const single: number[] = [];
    const bareTimes: number[] = [];
    for (let round = 0; round < Math.ceil(singleCount / Math.max(1, picked.length)); round++)
      for (const c of picked) {
        single.push(await elapsed(() => agent.infer(c)));
        bareTimes.push(await elapsed(() => bare.decide([c])));
      }
    return {
      cases: picked.length,
      p50Ms: round(percentile(single, 0.5), 2),
      bareP50Ms: round(percentile(bareTimes, 0.5), 2),
      p50Overhead: round(percentile(single, 0.5) / percentile(bareTimes, 0.5), 2),
    };
  };
  const grounded = await againstBare(natural.filter((_, i) => naturalResults[i]!.grounding));
  // Long texts read in overlapping windows (windows.ts): each window one more run, one after another.
  const windowed = await againstBare(natural.filter((_, i) => naturalResults[i]!.windows));
  // The checks that score a copy only for some cases, on the cases where they ran (an answer that
  // would be automated): policy edges (edges.ts), each natural and holdout case with one edge's
  // field set on its threshold; misspelt decisive words (familiarity.ts), each with one decisive
  // word misspelt as eval:model does.
  const ranCheck = async (picked: Case[], reason: string) => {
    const results = await agent.inferBatch(picked);
    return picked.filter(
      (_, i) => !results[i]!.needsReview || results[i]!.reviewReasons.some((r) => r.includes(reason)),
    );
  };
  const edges = agent.model.config.edges ?? [];
  const onEdge = await againstBare(
    await ranCheck(
      edges.length === 0
        ? []
        : natural.map((c, i) => {
            const edge = edges[i % edges.length]!;
            return withValueAt(c, edge.field.split('.'), edge.at) as Case;
          }),
      'is on a threshold of the written policy',
    ),
  );
  const text = TEXT_VARIABLE[model];
  const misspelt = await againstBare(
    await ranCheck(
      natural.flatMap((c, i) => {
        const typo = perturbText(String(c[text]), model, 'typo-decisive', rng(i + 1));
        return typo !== null && agent.prompt({ ...c, [text]: typo }).misspelt.length > 0
          ? [{ ...c, [text]: typo }]
          : [];
      }),
      'one letter from',
    ),
  );
  // The unvouched-words check (vouch.ts) on the cases it sends to a person: the readings it scores.
  const unvouched = await againstBare(
    natural.filter((_, i) => naturalResults[i]!.reviewReasons.some((r) => r.includes('in no training text of intent'))),
  );

  const agentRate: Record<string, number> = {};
  const bareRate: Record<string, number> = {};
  const throughputOverhead: Record<string, number> = {};
  for (const concurrency of concurrencies) {
    const t = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < cases.length) await agent.infer(cases[next++]!);
      }),
    );
    const agentPerSecond = cases.length / ((performance.now() - t) / 1000);
    const barePerSecond = await batchedRate((batch) => bare.decide(batch), cases, Math.min(concurrency, MAX_BATCH));
    agentRate[`concurrency_${concurrency}`] = Math.round(agentPerSecond);
    // Keyed like the agent's rate: concurrencies 64, 128 and 256 all compare with batches of 64, each measured next to its own agent run.
    bareRate[`concurrency_${concurrency}`] = Math.round(barePerSecond);
    throughputOverhead[`concurrency_${concurrency}`] = round(barePerSecond / agentPerSecond, 2);
    log(
      `${model} concurrency=${concurrency} agent_per_s=${Math.round(agentPerSecond)} bare_batch=${Math.min(concurrency, MAX_BATCH)} bare_per_s=${Math.round(barePerSecond)} overhead=${round(barePerSecond / agentPerSecond, 2)}`,
    );
  }

  // The bare call doing the agent's grouping by hand, against the agent at the headline concurrency.
  const bareInRuns = await batchedRate((batch) => bare.decide(batch, RUN_TOKENS), cases, MAX_BATCH);
  const agentHeadline = agentRate[`concurrency_${PROCESS_CONCURRENCY}`]!;
  log(
    `${model} bare_in_runs batch=${MAX_BATCH} run_tokens=${RUN_TOKENS} bare_per_s=${Math.round(bareInRuns)} agent_per_s=${agentHeadline} overhead=${round(bareInRuns / agentHeadline, 2)}`,
  );

  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  await agent.inferBatch(cases);
  loop.disable();

  const agentP50 = percentile(agentSingle, 0.5);
  const bareP50 = percentile(bareSingle, 0.5);
  /** The p50 of single decisions timed in the loop above, and its ratio to the bare p50; undefined when none were. */
  const againstBareP50 = (times: number[]) =>
    times.length
      ? { p50Ms: round(percentile(times, 0.5), 2), p50Overhead: round(percentile(times, 0.5) / bareP50, 2) }
      : undefined;
  report.models[model] = {
    coldLoadMs: Math.round(cold.loadMs),
    firstDecisionMs: round(cold.firstDecisionMs, 1),
    agent: { p50Ms: round(agentP50, 2), p95Ms: round(percentile(agentSingle, 0.95), 2), decisionsPerSecond: agentRate },
    bare: {
      p50Ms: round(bareP50, 2),
      p95Ms: round(percentile(bareSingle, 0.95), 2),
      decisionsPerSecond: bareRate,
      inRunsPerSecond: Math.round(bareInRuns),
      sameLabels,
    },
    overhead: {
      p50: round(agentP50 / bareP50, 2),
      throughput: throughputOverhead,
      inRuns: round(bareInRuns / agentHeadline, 2),
    },
    eventLoopDelayMaxMs: round(loop.max / 1e6, 1),
    boundaryCheck: againstBareP50(boundarySingle)!,
    withoutRequirements: againstBareP50(withoutRequirements)!,
    withoutParts: againstBareP50(withoutParts),
    withoutVouch: againstBareP50(withoutVouch),
    grounded,
    windowed,
    onEdge,
    misspelt,
    unvouched,
  };
  log(`${model} ${JSON.stringify(report.models[model])}`);
  await bare.session.release();
}
// The process run's worker loads its own session; this process only starts instances.
await DecisionAgent.closeAll();

const bareBatch = report.models.loan!.bare.decisionsPerSecond[`concurrency_${PROCESS_CONCURRENCY}`]!;
const inProcess = await runDecisionProcess({
  model: 'loan',
  cases: caseSets.loan!,
  latencyInstances: quick ? 5 : 100,
  instances: Number(values.instances ?? (quick ? 40 : 2000)),
  concurrency: PROCESS_CONCURRENCY,
  warmup: quick ? 5 : 40,
});
const processPerSecond = inProcess.throughput.instancesPerSecond;
const backlogPerSecond = inProcess.backlog.instancesPerSecond;
// What a decision adds to an instance beyond the engine's own cost (the noop process), per bare decision.
const netOverhead = round((1 / processPerSecond - 1 / inProcess.noop.throughput.instancesPerSecond) * bareBatch, 2);
const backlogNetOverhead = round((1 / backlogPerSecond - 1 / inProcess.noop.backlog.instancesPerSecond) * bareBatch, 2);
const processReport: ProcessReport = {
  ...inProcess,
  bareBatchPerSecond: bareBatch,
  vsBare: round(processPerSecond / bareBatch, 3),
  overhead: round(bareBatch / processPerSecond, 2),
  netOverhead,
  backlogOverhead: round(bareBatch / backlogPerSecond, 2),
  backlogNetOverhead,
};
report.process = processReport;
const { latency, throughput, backlog, noop, batches } = inProcess;
log(
  `process noop one_at_a_time job_p50_ms=${noop.latency.jobP50Ms} instance_p50_ms=${noop.latency.instanceP50Ms} | instances=${noop.throughput.instances} per_s=${noop.throughput.instancesPerSecond} job_p50_ms=${noop.throughput.jobP50Ms} ` +
    `| backlog per_s=${noop.backlog.instancesPerSecond}`,
);
log(
  `process decision:loan concurrency=${PROCESS_CONCURRENCY} one_at_a_time job_p50_ms=${latency.jobP50Ms} job_p95_ms=${latency.jobP95Ms} infer_p50_ms=${latency.inferP50Ms} instance_p50_ms=${latency.instanceP50Ms} ` +
    `| instances=${throughput.instances} seconds=${throughput.seconds} decisions_per_s=${processPerSecond} job_p50_ms=${throughput.jobP50Ms} job_p95_ms=${throughput.jobP95Ms} infer_p50_ms=${throughput.inferP50Ms} ` +
    `inference_calls=${batches.throughput.calls} mean_batch=${batches.throughput.meanBatch} max_batch=${batches.throughput.maxBatch} ` +
    `| backlog seconds=${backlog.seconds} decisions_per_s=${backlogPerSecond} infer_p50_ms=${backlog.inferP50Ms} inference_calls=${batches.backlog.calls} mean_batch=${batches.backlog.meanBatch} max_batch=${batches.backlog.maxBatch}`,
);
if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));

const loan = report.models.loan!;
const headline = `concurrency_${PROCESS_CONCURRENCY}`;
log(
  `agent_p50_ms=${loan.agent.p50Ms} bare_p50_ms=${loan.bare.p50Ms} p50_overhead=${loan.overhead.p50} ` +
    `agent_per_s=${loan.agent.decisionsPerSecond[headline]} bare_per_s=${bareBatch} throughput_overhead=${loan.overhead.throughput[headline]} bare_in_runs_per_s=${loan.bare.inRunsPerSecond} in_runs_overhead=${loan.overhead.inRuns} ` +
    `process_per_s=${processPerSecond} process_job_p50_ms=${latency.jobP50Ms} process_vs_bare=${processReport.vsBare} process_overhead=${processReport.overhead} process_net_overhead=${netOverhead} ` +
    `backlog_per_s=${backlogPerSecond} backlog_overhead=${processReport.backlogOverhead} backlog_net_overhead=${backlogNetOverhead}`,
);
