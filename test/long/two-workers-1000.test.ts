import { it } from 'node:test';
import { twoWorkersComplete } from '../reliability/two-workers.ts';

it('two worker processes complete 1,000 fork/join instances; every join fires exactly once', async () => {
  await twoWorkersComplete(1_000, 300_000);
});
