/**
 * One errors module with codes (in the style of fastify's lib/errors.js).
 *
 * - `OperonError`: a technical or input error with a stable `OPERON_ERR_*` code, an HTTP status for
 *   the API, `details` naming the offending element/field, and a `retryable` flag for job workers.
 * - `BpmnError`: a *business* error raised by a node; the engine routes it to an error boundary or
 *   error event subprocess with a matching `errorCode`, never retries it.
 *
 * Every code in `ERROR_CODES` must be documented in docs/errors.md (a test checks this).
 */

export const ERROR_CODES = {
  // deployment / model
  OPERON_ERR_BPMN_PARSE: { status: 400, message: 'The BPMN XML could not be parsed' },
  OPERON_ERR_BPMN_INVALID: { status: 400, message: 'The BPMN model is invalid' },
  OPERON_ERR_BPMN_UNSAFE: {
    status: 400,
    message:
      'The BPMN file was refused before parsing (declarations, control characters, reserved ids or size/depth/element limits)',
  },
  OPERON_ERR_BPMN_UNSUPPORTED: { status: 400, message: 'The BPMN model uses an element Operon does not execute' },
  OPERON_ERR_DMN_PARSE: { status: 400, message: 'The DMN XML could not be parsed' },
  OPERON_ERR_DMN_INVALID: {
    status: 400,
    message: 'The DMN model is invalid or uses decision logic Operon does not evaluate',
  },
  OPERON_ERR_FEEL_SYNTAX: { status: 400, message: 'A FEEL expression has a syntax error' },
  OPERON_ERR_UNKNOWN_BOT: { status: 400, message: 'A bot: task names a bot that is not registered' },
  OPERON_ERR_UNKNOWN_MODEL: {
    status: 400,
    message: 'A decision: task names a model that does not exist or cannot be loaded',
  },
  OPERON_ERR_TIMER_CYCLE_TOO_SHORT: {
    status: 400,
    message: 'A timer cycle repeats more often than the minimum interval allows',
  },
  // runtime
  OPERON_ERR_DMN_EVAL: {
    status: 422,
    message:
      'A DMN decision failed: a hit policy was violated, an expression failed, or the called decision is not deployed',
  },
  OPERON_ERR_FEEL_EVAL: { status: 422, message: 'A FEEL expression failed at run time' },
  OPERON_ERR_FEEL_BUDGET: {
    status: 422,
    message: 'A FEEL expression ran past its time budget (or its memory) and was stopped',
  },
  OPERON_ERR_CONDITION_NOT_BOOLEAN: { status: 422, message: 'A gateway condition did not evaluate to a boolean' },
  OPERON_ERR_NO_OUTGOING_FLOW: {
    status: 422,
    message: 'No outgoing sequence flow condition matched and there is no default flow',
  },
  OPERON_ERR_UNCAUGHT_BPMN_ERROR: {
    status: 422,
    message: 'A BPMN error was thrown and no boundary or event subprocess caught it',
  },
  OPERON_ERR_STEP_LIMIT: {
    status: 422,
    message:
      'One step activated too many elements, or ran too long, without reaching a wait state (a loop without a wait?)',
  },
  OPERON_ERR_JOB_FAILED: { status: 500, message: 'A job failed and has no retries left' },
  OPERON_ERR_MISSING_VARIABLES: { status: 422, message: 'Variables a node needs are missing' },
  OPERON_ERR_NODE_INPUT: { status: 422, message: 'A node rejected its input' },
  OPERON_ERR_DECISION_INPUT: {
    status: 422,
    message: 'A decision input has the wrong type, is out of its declared range or not one of its values',
  },
  OPERON_ERR_NODE_TIMEOUT: { status: 504, message: 'A node did not finish within its time limit' },
  OPERON_ERR_BOT_OUTPUT: {
    status: 500,
    message: 'A bot returned output that does not match its schema, or a secret value',
  },
  OPERON_ERR_HTTP_EGRESS_DENIED: {
    status: 422,
    message: 'The http node refused a destination: an internal, private or metadata address not on the allow list',
  },
  OPERON_ERR_HTTP_RESPONSE_TOO_LARGE: {
    status: 422,
    message: 'A response to the http node was larger than its size limit',
  },
  OPERON_ERR_HTTP_TOO_MANY_REDIRECTS: {
    status: 422,
    message: 'The http node was redirected more often than its limit',
  },
  OPERON_ERR_BOT_EGRESS_BLOCKED: {
    status: 422,
    message: 'A bot navigated to a host outside the egress policy and was stopped',
  },
  OPERON_ERR_BOT_SECRET_MISSING: { status: 500, message: 'A secret a bot needs is not configured' },
  OPERON_ERR_BROWSER_NOT_FOUND: { status: 500, message: 'No Chromium executable was found for bot nodes' },
  OPERON_ERR_PORT_IN_USE: { status: 500, message: 'The port the HTTP API should listen on is in use' },
  // registries
  OPERON_ERR_NODE_ALREADY_REGISTERED: { status: 500, message: 'A node type with this name is already registered' },
  OPERON_ERR_UNKNOWN_NODE_TYPE: { status: 500, message: 'No node type with this name is registered' },
  // store / concurrency
  OPERON_ERR_NOT_FOUND: { status: 404, message: 'The resource does not exist' },
  OPERON_ERR_CONFLICT: {
    status: 409,
    message: 'The resource changed concurrently or is in a state that does not allow this',
  },
  OPERON_ERR_PROMOTION_REFUSED: {
    status: 409,
    message:
      'A decision model version may not be activated: the promotion gate refused it or its shadow period does not allow it yet',
  },
  OPERON_ERR_MIGRATION_REFUSED: {
    status: 409,
    message: 'The instance cannot be migrated: an active element has no mapping to an element of the same kind',
  },
  OPERON_ERR_FINETUNE_FAILED: {
    status: 500,
    message: 'Fine-tuning a decision model failed: the folder has no weights.pt, or the training process failed',
  },
  OPERON_ERR_LEASE_LOST: { status: 409, message: 'The job lease is no longer held by this worker' },
  OPERON_ERR_JOB_COMPLETED_BY_OTHER: {
    status: 409,
    message: 'The job was completed by another worker or attempt; this result was not applied',
  },
  OPERON_ERR_JOB_ALREADY_COMPLETED: {
    status: 409,
    message: 'This worker and attempt already completed the job, with a different result',
  },
  OPERON_ERR_INSTANCE_NOT_ACTIVE: { status: 409, message: 'The process instance is not active' },
  OPERON_ERR_CHILD_TERMINATED: {
    status: 409,
    message: 'The child instance of a call activity was terminated while its parent waited for it',
  },
  // HTTP
  OPERON_ERR_UNAUTHORIZED: { status: 401, message: 'Missing or invalid credentials' },
  OPERON_ERR_FORBIDDEN: {
    status: 403,
    message: 'The caller is signed in but its roles, candidate groups or task types do not allow this',
  },
  OPERON_ERR_FOUR_EYES: {
    status: 403,
    message: 'A four-eyes task cannot be completed by the instance starter or an earlier reviewer of the case',
  },
  OPERON_ERR_BAD_SIGNATURE: { status: 401, message: 'The webhook signature is missing, wrong or stale' },
  OPERON_ERR_WEBHOOK_NOT_CONFIGURED: {
    status: 401,
    message: 'The process has no webhook secret and is not configured as open',
  },
  OPERON_ERR_VALIDATION: { status: 400, message: 'The request does not match its schema' },
  OPERON_ERR_START_VARIABLES: {
    status: 400,
    message: 'A start variable does not match what the process declares for it',
  },
  OPERON_ERR_MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON' },
  OPERON_ERR_JSON_TOO_DEEP: { status: 400, message: 'The JSON body nests arrays and objects too deeply' },
  OPERON_ERR_PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is larger than the limit' },
  OPERON_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The content type is not supported by this route' },
  OPERON_ERR_IDEMPOTENCY_MISMATCH: {
    status: 422,
    message: 'The Idempotency-Key was used before with a different request',
  },
  OPERON_ERR_IDEMPOTENCY_IN_FLIGHT: {
    status: 409,
    message: 'The row of this Idempotency-Key was removed while the request ran; retry',
  },
  OPERON_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests' },
  OPERON_ERR_DATABASE_UNAVAILABLE: { status: 503, message: 'PostgreSQL cannot be reached; retry later' },
  OPERON_ERR_OVERLOADED: { status: 503, message: 'Too much work waits for the database; retry later' },
  OPERON_ERR_IDP_UNAVAILABLE: {
    status: 503,
    message: "The identity provider's discovery document or keys cannot be fetched; retry later",
  },
  OPERON_ERR_INTERNAL: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface OperonErrorOptions {
  /** The offending element id, field, file ... — whatever tells the user where to look. */
  details?: Record<string, unknown>;
  /** For job workers: may the same job succeed if tried again? */
  retryable?: boolean;
  cause?: unknown;
}

/** A technical or input error with a stable code. */
export class OperonError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: Record<string, unknown>;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message?: string, options: OperonErrorOptions = {}) {
    super(message ?? ERROR_CODES[code].message, { cause: options.cause });
    this.name = 'OperonError';
    this.code = code;
    this.statusCode = ERROR_CODES[code].status;
    this.details = options.details ?? {};
    this.retryable = options.retryable ?? false;
  }

  toJSON() {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

/**
 * A business error raised by a node (e.g. "applicant not found"). Caught by an error boundary event
 * or error event subprocess whose error code matches; never retried.
 */
export class BpmnError extends Error {
  readonly errorCode: string;
  readonly variables: Record<string, unknown>;

  constructor(errorCode: string, message?: string, variables: Record<string, unknown> = {}) {
    super(message ?? `BPMN error ${errorCode}`);
    this.name = 'BpmnError';
    this.errorCode = errorCode;
    this.variables = variables;
  }
}

export function isOperonError(error: unknown): error is OperonError {
  return error instanceof OperonError;
}

export function isBpmnError(error: unknown): error is BpmnError {
  return (
    error instanceof BpmnError ||
    (typeof error === 'object' && error !== null && (error as { name?: string }).name === 'BpmnError')
  );
}
