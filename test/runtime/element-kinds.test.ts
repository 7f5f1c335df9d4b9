/**
 * Every element kind of the graph's union has exactly one module in the registry the core
 * dispatches through, and the parser maps a BPMN element to each of them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ELEMENT_TYPES, type ElementType, type FlowElement } from '../../engine/model/graph.ts';
import { EXECUTED } from '../../engine/model/parse.ts';
import { elementKinds, kindOf } from '../../engine/runtime/elements/index.ts';

/** `true` only when A and B are the same set of string literals. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// Type-level exhaustiveness: tsc (test/typecheck.test.ts) refuses this file when a member of the
// union has no element type, or an element type has no module in the registry.
const unionIsTheElementTypes: Same<FlowElement['type'], ElementType> = true;
const registryCoversEveryType: Same<keyof typeof elementKinds, ElementType> = true;

describe('the element kind registry', () => {
  it('covers every element type of the graph union, at type level', () => {
    assert.equal(unionIsTheElementTypes, true);
    assert.equal(registryCoversEveryType, true);
  });

  it('has one module with an activate hook for each element type, and nothing else', () => {
    assert.deepEqual(Object.keys(elementKinds).sort(), [...ELEMENT_TYPES].sort());
    for (const type of ELEMENT_TYPES)
      assert.equal(typeof elementKinds[type].activate, 'function', `the module of ${type} has no activate`);
  });

  it('is reached from the parser: each element type is what one bpmn: element parses to', () => {
    assert.deepEqual([...new Set(Object.values(EXECUTED))].sort(), [...ELEMENT_TYPES].sort());
  });

  it('dispatches an element to the module of its type', () => {
    const element: FlowElement = { id: 'g', type: 'eventBasedGateway', incoming: [], outgoing: [] };
    assert.equal(kindOf(element), elementKinds.eventBasedGateway);
  });
});
