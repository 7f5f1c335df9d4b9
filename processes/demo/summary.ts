/** The demo's summary, computed from the instance views the API returns (pure). */
import type { InstanceView } from '../../engine/api.ts';

export interface StepTime {
  step: string;
  runs: number;
  averageMs: number;
  p95Ms: number;
}

export interface DemoSummary {
  loans: {
    total: number;
    approvedAutomatically: number;
    rejectedAutomatically: number;
    /** Decided by a hard limit of the lending policy (the DMN table), before the model. */
    decidedByRule: number;
    reviewed: number;
    escalated: number;
    applicantUnknown: number;
    unfinished: number;
    automationRate: number;
  };
  reviewQueue: { created: number; completedByClerk: number; open: number };
  orders: {
    total: number;
    routes: Record<string, number>;
    reviewed: number;
    delivered: number;
    late: number;
    unfinished: number;
  };
  steps: StepTime[];
  botFailures: {
    incidents: number;
    incidentsByStep: Record<string, number>;
    businessErrors: number;
    runsByOutcome?: Record<string, number>;
  };
}

const TIMED_TYPES = new Set(['serviceTask', 'userTask', 'receiveTask', 'scriptTask', 'sendTask', 'businessRuleTask']);
const ended = (view: InstanceView, elementId: string) =>
  view.elements.some((e) => e.elementId === elementId && e.state === 'completed');

export function summarize(
  loans: InstanceView[],
  orders: InstanceView[],
  clerkCompleted: number,
  openReviews: number,
  runsByOutcome?: Record<string, number>,
): DemoSummary {
  const reviewed = loans.filter((v) => ended(v, 'ReviewApplication') || ended(v, 'SeniorReview')).length;
  const approvedAutomatically = loans.filter((v) => ended(v, 'MarkApproved')).length;
  const rejectedAutomatically = loans.filter((v) => ended(v, 'MarkRejected')).length;
  const applicantUnknown = loans.filter((v) => ended(v, 'RejectedApplicantUnknown')).length;
  const decidedByRule = loans.filter((v) => ended(v, 'DecidedByRule')).length;
  const decided = approvedAutomatically + rejectedAutomatically + decidedByRule + reviewed;
  const routes: Record<string, number> = {};
  for (const view of orders) {
    const label = (view.variables.routing as { label?: string } | undefined)?.label;
    if (label) routes[label] = (routes[label] ?? 0) + 1;
  }
  const durations = new Map<string, number[]>();
  for (const view of [...loans, ...orders]) {
    for (const element of view.elements) {
      if (!TIMED_TYPES.has(element.elementType) || element.state !== 'completed' || !element.endedAt) continue;
      const step = `${view.bpmnProcessId} / ${element.elementName ?? element.elementId}`;
      const list = durations.get(step) ?? [];
      list.push(Date.parse(element.endedAt) - Date.parse(element.startedAt));
      durations.set(step, list);
    }
  }
  const steps = [...durations].map(([step, list]) => {
    const sorted = [...list].sort((a, b) => a - b);
    return {
      step,
      runs: list.length,
      averageMs: Math.round(list.reduce((a, b) => a + b, 0) / list.length),
      p95Ms: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]!,
    };
  });
  const incidentsByStep: Record<string, number> = {};
  for (const view of [...loans, ...orders])
    for (const incident of view.incidents)
      incidentsByStep[incident.elementId] = (incidentsByStep[incident.elementId] ?? 0) + 1;
  return {
    loans: {
      total: loans.length,
      approvedAutomatically,
      rejectedAutomatically,
      decidedByRule,
      reviewed,
      escalated: loans.filter((v) => v.elements.some((e) => e.elementId === 'SeniorReview')).length,
      applicantUnknown,
      unfinished: loans.filter((v) => v.state === 'active').length,
      automationRate: decided === 0 ? 0 : (approvedAutomatically + rejectedAutomatically + decidedByRule) / decided,
    },
    reviewQueue: {
      created:
        loans.filter((v) => v.elements.some((e) => e.elementId === 'ReviewApplication')).length +
        orders.filter((v) => v.elements.some((e) => e.elementId === 'ReviewRouting')).length,
      completedByClerk: clerkCompleted,
      open: openReviews,
    },
    orders: {
      total: orders.length,
      routes,
      reviewed: orders.filter((v) => ended(v, 'ReviewRouting')).length,
      delivered: orders.filter((v) => ended(v, 'OrderDelivered')).length,
      late: orders.filter((v) => ended(v, 'LateDelivery')).length,
      unfinished: orders.filter((v) => v.state === 'active').length,
    },
    steps,
    botFailures: {
      incidents: Object.values(incidentsByStep).reduce((a, b) => a + b, 0),
      incidentsByStep,
      businessErrors: applicantUnknown,
      ...(runsByOutcome ? { runsByOutcome } : {}),
    },
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** The summary as the demo prints it. */
export function formatSummary(summary: DemoSummary, seconds: number): string {
  const { loans, reviewQueue, orders, botFailures } = summary;
  const lines = [
    '',
    `Demo finished in ${seconds.toFixed(1)} s`,
    '',
    `Loan applications   ${loans.total}`,
    `  automation rate   ${pct(loans.automationRate)}  (decided without a person: ${loans.decidedByRule} rejected by a hard limit of the policy (DMN), the model ${loans.approvedAutomatically} approved, ${loans.rejectedAutomatically} rejected)`,
    `  reviewed          ${loans.reviewed} by a person${loans.escalated ? ` (${loans.escalated} escalated)` : ''}`,
    `  applicant unknown ${loans.applicantUnknown} (credit bureau: APPLICANT_NOT_FOUND)`,
    ...(loans.unfinished ? [`  not finished      ${loans.unfinished}`] : []),
    `Review queue        ${reviewQueue.created} created, ${reviewQueue.completedByClerk} completed by the scripted clerk, ${reviewQueue.open} still open`,
    `Orders              ${orders.total}: ${
      Object.entries(orders.routes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'no routes'
    }`,
    `  routed by a person ${orders.reviewed} (the model was not sure)`,
    `  delivered         ${orders.delivered}`,
    `  late delivery     ${orders.late}`,
    ...(orders.unfinished ? [`  not finished      ${orders.unfinished}`] : []),
    `Bot failures        ${botFailures.incidents} incident(s)${Object.keys(botFailures.incidentsByStep).length ? ` ${JSON.stringify(botFailures.incidentsByStep)}` : ''}, ${botFailures.businessErrors} business error(s)${
      botFailures.runsByOutcome
        ? `; bot runs ${Object.entries(botFailures.runsByOutcome)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`
        : ''
    }`,
    '',
    'Time per step (ms, activation to completion: waiting for a free worker and retries included)',
    `  ${''.padEnd(48)} ${'runs'.padStart(5)} ${'average'.padStart(9)} ${'p95'.padStart(10)}`,
    ...summary.steps.map(
      (s) =>
        `  ${s.step.padEnd(48)} ${String(s.runs).padStart(5)} ${String(s.averageMs).padStart(9)} ${String(s.p95Ms).padStart(10)}`,
    ),
    '',
  ];
  return lines.join('\n');
}
