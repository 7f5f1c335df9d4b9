/**
 * `operon decide` / `operon model` through the real CLI (bin/operon.js in a child process): which
 * database they use (--database-url, then OPERON_DATABASE_URL, then DATABASE_URL) and that `decide`
 * without one only runs the model, starting no embedded server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/operon.js', import.meta.url));
const APPLICATION = {
  income: 85000,
  debts: 3000,
  creditScore: 780,
  amount: 12000,
  termMonths: 36,
  employment: 'permanent',
  purpose: 'a new kitchen',
};

let first: TestDatabase;
let second: TestDatabase;
const cwd = mkdtempSync(join(tmpdir(), 'operon-decide-'));

before(async () => {
  [first, second] = await Promise.all([createTestDatabase(), createTestDatabase()]);
});
after(async () => {
  await Promise.all([first?.drop(), second?.drop()]);
  rmSync(cwd, { recursive: true, force: true });
});

/** The CLI in a fresh working directory, with exactly the database variables given. */
async function operon(args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  const base: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error' };
  delete base.DATABASE_URL;
  delete base.OPERON_DATABASE_URL;
  return run(process.execPath, [BIN, ...args], { cwd, env: { ...base, ...env }, timeout: 120_000 });
}

const decide = (env: Record<string, string>, extra: string[] = []) =>
  operon(['decide', 'loan', '--vars', JSON.stringify(APPLICATION), '--json', ...extra], env);
const recorded = async (db: TestDatabase) =>
  Number((await db.knex('decisions').where({ model_name: 'loan' }).count({ n: '*' }))[0]!.n);

describe('operon decide: which database', () => {
  it('without a database it only runs the model: the output contract, no embedded server under .operon/', async () => {
    const { stdout } = await decide({});
    const result = JSON.parse(stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(result).slice(0, 4), ['label', 'confidence', 'scores', 'modelVersion']);
    assert.equal(result.label, 'approve');
    assert.equal(typeof result.needsReview, 'boolean');
    assert.deepEqual(Object.keys(result.scores as object).sort(), ['approve', 'reject', 'review']);
    assert.equal(existsSync(join(cwd, '.operon')), false, 'no embedded PostgreSQL was created');
  });

  it("runs the model without ONNX Runtime's telemetry: no event store in the cache folder, no /tmp log", async () => {
    const home = mkdtempSync(join(tmpdir(), 'operon-decide-home-'));
    try {
      const env = { XDG_CACHE_HOME: join(home, 'cache'), HOME: home, TMPDIR: join(home, 'tmp') };
      mkdirSync(env.XDG_CACHE_HOME);
      mkdirSync(env.TMPDIR);
      const saved = process.env.ORT_DISABLE_TELEMETRY;
      delete process.env.ORT_DISABLE_TELEMETRY;
      try {
        const { stdout } = await decide(env);
        assert.equal((JSON.parse(stdout) as { label: string }).label, 'approve');
      } finally {
        if (saved !== undefined) process.env.ORT_DISABLE_TELEMETRY = saved;
      }
      assert.deepEqual(
        readdirSync(env.XDG_CACHE_HOME),
        [],
        'nothing under the cache folder (ONNX Runtime keeps its events in Microsoft/)',
      );
      assert.deepEqual(
        readdirSync(env.TMPDIR).filter((name) => name.startsWith('mat-debug-')),
        [],
      );
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('OPERON_DATABASE_URL wins over DATABASE_URL, and the decision is recorded there', async () => {
    const before = [await recorded(first), await recorded(second)];
    await decide({ OPERON_DATABASE_URL: first.url, DATABASE_URL: second.url });
    assert.equal(await recorded(first), before[0]! + 1);
    assert.equal(await recorded(second), before[1], 'DATABASE_URL was not used');
  });

  it('--database-url wins over both variables', async () => {
    const before = [await recorded(first), await recorded(second)];
    await decide({ OPERON_DATABASE_URL: first.url, DATABASE_URL: first.url }, ['--database-url', second.url]);
    assert.equal(await recorded(second), before[1]! + 1);
    assert.equal(await recorded(first), before[0]);
  });

  it('DATABASE_URL alone is used too', async () => {
    const before = await recorded(second);
    await decide({ DATABASE_URL: second.url });
    assert.equal(await recorded(second), before + 1);
  });

  it('model commands read their versions from OPERON_DATABASE_URL, not from a DATABASE_URL that does not answer', async () => {
    const { stdout } = await operon(['model', 'list', '--json'], {
      OPERON_DATABASE_URL: first.url,
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    });
    const models = JSON.parse(stdout) as { name: string; versions: { active: boolean }[] }[];
    assert.deepEqual(
      models.map((m) => m.name),
      ['loan', 'order'],
    );
    assert.equal(existsSync(join(cwd, '.operon')), false);
  });
});
