/** Both branches of 100 fork/joins completed at the same instant (1,000 in test/long). */
import { it } from 'node:test';
import { simultaneousJoins } from './join-race.ts';

it('two branches completing at the same instant fire the parallel join exactly once (100 instances)', async () => {
  console.log(`join race: ${JSON.stringify(await simultaneousJoins(100))}`);
});
