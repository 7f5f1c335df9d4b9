/** bpmn:task and bpmn:manualTask, and parallel gateways: nothing of their own to do, they complete at once. */
import type { FlowElement } from '../../model/graph.ts';
import { opensNoWait, type ElementKind } from './kind.ts';

export const passThrough: ElementKind<FlowElement> = {
  activate: (x, ei) => x.complete(ei),
  closeWaits: opensNoWait,
};
