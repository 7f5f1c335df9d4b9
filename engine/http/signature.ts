/**
 * Standard Webhooks (https://www.standardwebhooks.com) signatures, pure functions.
 *
 * The signed content is `${webhookId}.${webhookTimestamp}.${rawBody}`, HMAC-SHA256 keyed with the
 * base64-decoded part of a `whsec_...` secret, sent as `webhook-signature: v1,<base64>`. A header may
 * carry several space-separated signatures and a process may have several secrets, so senders and
 * receivers can rotate secrets without a window where deliveries fail.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
/** How far a webhook-timestamp may be from our clock, either way (replay window). */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export interface WebhookHeaders {
  webhookId?: string;
  webhookTimestamp?: string;
  webhookSignature?: string;
}

export type VerifyResult =
  | { ok: true }
  | { ok: false; reason: 'missing-headers' | 'bad-timestamp' | 'stale-timestamp' | 'no-matching-signature' };

/** Fewest different byte values a secret's key may have: 16 random bytes have about 15.5, all zeros have one. */
export const MIN_DISTINCT_SECRET_BYTES = 8;

/** What `isWebhookSecret` asks of a secret, as validation errors say it. */
export const WEBHOOK_SECRET_RULE = `must be a Standard Webhooks secret: whsec_ followed by base64 of at least 16 random bytes (at least ${MIN_DISTINCT_SECRET_BYTES} different byte values; generate one with openssl rand -base64 32)`;

/**
 * True when `secret` is `whsec_` followed by base64 of at least 16 bytes (24 up to 64 recommended)
 * that look random: a key of few distinct bytes (all zeros, a repeated character) is refused.
 */
export function isWebhookSecret(secret: string): boolean {
  if (!secret.startsWith(SECRET_PREFIX)) return false;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return false;
  const key = Buffer.from(encoded, 'base64');
  return key.length >= 16 && new Set(key).size >= MIN_DISTINCT_SECRET_BYTES;
}

/** A fresh `whsec_` secret (32 random bytes). */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

/** The `v1,<base64>` signature a sender puts into `webhook-signature`. */
export function signWebhook(
  secret: string,
  webhookId: string,
  timestampSeconds: number | string,
  rawBody: string | Buffer,
): string {
  const mac = createHmac('sha256', secretKey(secret))
    .update(`${webhookId}.${timestampSeconds}.`)
    .update(rawBody)
    .digest('base64');
  return `v1,${mac}`;
}

/**
 * What can be checked before the body arrives: the three headers are there and the timestamp is
 * within the tolerance. A delivery that fails here is refused without reading its body.
 */
export function checkWebhookHeaders(
  headers: WebhookHeaders,
  now: Date = new Date(),
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
): VerifyResult {
  const { webhookId, webhookTimestamp, webhookSignature } = headers;
  if (!webhookId || !webhookTimestamp || !webhookSignature) return { ok: false, reason: 'missing-headers' };
  if (!/^\d{1,12}$/.test(webhookTimestamp)) return { ok: false, reason: 'bad-timestamp' };
  if (Math.abs(now.getTime() / 1000 - Number(webhookTimestamp)) > toleranceSeconds)
    return { ok: false, reason: 'stale-timestamp' };
  return { ok: true };
}

/**
 * Checks the Standard Webhooks headers of one delivery against every configured secret, on the
 * body's raw bytes (nothing of it is parsed before). Only `v1` signatures count; comparison is
 * constant-time per candidate.
 */
export function verifyWebhook(
  secrets: readonly string[],
  headers: WebhookHeaders,
  rawBody: string | Buffer,
  now: Date = new Date(),
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
): VerifyResult {
  const headersChecked = checkWebhookHeaders(headers, now, toleranceSeconds);
  if (!headersChecked.ok) return headersChecked;
  const { webhookId, webhookTimestamp, webhookSignature } = headers as Required<WebhookHeaders>;

  const presented = webhookSignature
    .split(' ')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1,'))
    .map((part) => Buffer.from(part.slice(3), 'base64'));

  let matched = false;
  for (const secret of secrets) {
    const expected = Buffer.from(signWebhook(secret, webhookId, webhookTimestamp, rawBody).slice(3), 'base64');
    for (const candidate of presented) {
      // Keep looping after a match so the time taken does not tell which secret or position matched.
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
    }
  }
  return matched ? { ok: true } : { ok: false, reason: 'no-matching-signature' };
}
