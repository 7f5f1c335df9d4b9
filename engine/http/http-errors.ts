/**
 * Maps whatever a route throws (OperonError, fastify's own errors, multipart limits, zod) to one
 * OperonError, so every response carries `{ error: { code, message, details } }`.
 */
import { z } from 'zod';
import { isOperonError, OperonError } from '../errors.ts';
import { isTransientDatabaseError } from '../store/transient-error.ts';

const FASTIFY_CODES: Record<string, OperonError['code']> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'OPERON_ERR_PAYLOAD_TOO_LARGE',
  FST_REQ_FILE_TOO_LARGE: 'OPERON_ERR_PAYLOAD_TOO_LARGE',
  FST_PARTS_LIMIT: 'OPERON_ERR_PAYLOAD_TOO_LARGE',
  FST_FILES_LIMIT: 'OPERON_ERR_PAYLOAD_TOO_LARGE',
  FST_FIELDS_LIMIT: 'OPERON_ERR_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'OPERON_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'OPERON_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'OPERON_ERR_MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'OPERON_ERR_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'OPERON_ERR_VALIDATION',
  FST_PROTO_VIOLATION: 'OPERON_ERR_VALIDATION',
  FST_MP_PREMATURE_CLOSE: 'OPERON_ERR_VALIDATION',
  FST_ERR_VALIDATION: 'OPERON_ERR_VALIDATION',
};

/** Turns zod issues into a validation error whose details name the first offending field. */
export function validationError(where: 'body' | 'query' | 'params' | 'headers', error: z.ZodError): OperonError {
  const issues = error.issues.map((issue) => ({
    field: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  const first = issues[0];
  return new OperonError('OPERON_ERR_VALIDATION', first ? `${first.field}: ${first.message}` : `Invalid ${where}`, {
    details: { field: first?.field, issues },
  });
}

/** Any thrown value as an OperonError; unknown errors become OPERON_ERR_INTERNAL (message not leaked). */
export function toOperonError(error: unknown): OperonError {
  if (isOperonError(error)) return error;
  if (error instanceof z.ZodError) return validationError('body', error);
  const code = (error as { code?: string } | undefined)?.code;
  if (code && FASTIFY_CODES[code]) {
    return new OperonError(FASTIFY_CODES[code], (error as Error).message, { cause: error });
  }
  const statusCode = (error as { statusCode?: number } | undefined)?.statusCode;
  if (error instanceof SyntaxError && statusCode === 400) {
    return new OperonError('OPERON_ERR_MALFORMED_JSON', error.message, { cause: error });
  }
  if (statusCode === 413) return new OperonError('OPERON_ERR_PAYLOAD_TOO_LARGE', undefined, { cause: error });
  if (statusCode === 415) return new OperonError('OPERON_ERR_UNSUPPORTED_MEDIA_TYPE', undefined, { cause: error });
  if (statusCode && statusCode >= 400 && statusCode < 500) {
    return new OperonError('OPERON_ERR_VALIDATION', (error as Error).message, { cause: error });
  }
  // The database went away (or the pool had no connection for it) mid-request: the transaction
  // rolled back unless its commit was under way, so "retry" is the answer; with the same
  // Idempotency-Key, messageId or job lease a retry cannot do the work twice.
  if (isTransientDatabaseError(error)) {
    return new OperonError(
      'OPERON_ERR_DATABASE_UNAVAILABLE',
      'PostgreSQL could not be reached while this request ran; retry after 1 s',
      { cause: error, details: { retryAfterSeconds: 1 }, retryable: true },
    );
  }
  return new OperonError('OPERON_ERR_INTERNAL', undefined, { cause: error });
}
