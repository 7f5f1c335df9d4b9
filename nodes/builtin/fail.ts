import { BpmnError, OperonError } from '../../engine/errors.ts';
import type { NodeType } from '../../engine/nodes/types.ts';

/** `fail`: throws a BpmnError with the `errorCode` task header (and the optional `errorMessage` header). */
export const failNode: NodeType = {
  name: 'fail',
  pool: 'builtin',
  validate(binding) {
    if (!binding.headers.errorCode) {
      throw new OperonError(
        'OPERON_ERR_BPMN_INVALID',
        `Task '${binding.elementId}' of type fail needs an errorCode task header`,
        {
          details: { elementId: binding.elementId, header: 'errorCode' },
        },
      );
    }
  },
  async run(_input, ctx) {
    throw new BpmnError(ctx.headers.errorCode!, ctx.headers.errorMessage);
  },
};
