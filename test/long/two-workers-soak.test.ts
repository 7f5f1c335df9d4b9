import { it } from 'node:test';
import { twoWorkersComplete } from '../reliability/two-workers.ts';

it('soak: two worker processes complete 5,000 fork/join instances; every join fires exactly once', async () => {
  await twoWorkersComplete(5_000, 900_000);
});
