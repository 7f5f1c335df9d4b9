/** Script task: a zeebe:script FEEL expression whose value becomes the result variable (or, with a zeebe:taskDefinition, a job). */
import type { JobTask, ScriptTask } from '../../model/graph.ts';
import { closeJob, createJob } from './job-worker.ts';
import type { ElementKind } from './kind.ts';

export const scriptTask: ElementKind<ScriptTask | JobTask> = {
  activate(x, ei, element) {
    if ('job' in element) return createJob(x, ei, element);
    const { expression, resultVariable } = element.script;
    x.complete(ei, { [resultVariable]: x.feel(expression, ei.key) });
  },
  closeWaits: closeJob,
};
