import { it } from 'node:test';
import { twoWorkersComplete } from './two-workers.ts';

it('two worker processes complete 1,000 fork/join instances; every join fires exactly once', async () => {
  await twoWorkersComplete(1_000, 240_000);
});
