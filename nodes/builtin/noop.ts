import type { NodeType } from '../../engine/nodes/types.ts';

/** `noop`: completes at once with no output. For glue and tests. */
export const noopNode: NodeType = {
  name: 'noop',
  pool: 'builtin',
  async run() {
    return {};
  },
};
