/**
 * Given Playwright's client connection of the bot browser, when an answer or an event refers to an
 * object the client already disposed (what a navigation finishing while its page closes produces),
 * then the call it answers is rejected and the event is dropped, instead of an exception thrown
 * inside Playwright's message loop that would end the worker process.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { BrowserHost } from '../../nodes/bot/browser.ts';

interface Connection {
  dispatch(message: object): void;
  _callbacks: Map<string, { resolve(value: unknown): void; reject(error: Error): void; type: string; method: string }>;
}

let host: BrowserHost;
let browser: Browser;
let connection: Connection;

before(async () => {
  host = new BrowserHost({});
  browser = await host.browser();
  connection = (browser as unknown as { _connection: Connection })._connection;
});
after(async () => host?.close());

test('an answer naming a disposed Response rejects its call', async () => {
  const settled = new Promise((resolve, reject) =>
    connection._callbacks.set('forged-1', { resolve, reject, type: 'Frame', method: 'goto' }),
  );
  assert.doesNotThrow(() =>
    connection.dispatch({ id: 'forged-1', result: { response: { guid: 'response@disposed' } } }),
  );
  await assert.rejects(
    settled,
    /has been closed \(Object with guid response@disposed was not bound in the connection\)/,
  );
});

test('an event naming a disposed object is dropped; the browser keeps working', async () => {
  const contextGuid = await browser.newContext().then(async (context) => {
    const guid = (context as unknown as { _guid: string })._guid;
    assert.doesNotThrow(() =>
      connection.dispatch({
        guid,
        method: 'response',
        params: { response: { guid: 'response@disposed' }, page: { guid: 'page@disposed' } },
      }),
    );
    const page = await context.newPage();
    await page.setContent('<p id="still">alive</p>');
    assert.equal(await page.locator('#still').textContent(), 'alive');
    await context.close();
    return guid;
  });
  assert.match(contextGuid, /^browser-context@/);
});

test('other errors in the message loop are not swallowed', () => {
  assert.throws(() => connection.dispatch({ id: 'no-such-call', result: {} }), /Cannot find command to respond/);
});
