/**
 * Business rule task: with zeebe:calledDecision it evaluates the decision inline; with a
 * zeebe:taskDefinition it is done by a job worker.
 */
import { evaluateDecision, type DecisionResult } from '../../dmn/index.ts';
import { isOperonError } from '../../errors.ts';
import type { DecisionTask, JobTask } from '../../model/graph.ts';
import type { Variables } from '../../nodes/types.ts';
import { IncidentSignal, type Execution } from '../execution.ts';
import type { ElementInstance } from '../state.ts';
import { closeJob, createJob } from './job-worker.ts';
import type { ElementKind } from './kind.ts';

export const businessRuleTask: ElementKind<DecisionTask | JobTask> = {
  activate(x, ei, element) {
    if ('job' in element) return createJob(x, ei, element);
    evaluateCalledDecision(x, ei, element);
  },
  closeWaits: closeJob,
};

/**
 * A business rule task with zeebe:calledDecision evaluates the latest deployed version of the
 * decision inline, like a script task: no rule matching is a null result, a hit policy violation, a
 * failing expression or a decision that is not deployed is an incident.
 */
function evaluateCalledDecision(x: Execution, ei: ElementInstance, element: DecisionTask): void {
  const called = element.calledDecision;
  const decisionId = x.textValue(called.decisionId, ei.key);
  if (!x.decisions)
    throw new IncidentSignal(
      'OPERON_ERR_DMN_EVAL',
      `business rule task "${element.id}": this driver runs no DMN decisions`,
      { decisionId },
    );
  const found = x.decisions.find(decisionId, called.versionTag);
  if (found === undefined) return; // not loaded yet: this pass is abandoned and runs again once it is
  if (found === null) {
    const what =
      called.versionTag === undefined
        ? 'which is not deployed'
        : `of which no version tagged "${called.versionTag}" is deployed`;
    throw new IncidentSignal(
      'OPERON_ERR_DMN_EVAL',
      `business rule task "${element.id}" calls the decision "${decisionId}", ${what}`,
      { decisionId, ...(called.versionTag !== undefined ? { versionTag: called.versionTag } : {}) },
    );
  }
  let result: DecisionResult;
  try {
    // Expressions run like every other FEEL of the step (the budgeted worker when not proven cheap).
    result = evaluateDecision(found.model, decisionId, x.visibleVariables(ei.key), {
      nowIso: x.now.toISOString(),
      evaluate: (expression, context) => x.feel(expression, ei.key, context as Variables),
    });
  } catch (error) {
    if (error instanceof IncidentSignal)
      throw new IncidentSignal(
        error.code,
        `business rule task "${element.id}", decision "${decisionId}" (version ${found.version}): ${error.message}`,
        { ...error.details, decisionId, version: found.version },
      );
    if (!isOperonError(error)) throw error;
    throw new IncidentSignal(
      error.code,
      `business rule task "${element.id}", ${error.message} (version ${found.version})`,
      { ...error.details, version: found.version },
    );
  }
  const own = result.evaluated[result.evaluated.length - 1]!;
  x.effects.push({
    type: 'decision.evaluated',
    elementInstanceKey: ei.key,
    elementId: element.id,
    decisionDefinitionId: found.decisionDefinitionId,
    decisionId,
    version: found.version,
    inputs: own.inputs,
    matchedRuleIds: own.matchedRuleIds,
    output: result.output,
    evaluated: result.evaluated,
  });
  x.complete(ei, { [called.resultVariable]: result.output });
}
