/**
 * The nearest-texts check's settings are reproducible: `models/neighbours.ts --tune` on the shipped
 * folders (their check off, their own automated answers on the dev-fold texts put on the reference
 * field sets) picks the k and share each shipped config.json holds, and that setting sends no right
 * answer to a person.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MODELS_DIR, DecisionAgent } from '../../nodes/decision/agent.ts';
import { TUNE_K, TUNE_SHARES, tuneNeighbours } from '../../models/neighbours.ts';

after(() => DecisionAgent.closeAll());

for (const domain of ['loan', 'order'] as const) {
  test(`--tune on the ${domain} dev fold picks the shipped k and share`, async () => {
    const shipped = JSON.parse(readFileSync(join(DEFAULT_MODELS_DIR, domain, 'config.json'), 'utf8')).neighbours;
    const tuned = await tuneNeighbours(DEFAULT_MODELS_DIR, domain);
    assert.equal(tuned.grid.length, TUNE_K.length * TUNE_SHARES.length);
    assert.ok(
      tuned.automated > 500 && tuned.wrong > 0,
      JSON.stringify({ automated: tuned.automated, wrong: tuned.wrong }),
    );
    assert.deepEqual([tuned.best?.k, tuned.best?.share], [shipped.k, shipped.share]);
    assert.equal(tuned.best?.rightLost, 0);
    // Catching more would cost right answers: no row catches more without losing one.
    assert.ok(tuned.grid.every((row) => row.wrongCaught <= tuned.best!.wrongCaught || row.rightLost > 0));
  });
}
