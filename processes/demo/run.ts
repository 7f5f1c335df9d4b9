/**
 * The demo driver: pushes loan applications and orders through their webhooks, plays the clerks
 * (completes loan and routing review tasks over the API) and the carrier (sends "delivered" messages), shows a
 * progress bar and returns the summary. Talks to Operon only over HTTP, so it works against any
 * running server.
 */
import type { InstanceView, UserTaskSummary, UserTaskView } from '../../engine/api.ts';
import { loanApplications, orders as makeOrders } from './cases.ts';
import { clerkReview, clerkRouting } from './clerk.ts';
import { summarize, type DemoSummary } from './summary.ts';

export interface DemoOptions {
  apiUrl: string;
  token: string;
  /** Loan applications and orders each (default 100). */
  count?: number;
  /** Give up waiting after this many seconds (default 900). */
  timeoutS?: number;
  /** Late orders' delivery deadline (default PT20S). */
  lateDeadline?: string;
  /** Progress output (default: stderr). */
  progress?: (line: string, final: boolean) => void;
  /** bot_runs by outcome, when the caller can read the database. */
  botRunsByOutcome?: () => Promise<Record<string, number> | undefined>;
}

export interface DemoResult {
  summary: DemoSummary;
  seconds: number;
  loanInstanceIds: string[];
  orderInstanceIds: string[];
}

class Api {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
  ) {}
  async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

async function inBatches<T, R>(items: T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(work))));
  return results;
}

function bar(done: number, total: number, extra: string): string {
  const width = 30;
  const filled = Math.round((done / Math.max(1, total)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} instances ended  ${extra}`;
}

function defaultProgress(): (line: string, final: boolean) => void {
  let lastPrinted = -1;
  return (line, final) => {
    if (process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
    else {
      const tenth = Math.floor(
        (Number(/\] (\d+)\//.exec(line)?.[1] ?? 0) / Number(/\/(\d+) /.exec(line)?.[1] ?? 1)) * 10,
      );
      if (tenth !== lastPrinted || final) process.stderr.write(`${line}\n`);
      lastPrinted = tenth;
    }
  };
}

/** Five letters and digits from the run's start time, so two runs never share a reference. */
export function runTag(startedMs: number): string {
  return startedMs.toString(36).toUpperCase().slice(-5);
}

/**
 * A case's reference in this run: `APP-2026-0001` becomes `APP-D<tag>-0001`, `ORD-50001`
 * `ORD-D<tag>-50001`. The generated ids are the README's, and the core banking and carrier apps book
 * by reference: without the tag a demo run booked a second case under the reference of the README's
 * curl, and of every earlier run.
 */
export function demoReference(id: string, tag: string): string {
  return id.replace(/^([A-Z]+)-(?:2026-)?/, `$1-D${tag}-`);
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const api = new Api(options.apiUrl, options.token);
  const count = options.count ?? 100;
  const progress = options.progress ?? defaultProgress();
  const started = Date.now();
  const deadline = started + (options.timeoutS ?? 900) * 1000;
  const tag = runTag(started);
  const applications = loanApplications(count).map((a) => ({
    ...a,
    applicationId: demoReference(a.applicationId, tag),
  }));
  const orderCases = makeOrders(count, 7, options.lateDeadline).map((o) => ({
    ...o,
    orderId: demoReference(o.orderId, tag),
  }));

  const loanInstanceIds = await inBatches(
    applications,
    10,
    async (application) =>
      (
        await api.call<{ instanceId: string }>('POST', '/webhooks/loan-approval', application, {
          'idempotency-key': `demo-${application.applicationId}-${started}`,
        })
      ).instanceId,
  );
  const orderInstanceIds = await inBatches(orderCases, 10, async (order) => {
    const { willBeLate: _late, ...variables } = order;
    return (
      await api.call<{ instanceId: string }>('POST', '/webhooks/order-routing', variables, {
        'idempotency-key': `demo-${order.orderId}-${started}`,
      })
    ).instanceId;
  });
  const lateOrders = new Set(orderInstanceIds.filter((_, i) => orderCases[i]!.willBeLate));
  const orderIdOf = new Map(orderInstanceIds.map((id, i) => [id, orderCases[i]!.orderId]));

  const loans = new Set(loanInstanceIds);
  const finished = new Map<string, InstanceView>();
  const delivered = new Set<string>();
  let clerkCompleted = 0;
  const all = [...loanInstanceIds, ...orderInstanceIds];
  let openReviews = 0;
  while (Date.now() < deadline) {
    const { tasks } = await api.call<{ tasks: UserTaskSummary[] }>('GET', '/api/tasks?state=open&limit=500');
    const ours = tasks.filter((task) => loans.has(task.instanceId) || orderIdOf.has(task.instanceId));
    for (const summary of ours) {
      // The inbox lists tasks without their variables; the task itself has them.
      const task = await api.call<UserTaskView>('GET', `/api/tasks/${summary.id}`);
      const answer = loans.has(task.instanceId) ? clerkReview(task.variables) : clerkRouting(task.variables);
      await api.call('POST', `/api/tasks/${task.id}/complete`, { variables: answer });
      clerkCompleted += 1;
    }
    const pending = all.filter((id) => !finished.has(id));
    let stuck = 0;
    await inBatches(pending, 16, async (id) => {
      const view = await api.call<InstanceView>('GET', `/api/instances/${id}`);
      if (view.state !== 'active') return void finished.set(id, view);
      if (view.incidents.length > 0) stuck += 1;
      const waiting = view.elements.some((e) => e.elementId === 'AwaitDelivery' && e.state === 'active');
      if (waiting && !lateOrders.has(id) && !delivered.has(id)) {
        await api.call('POST', '/api/messages', {
          name: 'delivered',
          correlationKey: orderIdOf.get(id),
          variables: { deliveredAt: new Date().toISOString() },
        });
        delivered.add(id);
      }
    });
    openReviews = ours.length;
    progress(bar(finished.size, all.length, `reviews done ${clerkCompleted}  incidents ${stuck}`), false);
    // Instances that only wait on an incident will not move without an operator: stop waiting for them.
    if (finished.size + stuck >= all.length) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const views = await inBatches(
    all,
    16,
    async (id) => finished.get(id) ?? api.call<InstanceView>('GET', `/api/instances/${id}`),
  );
  const { tasks } = await api.call<{ tasks: UserTaskSummary[] }>('GET', '/api/tasks?state=open&limit=500');
  openReviews = tasks.filter((task) => loans.has(task.instanceId) || orderIdOf.has(task.instanceId)).length;
  progress(bar(finished.size, all.length, `reviews done ${clerkCompleted}`), true);
  const summary = summarize(
    views.filter((v) => loans.has(v.instanceId)),
    views.filter((v) => !loans.has(v.instanceId)),
    clerkCompleted,
    openReviews,
    await options.botRunsByOutcome?.(),
  );
  return { summary, seconds: (Date.now() - started) / 1000, loanInstanceIds, orderInstanceIds };
}
