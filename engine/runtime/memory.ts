/**
 * An in-memory driver for the pure runtime: runs one instance with job handlers, a fake clock,
 * and methods for the outside world (user tasks, messages, incidents). For feature tests, property
 * tests and the "Operon in memory" benchmark. No persistence: `restart()` round-trips the snapshot
 * through JSON the way a database would, to check an instance resumes from any wait state.
 */
import { isBpmnError } from '../errors.ts';
import { elementOfType, type ProcessGraph } from '../model/graph.ts';
import type { Variables } from '../nodes/types.ts';
import type {
  Effect,
  InstanceSnapshot,
  InstanceState,
  RuntimeEvent,
  StepContext,
  StepResult,
  UserTaskChange,
  UserTaskChangeEvent,
} from './contract.ts';
import { startInstance, step } from './index.ts';

/** Carries out the jobs of one task type. Return output variables, or throw (BpmnError = business error). */
export type JobHandler = (
  input: Variables,
  job: { elementId: string; elementInstanceKey: string; headers: Record<string, string>; attempt: number },
) => Promise<Variables | void> | Variables | void;

export interface InMemoryOptions {
  variables?: Variables;
  handlers?: Record<string, JobHandler>;
  /** The fake clock's start; 2026-01-01T00:00:00Z by default. */
  now?: Date;
  instanceId?: string;
  startEventId?: string;
  /** Passed to every step (see StepContext.activationLimit). */
  activationLimit?: number;
  /** Passed to every step (see StepContext.minCycleIntervalMs). */
  minCycleIntervalMs?: number;
  /** Passed to every step (see StepContext.stepBudgetMs). */
  stepBudgetMs?: number;
  /** Round-trip the snapshot through JSON after every step (checks that it is plain data). */
  restartAtEveryStep?: boolean;
  /** Processes call activities may start, by BPMN process id (parse them with `{ callActivities: true }`). */
  processes?: Record<string, ProcessGraph>;
  /** Called once when the instance completes (the in-memory driver uses it to resume a parent call activity). */
  onCompleted?: (instance: InMemoryInstance) => Promise<void>;
  /** Called for each BPMN error nobody caught in this instance (the driver rethrows it at the parent call activity). */
  onUncaughtBpmnError?: (error: { errorCode: string; errorMessage?: string }) => Promise<void>;
}

export interface OpenJob {
  elementInstanceKey: string;
  elementId: string;
  taskType: string;
  retries: number;
  headers: Record<string, string>;
  input: Variables;
  /** Set on a listener's job: which listener event. */
  listener?: 'start' | 'end' | 'creating' | 'assigning' | 'updating' | 'completing' | 'canceling';
  properties?: Record<string, string>;
}
export interface OpenUserTask {
  elementInstanceKey: string;
  elementId: string;
  name?: string;
  input: Variables;
  /** Set while its element is being terminated and its canceling listeners' jobs run. */
  canceling?: true;
  /** What the task was created with (assignee, candidates, schedule, priority, properties...). */
  created: Omit<Extract<Effect, { type: 'userTask.create' }>, 'type' | 'input' | 'elementInstanceKey' | 'elementId'>;
}
export interface OpenSubscription {
  elementInstanceKey: string;
  elementId: string;
  messageName: string;
  correlationKey: string;
}
export interface OpenTimer {
  timerKey: string;
  elementInstanceKey: string;
  elementId: string;
  dueAt: string;
}
export interface OpenIncident {
  elementInstanceKey: string;
  elementId: string;
  code: string;
  message: string;
  details?: Record<string, unknown> /** raised by this driver (job out of retries) rather than the runtime */;
  fromJob?: boolean;
}
export interface ElementRecord {
  elementInstanceKey: string;
  elementId: string;
  elementType: string;
  state: 'active' | 'completed' | 'terminated';
}

export class InMemoryInstance {
  snapshot!: InstanceSnapshot;
  state: InstanceState = 'active';
  variables: Variables = {};
  /** Every effect, in order. */
  readonly history: Effect[] = [];
  /** Element instances in activation order. */
  readonly elements: ElementRecord[] = [];
  readonly jobs = new Map<string, OpenJob>();
  readonly userTasks = new Map<string, OpenUserTask>();
  readonly subscriptions: OpenSubscription[] = [];
  readonly timers = new Map<string, OpenTimer>();
  readonly incidents = new Map<string, OpenIncident>();
  now: Date;
  /** Child instances started by call activities, by the call activity's element instance key. */
  readonly children = new Map<string, InMemoryInstance>();
  private readonly elementIndex = new Map<string, ElementRecord>();
  private readonly pendingJobs: string[] = [];
  private readonly pendingChildren: Array<
    { type: 'start'; key: string; bpmnProcessId: string; variables: Variables } | { type: 'cancel'; key: string }
  > = [];
  private completionReported = false;
  private readonly uncaughtErrors: Array<{ errorCode: string; errorMessage?: string }> = [];
  private readonly signals: Array<{ messageName: string; variables: Variables }> = [];

  constructor(
    readonly graph: ProcessGraph,
    private readonly options: InMemoryOptions,
  ) {
    this.now = options.now ?? new Date('2026-01-01T00:00:00Z');
  }

  /** Element ids that completed, in completion order. */
  get completedElementIds(): string[] {
    return this.history.flatMap((e) => (e.type === 'element.completed' ? [e.elementId] : []));
  }

  /** Starts the instance and runs it to its end or to a wait state. */
  async start(): Promise<this> {
    this.apply(
      startInstance(this.graph, {
        instanceId: this.options.instanceId ?? 'in-memory',
        variables: this.options.variables,
        startEventId: this.options.startEventId,
        ...this.ctx(),
      }),
    );
    await this.runJobs();
    return this;
  }

  /** Feeds one event, then runs any jobs it created. Returns the step's result. */
  async send(event: RuntimeEvent): Promise<StepResult> {
    const result = step(this.graph, this.snapshot, event, this.ctx());
    this.apply(result);
    await this.runJobs();
    return result;
  }

  /** Simulates an engine restart: the snapshot survives only as JSON. */
  restart(): this {
    this.snapshot = JSON.parse(JSON.stringify(this.snapshot)) as InstanceSnapshot;
    return this;
  }

  /** The open user task of an element (by element id or element instance key). */
  userTask(elementIdOrKey: string): OpenUserTask | undefined {
    return (
      this.userTasks.get(elementIdOrKey) ?? [...this.userTasks.values()].find((t) => t.elementId === elementIdOrKey)
    );
  }

  async completeUserTask(elementIdOrKey: string, variables?: Variables): Promise<StepResult> {
    const task = this.userTask(elementIdOrKey);
    if (!task) throw new Error(`no open user task ${elementIdOrKey}`);
    return this.send({ type: 'userTask.completed', elementInstanceKey: task.elementInstanceKey, variables });
  }

  /** Assigns (a name) or unassigns (null) an open user task; its assigning listeners run first. */
  assignUserTask(elementIdOrKey: string, assignee: string | null): Promise<StepResult | undefined> {
    return this.changeUserTask(elementIdOrKey, 'assigning', { assignee });
  }

  /** Updates an open user task's candidates, dates or priority; its updating listeners run first. */
  updateUserTask(elementIdOrKey: string, change: UserTaskChange): Promise<StepResult | undefined> {
    return this.changeUserTask(elementIdOrKey, 'updating', change);
  }

  /** Without listeners for `event` the change applies at once (no step, as in the PostgreSQL driver). */
  private async changeUserTask(
    elementIdOrKey: string,
    event: UserTaskChangeEvent,
    change: UserTaskChange,
  ): Promise<StepResult | undefined> {
    const task = this.userTask(elementIdOrKey);
    if (!task) throw new Error(`no open user task ${elementIdOrKey}`);
    if ((elementOfType(this.graph, task.elementId, 'userTask')?.userTask[`${event}Listeners`]?.length ?? 0) === 0) {
      applyChange(task, change);
      return undefined;
    }
    const { assignee, candidateUsers, candidateGroups, dueDate, followUpDate, priority } = task.created;
    return this.send({
      type: 'userTask.changeRequested',
      elementInstanceKey: task.elementInstanceKey,
      event,
      change,
      task: {
        id: task.elementInstanceKey,
        assignee: assignee ?? null,
        ...(candidateUsers ? { candidateUsers } : {}),
        ...(candidateGroups ? { candidateGroups } : {}),
        dueDate: dueDate ?? null,
        followUpDate: followUpDate ?? null,
        priority,
      },
    });
  }

  /**
   * Completes an open job that no handler took (an "external worker"). `result.denied`: a
   * completing, assigning or updating task listener's job rejects the change; `result.corrections`:
   * an assigning or updating listener's job corrects it.
   */
  async completeJob(
    elementIdOrKey: string,
    variables?: Variables,
    result?: { denied?: boolean; deniedReason?: string; corrections?: UserTaskChange },
  ): Promise<StepResult> {
    const job = this.job(elementIdOrKey);
    return this.send({
      type: 'job.completed',
      elementInstanceKey: job.elementInstanceKey,
      variables,
      ...(result?.denied ? { denied: result.deniedReason !== undefined ? { reason: result.deniedReason } : {} } : {}),
      ...(result?.corrections ? { corrections: result.corrections } : {}),
    });
  }

  async throwJobError(elementIdOrKey: string, errorCode: string, variables?: Variables): Promise<StepResult> {
    const job = this.job(elementIdOrKey);
    return this.send({ type: 'job.bpmnError', elementInstanceKey: job.elementInstanceKey, errorCode, variables });
  }

  /** Correlates a message to the first open subscription with that name and key. */
  async publishMessage(name: string, correlationKey: string, variables?: Variables): Promise<boolean> {
    const subscription = this.subscriptions.find((s) => s.messageName === name && s.correlationKey === correlationKey);
    if (!subscription) return false;
    await this.send({
      type: 'message.correlated',
      elementInstanceKey: subscription.elementInstanceKey,
      messageName: name,
      variables,
    });
    return true;
  }

  /** Moves the fake clock forward and fires every timer that came due, earliest first (child instances' too). */
  async advanceClock(ms: number): Promise<void> {
    const until = this.now.getTime() + ms;
    for (;;) {
      let next: { owner: InMemoryInstance; timer: OpenTimer } | undefined;
      for (const owner of this.family()) {
        for (const timer of owner.timers.values()) {
          if (Date.parse(timer.dueAt) <= until && (!next || Date.parse(timer.dueAt) < Date.parse(next.timer.dueAt)))
            next = { owner, timer };
        }
      }
      if (!next) break;
      const at = new Date(Math.max(this.now.getTime(), Date.parse(next.timer.dueAt)));
      for (const member of this.family()) member.now = at;
      next.owner.timers.delete(next.timer.timerKey);
      await next.owner.send({ type: 'timer.fired', timerKey: next.timer.timerKey });
    }
    for (const member of this.family()) member.now = new Date(until);
  }

  /** This instance and its active child instances, at any depth. */
  private family(): InMemoryInstance[] {
    return [this, ...[...this.children.values()].filter((c) => c.state === 'active').flatMap((c) => c.family())];
  }

  /** Resolves an open incident: retries the job (job incidents) or lets the runtime retry the element. */
  async resolveIncident(elementIdOrKey: string, variables?: Variables): Promise<void> {
    const incident =
      this.incidents.get(elementIdOrKey) ?? [...this.incidents.values()].find((i) => i.elementId === elementIdOrKey);
    if (!incident) throw new Error(`no open incident ${elementIdOrKey}`);
    this.incidents.delete(incident.elementInstanceKey);
    if (incident.fromJob) {
      const job = this.jobs.get(incident.elementInstanceKey)!;
      job.retries = 1;
      if (variables) Object.assign(job.input, variables);
      this.pendingJobs.push(job.elementInstanceKey);
      await this.runJobs();
      return;
    }
    await this.send({ type: 'incident.resolved', elementInstanceKey: incident.elementInstanceKey, variables });
  }

  async cancel(): Promise<StepResult> {
    return this.send({ type: 'instance.cancel' });
  }

  private ctx(): StepContext {
    const { activationLimit, minCycleIntervalMs, stepBudgetMs } = this.options;
    return {
      now: this.now,
      ...(activationLimit === undefined ? {} : { activationLimit }),
      ...(minCycleIntervalMs === undefined ? {} : { minCycleIntervalMs }),
      ...(stepBudgetMs === undefined ? {} : { stepBudgetMs }),
    };
  }

  private job(elementIdOrKey: string): OpenJob {
    const job = this.jobs.get(elementIdOrKey) ?? [...this.jobs.values()].find((j) => j.elementId === elementIdOrKey);
    if (!job) throw new Error(`no open job ${elementIdOrKey}`);
    return job;
  }

  private apply(result: StepResult): void {
    this.snapshot = result.snapshot;
    this.state = result.state;
    this.variables = result.variables;
    for (const effect of result.effects) {
      this.history.push(effect);
      switch (effect.type) {
        case 'element.activated': {
          const record: ElementRecord = {
            elementInstanceKey: effect.elementInstanceKey,
            elementId: effect.elementId,
            elementType: effect.elementType,
            state: 'active',
          };
          this.elements.push(record);
          this.elementIndex.set(effect.elementInstanceKey, record);
          break;
        }
        case 'element.completed':
        case 'element.terminated':
          this.elementIndex.get(effect.elementInstanceKey)!.state =
            effect.type === 'element.completed' ? 'completed' : 'terminated';
          break;
        case 'job.create':
          this.jobs.set(effect.elementInstanceKey, {
            elementInstanceKey: effect.elementInstanceKey,
            elementId: effect.elementId,
            taskType: effect.taskType,
            retries: effect.retries,
            headers: effect.headers,
            input: effect.input,
            ...(effect.listener ? { listener: effect.listener } : {}),
            ...(effect.properties ? { properties: effect.properties } : {}),
          });
          if (this.options.handlers?.[effect.taskType]) this.pendingJobs.push(effect.elementInstanceKey);
          break;
        case 'job.cancel':
          this.jobs.delete(effect.elementInstanceKey);
          break;
        case 'userTask.create': {
          const { type: _type, input, elementInstanceKey, elementId, ...created } = effect;
          this.userTasks.set(elementInstanceKey, {
            elementInstanceKey,
            elementId,
            ...(effect.name !== undefined ? { name: effect.name } : {}),
            input,
            created,
          });
          break;
        }
        case 'userTask.cancel':
        case 'userTask.completed':
          this.userTasks.delete(effect.elementInstanceKey);
          break;
        case 'userTask.canceling': {
          // The task stays until its canceling listeners' jobs completed.
          const task = this.userTasks.get(effect.elementInstanceKey);
          if (task) task.canceling = true;
          break;
        }
        case 'userTask.denied':
        case 'userTask.changeDenied':
          // The denying listener's job is done and no other follows it.
          this.jobs.delete(effect.elementInstanceKey);
          break;
        case 'userTask.changed': {
          this.jobs.delete(effect.elementInstanceKey);
          const task = this.userTasks.get(effect.elementInstanceKey);
          if (task) applyChange(task, effect.change);
          break;
        }
        case 'timer.schedule':
          this.timers.set(effect.timerKey, {
            timerKey: effect.timerKey,
            elementInstanceKey: effect.elementInstanceKey,
            elementId: effect.elementId,
            dueAt: effect.dueAt,
          });
          break;
        case 'timer.cancel':
          this.timers.delete(effect.timerKey);
          break;
        case 'subscription.open':
          this.subscriptions.push({
            elementInstanceKey: effect.elementInstanceKey,
            elementId: effect.elementId,
            messageName: effect.messageName,
            correlationKey: effect.correlationKey,
          });
          break;
        case 'subscription.close':
          for (let i = this.subscriptions.length - 1; i >= 0; i--)
            if (this.subscriptions[i]!.elementInstanceKey === effect.elementInstanceKey)
              this.subscriptions.splice(i, 1);
          break;
        case 'incident.raise':
          this.incidents.set(effect.elementInstanceKey, {
            elementInstanceKey: effect.elementInstanceKey,
            elementId: effect.elementId,
            code: effect.code,
            message: effect.message,
            ...(effect.details ? { details: effect.details } : {}),
          });
          if (effect.code === 'OPERON_ERR_UNCAUGHT_BPMN_ERROR' && this.options.onUncaughtBpmnError)
            this.uncaughtErrors.push(effect.details as { errorCode: string; errorMessage?: string });
          break;
        case 'incident.resolve':
          this.incidents.delete(effect.elementInstanceKey);
          break;
        case 'childInstance.start':
          this.pendingChildren.push({
            type: 'start',
            key: effect.elementInstanceKey,
            bpmnProcessId: effect.bpmnProcessId,
            variables: effect.variables,
          });
          break;
        case 'childInstance.cancel':
          this.pendingChildren.push({ type: 'cancel', key: effect.elementInstanceKey });
          break;
        case 'signal.broadcast':
          this.signals.push({ messageName: `signal:${effect.signalName}`, variables: effect.variables });
          break;
      }
    }
    // A completed job is done; the runtime only says job.cancel for jobs it abandons.
    // The process instance's own listener jobs (key "0") last as long as the instance.
    for (const [key] of this.jobs)
      if (key === '0' ? this.state !== 'active' : this.elementIndex.get(key)?.state !== 'active') this.jobs.delete(key);
    for (const [key] of this.userTasks) if (this.elementIndex.get(key)?.state !== 'active') this.userTasks.delete(key);
    if (this.options.restartAtEveryStep) this.restart();
  }

  /** Runs jobs that have a handler, one at a time, in creation order; starts and cancels child instances. */
  private async runJobs(): Promise<void> {
    await this.runHandlers();
    while (this.pendingChildren.length > 0) {
      const next = this.pendingChildren.shift()!;
      if (next.type === 'cancel') {
        const child = this.children.get(next.key);
        if (child?.state === 'active') await child.cancel();
        continue;
      }
      const graph = this.options.processes?.[next.bpmnProcessId];
      if (!graph) {
        this.incidents.set(next.key, {
          elementInstanceKey: next.key,
          elementId: this.elementIndex.get(next.key)?.elementId ?? '',
          code: 'OPERON_ERR_NOT_FOUND',
          message: `no process "${next.bpmnProcessId}" for the call activity`,
        });
        continue;
      }
      const parentKey = next.key;
      const child = new InMemoryInstance(graph, {
        ...this.options,
        variables: next.variables,
        instanceId: `${this.options.instanceId ?? 'in-memory'}/${parentKey}`,
        now: this.now,
        startEventId: undefined,
        onCompleted: async (done) => {
          if (this.elementIndex.get(parentKey)?.state === 'active')
            await this.send({
              type: 'childInstance.completed',
              elementInstanceKey: parentKey,
              variables: done.variables,
            });
        },
        onUncaughtBpmnError: async (error) => {
          if (this.elementIndex.get(parentKey)?.state === 'active')
            await this.send({
              type: 'childInstance.bpmnError',
              elementInstanceKey: parentKey,
              errorCode: error.errorCode,
              ...(error.errorMessage !== undefined ? { errorMessage: error.errorMessage } : {}),
            });
        },
      });
      this.children.set(parentKey, child);
      await child.start();
    }
    while (this.uncaughtErrors.length > 0) await this.options.onUncaughtBpmnError?.(this.uncaughtErrors.shift()!);
    // A signal reaches every subscription open when it was thrown, in this instance and its children.
    while (this.signals.length > 0) {
      const signal = this.signals.shift()!;
      const receivers = this.family().flatMap((instance) =>
        instance.subscriptions
          .filter((s) => s.messageName === signal.messageName)
          .map((s) => ({ instance, key: s.elementInstanceKey })),
      );
      for (const { instance, key } of receivers)
        await instance.send({
          type: 'message.correlated',
          elementInstanceKey: key,
          messageName: signal.messageName,
          variables: signal.variables,
        });
    }
    if (this.state === 'completed' && !this.completionReported) {
      this.completionReported = true;
      await this.options.onCompleted?.(this);
    }
  }

  private async runHandlers(): Promise<void> {
    for (let key = this.pendingJobs.shift(); key !== undefined; key = this.pendingJobs.shift()) {
      const job = this.jobs.get(key);
      if (!job || this.state !== 'active') continue;
      const handler = this.options.handlers![job.taskType]!;
      let attempt = 0;
      for (;;) {
        attempt += 1;
        try {
          let output = handler(job.input, {
            elementId: job.elementId,
            elementInstanceKey: key,
            headers: job.headers,
            attempt,
          });
          if (output instanceof Promise) output = await output;
          this.jobs.delete(key);
          this.apply(
            step(
              this.graph,
              this.snapshot,
              { type: 'job.completed', elementInstanceKey: key, variables: output ?? undefined },
              this.ctx(),
            ),
          );
          break;
        } catch (error) {
          if (isBpmnError(error)) {
            this.jobs.delete(key);
            this.apply(
              step(
                this.graph,
                this.snapshot,
                {
                  type: 'job.bpmnError',
                  elementInstanceKey: key,
                  errorCode: error.errorCode,
                  errorMessage: error.message,
                  variables: error.variables,
                },
                this.ctx(),
              ),
            );
            break;
          }
          job.retries -= 1;
          if (job.retries > 0) continue;
          this.incidents.set(key, {
            elementInstanceKey: key,
            elementId: job.elementId,
            code: 'OPERON_ERR_JOB_FAILED',
            message: (error as Error).message,
            fromJob: true,
          });
          break;
        }
      }
    }
  }
}

/**
 * Runs one instance of `graph` in memory to its end or to a wait state (user task, message, timer,
 * a job without handler, an incident). Continue it with the returned instance's methods.
 */
export async function runInMemory(graph: ProcessGraph, options: InMemoryOptions = {}): Promise<InMemoryInstance> {
  return new InMemoryInstance(graph, options).start();
}

/** A user task change as the task list sees it: `null` clears a field. */
function applyChange(task: OpenUserTask, change: UserTaskChange): void {
  const created = task.created as Record<string, unknown>;
  for (const [field, value] of Object.entries(change)) {
    if (value === null) delete created[field];
    else if (value !== undefined) created[field] = value;
  }
}
