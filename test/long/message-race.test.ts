/** 1,000 runs of a message published while its subscription is being opened (20 at a time). */
import { it } from 'node:test';
import { messageRace } from '../reliability/message-race.ts';

it('a message that arrives while its subscription is being opened is never lost (1,000 runs)', async () => {
  const result = await messageRace(1000, 20);
  console.log(`message race: ${JSON.stringify(result)}`);
});
