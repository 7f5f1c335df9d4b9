/** Both branches of 1,000 fork/joins completed at the same instant. */
import { it } from 'node:test';
import { simultaneousJoins } from '../reliability/join-race.ts';

it('two branches completing at the same instant fire the parallel join exactly once (1,000 instances)', async () => {
  console.log(`join race: ${JSON.stringify(await simultaneousJoins(1000))}`);
});
