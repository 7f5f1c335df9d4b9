/**
 * Request and response schemas of the HTTP API. The same zod schemas validate requests
 * (engine/http/route.ts) and generate /openapi.json (engine/http/openapi.ts).
 */
import { z } from 'zod';
import { PageInfo, pageQuery } from './pagination.ts';
import { WEBHOOK_SECRET_RULE, isWebhookSecret } from './signature.ts';

/** Largest value of a PostgreSQL integer column: larger numbers would fail in the query (500) instead of a 400. */
const PG_INTEGER_MAX = 2_147_483_647;

export const Variables = z.record(z.string(), z.unknown()).meta({ description: 'Process variables as a JSON object' });
const Id = z.guid();
const IsoTime = z.string().meta({ description: 'ISO 8601 timestamp' });

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'An OPERON_ERR_* code, see docs/errors.md' }),
      message: z.string(),
      details: z.record(z.string(), z.unknown()),
    }),
  })
  .meta({ id: 'Error' });

// --- deployments and processes
export const DeploymentResponse = z
  .object({
    processes: z.array(
      z.object({
        bpmnProcessId: z.string(),
        version: z.number().int(),
        definitionId: z.string(),
        created: z.boolean(),
      }),
    ),
    decisions: z.array(
      z.object({
        decisionId: z.string(),
        name: z.string().optional(),
        versionTag: z.string().optional(),
        version: z.number().int(),
        decisionDefinitionId: z.string(),
        created: z.boolean(),
      }),
    ),
    warnings: z.array(z.string()),
  })
  .meta({ id: 'Deployment' });

export const ProcessSummary = z
  .object({
    definitionId: z.string(),
    bpmnProcessId: z.string(),
    version: z.number().int(),
    name: z.string().optional(),
    deployedAt: IsoTime,
    webhook: z
      .enum(['signed', 'open', 'none'])
      .meta({ description: 'How POST /webhooks/{bpmnProcessId} is authenticated; none = not accepted' }),
  })
  .meta({ id: 'ProcessDefinition' });
export const ProcessListQuery = z.object(pageQuery());
export const ProcessList = z.object({ processes: z.array(ProcessSummary), page: PageInfo });

export const DefinitionIdParams = z.object({ definitionId: Id });
export const ProcessIdParams = z.object({ bpmnProcessId: z.string().min(1).max(255) });

const WebhookSecret = z.string().refine(isWebhookSecret, { message: WEBHOOK_SECRET_RULE });
export const WebhookConfigBody = z
  .union([
    z.object({ secret: WebhookSecret }).strict(),
    z.object({ secrets: z.array(WebhookSecret).min(1).max(10) }).strict(),
    z.object({ open: z.literal(true) }).strict(),
  ])
  .meta({
    id: 'WebhookConfig',
    description:
      '{ secret } or { secrets: [...] } (any of them signs; rotate by adding the new one first), or { open: true } to accept unsigned deliveries',
  });
export const WebhookConfigResponse = z.object({
  bpmnProcessId: z.string(),
  mode: z.enum(['signed', 'open']),
  secretCount: z.number().int(),
});

export const WebhookQuery = z.object({
  businessKey: z.string().min(1).max(255).optional().meta({ description: 'Business key of the new instance' }),
});

export const InstanceStarted = z.object({ instanceId: Id }).meta({ id: 'InstanceStarted' });

// --- instances
export const InstanceState = z.enum(['active', 'completed', 'terminated']);
export const InstanceIdParams = z.object({ id: Id });

export const InstanceListQuery = z.object({
  process: z.string().min(1).optional().meta({ description: 'BPMN process id' }),
  state: InstanceState.optional(),
  businessKey: z.string().min(1).optional(),
  startedAfter: z.iso.datetime({ offset: true }).optional(),
  startedBefore: z.iso.datetime({ offset: true }).optional(),
  ...pageQuery(50),
});

/** POST /api/instances/{id}/modify: element ids to put a token on, element instance keys to terminate. */
export const ModifyInstanceBody = z
  .object({
    activate: z.array(z.string().min(1)).max(100).optional(),
    terminate: z.array(z.string().min(1)).max(100).optional(),
  })
  .strict();

/** Where a migration goes: a definition id, or a process id and version. */
export const MigrationTargetSchema = z
  .union([
    z.strictObject({ definitionId: z.guid() }),
    z.strictObject({
      bpmnProcessId: z.string().min(1).max(1000),
      version: z.number().int().min(1).max(PG_INTEGER_MAX),
    }),
  ])
  .meta({ id: 'MigrationTarget', description: '{ definitionId } or { bpmnProcessId, version }' });

export const ElementMappingSchema = z.strictObject({
  sourceElementId: z.string().min(1).max(1000),
  targetElementId: z.string().min(1).max(1000),
});

/** POST /api/instances/{id}/migration. */
export const MigrateInstanceBody = z.strictObject({
  targetProcessDefinition: MigrationTargetSchema,
  mappings: z.array(ElementMappingSchema).max(1000).default([]),
  dryRun: z.boolean().optional(),
});

const MigratedElementSchema = z.object({
  elementInstanceKey: z.string(),
  sourceElementId: z.string(),
  targetElementId: z.string(),
  elementType: z.string(),
  implicit: z.literal(true).optional(),
});
const DefinitionVersion = z.object({ definitionId: z.string(), bpmnProcessId: z.string(), version: z.number().int() });

/** What a migration did or would do to one instance. */
export const MigrationOutcomeSchema = z
  .union([
    z.object({
      instanceId: z.string(),
      ok: z.literal(true),
      from: DefinitionVersion,
      to: DefinitionVersion,
      elements: z.array(MigratedElementSchema),
    }),
    z.object({
      instanceId: z.string(),
      ok: z.literal(false),
      code: z.string(),
      reason: z.string(),
      elementId: z.string().optional(),
      elementInstanceKey: z.string().optional(),
    }),
  ])
  .meta({ id: 'MigrationOutcome' });

export const StartInstanceBody = z
  .object({
    bpmnProcessId: z.string().min(1),
    variables: Variables.optional(),
    businessKey: z.string().min(1).max(255).optional(),
    version: z.number().int().min(1).max(PG_INTEGER_MAX).optional(),
  })
  .strict();

const ElementInstance = z.object({
  elementInstanceKey: z.string(),
  elementId: z.string(),
  elementType: z.string(),
  elementName: z.string().optional(),
  state: z.enum(['active', 'completed', 'terminated']),
  startedAt: IsoTime,
  endedAt: IsoTime.optional(),
});

export const Incident = z
  .object({
    id: Id,
    instanceId: Id,
    elementId: z.string(),
    elementInstanceKey: z.string(),
    jobId: z.string().optional(),
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
    state: z.enum(['open', 'resolved']),
    createdAt: IsoTime,
    resolvedAt: IsoTime.optional(),
  })
  .meta({ id: 'Incident' });

export const Decision = z
  .object({
    id: Id,
    elementId: z.string().nullable(),
    modelName: z.string(),
    modelVersion: z.string(),
    label: z.string(),
    confidence: z.number(),
    threshold: z.number(),
    needsReview: z.boolean(),
    reviewReasons: z
      .array(z.string())
      .meta({ description: 'Why a person had to review it; empty when it was automated' }),
    grounding: z
      .record(z.string(), z.object({ label: z.string(), confidence: z.number() }))
      .optional()
      .meta({
        description:
          "Present when the answer was automated under its threshold because the written policy grounds it: the model's label and confidence on each reference reading of the text",
      }),
    windows: z
      .array(z.object({ start: z.number().int(), end: z.number().int(), label: z.string(), confidence: z.number() }))
      .optional()
      .meta({
        description:
          'Present when the free text was longer than the model reads at once: the overlapping parts it read one after another (character ranges of the text), each with its label and confidence; the answer is automated only when every part gives it at or above the threshold',
      }),
    scores: z.record(z.string(), z.number()),
    reviewedLabel: z.string().optional(),
    reviewedBy: z.string().optional(),
    latencyMs: z.number(),
    decidedAt: IsoTime,
  })
  .meta({ id: 'Decision', description: 'A decision a decision: task made for this instance (table decisions)' });

export const Instance = z
  .object({
    instanceId: Id,
    bpmnProcessId: z.string(),
    version: z.number().int(),
    definitionId: z.string(),
    businessKey: z.string().optional(),
    state: InstanceState,
    variables: Variables,
    startedAt: IsoTime,
    endedAt: IsoTime.optional(),
    elements: z.array(ElementInstance),
    incidents: z.array(Incident),
    decisions: z.array(Decision).optional(),
  })
  .meta({ id: 'Instance' });
export const InstanceList = z.object({ instances: z.array(Instance.omit({ decisions: true })), page: PageInfo });

// --- user tasks
const Priority = z.coerce.number().int().min(0).max(100);
export const TaskListQuery = z.object({
  state: z.enum(['open', 'assigning', 'updating', 'completing', 'canceling', 'completed', 'cancelled']).optional(),
  instanceId: Id.optional(),
  assignee: z.string().min(1).max(255).optional(),
  candidateUser: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .meta({ description: 'Tasks that list this user among their candidate users' }),
  candidateGroup: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .meta({ description: 'Tasks that list this group among their candidate groups' }),
  dueBefore: z.iso.datetime({ offset: true }).optional().meta({ description: 'Due date strictly before' }),
  dueAfter: z.iso.datetime({ offset: true }).optional().meta({ description: 'Due date strictly after' }),
  followUpBefore: z.iso.datetime({ offset: true }).optional(),
  followUpAfter: z.iso.datetime({ offset: true }).optional(),
  minPriority: Priority.optional(),
  maxPriority: Priority.optional(),
  ...pageQuery(),
});
export const UserTask = z
  .object({
    id: Id,
    instanceId: Id,
    elementId: z.string(),
    elementInstanceKey: z.string(),
    name: z.string().optional(),
    assignee: z.string().optional(),
    candidateGroups: z.array(z.string()).optional(),
    candidateUsers: z.array(z.string()).optional(),
    formKey: z.string().optional(),
    dueDate: IsoTime.optional(),
    followUpDate: IsoTime.optional(),
    priority: z.number().int().meta({ description: 'zeebe:priorityDefinition, 0..100 (50 by default)' }),
    properties: z.record(z.string(), z.string()).optional().meta({ description: 'zeebe:properties of the task' }),
    state: z.enum(['open', 'assigning', 'updating', 'completing', 'canceling', 'completed', 'cancelled']),
    variables: Variables,
    createdAt: IsoTime,
    completedAt: IsoTime.optional(),
  })
  .meta({ id: 'UserTask' });
export const UserTaskSummary = UserTask.omit({ variables: true }).meta({
  id: 'UserTaskSummary',
  description: 'A user task without its variables (GET /api/tasks/{id} has them)',
});
export const TaskList = z.object({ tasks: z.array(UserTaskSummary), page: PageInfo });
const UserName = z.string().min(1).max(255);
const TaskDate = z.iso.datetime({ offset: true }).nullable();
/** Fields of a user task an update (or a listener job's corrections) sets; null clears a date. */
const TaskFields = {
  candidateUsers: z.array(UserName).max(100).optional(),
  candidateGroups: z.array(UserName).max(100).optional(),
  dueDate: TaskDate.optional().meta({ description: 'ISO 8601 with offset; null clears it' }),
  followUpDate: TaskDate.optional().meta({ description: 'ISO 8601 with offset; null clears it' }),
  priority: z.number().int().min(0).max(100).optional(),
};
export const AssignTaskBody = z
  .object({
    assignee: UserName.nullable().meta({ description: 'Who holds the task; null unassigns it' }),
  })
  .strict();
export const UpdateTaskBody = z
  .object(TaskFields)
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: 'name at least one field to change' });
export const CompleteTaskBody = z
  .object({
    variables: Variables.optional(),
    completedBy: z.string().min(1).max(255).optional().meta({
      description:
        'Who completes it. Recorded from the sign-in: a caller other than the development token may only name itself',
    }),
  })
  .strict();

// --- messages
/** POST /api/signals. */
export const BroadcastSignalBody = z
  .object({ name: z.string().min(1).max(255), variables: Variables.optional() })
  .strict();
export const BroadcastSignalResponse = z.object({ receivers: z.number().int() });

export const PublishMessageBody = z
  .object({
    name: z.string().min(1),
    correlationKey: z.string(),
    variables: Variables.optional(),
    timeToLiveMs: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600 * 1000)
      .optional(),
    messageId: z.string().min(1).max(255).optional(),
  })
  .strict();
export const PublishMessageResponse = z.object({
  correlated: z.boolean(),
  instanceId: Id.optional(),
  duplicate: z
    .literal(true)
    .optional()
    .meta({ description: "This messageId was published before: the first publish's answer; nothing changed" }),
});

// --- incidents
export const IncidentListQuery = z.object({
  state: z.enum(['open', 'resolved']).optional(),
  instanceId: Id.optional(),
  ...pageQuery(),
});
export const IncidentList = z.object({ incidents: z.array(Incident), page: PageInfo });
export const IncidentResolved = z.object({ incidentId: Id, state: z.literal('resolved') });

// --- external job workers
export const ActivateJobsBody = z
  .object({
    type: z.string().min(1),
    worker: z.string().min(1).max(255),
    maxJobs: z.number().int().min(1).max(100).default(1),
    lockMs: z
      .number()
      .int()
      .min(1000)
      .max(24 * 3600 * 1000)
      .default(60_000),
    requestTimeoutMs: z
      .number()
      .int()
      .min(0)
      .max(60_000)
      .default(0)
      .meta({ description: 'Long-poll: wait this long for jobs when none are ready' }),
  })
  .strict();
export const ActivatedJob = z
  .object({
    id: Id,
    type: z.string(),
    instanceId: Id,
    elementId: z.string(),
    elementInstanceKey: z.string(),
    bpmnProcessId: z.string(),
    attempt: z.number().int(),
    retries: z.number().int(),
    worker: z.string(),
    deadline: IsoTime,
    headers: z.record(z.string(), z.string()),
    variables: Variables,
    listenerEventType: z
      .enum(['start', 'end', 'creating', 'assigning', 'updating', 'completing', 'canceling'])
      .optional()
      .meta({
        description:
          "A listener's job: execution listener start / end, or the user task's creating, assigning, updating, completing or canceling listener",
      }),
    properties: z.record(z.string(), z.string()).optional().meta({ description: 'zeebe:properties of the element' }),
  })
  .meta({ id: 'ActivatedJob' });
export const ActivateJobsResponse = z.object({ jobs: z.array(ActivatedJob) });
export const JobIdParams = z.object({ id: Id });

const Lease = {
  worker: z.string().min(1).max(255),
  attempt: z
    .number()
    .int()
    .min(1)
    .max(PG_INTEGER_MAX)
    .meta({ description: 'The attempt returned on activation (fencing)' }),
};
/** Camunda 8's job result corrections: null (or absent) keeps a field, "" clears the assignee or a date, [] a list. */
const ClearableDate = z
  .union([z.iso.datetime({ offset: true }), z.literal('')])
  .nullable()
  .optional();
export const TaskCorrections = z
  .object({
    assignee: z.string().max(255).nullable().optional(),
    candidateUsers: z.array(UserName).max(100).nullable().optional(),
    candidateGroups: z.array(UserName).max(100).nullable().optional(),
    dueDate: ClearableDate,
    followUpDate: ClearableDate,
    priority: z.number().int().min(0).max(100).nullable().optional(),
  })
  .strict()
  .meta({
    id: 'TaskCorrections',
    description:
      'An assigning or updating task listener\'s corrections of the change it holds, as in Camunda 8: null or absent keeps a field, "" clears the assignee or a date, [] clears a list',
  });
export const JobResult = z
  .object({
    type: z.literal('userTask').optional(),
    denied: z.boolean().optional(),
    deniedReason: z.string().max(4000).optional(),
    corrections: TaskCorrections.optional(),
  })
  .strict()
  .meta({
    id: 'JobResult',
    description:
      "Camunda 8.8 job result: denied true from a completing, assigning or updating task listener's job rejects the user task's completion, assignment or update (the task is open again, unchanged); corrections from an assigning or updating listener's job correct the change (refused for other jobs); ignored for other jobs",
  });
export const CompleteJobBody = z
  .object({ ...Lease, variables: Variables.optional(), result: JobResult.optional() })
  .strict();
export const FailJobBody = z
  .object({
    ...Lease,
    errorMessage: z.string().min(1).max(10_000),
    retries: z.number().int().min(0).max(PG_INTEGER_MAX).optional(),
    retryBackoffMs: z
      .number()
      .int()
      .min(0)
      .max(24 * 3600 * 1000)
      .optional(),
  })
  .strict();
export const JobErrorBody = z
  .object({
    ...Lease,
    errorCode: z.string().min(1),
    errorMessage: z.string().max(10_000).optional(),
    variables: Variables.optional(),
  })
  .strict();
export const HeartbeatBody = z
  .object({
    ...Lease,
    lockMs: z
      .number()
      .int()
      .min(1000)
      .max(24 * 3600 * 1000)
      .default(60_000),
  })
  .strict();
export const JobDone = z.object({
  jobId: Id,
  replayed: z
    .literal(true)
    .optional()
    .meta({ description: 'Present on a retry that this worker and attempt had already applied: nothing changed' }),
});
export const HeartbeatResponse = z.object({ jobId: Id, deadline: IsoTime });

export const Health = z.object({ status: z.literal('ok'), database: z.literal('ok') });
