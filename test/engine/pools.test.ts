/**
 * Worker pools without a database: which node types share a pool, each pool's slots from the
 * machine, `concurrency` and `capacity`, and the `--capacity` / OPERON_CAPACITY syntax.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultBotContexts,
  defaultCapacity,
  environmentCapacity,
  parseCapacity,
  planPools,
} from '../../engine/jobs/pools.ts';
import { createNodeRegistry } from '../../nodes/index.ts';
import { parseArgs } from '../../engine/cli/args.ts';
import { capacityFlags } from '../../engine/cli/capacity.ts';
import { createBotNode } from '../../nodes/bot/node.ts';

const GiB = 1024 ** 3;
const small = { cores: 2, freeBytes: 3 * GiB };
const shipped = [
  { name: 'noop', pool: 'builtin' },
  { name: 'fail', pool: 'builtin' },
  { name: 'http', pool: 'http' },
  { name: 'decision', pool: 'decision' },
  { name: 'bot', pool: 'bot' },
];
const byName = (plan: ReturnType<typeof planPools>) =>
  Object.fromEntries(plan.pools.map((pool) => [pool.name, { nodes: pool.nodeNames, capacity: pool.capacity }]));

describe('worker pools', () => {
  it('the shipped node types declare their pools', async () => {
    const registry = await createNodeRegistry();
    assert.equal(registry.resolve('noop')?.pool, 'builtin');
    assert.equal(registry.resolve('fail')?.pool, 'builtin');
    assert.equal(registry.resolve('http')?.pool, 'http');
    assert.equal(createBotNode({ bots: [] }).pool, 'bot');
  });

  it('sizes bot contexts by cores and free memory, at least one', () => {
    assert.equal(defaultBotContexts({ cores: 2, freeBytes: 3 * GiB }), 2);
    assert.equal(defaultBotContexts({ cores: 16, freeBytes: 3 * GiB }), 6, 'half a GiB per context');
    assert.equal(defaultBotContexts({ cores: 8, freeBytes: 0.2 * GiB }), 1);
    assert.equal(defaultCapacity('decision', { cores: 12, freeBytes: GiB }), 12);
    assert.equal(defaultCapacity('builtin', small), 16);
    assert.equal(defaultCapacity('http', small), 8);
    assert.equal(defaultCapacity('my-node', small), 8);
  });

  it('groups node types by their pool; a node type without one is a pool of its own', () => {
    const plan = planPools([...shipped, { name: 'ledger' }], {}, small);
    assert.deepEqual(byName(plan), {
      builtin: { nodes: ['noop', 'fail'], capacity: 16 },
      http: { nodes: ['http'], capacity: 8 },
      decision: { nodes: ['decision'], capacity: 2 },
      bot: { nodes: ['bot'], capacity: 2 },
      ledger: { nodes: ['ledger'], capacity: 8 },
    });
    assert.deepEqual(plan.unknown, []);
  });

  it('capacity names a pool, or a node type that then gets a pool of its own; concurrency fills the rest', () => {
    const plan = planPools(shipped, { capacity: { bot: 3, noop: 1 }, concurrency: 32 }, small);
    assert.deepEqual(byName(plan), {
      noop: { nodes: ['noop'], capacity: 1 },
      builtin: { nodes: ['fail'], capacity: 32 },
      http: { nodes: ['http'], capacity: 32 },
      decision: { nodes: ['decision'], capacity: 32 },
      bot: { nodes: ['bot'], capacity: 3 },
    });
  });

  it('capacity 0 leaves a pool out of this worker; unknown names are reported', () => {
    const plan = planPools(shipped, { capacity: { bot: 0, bots: 4 } }, small);
    assert.deepEqual(
      plan.pools.map((pool) => pool.name),
      ['builtin', 'http', 'decision'],
    );
    assert.deepEqual(plan.unknown, ['bots']);
  });

  it('parses pool=N lists and names the entry it cannot read', () => {
    assert.deepEqual(parseCapacity('bot=2, decision=4,'), { bot: 2, decision: 4 });
    assert.deepEqual(parseCapacity(''), {});
    assert.throws(() => parseCapacity('bot=2,decision'), /--capacity: 'decision' is not <pool>=<slots>/);
    assert.throws(() => parseCapacity('bot=-1'), /'bot=-1' is not/);
    assert.throws(() => parseCapacity('bot=1.5'), /'bot=1.5' is not/);
    assert.deepEqual(environmentCapacity({ OPERON_CAPACITY: 'http=3' }), { http: 3 });
    assert.deepEqual(environmentCapacity({}), {});
    assert.throws(() => environmentCapacity({ OPERON_CAPACITY: 'bot:2' }), /^Error: OPERON_CAPACITY: 'bot:2'/);
  });

  it('CLI flags: --capacity and --concurrency reach the worker, the bot pool size reaches the bot node', () => {
    const flags = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
      capacityFlags(parseArgs(argv), { env, botFlag: 'bot-concurrency' });
    assert.deepEqual(flags([]), { worker: {}, botContexts: undefined });
    assert.deepEqual(flags(['--capacity', 'bot=3,decision=4']), {
      worker: { capacity: { bot: 3, decision: 4 } },
      botContexts: 3,
    });
    assert.deepEqual(flags(['--concurrency', '5']), { worker: { concurrency: 5 }, botContexts: 5 });
    assert.deepEqual(flags([], { OPERON_CAPACITY: 'bot=4' }), { worker: {}, botContexts: 4 });
    assert.deepEqual(flags(['--bot-concurrency', '6']), { worker: { capacity: { bot: 6 } }, botContexts: 6 });
    assert.deepEqual(flags(['--bot-concurrency', '6', '--capacity', 'bot=1']).worker, { capacity: { bot: 1 } });
    assert.deepEqual(flags(['--capacity', 'bot=0']).botContexts, undefined);
    assert.throws(() => flags(['--capacity']), /--capacity needs a value/);
    assert.throws(() => flags(['--capacity', 'bot']), /'bot' is not <pool>=<slots>/);
  });
});
