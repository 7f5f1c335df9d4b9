/**
 * `operon decide` and `operon model ...`, dispatched here by the engine's CLI with the full argv
 * (`['decide', 'loan', '--vars', '{...}']`, `['model', 'list']` ...).
 *
 *   decide MODEL --vars JSON|@FILE [--json] [--threshold X]
 *   model list [--json]
 *   model eval MODEL [--file CASES.jsonl] [--json]
 *   model train MODEL [--jsonl CASES.jsonl] [--json] [--shadow-decisions N] [--replay-ratio X]
 *                                       (reviewed decisions in the database by default; the promotion gate decides
 *                                        between shadow and refused, and the output says why)
 *   model finetune MODEL [--steps N] [--lr X] [--weight-decay X] [--batch-size N] [--grad-clip X] [--lora-rank R]
 *                        [--replay-ratio X] [--threads N] [--jsonl CASES.jsonl] [--out DIR] [--install] [--json]
 *                                       (LoRA fine-tune of the GPT itself from reviewed decisions, through the
 *                                        promotion gate; --install replaces the model's folder when it passes)
 *   model shadow MODEL VERSION [--json]                   (the head in shadow against the active version)
 *   model activate MODEL VERSION                          (a head after its shadow period, or a rollback)
 *
 * Common options: --models-dir DIR, --database-url URL (else the caller's `databaseUrl`, else
 * OPERON_DATABASE_URL, else DATABASE_URL). `decide` uses the database only when one is given: for
 * the active head and to record the decision; without one it only runs the model.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { Knex } from 'knex';
import { OperonError } from '../../engine/errors.ts';
import { DecisionAgent, DEFAULT_MODELS_DIR, readLabelledCases, type LabelledCase } from './agent.ts';
import { recordDecision } from './index.ts';
import { describeSet } from './promotion.ts';

const USAGE = `usage:
  operon decide MODEL --vars JSON|@FILE [--json] [--threshold X]
  operon model list [--json]
  operon model eval MODEL [--file CASES.jsonl] [--json]
  operon model train MODEL [--jsonl CASES.jsonl] [--json] [--shadow-decisions N] [--replay-ratio X]
  operon model finetune MODEL [--steps N] [--lr X] [--weight-decay X] [--batch-size N] [--grad-clip X] [--lora-rank R]
                              [--replay-ratio X] [--threads N] [--jsonl CASES.jsonl] [--out DIR] [--install] [--json]
  operon model shadow MODEL VERSION [--json]
  operon model activate MODEL VERSION
options: --models-dir DIR  --database-url URL (default $OPERON_DATABASE_URL, else $DATABASE_URL)`;

const OPTIONS = {
  vars: { type: 'string' },
  json: { type: 'boolean', default: false },
  threshold: { type: 'string' },
  file: { type: 'string' },
  jsonl: { type: 'string' },
  version: { type: 'string' },
  'shadow-decisions': { type: 'string' },
  'replay-ratio': { type: 'string' },
  steps: { type: 'string' },
  lr: { type: 'string' },
  'weight-decay': { type: 'string' },
  'batch-size': { type: 'string' },
  'grad-clip': { type: 'string' },
  'lora-rank': { type: 'string' },
  threads: { type: 'string' },
  out: { type: 'string' },
  install: { type: 'boolean', default: false },
  'models-dir': { type: 'string' },
  'database-url': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function usage(message?: string): number {
  if (message) process.stderr.write(`${message}\n`);
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

function parseVars(text: string): Record<string, unknown> {
  const json = text.startsWith('@') ? readFileSync(text.slice(1), 'utf8') : text;
  try {
    const vars = JSON.parse(json) as unknown;
    if (vars && typeof vars === 'object' && !Array.isArray(vars)) return vars as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new OperonError('OPERON_ERR_VALIDATION', '--vars must be a JSON object', {
    details: { vars: text.slice(0, 200) },
  });
}

/** Runs one CLI command; resolves to the process exit code. */
export async function runDecisionCli(argv: string[], options: { databaseUrl?: string } = {}): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    return usage((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) return usage();
  const modelsDir = resolve(values['models-dir'] ?? process.env.OPERON_MODELS_DIR ?? DEFAULT_MODELS_DIR);
  const databaseUrl =
    values['database-url'] ??
    options.databaseUrl ??
    (process.env.OPERON_DATABASE_URL || undefined) ??
    (process.env.DATABASE_URL || undefined);
  let db: Knex | undefined;
  // knex is loaded only when a database is named: `decide` alone stays a model run.
  const createKnex = databaseUrl ? (await import('../../engine/store/knex.ts')).createKnex : undefined;
  const database = () =>
    (db ??=
      databaseUrl && createKnex
        ? createKnex(databaseUrl, { poolMax: 2, applicationName: 'operon-model-cli' })
        : undefined);
  const print = (json: unknown, text: string) =>
    process.stdout.write(values.json ? `${JSON.stringify(json, null, 2)}\n` : `${text}\n`);
  try {
    const [command, sub, ...rest] = positionals;
    if (command === 'decide') {
      if (!sub || !values.vars) return usage('decide needs MODEL and --vars');
      const agent = await DecisionAgent.load(sub, { modelsDir, db: database() });
      const vars = parseVars(values.vars);
      const threshold = values.threshold === undefined ? undefined : Number(values.threshold);
      const result = await agent.infer(vars, { threshold });
      if (db) await recordDecision(db, agent.model, result, vars);
      const { label, confidence, scores, modelVersion, needsReview, reviewReasons, grounding, windows } = result;
      const why = reviewReasons.length > 0 ? `: ${reviewReasons.join('; ')}` : '';
      const grounded = grounding
        ? `, grounded by the policy on ${Object.entries(grounding)
            .map(([name, reading]) => `${name} ${reading.label} ${reading.confidence.toFixed(3)}`)
            .join(', ')}`
        : '';
      const parts =
        windows && !needsReview
          ? `, the text read in ${windows.length} overlapping parts: ${windows
              .map((w) => `${w.start}-${w.end} ${w.label} ${w.confidence.toFixed(3)}`)
              .join(', ')}`
          : '';
      print(
        {
          label,
          confidence,
          scores,
          modelVersion,
          needsReview,
          reviewReasons,
          ...(grounding ? { grounding } : {}),
          ...(windows ? { windows } : {}),
        },
        `${label} (confidence ${confidence.toFixed(3)}${needsReview ? `, needs review${why}` : grounded + parts}) by ${sub} ${modelVersion}`,
      );
      return 0;
    }
    if (command !== 'model') return usage(`unknown command '${command}'`);
    if (sub === 'list') {
      const names = readdirSync(modelsDir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && existsSync(join(modelsDir, e.name, 'model.onnx')))
        .map((e) => e.name)
        .sort();
      const models = [];
      for (const name of names) {
        const agent = await DecisionAgent.load(name, { modelsDir, db: database() });
        models.push({
          name,
          labels: agent.labels,
          threshold: agent.model.config.threshold,
          fileHash: agent.model.fileHash,
          versions: await agent.versions(),
        });
      }
      print(
        models,
        models
          .map(
            (m) =>
              `${m.name}\t${m.labels.join('/')}\t${m.versions.map((v) => `${v.version}${v.active ? '*' : v.state === 'shadow' ? '(shadow)' : ''}`).join(' ')}`,
          )
          .join('\n'),
      );
      return 0;
    }
    const name = rest[0];
    if (!name) return usage(`model ${sub ?? ''} needs MODEL`);
    const agent = await DecisionAgent.load(name, { modelsDir, db: database() });
    if (sub === 'eval') {
      let cases: LabelledCase[];
      if (values.file) cases = readLabelledCases(values.file);
      else {
        const { splits } = await import('../../models/eval.ts');
        cases = splits(name as 'loan' | 'order').test;
      }
      const metrics = await agent.evaluate(cases);
      print(
        metrics,
        `${name} ${metrics.version}: accuracy=${metrics.accuracy.toFixed(4)} ece=${metrics.ece.toFixed(4)} auto_rate=${metrics.autoRate.toFixed(4)} auto_precision=${metrics.autoPrecision.toFixed(4)} cases=${metrics.cases}`,
      );
      return 0;
    }
    if (sub === 'train') {
      const cases = values.jsonl ? readLabelledCases(values.jsonl) : undefined;
      const number = (flag: 'shadow-decisions' | 'replay-ratio') => {
        if (values[flag] === undefined) return undefined;
        const n = Number(values[flag]);
        if (!Number.isFinite(n) || n < 0)
          throw new OperonError('OPERON_ERR_VALIDATION', `--${flag} must be a number >= 0`, {
            details: { [flag]: values[flag] },
          });
        return n;
      };
      const report = await agent.train({
        actor: cliActor(),
        cases,
        source: values.jsonl ? `file:${values.jsonl}` : 'database',
        shadowDecisions: number('shadow-decisions'),
        replayRatio: number('replay-ratio'),
      });
      const head =
        report.state === 'shadow'
          ? `${report.version} is in shadow`
          : report.version
            ? `${report.version} refused`
            : 'no head trained';
      print(report, [`${head}: ${report.reason}`, ...report.evaluation.map((e) => `  ${describeSet(e)}`)].join('\n'));
      return 0;
    }
    if (sub === 'finetune') {
      // Numbers are passed on as given; DecisionAgent.train checks their ranges (OPERON_ERR_VALIDATION).
      const number = (
        flag: 'steps' | 'lr' | 'weight-decay' | 'batch-size' | 'grad-clip' | 'lora-rank' | 'replay-ratio' | 'threads',
      ) => {
        const text = values[flag];
        if (text === undefined) return undefined;
        const n = Number(text);
        if (text.trim() === '' || !Number.isFinite(n))
          throw new OperonError('OPERON_ERR_VALIDATION', `--${flag} must be a number`, {
            details: { field: flag, value: text },
          });
        return n;
      };
      const cases = values.jsonl ? readLabelledCases(values.jsonl) : await agent.reviewedCases();
      const report = await agent.train(
        cases.map((c) => c.variables),
        cases.map((c) => c.label),
        {
          ids: cases.map((c, i) => c.id ?? String(i)),
          steps: number('steps'),
          learningRate: number('lr'),
          weightDecay: number('weight-decay'),
          batchSize: number('batch-size'),
          gradClip: number('grad-clip'),
          loraRank: number('lora-rank'),
          replayRatio: number('replay-ratio'),
          threads: number('threads'),
          out: values.out,
          install: values.install,
          actor: cliActor(),
          onProgress: values.json
            ? undefined
            : (line) => {
                const p = line.progress as { step: number; loss: number; heldOut?: { accuracy: number } } | undefined;
                if (p)
                  process.stderr.write(
                    `step ${p.step} loss ${p.loss}${p.heldOut ? ` calibration accuracy ${p.heldOut.accuracy}` : ''}\n`,
                  );
              },
        },
      );
      const verdict = report.installed
        ? `installed (the replaced folder is in ${report.previousDir})`
        : report.passed
          ? 'passed (not installed; --install to install)'
          : 'refused';
      const h = report.heldOut;
      print(
        report,
        [
          `${name} ${report.version} in ${report.dir}: ${verdict}`,
          `  ${report.reason}`,
          `  reviewed held-out (${report.heldOutCases}): accuracy base ${h.base.accuracy.toFixed(4)} fine-tuned ${h.finetuned.accuracy.toFixed(4)}`,
          `  trained on ${report.trainingCases} reviewed + ${report.replayCases} replayed cases, ${report.trainableParameters} LoRA parameters, ${report.seconds} s`,
          ...report.evaluation.map((e) => `  ${describeSet(e)}`),
        ].join('\n'),
      );
      return 0;
    }
    if (sub === 'shadow') {
      const version = values.version ?? rest[1];
      if (!version) return usage('model shadow needs MODEL VERSION');
      const comparison = await agent.shadowComparison(version);
      print(
        { model: name, version, ...comparison },
        `${name} ${version} in shadow: ${comparison.decisions} decisions, agreement ${comparison.agreement?.toFixed(4) ?? '-'}, ` +
          `reviewed ${comparison.reviewed}: shadow right ${comparison.shadowCorrect}, active right ${comparison.activeCorrect}`,
      );
      return 0;
    }
    if (sub === 'activate') {
      const version = values.version ?? rest[1];
      if (!version) return usage('model activate needs MODEL VERSION');
      await agent.activate(version, cliActor());
      print({ model: name, active: version }, `${name}: ${version} is active`);
      return 0;
    }
    return usage(`unknown model command '${sub}'`);
  } catch (error) {
    const body =
      error instanceof OperonError
        ? error.toJSON()
        : { error: { code: 'OPERON_ERR_INTERNAL', message: (error as Error).message, details: {} } };
    process.stderr.write(`${JSON.stringify(body)}\n`);
    return 1;
  } finally {
    await db?.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runDecisionCli(process.argv.slice(2));
}

/** The operating-system user running the command (the audit trail's actor). */
function cliActor(): { kind: string; id: string } {
  try {
    return { kind: 'cli', id: userInfo().username };
  } catch {
    return { kind: 'cli', id: process.env.USER ?? 'unknown' };
  }
}
