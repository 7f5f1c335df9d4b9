import { it } from 'node:test';
import { twoWorkersComplete } from './two-workers.ts';

it('two worker processes complete 100 fork/join instances; every join fires once (1,000 in test/long)', async () => {
  await twoWorkersComplete(100, 60_000);
});
