/** FEEL's `now()` and `today()` answer with the step's clock; a variable of that name wins. */
export function withClock(context: Record<string, unknown>, nowIso: string): Record<string, unknown>;
/** FEEL values (dates, durations, ranges, functions) -> plain JSON values, storable in jsonb. */
export function toJson(value: unknown): unknown;
