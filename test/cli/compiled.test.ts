/**
 * The compiled CLI (bin/build.mjs, `npm run build`): the build writes dist/main.js, one file per
 * migration and the list of its sources; the compiled commands run without tsx; bin/operon.js
 * takes dist/ only while it is current; `db-url` answers from the embedded server's files under
 * .operon/ and never starts PostgreSQL. Built into tmp/ of the repository (its node_modules resolve
 * from there), not into dist/, which other tests' commands may be running.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../engine/db/embedded.ts';
import { compiledIsCurrent } from '../../bin/compiled.mjs';
import { admin, urlFor } from '../support/db.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/operon.js');
const out = join(ROOT, 'tmp', `dist-test-${randomBytes(4).toString('hex')}`);
const MAIN = join(out, 'main.js');

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error', ...extra };
  if (!('DATABASE_URL' in extra)) delete result.DATABASE_URL;
  return result;
}

/** Pids of processes whose command line names `dataDir`: the postmaster of that data directory. */
function postmastersOf(dataDir: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(dataDir);
      } catch {
        return false; // ended meanwhile
      }
    })
    .map(Number);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

before(async () => {
  await run(process.execPath, [join(ROOT, 'bin/build.mjs'), '--outdir', out], { timeout: 120_000 });
});
after(async () => {
  await rm(out, { recursive: true, force: true });
});

describe('the build', () => {
  it('writes the CLI, every migration and the list of sources it was built from', () => {
    assert.ok(existsSync(MAIN));
    const build = JSON.parse(readFileSync(join(out, 'build.json'), 'utf8')) as {
      builtAt: number;
      migrations: string[];
      inputs: string[];
    };
    const migrations = readdirSync(join(ROOT, 'migrations')).filter((file) => /^\d{6}_[\w-]+\.ts$/.test(file));
    assert.deepEqual(build.migrations, migrations.sort());
    for (const migration of migrations) {
      assert.ok(existsSync(join(out, 'migrations', migration.replace(/\.ts$/, '.js'))), migration);
      assert.ok(build.inputs.includes(`migrations/${migration}`), migration);
    }
    for (const source of ['engine/cli/main.ts', 'engine/cli/commands/db-url.ts', 'engine/engine.ts'])
      assert.ok(build.inputs.includes(source), source);
    assert.ok(!build.inputs.some((input) => input.startsWith('node_modules/')));
  });

  it('runs without tsx: --help and migrate on a new database', async () => {
    const help = await run(process.execPath, [MAIN, '--help'], { env: env() });
    assert.match(help.stdout, /^usage: operon <command>/);
    const name = `operon_test_${randomBytes(6).toString('hex')}`;
    await admin((client) => client.query(`CREATE DATABASE ${name}`));
    try {
      await run(process.execPath, [MAIN, 'migrate'], { env: env({ DATABASE_URL: urlFor(name) }), timeout: 120_000 });
      const client = new pg.Client({ connectionString: urlFor(name) });
      await client.connect();
      try {
        const { rows } = await client.query<{ name: string }>('SELECT name FROM knex_migrations ORDER BY name');
        const files = readdirSync(join(ROOT, 'migrations')).filter((file) => /^\d{6}_[\w-]+\.ts$/.test(file));
        assert.deepEqual(
          rows.map((row) => row.name),
          files.sort(),
        );
      } finally {
        await client.end();
      }
    } finally {
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    }
  });
});

describe('bin/compiled.mjs: dist/ counts only while current', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'operon-compiled-'));
    await mkdir(join(root, 'migrations'));
    await mkdir(join(root, 'engine'));
    await mkdir(join(root, 'dist'));
    await writeFile(join(root, 'migrations', '000001_core.ts'), 'export async function up() {}\n');
    await writeFile(join(root, 'engine', 'main.ts'), 'export {};\n');
    const builtAt = Date.now() + 1_000;
    await writeFile(
      join(root, 'dist', 'build.json'),
      JSON.stringify({
        builtAt,
        migrations: ['000001_core.ts'],
        inputs: ['engine/main.ts', 'migrations/000001_core.ts'],
      }),
    );
  });
  after(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });
  const rootUrl = () => pathToFileURL(`${root}/`);

  it('is current when every source is older than the build', () => {
    assert.equal(compiledIsCurrent(rootUrl()), true);
  });

  it('is not once a source changed after the build, or a migration was added', async () => {
    const later = new Date(Date.now() + 60_000);
    await utimes(join(root, 'engine', 'main.ts'), later, later);
    assert.equal(compiledIsCurrent(rootUrl()), false);
    const earlier = new Date(Date.now() - 60_000);
    await utimes(join(root, 'engine', 'main.ts'), earlier, earlier);
    assert.equal(compiledIsCurrent(rootUrl()), true);
    await writeFile(join(root, 'migrations', '000002_more.ts'), 'export async function up() {}\n');
    await utimes(join(root, 'migrations', '000002_more.ts'), earlier, earlier);
    assert.equal(compiledIsCurrent(rootUrl()), false);
  });
});

describe('db-url never starts PostgreSQL', () => {
  let cwd: string;
  let server: EmbeddedDatabase | undefined;
  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'operon-db-url-'));
  });
  after(async () => {
    await server?.stop();
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  it('without an embedded database: prints the URL it will have, says it is not running, starts nothing', async () => {
    const dataDir = join(cwd, '.operon', 'pg');
    for (const [file, args] of [
      [process.execPath, [MAIN, 'db-url']],
      [process.execPath, [BIN, 'db-url']],
    ] as const) {
      const { stdout, stderr } = await run(file, [...args], { cwd, env: env() });
      const match = /^postgres:\/\/postgres:([0-9a-f]+)@127\.0\.0\.1:(\d+)\/operon\n$/.exec(stdout);
      assert.ok(match, stdout);
      assert.match(stderr, /not running/);
      assert.equal(existsSync(dataDir), false, 'no data directory was created');
      assert.deepEqual(postmastersOf(dataDir), []);
      assert.equal(await accepts(Number(match[2])), false, 'nothing listens on the port printed');
    }
    // Both printed the same settings, now stored for the server that starts later.
    const config = JSON.parse(readFileSync(join(cwd, '.operon', 'embedded-postgres.json'), 'utf8'));
    const { stdout } = await run(process.execPath, [MAIN, 'db-url'], { cwd, env: env() });
    assert.equal(stdout, `postgres://postgres:${config.password}@127.0.0.1:${config.port}/operon\n`);
  });

  it('while the embedded server runs: its URL, which psql-style clients connect with; no second server', async () => {
    server = await startEmbeddedPostgres({ dir: join(cwd, '.operon') });
    const dataDir = join(cwd, '.operon', 'pg');
    const before = postmastersOf(dataDir);
    assert.equal(before.length, 1);
    const { stdout, stderr } = await run(process.execPath, [MAIN, 'db-url'], { cwd, env: env() });
    assert.equal(stdout.trim(), server.url);
    assert.equal(stderr, '');
    assert.deepEqual(postmastersOf(dataDir), before, 'the same single postmaster');
    const client = new pg.Client({ connectionString: stdout.trim() });
    await client.connect();
    try {
      assert.equal((await client.query('SELECT current_database() AS db')).rows[0].db, 'operon');
    } finally {
      await client.end();
    }
  });

  it('prints DATABASE_URL when it is set', async () => {
    const url = 'postgres://someone@db.example:5432/operon';
    const { stdout } = await run(process.execPath, [MAIN, 'db-url'], { cwd, env: env({ DATABASE_URL: url }) });
    assert.equal(stdout, `${url}\n`);
  });
});
