/** 150 runs of a message published while its subscription is being opened (1,000 in test/long). */
import { it } from 'node:test';
import { messageRace } from './message-race.ts';

it('a message that arrives while its subscription is being opened is never lost (150 runs)', async () => {
  const result = await messageRace(150);
  console.log(`message race: ${JSON.stringify(result)}`);
});
