/** Types of builtins.mjs (plain JS, shared with the FEEL worker). */
export class AssertionFailure extends Error {}
export const CAMUNDA_BUILTINS: Readonly<Record<string, unknown>>;
export function withBuiltins(context: Record<string, unknown>): Record<string, unknown>;
export function evaluateCamunda(
  expression: string,
  context: Record<string, unknown>,
): { value: unknown; warnings: unknown[] };
export function rewriteArithmetic(expression: string, context?: Record<string, unknown>): string;
