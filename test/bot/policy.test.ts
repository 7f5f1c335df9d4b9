/**
 * The pure parts of bot nodes: egress decisions, secrets files and masking, browser discovery,
 * the concurrency limiter. No browser.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkEgress, hostsOf } from '../../nodes/bot/egress.ts';
import { containsSecret, createSecretStore, maskSecrets, parseSecretsFile } from '../../nodes/bot/secrets.ts';
import { discoverChromium } from '../../nodes/bot/browser.ts';
import { Limiter } from '../../nodes/bot/limiter.ts';
import { defineBot } from '../../nodes/bot/index.ts';
import { z } from 'zod';
import type { OperonError } from '../../engine/errors.ts';

describe('egress policy', () => {
  const allowed = ['127.0.0.1:3100', 'portal.example.com'];
  test('allows the configured host:port and a bare host on any port', () => {
    assert.equal(checkEgress('http://127.0.0.1:3100/credit-bureau/login', allowed).allowed, true);
    assert.equal(checkEgress('https://portal.example.com/x', allowed).allowed, true);
    assert.equal(checkEgress('http://portal.example.com:8080/x', allowed).allowed, true);
    assert.equal(checkEgress('data:text/html,hi', allowed).allowed, true);
  });
  test('refuses other ports and hosts, file:, and link-local addresses even when listed', () => {
    for (const url of [
      'http://127.0.0.1:3101/',
      'http://evil.example.net/',
      'file:///etc/passwd',
      'http://169.254.169.254/latest/meta-data/',
      'http://[fe80::1]/',
      'ftp://127.0.0.1:3100/',
    ]) {
      const verdict = checkEgress(url, [...allowed, '169.254.169.254', '[fe80::1]']);
      assert.equal(verdict.allowed, false, url);
    }
    const verdict = checkEgress('http://169.254.169.254/', ['169.254.169.254']);
    assert.match(!verdict.allowed ? verdict.reason : '', /link-local/);
  });
  test('default hosts are the host:port of the base URLs', () => {
    assert.deepEqual(
      hostsOf(['http://127.0.0.1:3100/a/', 'http://127.0.0.1:3100/b/', 'https://x.example.com/', 'about:blank']),
      ['127.0.0.1:3100', 'x.example.com:443'],
    );
  });
});

describe('secrets', () => {
  test('a secrets file may be JSON or dotenv', () => {
    assert.deepEqual(parseSecretsFile('{"A":"1","B":2}'), { A: '1' });
    assert.deepEqual(parseSecretsFile('# comment\nexport A="x y"\nB = plain\n\nC=\'q\'\n'), {
      A: 'x y',
      B: 'plain',
      C: 'q',
    });
  });
  test('environment (OPERON_SECRET_<NAME> or <NAME>) beats the file, the file beats defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'operon-secrets-'));
    const file = join(dir, 'secrets.env');
    writeFileSync(file, 'PORTAL_PASSWORD=from-file\nOTHER=file-only\n');
    const store = createSecretStore({
      env: { OPERON_SECRET_PORTAL_PASSWORD: 'from-env' },
      file,
      defaults: { OTHER: 'default', DEMO: 'demo-default' },
    });
    assert.equal(store.get('PORTAL_PASSWORD'), 'from-env');
    assert.equal(store.get('OTHER'), 'file-only');
    assert.equal(store.get('DEMO'), 'demo-default');
    assert.equal(store.get('NOPE'), undefined);
    assert.ok(store.values().includes('from-env') && store.values().includes('from-file'));
  });
  test('masking replaces every value, longest first', () => {
    assert.equal(maskSecrets('user hunter2 pw hunter22', ['hunter2', 'hunter22']), 'user *** pw ***');
    assert.equal(containsSecret({ a: ['x', { b: 'say "hunter2"' }] }, ['hunter2']), true);
    assert.equal(containsSecret({ a: 1 }, ['hunter2']), false);
  });
});

test('browser discovery says how to fix a missing Chromium', () => {
  assert.throws(
    () => discoverChromium('/nope/chrome', { OPERON_CHROMIUM_PATH: '/nope/env-chrome' }, ['/nope/usr-bin-chromium']),
    (error: OperonError) => {
      assert.equal(error.code, 'OPERON_ERR_BROWSER_NOT_FOUND');
      assert.match(error.message, /apt-get install chromium/);
      assert.match(error.message, /npx playwright install chromium/);
      assert.deepEqual(error.details.tried, ['/nope/chrome', '/nope/env-chrome', '/nope/usr-bin-chromium']);
      return true;
    },
  );
  assert.equal(discoverChromium(undefined, { OPERON_CHROMIUM_PATH: process.execPath }, []), process.execPath);
});

test('the limiter never runs more than its limit and keeps order', async () => {
  const limiter = new Limiter(2);
  let active = 0;
  let peak = 0;
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 7 }, (_, i) =>
      limiter.run(async () => {
        active += 1;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        order.push(i);
        active -= 1;
      }),
    ),
  );
  assert.equal(peak, 2);
  assert.equal(order.length, 7);
});

test('defineBot refuses names that cannot be bound as bot:<name>', () => {
  assert.throws(
    () => defineBot({ name: 'Credit Bureau', input: z.object({}), output: z.object({}), run: async () => ({}) }),
    /lower-case/,
  );
});
