import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWebhookSecret, isWebhookSecret, signWebhook, verifyWebhook } from '../../engine/http/signature.ts';

// Test vector from the Standard Webhooks reference libraries (standard-webhooks/libraries, spec tests).
const SPEC_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SPEC_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const SPEC_TIMESTAMP = '1614265330';
const SPEC_BODY = '{"test": 2432232314}';
const SPEC_SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

test('signs like the Standard Webhooks reference implementation', () => {
  assert.equal(signWebhook(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY), SPEC_SIGNATURE);
});

test('accepts a valid signature within the tolerance', () => {
  const now = new Date(Number(SPEC_TIMESTAMP) * 1000 + 60_000);
  const result = verifyWebhook(
    [SPEC_SECRET],
    { webhookId: SPEC_ID, webhookTimestamp: SPEC_TIMESTAMP, webhookSignature: SPEC_SIGNATURE },
    SPEC_BODY,
    now,
  );
  assert.deepEqual(result, { ok: true });
});

test('rejects a wrong secret, a changed body, a stale or future timestamp and missing headers', () => {
  const now = new Date(Number(SPEC_TIMESTAMP) * 1000);
  const headers = { webhookId: SPEC_ID, webhookTimestamp: SPEC_TIMESTAMP, webhookSignature: SPEC_SIGNATURE };
  assert.deepEqual(verifyWebhook([generateWebhookSecret()], headers, SPEC_BODY, now), {
    ok: false,
    reason: 'no-matching-signature',
  });
  assert.deepEqual(verifyWebhook([SPEC_SECRET], headers, `${SPEC_BODY} `, now), {
    ok: false,
    reason: 'no-matching-signature',
  });
  assert.deepEqual(verifyWebhook([SPEC_SECRET], { ...headers, webhookId: 'msg_other' }, SPEC_BODY, now), {
    ok: false,
    reason: 'no-matching-signature',
  });
  assert.deepEqual(verifyWebhook([SPEC_SECRET], headers, SPEC_BODY, new Date(now.getTime() + 301_000)), {
    ok: false,
    reason: 'stale-timestamp',
  });
  assert.deepEqual(verifyWebhook([SPEC_SECRET], headers, SPEC_BODY, new Date(now.getTime() - 301_000)), {
    ok: false,
    reason: 'stale-timestamp',
  });
  assert.deepEqual(verifyWebhook([SPEC_SECRET], { ...headers, webhookTimestamp: '12.5' }, SPEC_BODY, now), {
    ok: false,
    reason: 'bad-timestamp',
  });
  assert.deepEqual(verifyWebhook([SPEC_SECRET], { ...headers, webhookSignature: undefined }, SPEC_BODY, now), {
    ok: false,
    reason: 'missing-headers',
  });
  assert.deepEqual(
    verifyWebhook(
      [SPEC_SECRET],
      { ...headers, webhookSignature: SPEC_SIGNATURE.replace('v1,', 'v1a,') },
      SPEC_BODY,
      now,
    ),
    { ok: false, reason: 'no-matching-signature' },
  );
});

test('rotation: any of several signatures in the header and any of several secrets', () => {
  const oldSecret = generateWebhookSecret();
  const newSecret = generateWebhookSecret();
  const now = new Date();
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const body = '{"orderId":42}';
  const both = `${signWebhook(oldSecret, 'msg_1', timestamp, body)} ${signWebhook(newSecret, 'msg_1', timestamp, body)}`;
  // Receiver knows only the new secret, sender signs with both.
  assert.deepEqual(
    verifyWebhook([newSecret], { webhookId: 'msg_1', webhookTimestamp: timestamp, webhookSignature: both }, body, now),
    { ok: true },
  );
  // Receiver knows both secrets, sender signs with the old one only.
  const oldOnly = signWebhook(oldSecret, 'msg_1', timestamp, body);
  assert.deepEqual(
    verifyWebhook(
      [newSecret, oldSecret],
      { webhookId: 'msg_1', webhookTimestamp: timestamp, webhookSignature: oldOnly },
      body,
      now,
    ),
    { ok: true },
  );
  assert.equal(
    verifyWebhook(
      [newSecret],
      { webhookId: 'msg_1', webhookTimestamp: timestamp, webhookSignature: oldOnly },
      body,
      now,
    ).ok,
    false,
  );
});

test('secret format', () => {
  assert.equal(isWebhookSecret(generateWebhookSecret()), true);
  assert.equal(isWebhookSecret(SPEC_SECRET), true);
  assert.equal(isWebhookSecret('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'), false);
  assert.equal(isWebhookSecret('whsec_short'), false);
  assert.equal(isWebhookSecret('whsec_not base64!!'), false);
});
