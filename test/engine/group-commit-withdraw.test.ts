/** GroupCommit's backpressure hooks: how many requests wait, and withdrawing them (no database needed). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommit } from '../../engine/jobs/group-commit.ts';

test('waiting counts the requests behind the committing batch; withdraw rejects only those', async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const batches: number[][] = [];
  const commit = new GroupCommit<number>({
    run: async (batch) => {
      batches.push(batch);
      await held;
      return batch.map(() => ({ ok: true as const }));
    },
  });
  const first = commit.submit(1);
  const queued = [commit.submit(2), commit.submit(3)];
  assert.equal(commit.waiting, 2, 'the first is committing, two wait');
  const refusal = new Error('database unavailable');
  assert.equal(commit.withdraw(refusal), 2);
  assert.equal(commit.waiting, 0);
  for (const outcome of await Promise.allSettled(queued))
    assert.deepEqual(outcome, { status: 'rejected', reason: refusal });
  release();
  await first;
  assert.deepEqual(batches, [[1]], 'the withdrawn requests never ran');
  await commit.submit(4);
  assert.deepEqual(batches, [[1], [4]]);
});
