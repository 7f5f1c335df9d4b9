/**
 * The conformance cases: one small model per BPMN element (test/fixtures/bpmn/conformance, drawn
 * the way Camunda Modeler writes them), the start variables, what happens while it runs, and what
 * BPMN says must come out: the element completions in order and the final variables.
 */
import { readFileSync } from 'node:fs';
import type { Variables } from '../../engine/nodes/types.ts';

export interface ConformanceCase {
  name: string;
  /** File in test/fixtures/bpmn/conformance; the process id is the file name. */
  process: string;
  variables: Variables;
  /** In memory only: what the outside world does while the instance waits. */
  when?: { publish?: { name: string; correlationKey: string; variables?: Variables }; advanceMs?: number };
  /** Element ids in the order they completed (element.completed), including multi-instance bodies and scopes. */
  completed: string[];
  /** Element ids that were terminated (in any order). */
  terminated?: string[];
  /** The process variables when the instance has ended. */
  finalVariables: Variables;
  /** Also run on PostgreSQL through the engine and its worker. */
  postgres: boolean;
}

export const conformanceXml = (process: string): string =>
  readFileSync(new URL(`../fixtures/bpmn/conformance/${process}.bpmn`, import.meta.url), 'utf8');

/** The job type the service-task fixture uses; its node returns a score of a tenth of the income. */
export const SCORE_TASK = 'conformance-score';
export const score = (input: Variables): Variables => ({ score: (input.income as number) / 10 });

/** The job type of the compensation fixtures' service-task handlers: appends what it undid (`what`) to `undone`. */
export const UNDO_TASK = 'conformance-undo';
export const undo = (input: Variables): Variables => ({
  undone: [...((input.undone as unknown[] | undefined) ?? []), input.what],
});

/**
 * The execution-listeners fixture's listener jobs, by job type. Start listeners' variables are local
 * to their element (the task's `income`, the gateway's `route`); end listeners' reach the process.
 */
const appendTrail = (input: Variables, step: string): unknown[] => [...((input.trail as unknown[]) ?? []), step];
export const LISTENER_HANDLERS: Record<string, (input: Variables) => Variables> = {
  'el-process-start': (input) => ({ trail: appendTrail(input, 'process-start') }),
  'el-start-end': (input) => ({ trail: appendTrail(input, 'start-end') }),
  'el-task-start': () => ({ income: 2000 }),
  'el-task-end': (input) => ({ trail: appendTrail(input, 'task-end'), seenScore: input.score }),
  'el-gateway-start': () => ({ route: 'b' }),
  'el-sub-end': (input) => ({ trail: appendTrail(input, 'sub-end') }),
  'el-process-end': (input) => ({ trail: appendTrail(input, 'process-end') }),
  // The canceling-listeners fixture's canceling task listener: its output is dropped with the task's scope.
  'tl-release-hold': () => ({ released: true }),
};

export const CASES: ConformanceCase[] = [
  {
    name: 'execution listeners run as jobs around the process, events, tasks, gateways and subprocesses',
    process: 'execution-listeners',
    variables: { income: 1000 },
    completed: [
      'StartEvent_1',
      'Activity_score',
      'Gateway_route',
      'Activity_b',
      'Sub_start',
      'Sub_task',
      'Sub_end',
      'SubProcess_1',
      'EndEvent_1',
    ],
    finalVariables: {
      income: 1000,
      score: 200,
      seenScore: 200,
      trail: ['process-start', 'start-end', 'task-end', 'sub-end', 'process-end'],
    },
    postgres: true,
  },
  {
    name: 'exclusive gateway takes the flow whose condition holds',
    process: 'exclusive-gateway',
    variables: { amount: 150 },
    completed: ['StartEvent_1', 'Gateway_size', 'Activity_big', 'Gateway_merge', 'EndEvent_1'],
    finalVariables: { amount: 150, size: 'big' },
    postgres: true,
  },
  {
    name: 'exclusive gateway takes the default flow when no condition holds',
    process: 'exclusive-gateway',
    variables: { amount: 50 },
    completed: ['StartEvent_1', 'Gateway_size', 'Activity_small', 'Gateway_merge', 'EndEvent_1'],
    finalVariables: { amount: 50, size: 'small' },
    postgres: false,
  },
  {
    name: 'parallel gateway forks both branches and joins once',
    process: 'parallel-gateway',
    variables: {},
    completed: [
      'StartEvent_1',
      'Gateway_fork',
      'Activity_a',
      'Activity_b',
      'Gateway_join',
      'Activity_sum',
      'EndEvent_1',
    ],
    finalVariables: { a: 1, b: 2, sum: 3 },
    postgres: true,
  },
  {
    name: 'inclusive gateway takes every flow whose condition holds and joins them',
    process: 'inclusive-gateway',
    variables: { channels: ['mail', 'sms'] },
    completed: ['StartEvent_1', 'Gateway_fork', 'Activity_mail', 'Activity_sms', 'Gateway_join', 'EndEvent_1'],
    finalVariables: { channels: ['mail', 'sms'], mailed: true, texted: true },
    postgres: true,
  },
  {
    name: 'inclusive gateway takes the default flow when no condition holds; the join waits for nothing else',
    process: 'inclusive-gateway',
    variables: { channels: [] },
    completed: ['StartEvent_1', 'Gateway_fork', 'Activity_none', 'Gateway_join', 'EndEvent_1'],
    finalVariables: { channels: [], nobody: true },
    postgres: false,
  },
  {
    name: 'service task: input mapping to the job, output mapping back',
    process: 'service-task',
    variables: { applicant: { income: 5000 } },
    completed: ['StartEvent_1', 'Activity_score', 'EndEvent_1'],
    finalVariables: { applicant: { income: 5000 }, creditScore: 500 },
    postgres: true,
  },
  {
    name: 'error end event in a subprocess is caught by the error boundary on it',
    process: 'embedded-subprocess-error',
    variables: { amount: 200, limit: 100 },
    completed: ['StartEvent_1', 'StartEvent_sub', 'Gateway_check', 'Event_limit', 'Activity_escalate', 'EndEvent_2'],
    terminated: ['Activity_sub', 'EndEvent_limit'],
    finalVariables: { amount: 200, limit: 100, approver: 'manager' },
    postgres: true,
  },
  {
    name: 'embedded subprocess completes when its inner flow ends',
    process: 'embedded-subprocess-error',
    variables: { amount: 50, limit: 100 },
    completed: ['StartEvent_1', 'StartEvent_sub', 'Gateway_check', 'EndEvent_sub', 'Activity_sub', 'EndEvent_1'],
    finalVariables: { amount: 50, limit: 100 },
    postgres: false,
  },
  {
    name: 'sequential multi-instance runs once per item and collects the outputs in order',
    process: 'multi-instance',
    variables: {
      lines: [
        { qty: 2, price: 5 },
        { qty: 1, price: 7 },
      ],
    },
    completed: ['StartEvent_1', 'Activity_price', 'Activity_price', 'Activity_price', 'Activity_total', 'EndEvent_1'],
    finalVariables: {
      lines: [
        { qty: 2, price: 5 },
        { qty: 1, price: 7 },
      ],
      totals: [10, 7],
      orderTotal: 17,
      lineTotal: 7,
    },
    // Without output mappings a script's result propagates to the process scope (Camunda 8): the last item's.
    postgres: true,
  },
  {
    name: 'link throw event continues at the catching link event',
    process: 'link-events',
    variables: {},
    completed: ['StartEvent_1', 'Event_throw', 'Event_catch', 'Activity_after', 'EndEvent_1'],
    finalVariables: { route: 'linked' },
    postgres: true,
  },
  {
    name: 'terminate end event ends the instance and terminates the waiting task',
    process: 'terminate-end',
    variables: {},
    completed: ['StartEvent_1', 'Gateway_fork', 'EndEvent_terminate'],
    terminated: ['Activity_wait'],
    finalVariables: {},
    postgres: true,
  },
  {
    name: 'terminate end event waits for the canceling listener job of the task it terminates, then ends the instance',
    process: 'canceling-listeners',
    variables: {},
    completed: ['StartEvent_1', 'Gateway_fork', 'EndEvent_terminate'],
    terminated: ['Activity_review'],
    finalVariables: {},
    postgres: true,
  },
  {
    name: 'escalation caught by a non-interrupting boundary: both paths run',
    process: 'escalation',
    variables: {},
    completed: [
      'StartEvent_1',
      'StartEvent_sub',
      'Event_notify',
      'Event_late',
      'Activity_notify',
      'Activity_work',
      'EndEvent_2',
      'EndEvent_sub',
      'Activity_sub',
      'EndEvent_1',
    ],
    finalVariables: { notified: true, work: 'done' },
    postgres: true,
  },
  {
    name: 'call activity runs the called process and maps its output back',
    process: 'call-activity',
    variables: { applicant: { income: 7000 } },
    completed: ['StartEvent_1', 'Activity_call', 'EndEvent_1'],
    finalVariables: { applicant: { income: 7000 }, score: 700 },
    postgres: true,
  },
  {
    name: 'event-based gateway: the message wins the race',
    process: 'timer-and-message',
    variables: { orderId: 'o-1' },
    when: { publish: { name: 'payment-received', correlationKey: 'o-1', variables: { paid: true } } },
    completed: ['StartEvent_1', 'Gateway_race', 'Event_paid', 'EndEvent_paid'],
    finalVariables: { orderId: 'o-1', paid: true },
    postgres: false,
  },
  {
    name: 'event-based gateway: the timer wins the race',
    process: 'timer-and-message',
    variables: { orderId: 'o-2' },
    when: { advanceMs: 3_600_000 },
    completed: ['StartEvent_1', 'Gateway_race', 'Event_timeout', 'EndEvent_timeout'],
    finalVariables: { orderId: 'o-2' },
    postgres: false,
  },
  {
    name: 'signal throw event is caught by a signal catch event waiting in the same instance',
    process: 'signal-broadcast',
    variables: {},
    completed: ['StartEvent_1', 'Gateway_fork', 'Event_throw', 'Event_wait', 'Gateway_join', 'EndEvent_1'],
    finalVariables: { when: 'now' },
    postgres: true,
  },
  {
    name: 'compensation throw event: completed activities with a compensation boundary are undone in reverse order, the throw waits for the handler jobs',
    process: 'compensation-throw',
    variables: { amount: 30, undone: [] },
    // Activity_notify has no compensation handler; the refund handler sees the charge's input-mapped `payment`.
    completed: [
      'StartEvent_1',
      'Activity_reserve',
      'Activity_notify',
      'Activity_charge',
      'Activity_refund',
      'Activity_release',
      'Event_compensate',
      'Activity_after',
      'EndEvent_1',
    ],
    finalVariables: { amount: 30, undone: ['charge 30', 'reserve'], undoneCount: 2 },
    postgres: true,
  },
  {
    name: 'compensation end event undoes the completed activity, then ends',
    process: 'compensation-end',
    variables: { skip: false, undone: [] },
    completed: ['StartEvent_1', 'Gateway_skip', 'Activity_ship', 'Activity_recall', 'EndEvent_compensate'],
    finalVariables: { skip: false, undone: ['ship'] },
    postgres: true,
  },
  {
    name: 'compensation end event with nothing completed compensates nothing',
    process: 'compensation-end',
    variables: { skip: true, undone: [] },
    completed: ['StartEvent_1', 'Gateway_skip', 'EndEvent_compensate'],
    finalVariables: { skip: true, undone: [] },
    postgres: true,
  },
  {
    name: 'compensation with activityRef undoes only that activity; a later throw undoes only what is left',
    process: 'compensation-activity-ref',
    variables: { undone: [] },
    completed: [
      'StartEvent_1',
      'Activity_a',
      'Activity_b',
      'Activity_undoA',
      'Event_compensateA',
      'Activity_undoB',
      'Event_compensateAll',
      'EndEvent_1',
    ],
    finalVariables: { undone: ['a', 'b'] },
    postgres: true,
  },
  {
    name: 'compensation inside a subprocess undoes its activities; from outside, a completed subprocess is undone by its own handler or, without one, activity by activity',
    process: 'compensation-subprocess',
    variables: { undone: [] },
    completed: [
      'StartEvent_1',
      'Activity_x',
      'StartEvent_sub',
      'Activity_a',
      'Activity_b',
      'Activity_undoB',
      'Activity_undoA',
      'Event_compensateInner',
      'Activity_c',
      'EndEvent_sub',
      'Activity_sub',
      'StartEvent_sub2',
      'Activity_d',
      'EndEvent_sub2',
      'Activity_sub2',
      'Activity_undoSub2',
      'Activity_undoC',
      'Activity_undoX',
      'EndEvent_compensate',
    ],
    // Activity_undoC runs after Activity_sub completed and still sees its local `sub`; Activity_d is undone by Activity_sub2's handler.
    finalVariables: { undone: ['b', 'a', 'sub2', 'c in first', 'x'] },
    postgres: true,
  },
  {
    name: 'compensation throw in an error event subprocess undoes the activities of the scope it interrupted',
    process: 'compensation-event-subprocess',
    variables: { undone: [] },
    completed: [
      'StartEvent_1',
      'Activity_reserve',
      'StartEvent_error',
      'Activity_release',
      'Event_compensate',
      'EndEvent_onFail',
      'Activity_onFail',
    ],
    terminated: ['EndEvent_fail'],
    finalVariables: { undone: ['reserve'] },
    postgres: true,
  },
];
