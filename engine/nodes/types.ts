/**
 * The contract between the engine and the nodes that carry out service tasks.
 *
 * The engine never imports Playwright or onnxruntime: `nodes/bot` and `nodes/decision` implement
 * `NodeType` and are injected by name into the worker (temporal-style `Worker.create({ activities })`).
 * A node never sees the database: the audit rows it makes (`decisions`, `bot_runs`) go through
 * `ctx.record`, and the `RecordHook` its package registers writes them in the transaction that
 * applies the job's result (temporal's activity context and interceptors).
 */
import type { Knex } from 'knex';

export type Variables = Record<string, unknown>;

/** Minimal structured logger (pino satisfies it). Never log secrets. */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Named secrets (environment or secrets file). Values are injected at run time only. */
export interface SecretStore {
  get(name: string): string | undefined;
  /** Every secret value known, so loggers / screenshots / recorders can mask them. */
  values(): string[];
}

/** What a node receives besides its mapped input variables. */
export interface NodeContext {
  /** Aborted on boundary timer interruption, instance cancellation, lease loss, job timeout and shutdown. */
  signal: AbortSignal;
  logger: Logger;
  instanceId: string;
  elementId: string;
  /** Id of the element instance (one activation of the element). */
  elementInstanceId: string;
  jobId: string;
  /** 1 on the first try. */
  attempt: number;
  /** The full `zeebe:taskDefinition type`, e.g. `bot:credit-bureau` or `decision:loan`. */
  taskType: string;
  /** `zeebe:taskHeaders` of the element. */
  headers: Record<string, string>;
  /** `zeebe:properties` of the element (the worker passes {} when it has none). */
  properties?: Record<string, string>;
  /** Set when the job is a listener's: `start` / `end` (zeebe:executionListener) or `creating` (zeebe:taskListener). */
  listenerEventType?: 'start' | 'end' | 'creating' | 'assigning' | 'updating' | 'completing' | 'canceling';
  secrets: SecretStore;
  /**
   * Attaches an audit record to this attempt. The `RecordHook` registered for `kind` writes it in
   * the transaction that applies the job's result (completion, BPMN error or failure), so the record
   * and the result commit or roll back together. Throws when no hook handles `kind`.
   */
  record(kind: string, payload: Record<string, unknown>): void;
  /**
   * The job's span (docs/observability.md): headers that continue its trace in a service the node
   * calls, attributes, child spans. The worker always sets it; it costs nothing when tracing is off.
   */
  trace?: NodeTrace;
}

/** Attribute values a span takes. */
export type SpanAttributes = Record<string, string | number | boolean>;

/** A span a node can add to: the job's, or a child of it (`span`). */
export interface NodeTrace {
  /** `traceparent` (and `tracestate`) that continue this span's trace in a called service; {} without a trace. */
  headers(): Record<string, string>;
  setAttributes(attributes: SpanAttributes): void;
  /**
   * Runs `fn` in a child span that ends with it (failed when it throws); `client` for a call to
   * another service, whose headers `fn` then sends.
   */
  span<T>(
    name: string,
    options: { kind?: 'internal' | 'client'; attributes?: SpanAttributes },
    fn: (span: NodeTrace) => Promise<T>,
  ): Promise<T>;
}

/** A record a node attached to its attempt (`ctx.record`). */
export interface JobRecord {
  kind: string;
  payload: Record<string, unknown>;
}

/**
 * Writes the records of one kind inside the transaction that applies their job's result; the
 * package whose node makes the records registers it (`NodeType.recordHooks`).
 */
export interface RecordHook {
  kind: string;
  /**
   * Records of an attempt whose result is never applied (lease lost, job cancelled, worker shut
   * down, result refused): `true` writes them anyway, in a transaction of their own (attempt logs
   * such as `bot_runs`: the attempt happened); `false` (default) drops them with the result
   * (result records such as `decisions`).
   */
  keepUnapplied?: boolean;
  write(tx: Knex.Transaction, payloads: Record<string, unknown>[]): Promise<void>;
}

/** What the engine tells a node type at deploy time about one element bound to it. */
export interface NodeBinding {
  elementId: string;
  /** The full task type, e.g. `bot:credit-bureau`. */
  taskType: string;
  /** The part after `prefix:` (`credit-bureau`), or '' for an exact-name type such as `noop`. */
  name: string;
  headers: Record<string, string>;
}

/**
 * A node type. `name` is either an exact task type (`noop`, `http`, `fail`) or a prefix (`bot`,
 * `decision`) that handles every task type `<prefix>:<anything>`.
 *
 * `run` returns output variables (merged per the element's output mapping), or throws:
 * - `BpmnError` for a business outcome the BPMN can catch (not retried);
 * - `OperonError` with `retryable: false` for input errors (incident at once);
 * - anything else is a technical error, retried per `zeebe:taskDefinition retries`.
 */
export interface NodeType {
  name: string;
  /** Checks a binding at deploy time; throws an `OperonError` naming the element if it can never work. */
  validate?(binding: NodeBinding): void | Promise<void>;
  run(input: Variables, ctx: NodeContext): Promise<Variables | void>;
  /**
   * The node stops itself at the job's `timeoutMs` header (and reports it with its own diagnostics,
   * e.g. a bot's screenshot and trace); the worker's own deadline then only backs it up, 2 s later.
   */
  enforcesTimeout?: boolean;
  /** The hooks that write this node's `ctx.record` kinds; the registry refuses a kind registered twice. */
  recordHooks?: RecordHook[];
  /**
   * The worker pool whose slots this node's jobs take (`bot`, `decision`, `http`, `builtin`; see
   * engine/jobs/pools.ts). Jobs of one pool never wait for slots of another. Default: a pool of its own.
   */
  pool?: string;
  /** Releases browsers, sessions ... when the worker stops. */
  close?(): Promise<void>;
}
