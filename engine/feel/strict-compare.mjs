// Ordering values of different FEEL types gives null, as FEEL (DMN 1.5, 10.3.2.x) and Camunda's
// FEEL engine say. feelin 8.2.0 (its newest release) compares them as JavaScript does and, where
// JavaScript cannot order them, as equal: `"abc" <= 30000` is true and `"5" in [1..10]` is true.
// A webhook that sent a string where a gateway compares a number (`= amount <= 30000`) took the
// branch; with null, the condition raises an incident on the instance instead (conditions.ts).
//
// feelin checks a comparison as membership of a range (`<= b` is the range `..b]`, `between a and
// b` and `[a..b]` are ranges), so the one place to fix is FeelRange#includes: a probe whose type
// is not the range's type is null. Equality (`=`, `!=`) already gives null across types. Imported
// by builtins.mjs, which every evaluation (the engine's thread, the FEEL worker, DMN tables)
// imports, so it holds in every thread once.
import { FeelDate, FeelDateTime, FeelDuration, FeelRange, FeelTime } from 'feelin';

/** The FEEL type name feelin gives a range's bounds (its `valueType`), or null for other values. */
export function feelTypeOf(value) {
  if (typeof value === 'number') return 'number';
  if (typeof value === 'string') return 'string';
  if (value instanceof FeelDateTime) return 'date time';
  if (value instanceof FeelDate) return 'date';
  if (value instanceof FeelTime) return 'time';
  if (value instanceof FeelDuration) return 'duration';
  return null;
}

const includes = FeelRange.prototype.includes;
if (!includes.operonStrict) {
  FeelRange.prototype.includes = Object.assign(
    function strictIncludes(value) {
      if (value !== null && value !== undefined && !(value instanceof FeelRange) && this.valueType !== null) {
        if (feelTypeOf(value) !== this.valueType) return null;
      }
      return includes.call(this, value);
    },
    { operonStrict: true },
  );
}
