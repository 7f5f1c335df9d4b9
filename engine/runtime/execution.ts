/**
 * One step of token semantics over a working copy of the snapshot.
 *
 * Tokens travel through a FIFO agenda, so a step never recurses deeply, however long the chain of
 * pass-through elements or loop iterations between two wait states. Each scope (the process, an
 * embedded or event subprocess instance, a multi-instance body) counts its tokens: child element
 * instances, tokens in flight on a sequence flow and tokens waiting at a parallel or inclusive join.
 * A scope completes when its count drops to 0.
 *
 * This core owns the lifecycle every element shares (input mappings, listeners, boundary events,
 * output mappings, leaving over sequence flows, terminating, incidents); what one element kind does
 * is its module in engine/runtime/elements/, reached through the registry (`kindOfInstance`).
 */
import type { ErrorCode } from '../errors.ts';
import { evaluateFeel, isFeelExpression, stripFeelMarker, type FeelSession } from '../feel/index.ts';
import {
  boundaryEventsOf,
  elementOfType,
  type FlowElement,
  type ListenerDefinition,
  type ProcessGraph,
} from '../model/graph.ts';
import type { Variables } from '../nodes/types.ts';
import { jobLimitsOf } from '../model/job-limits.ts';
import type { DecisionSource, Effect, UserTaskChange } from './contract.ts';
import { nextElementLifecycle, type ElementLifecycleEvent } from './lifecycle.ts';
import { ROOT_KEY, type ElementInstance, type IncidentPhase, type ListenerEvent, type RuntimeState } from './state.ts';
import { DEFAULT_MIN_CYCLE_INTERVAL_MS, dueFromText } from './timers.ts';
import { kindOfInstance, type ElementKind } from './elements/index.ts';
import { openBoundaryEvents } from './elements/boundary-event.ts';
import { closeSubscriptions } from './elements/definitions/message.ts';
import { closeTimers } from './elements/definitions/timer.ts';
import { fireInclusiveJoins } from './inclusive-join.ts';
import { openEventSubprocesses, startEventSubprocess } from './event-subprocess.ts';
import { handlerCompleted, recordCompensable } from './compensation.ts';

/** An expression as incident messages quote it: a hostile one may be long. */
function clip(expression: string): string {
  return expression.length > 200 ? `${expression.slice(0, 200)}…` : expression;
}

/** A token arriving at an element over a sequence flow (or at a start event, with no flow). */
interface Arrival {
  elementId: string;
  flowScopeKey: string;
  flowId?: string;
  /** The target event already happened (event-based gateway): it completes at once with these variables. */
  trigger?: Variables;
  /** Starts the next inner instance of the multi-instance body `flowScopeKey`. */
  nextLoopItem?: true;
  /** Runs a compensation handler for the throw or end event `throwKey`, starting with these local variables. */
  handlerOf?: { throwKey: string; variables?: Variables };
}

/** Thrown inside a behaviour to stop the element with an incident; caught by the step, never leaves it. */
export class IncidentSignal {
  constructor(
    readonly code: ErrorCode,
    readonly message: string,
    readonly details: Record<string, unknown> = {},
  ) {}
}

/** Activations one step may make before the tokens stop with an incident (a loop without wait state). */
export const STEP_ACTIVATION_LIMIT = 50_000;

/** Engine-thread time one step may take, `OPERON_STEP_BUDGET_MS` (default 500 ms). */
export function defaultStepBudgetMs(): number {
  const configured = Number(process.env.OPERON_STEP_BUDGET_MS);
  return Number.isFinite(configured) && configured > 0 ? configured : 500;
}

/** How often (in activations) a step looks at its time budget: reading the clock costs more than an activation's bookkeeping. */
const BUDGET_CHECK_EVERY = 16;

/** What bounds one step besides its input: the FEEL session of its driver and its limits. */
export interface ExecutionLimits {
  activationLimit?: number;
  stepBudgetMs?: number;
  minCycleIntervalMs?: number;
  feel?: FeelSession;
  decisions?: DecisionSource;
}

export class Execution {
  readonly effects: Effect[] = [];
  private readonly agenda: Arrival[] = [];
  private activations = 0;
  private readonly activationLimit: number;
  private readonly stepBudgetMs: number;
  /** Shortest interval a timer cycle may repeat at (StepContext.minCycleIntervalMs). */
  readonly minCycleIntervalMs: number;
  /**
   * The one input a step takes from the machine it runs on: a step that holds the engine's thread
   * past its time budget stops with an incident (the element where it stopped), as it does at the
   * activation limit, so that a loop without a wait state cannot stall the event loop.
   */
  private readonly deadline: number;
  /** The step's FEEL session (expressions run inline or on the budgeted worker). */
  readonly feelSession: FeelSession | undefined;
  /** The driver's deployed decisions (business rule tasks with zeebe:calledDecision). */
  readonly decisions: DecisionSource | undefined;
  private outOfTime = false;

  constructor(
    readonly graph: ProcessGraph,
    readonly state: RuntimeState,
    readonly now: Date,
    limits: ExecutionLimits = {},
  ) {
    this.activationLimit = limits.activationLimit ?? STEP_ACTIVATION_LIMIT;
    this.stepBudgetMs = limits.stepBudgetMs ?? defaultStepBudgetMs();
    this.minCycleIntervalMs = limits.minCycleIntervalMs ?? DEFAULT_MIN_CYCLE_INTERVAL_MS;
    this.deadline = performance.now() + this.stepBudgetMs;
    this.feelSession = limits.feel;
    this.decisions = limits.decisions;
  }

  /** True once the step's FEEL session waits for a worker answer, or a decision is not loaded yet: this pass is void and ends early. */
  get abandoned(): boolean {
    return this.feelSession?.pending === true || this.decisions?.pending === true;
  }

  // ---------------------------------------------------------------- keys, scopes, variables

  nextKey(): string {
    this.state.seq += 1;
    return String(this.state.seq);
  }

  element(ei: ElementInstance): FlowElement {
    return this.graph.elements[ei.elementId]!;
  }

  /** A copy of the visible variables for an effect: effects never share objects with the snapshot. */
  variablesForEffect(key: string): Variables {
    return JSON.parse(JSON.stringify(this.visibleVariables(key))) as Variables;
  }

  /** Every variable visible from an element instance, inner scopes shadowing outer ones. */
  visibleVariables(key: string): Variables {
    const chain: Variables[] = [];
    for (
      let ei: ElementInstance | undefined = this.state.elements[key];
      ei;
      ei = ei.key === ROOT_KEY ? undefined : this.state.elements[ei.flowScopeKey]
    ) {
      if (ei.variables) chain.push(ei.variables);
    }
    if (chain.length === 1) return { ...chain[0] };
    const out: Variables = {};
    for (let i = chain.length - 1; i >= 0; i--) Object.assign(out, chain[i]);
    return out;
  }

  /**
   * Camunda 8 propagation: each variable is set in the nearest scope (from `key` outwards) that
   * already defines it, otherwise in the process instance's root scope.
   */
  propagate(key: string, variables: Variables | undefined): void {
    if (!variables) return;
    for (const [name, value] of Object.entries(variables)) {
      let target = this.state.elements[ROOT_KEY]!;
      for (
        let ei: ElementInstance | undefined = this.state.elements[key];
        ei && ei.key !== ROOT_KEY;
        ei = this.state.elements[ei.flowScopeKey]
      ) {
        if (ei.variables && Object.hasOwn(ei.variables, name)) {
          target = ei;
          break;
        }
      }
      (target.variables ??= {})[name] = value;
    }
  }

  /** Evaluates FEEL against the variables visible from `key`; a failure becomes an incident. */
  feel(expression: string, key: string, context?: Variables): unknown {
    const result = evaluateFeel(expression, context ?? this.visibleVariables(key), this.now, this.feelSession);
    if (result.ok) return result.value;
    if (result.overBudget)
      throw new IncidentSignal(
        'OPERON_ERR_FEEL_BUDGET',
        `FEEL expression "${clip(expression)}" was stopped: ${result.message}`,
        { expression },
      );
    throw new IncidentSignal(
      'OPERON_ERR_FEEL_EVAL',
      `FEEL expression "${clip(expression)}" failed: ${result.message}`,
      { expression },
    );
  }

  /** A text attribute that may be FEEL (`=...`) or a literal. */
  textValue(text: string, key: string): string {
    if (!isFeelExpression(text)) return text;
    const value = this.feel(stripFeelMarker(text), key);
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw new IncidentSignal(
      'OPERON_ERR_FEEL_EVAL',
      `expression "${text}" gave ${JSON.stringify(value)}, expected a string`,
      { expression: text },
    );
  }

  private lifecycle(ei: ElementInstance, event: ElementLifecycleEvent): void {
    ei.lifecycle = nextElementLifecycle(ei.lifecycle, event);
  }

  // ---------------------------------------------------------------- token flow

  /** Puts a token on the way to `elementId` inside the scope `flowScopeKey`. */
  enqueue(arrival: Arrival): void {
    this.state.elements[arrival.flowScopeKey]!.tokens! += 1;
    this.agenda.push(arrival);
  }

  /** Moves every queued token until all of them wait or are consumed. */
  run(): void {
    do {
      for (let arrival = this.agenda.shift(); arrival && !this.abandoned; arrival = this.agenda.shift()) {
        // Its scope was terminated meanwhile (or is being terminated, held by canceling listeners).
        const scope = this.state.elements[arrival.flowScopeKey];
        if (!scope || scope.lifecycle === 'terminating') continue;
        this.arrive(arrival);
      }
    } while (!this.abandoned && fireInclusiveJoins(this));
  }

  private arrive(arrival: Arrival): void {
    const element = this.graph.elements[arrival.elementId]!;
    if (arrival.nextLoopItem) {
      const wrapper = this.state.elements[arrival.flowScopeKey]!;
      kindOfInstance(wrapper, element).startInner?.(this, wrapper, element);
      return;
    }
    if (element.incoming.length > 1 && element.type === 'parallelGateway') {
      this.arriveAtJoin(element, arrival);
      return;
    }
    if (element.incoming.length > 1 && element.type === 'inclusiveGateway') {
      // Whether it may fire depends on every other token of the scope: decided once the agenda is empty.
      const waiting = (this.state.joins[`${arrival.flowScopeKey}|${element.id}`] ??= {});
      waiting[arrival.flowId ?? ''] = (waiting[arrival.flowId ?? ''] ?? 0) + 1;
      return;
    }
    this.activate(element, arrival.flowScopeKey, arrival.trigger, undefined, arrival.handlerOf);
  }

  /** Fires a join with one token from each incoming flow that holds one (parallel: all of them). */
  fireJoin(gateway: FlowElement, flowScopeKey: string): void {
    const joinKey = `${flowScopeKey}|${gateway.id}`;
    const waiting = this.state.joins[joinKey]!;
    let merged = 0;
    for (const id of gateway.incoming) {
      if (!waiting[id]) continue;
      merged += 1;
      waiting[id] -= 1;
      if (waiting[id] === 0) delete waiting[id];
    }
    if (Object.keys(waiting).length === 0) delete this.state.joins[joinKey];
    // The gateway instance replaces the merged tokens: one token stays counted for it.
    this.state.elements[flowScopeKey]!.tokens! -= merged - 1;
    this.activate(gateway, flowScopeKey);
  }

  /** A parallel join fires when each incoming flow holds at least one token; extra tokens wait for the next firing. */
  private arriveAtJoin(gateway: FlowElement, arrival: Arrival): void {
    const joinKey = `${arrival.flowScopeKey}|${gateway.id}`;
    const waiting = (this.state.joins[joinKey] ??= {});
    const flowId = arrival.flowId ?? '';
    waiting[flowId] = (waiting[flowId] ?? 0) + 1;
    if (gateway.incoming.every((id) => (waiting[id] ?? 0) > 0)) this.fireJoin(gateway, arrival.flowScopeKey);
  }

  /** Creates an element instance for a token that is already counted in its scope. */
  activate(
    element: FlowElement,
    flowScopeKey: string,
    trigger?: Variables,
    inner?: { loopIndex: number; variables: Variables },
    handlerOf?: Arrival['handlerOf'],
  ): ElementInstance {
    const key = this.nextKey();
    const ei: ElementInstance = {
      key,
      elementId: element.id,
      flowScopeKey,
      lifecycle: 'activating',
      ...(trigger ? { trigger } : {}),
    };
    if (inner) {
      ei.loopIndex = inner.loopIndex;
      ei.variables = inner.variables;
    }
    if (handlerOf) {
      ei.compensates = handlerOf.throwKey;
      if (handlerOf.variables) ei.variables = handlerOf.variables;
    }
    this.state.elements[key] = ei;
    this.effects.push({
      type: 'element.activated',
      elementInstanceKey: key,
      elementId: element.id,
      elementType: kindOfInstance(ei, element).instanceType ?? element.type,
      ...(element.name !== undefined ? { elementName: element.name } : {}),
      ...(flowScopeKey !== ROOT_KEY ? { parentKey: flowScopeKey, flowScopeKey } : {}),
    });
    if (++this.activations > this.activationLimit) {
      // The token is parked on its element: resolving the incident runs the activation in a fresh step.
      this.raiseIncident(
        ei,
        'activate',
        'OPERON_ERR_STEP_LIMIT',
        `more than ${this.activationLimit} element activations in one step without a wait state; stopped at "${element.id}"`,
      );
      return ei;
    }
    // Once past the budget every later activation stops too, as past the activation limit: the FEEL
    // evaluations of a step computed again (FeelSession) then always begin with the same ones.
    if (this.outOfTime || (this.activations % BUDGET_CHECK_EVERY === 0 && performance.now() > this.deadline)) {
      this.outOfTime = true;
      this.raiseIncident(
        ei,
        'activate',
        'OPERON_ERR_STEP_LIMIT',
        `one step ran past its time budget of ${this.stepBudgetMs} ms without a wait state (${this.activations} element activations); stopped at "${element.id}"`,
        { activations: this.activations, stepBudgetMs: this.stepBudgetMs },
      );
      return ei;
    }
    this.guarded(ei, 'activate', () => this.runActivation(ei));
    return ei;
  }

  /** Input mappings, start listeners, boundary events, then the element kind's own work. Re-run when an activation incident is resolved. */
  runActivation(ei: ElementInstance): void {
    const element = this.element(ei);
    const kind = kindOfInstance(ei, element);
    if (ei.lifecycle === 'activating') {
      // Input mappings apply once, before the start listeners (which see them); a wrapper's inner instances run them.
      if (element.inputs && !kind.wrapsInner && ei.listener === undefined) {
        const context = { ...this.visibleVariables(ei.flowScopeKey), ...ei.variables };
        const locals: Variables = { ...ei.variables };
        for (const mapping of element.inputs) {
          const value = this.feel(mapping.source, ei.key, context);
          setPath(locals, mapping.target, value);
          setPath(context, mapping.target, value);
        }
        ei.variables = locals;
      }
      if (this.nextListener(ei, 'start')) return;
      this.lifecycle(ei, 'ACTIVATED');
    }
    if (ei.trigger) {
      const variables = ei.trigger;
      delete ei.trigger;
      this.complete(ei, variables);
      return;
    }
    if (
      boundaryEventsOf(element).length > 0 &&
      ei.loopIndex === undefined &&
      ei.timerKeys === undefined &&
      !ei.subscribed
    )
      openBoundaryEvents(this, ei, element);
    kind.activate(this, ei, element);
  }

  // ---------------------------------------------------------------- listeners

  /**
   * The listeners an element instance runs for `event`: execution listeners (start, end), or those
   * of its kind's own listener events (a user task's task listeners). A multi-instance body runs
   * none (its inner instances do).
   */
  listenersOf(ei: ElementInstance, event: ListenerEvent): ListenerDefinition[] {
    const executionEvent = event === 'start' || event === 'end' ? event : undefined;
    if (ei.key === ROOT_KEY) return executionEvent ? (this.graph.listeners?.[executionEvent] ?? []) : [];
    const element = this.element(ei);
    const kind = kindOfInstance(ei, element);
    if (!executionEvent) return kind.listeners?.(element, event) ?? [];
    if (kind.wrapsInner) return [];
    return element.listeners?.[executionEvent] ?? [];
  }

  /**
   * Creates the job of the next listener of `event` that has not run, and makes the element wait
   * for it (true); false once every listener of `event` has completed. `job`: headers the job gets
   * besides the listener's, and its input in place of the visible variables (a task listener's).
   */
  nextListener(
    ei: ElementInstance,
    event: ListenerEvent,
    job?: () => { headers?: Record<string, string>; input?: Variables },
  ): boolean {
    const listeners = this.listenersOf(ei, event);
    const index = ei.listener?.event === event ? ei.listener.index : 0;
    if (index >= listeners.length) {
      // Creating listeners stay marked done until the task exists: a retried creation does not run
      // them again; end listeners until the element is gone (a multi-instance completion condition
      // evaluated after them may raise an incident, whose retry must not run them again).
      if (ei.listener?.event === event && event !== 'creating' && event !== 'end') delete ei.listener;
      return false;
    }
    ei.listener = { ...ei.listener, event, index };
    const listener = listeners[index]!;
    const taskType = this.textValue(listener.type, ei.key);
    const retries = this.retries(listener.retries, listener.retriesExpression, ei);
    const properties = ei.key === ROOT_KEY ? this.graph.properties : this.element(ei).properties;
    const limits = jobLimitsOf(this.graph, ei.elementId, taskType, event);
    ei.wait = 'listener';
    const own = job?.();
    this.effects.push({
      type: 'job.create',
      elementInstanceKey: ei.key,
      elementId: ei.elementId,
      taskType,
      retries,
      headers: own?.headers ? { ...listener.headers, ...own.headers } : (listener.headers ?? {}),
      input: own?.input ?? this.variablesForEffect(ei.key),
      listener: event,
      ...(properties ? { properties } : {}),
      ...(limits ? { limits } : {}),
    });
    return true;
  }

  /**
   * A listener's job completed. Start listeners' variables become local variables of the element
   * (the process's: root variables); end listeners' variables are set as a job's are, from the
   * element's scope outwards, so the elements after it see them (as in Camunda 8). A listener of the
   * kind's own events (a user task's task listeners) goes to its kind. Returns why the result is
   * refused, or undefined.
   */
  listenerCompleted(
    ei: ElementInstance,
    variables: Variables | undefined,
    answer: { denied?: { reason?: string }; corrections?: UserTaskChange } = {},
  ): string | undefined {
    const progress = ei.listener!;
    if (progress.event !== 'start' && progress.event !== 'end') {
      const element = this.element(ei);
      return kindOfInstance(ei, element).listenerCompleted!(this, ei, element, variables, answer);
    }
    delete ei.wait;
    progress.index += 1;
    if (progress.event === 'end') {
      this.propagate(ei.key === ROOT_KEY ? ROOT_KEY : ei.flowScopeKey, variables);
      if (ei.key === ROOT_KEY) this.guarded(ei, 'complete', () => this.completeInstance());
      else this.complete(ei);
      return undefined;
    }
    if (variables) ei.variables = { ...ei.variables, ...variables };
    if (ei.key === ROOT_KEY) this.guarded(ei, 'activate', () => this.startProcess());
    else this.guarded(ei, 'activate', () => this.runActivation(ei));
    return undefined;
  }

  /** Camunda 8 refuses BPMN errors from listener jobs: an incident on the element; resolving it runs the listener again. */
  listenerThrew(ei: ElementInstance, errorCode: string): void {
    delete ei.wait;
    const event = ei.listener?.event;
    const phase: IncidentPhase =
      event === undefined || event === 'start'
        ? 'activate'
        : event === 'end'
          ? 'complete'
          : (kindOfInstance(ei, this.element(ei)).listenerPhase?.(event) ?? 'activate');
    this.raiseIncident(
      ei,
      phase,
      'OPERON_ERR_UNCAUGHT_BPMN_ERROR',
      `the ${ei.listener?.event ?? 'start'} listener job of "${ei.elementId}" threw BPMN error "${errorCode}"; listener jobs cannot throw BPMN errors`,
      { errorCode },
    );
  }

  /**
   * The process instance begins (or goes on after its start listeners): event subprocesses open
   * and the token goes to the start event.
   */
  startProcess(startEventId?: string): void {
    const root = this.state.elements[ROOT_KEY]!;
    const start = startEventId ?? root.listener?.startEventId;
    if (root.listener === undefined && startEventId !== undefined && this.listenersOf(root, 'start').length > 0)
      root.listener = { event: 'start', index: 0, startEventId };
    if (root.listener?.event === 'start' && this.nextListener(root, 'start')) return;
    if (start !== undefined) this.enqueue({ elementId: start, flowScopeKey: ROOT_KEY });
    openEventSubprocesses(this, root);
  }

  /** zeebe:taskDefinition / listener retries: the literal, or the FEEL expression evaluated now. */
  retries(retries: number, expression: string | undefined, ei: ElementInstance): number {
    if (expression === undefined) return retries;
    const value = this.feel(expression, ei.key);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new IncidentSignal(
        'OPERON_ERR_FEEL_EVAL',
        `retries "=${expression}" of "${ei.elementId}" gave ${JSON.stringify(value)}, expected a whole number`,
        { expression },
      );
    }
    return value;
  }

  /** Runs one phase of an element; an IncidentSignal stops the element with an incident instead. */
  guarded(ei: ElementInstance, phase: IncidentPhase, body: () => void): void {
    try {
      body();
    } catch (signal) {
      if (!(signal instanceof IncidentSignal)) throw signal;
      // A retried activation opens its waits again.
      if (phase === 'activate') this.closeWaits(ei);
      this.raiseIncident(ei, phase, signal.code, signal.message, signal.details);
    }
  }

  raiseIncident(
    ei: ElementInstance,
    phase: IncidentPhase,
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    extra: Partial<NonNullable<ElementInstance['incident']>> = {},
  ): void {
    ei.incident = { code, phase, ...extra };
    this.effects.push({
      type: 'incident.raise',
      elementInstanceKey: ei.key,
      elementId: ei.elementId,
      code,
      message,
      details: { elementId: ei.elementId, ...details },
    });
  }

  /**
   * Completes an element instance: result variables (from a job, user task, message, script) go
   * through the output mappings, then the token leaves over `flowIds` (all outgoing flows by default).
   */
  complete(ei: ElementInstance, result?: Variables, flowIds?: string[], trigger?: Variables): void {
    if (ei.lifecycle === 'active') this.lifecycle(ei, 'COMPLETE');
    const element = this.element(ei);
    const kind = kindOfInstance(ei, element);
    // An inner instance of a wrapper (a multi-instance body) completes into it, not over sequence flows.
    const wrapper = this.wrapperOf(ei);
    this.guarded(ei, 'complete', () => {
      // Output mappings apply once, before the end listeners (which see their result).
      if (ei.listener?.event !== 'end') {
        if (kind.completeResult) {
          kind.completeResult(this, ei, element, result);
        } else if (element.outputs) {
          const context = this.visibleVariables(ei.key);
          if (result) Object.assign(context, result);
          const outputs: Variables = {};
          for (const mapping of element.outputs)
            setPath(outputs, mapping.target, this.feel(mapping.source, ei.key, context));
          this.propagate(ei.flowScopeKey, outputs);
        } else {
          this.propagate(ei.key, result);
        }
      }
      if (this.listenersOf(ei, 'end').length > 0) {
        // Boundary events and other waits end with the element's own work, before its end listeners.
        if (ei.listener?.event !== 'end') this.closeWaits(ei);
        if (wrapper && ei.listener?.event !== 'end' && result) ei.innerResult = result;
        if (this.nextListener(ei, 'end')) return;
      }
      // As in Zeebe, an inner instance's output element and the completion condition are evaluated
      // once it completed, after its end listeners (they see what those listeners set).
      if (wrapper) wrapper.kind.innerCompleted?.(this, wrapper.instance, ei, element, ei.innerResult ?? result);
      this.closeWaits(ei);
      this.lifecycle(ei, 'COMPLETED');
      recordCompensable(this, ei, element);
      delete this.state.elements[ei.key];
      this.effects.push({ type: 'element.completed', elementInstanceKey: ei.key, elementId: ei.elementId });
      const scopeKey = ei.flowScopeKey;
      if (wrapper?.kind.innerLeft?.(this, wrapper.instance)) this.terminateChildren(scopeKey);
      for (const flowId of wrapper ? [] : (flowIds ?? element.outgoing)) {
        this.effects.push({ type: 'flow.taken', flowId, sourceKey: ei.key });
        this.enqueue({
          elementId: this.graph.flows[flowId]!.targetId,
          flowScopeKey: scopeKey,
          flowId,
          ...(trigger ? { trigger } : {}),
        });
      }
      this.consumeToken(scopeKey);
      if (ei.compensates !== undefined) handlerCompleted(this, ei.compensates);
    });
    if (ei.incident?.phase === 'complete') ei.incident.result = result;
  }

  /** The wrapper (multi-instance body) an inner instance completes into; undefined for any other instance. */
  private wrapperOf(ei: ElementInstance): { instance: ElementInstance; kind: ElementKind } | undefined {
    if (ei.loopIndex === undefined) return undefined;
    const instance = this.state.elements[ei.flowScopeKey]!;
    return { instance, kind: kindOfInstance(instance, this.element(instance)) };
  }

  /** Asks the kind of a scope left without tokens whether it goes on instead of completing. */
  private scopeGoesOn(scope: ElementInstance): boolean {
    const element = this.graph.elements[scope.elementId];
    return element !== undefined && kindOfInstance(scope, element).scopeEmptied?.(this, scope, element) === true;
  }

  /** One token of a scope is gone; an empty scope completes. */
  consumeToken(scopeKey: string): void {
    const scope = this.state.elements[scopeKey];
    if (!scope) return;
    scope.tokens! -= 1;
    if (scope.tokens! > 0) return;
    if (scopeKey === ROOT_KEY) {
      if (this.state.lifecycle === 'active') this.completeInstance();
    } else if (this.scopeGoesOn(scope)) {
      // A multi-instance body started its next inner instance.
    } else if (scope.lifecycle === 'active' || scope.lifecycle === 'completing') {
      this.complete(scope);
    }
  }

  completeInstance(): void {
    const root = this.state.elements[ROOT_KEY]!;
    if (this.listenersOf(root, 'end').length > 0) {
      if (root.listener?.event !== 'end') this.closeWaits(root);
      if (this.nextListener(root, 'end')) return;
    }
    this.closeWaits(root);
    // The process instance machine moves to its final state from this (instance-machine.ts).
    this.state.lifecycle = 'completed';
    this.effects.push({ type: 'instance.completed' });
  }

  // ---------------------------------------------------------------- waits and boundaries

  /**
   * Cancels whatever the element instance waits on: a listener's job, then what its kind's own work
   * waits on (the kind's `closeWaits`: its job, user task, child instance), then its timers and
   * message subscriptions (its own, its boundary events', its event subprocesses').
   * `keepOwn`: the kind's own wait stays (a user task whose canceling listeners run before it is cancelled).
   */
  closeWaits(ei: ElementInstance, keepOwn = false): void {
    if (ei.wait === 'listener') this.effects.push({ type: 'job.cancel', elementInstanceKey: ei.key });
    // The process instance (ROOT_KEY) has no element of its own: it waits only through listeners and event subprocesses.
    const element = ei.key === ROOT_KEY ? undefined : this.graph.elements[ei.elementId];
    if (element && !keepOwn) kindOfInstance(ei, element).closeWaits(this, ei, element);
    closeTimers(this, ei);
    closeSubscriptions(this, ei);
    delete ei.wait;
  }

  /**
   * Terminates an element instance and everything inside it, without completing its scope. Returns
   * false when the termination is held, as Zeebe holds it: the element's kind holds it while its own
   * work for it runs (`holdsTermination`: a user task's canceling listeners), and a scope waits for
   * such elements inside it. A held element stays
   * `terminating` (counted in its scope) until `finishTermination`.
   */
  terminate(ei: ElementInstance): boolean {
    if (ei.lifecycle === 'terminating') return false;
    let held = 0;
    if (ei.tokens !== undefined) {
      for (const child of Object.values(this.state.elements)) {
        if (child.flowScopeKey === ei.key && child.key !== ei.key && this.state.elements[child.key])
          if (!this.terminate(child)) held += 1;
      }
      for (const joinKey of Object.keys(this.state.joins)) {
        if (joinKey.startsWith(`${ei.key}|`)) delete this.state.joins[joinKey];
      }
      ei.tokens = held;
    }
    // Ongoing work must stop with the element: a job or user task of a completing element is already done.
    if (ei.lifecycle === 'completing' && ei.wait !== 'listener') delete ei.wait;
    const element = ei.key === ROOT_KEY ? undefined : this.element(ei);
    const kind = element && kindOfInstance(ei, element);
    // The kind may hold the termination (a user task's canceling listeners): its own wait stays open meanwhile.
    const holds = kind?.holdsTermination?.(ei, element!) === true;
    this.closeWaits(ei, holds);
    if (ei.incident) {
      this.effects.push({ type: 'incident.resolve', elementInstanceKey: ei.key });
      delete ei.incident;
    }
    if (holds) {
      this.lifecycle(ei, 'TERMINATING');
      kind!.holdTermination!(this, ei, element!);
      return false;
    }
    if (held > 0) {
      this.lifecycle(ei, 'TERMINATING');
      return false;
    }
    this.removeTerminated(ei);
    const scope = this.state.elements[ei.flowScopeKey];
    if (scope && ei.key !== ROOT_KEY) scope.tokens! -= 1;
    return true;
  }

  private removeTerminated(ei: ElementInstance): void {
    this.lifecycle(ei, 'TERMINATE');
    delete this.state.elements[ei.key];
    this.effects.push({ type: 'element.terminated', elementInstanceKey: ei.key, elementId: ei.elementId });
  }

  /** True while an element instance of the scope `key` is left (a held termination inside it). */
  private hasChildren(key: string): boolean {
    return Object.values(this.state.elements).some((e) => e.flowScopeKey === key && e.key !== key);
  }

  /**
   * A held termination is over (the work its kind held it for ended: a user task's canceling
   * listeners; or a scope's last held child ended): the element ends, and what waited for it goes
   * on in its scope.
   */
  finishTermination(ei: ElementInstance): void {
    delete ei.listener;
    if (ei.key === ROOT_KEY) {
      this.endCancelledInstance();
      return;
    }
    this.removeTerminated(ei);
    const scope = this.state.elements[ei.flowScopeKey];
    if (!scope) return;
    scope.tokens! -= 1;
    const after = ei.afterTermination;
    if (scope.lifecycle === 'terminating') {
      if (!this.hasChildren(scope.key)) this.finishTermination(scope);
      return;
    }
    if (after && !scope.afterChildren) {
      // The interrupting boundary event starts now (its token was counted when it was triggered).
      this.activate(this.graph.elements[after.boundaryId]!, scope.key, after.variables);
      return;
    }
    if (after) scope.tokens! -= 1;
    if (scope.afterChildren) {
      if (this.hasChildren(scope.key)) return;
      const { startEventId, variables } = scope.afterChildren;
      delete scope.afterChildren;
      startEventSubprocess(this, scope, elementOfType(this.graph, startEventId, 'startEvent')!, variables);
      return;
    }
    // The scope had already moved on (terminate end event, completion condition, modification): its tokens decide.
    scope.tokens! += 1;
    this.consumeToken(scope.key);
  }

  /** Operator cancellation: every element is terminated; the instance ends once held terminations ended too. */
  cancelInstance(): void {
    const root = this.state.elements[ROOT_KEY]!;
    this.terminateChildren(ROOT_KEY);
    this.closeWaits(root);
    if (this.hasChildren(ROOT_KEY)) {
      this.lifecycle(root, 'TERMINATING');
      return;
    }
    this.endCancelledInstance();
  }

  private endCancelledInstance(): void {
    const root = this.state.elements[ROOT_KEY]!;
    this.lifecycle(root, 'TERMINATE');
    this.state.lifecycle = 'terminated';
    this.effects.push({ type: 'instance.terminated' });
  }

  /** Terminates every element instance of a scope (terminate end event, instance cancellation). */
  terminateChildren(scopeKey: string, except?: string): void {
    for (const child of Object.values(this.state.elements)) {
      if (
        child.flowScopeKey === scopeKey &&
        child.key !== scopeKey &&
        child.key !== except &&
        this.state.elements[child.key]
      )
        this.terminate(child);
    }
    for (const joinKey of Object.keys(this.state.joins)) {
      if (joinKey.startsWith(`${scopeKey}|`)) {
        const waiting = Object.values(this.state.joins[joinKey]!).reduce((a, b) => a + b, 0);
        this.state.elements[scopeKey]!.tokens! -= waiting;
        delete this.state.joins[joinKey];
      }
    }
    // Tokens still in flight in this scope die with it.
    for (let i = this.agenda.length - 1; i >= 0; i--) {
      if (this.agenda[i]!.flowScopeKey === scopeKey) {
        this.agenda.splice(i, 1);
        this.state.elements[scopeKey]!.tokens! -= 1;
      }
    }
  }
}

/** Sets `a.b.c` in a variables object (Camunda allows dotted mapping targets). */
export function setPath(target: Variables, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i]!;
    const next = node[part];
    node[part] = typeof next === 'object' && next !== null && !Array.isArray(next) ? { ...(next as Variables) } : {};
    node = node[part] as Variables;
  }
  node[parts.at(-1)!] = value;
}

export { dueFromText };
