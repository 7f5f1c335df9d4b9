/**
 * The core schema: deployed definitions, process instances and everything an instance waits on.
 *
 * Every runtime table carries `process_instance_id`, and one engine step only touches the rows of one
 * instance, so the schema can later be distributed by instance id (Citus) without redesign.
 * `history` is append-only and partitioned by time, so retention is a partition drop.
 */
import type { Knex } from 'knex';

const comments: Record<string, { table: string; columns: Record<string, string> }> = {
  process_definitions: {
    table: 'Deployed BPMN processes: one row per version of a bpmnProcessId.',
    columns: {
      id: 'Definition id (UUID); instances reference it.',
      bpmn_process_id: 'The id attribute of the bpmn:process element.',
      version: 'Version per bpmn_process_id, 1, 2, ...; identical XML creates no new version.',
      name: 'The name attribute of the bpmn:process element.',
      resource_name: 'File name the process was deployed from.',
      xml: 'The deployed BPMN XML (the whole file).',
      xml_hash: 'SHA-256 of the XML; a deployment with the same hash as the latest version is not a new version.',
      deployed_at: 'When this version was deployed.',
    },
  },
  process_instances: {
    table: 'One row per process instance: its state, root variables and the runtime snapshot.',
    columns: {
      id: 'Process instance id (UUID).',
      definition_id: 'The process_definitions row this instance runs.',
      bpmn_process_id: 'Copied from the definition for easy filtering.',
      version: 'Copied from the definition for easy filtering.',
      business_key: 'Optional business key given at start.',
      state: 'active, completed or terminated. Open incidents are a property, not a state.',
      variables: 'Root-scope variables after the latest step (JSON).',
      snapshot: 'Opaque runtime snapshot (tokens, scopes); only the engine reads it.',
      row_version: 'Incremented by every step; a step holds the row lock while it runs.',
      started_at: 'When the instance started.',
      updated_at: 'When the latest step committed.',
      ended_at: 'When the instance completed or was terminated.',
    },
  },
  element_instances: {
    table: 'One row per activation of a BPMN element (a task run twice in a loop has two rows).',
    columns: {
      process_instance_id: 'The process instance.',
      element_instance_key: 'Key of the activation, unique within the instance.',
      seq: 'Global activation order.',
      element_id: 'BPMN element id from the model.',
      element_type: 'BPMN element type, e.g. serviceTask, exclusiveGateway.',
      element_name: 'The name attribute of the element.',
      parent_key: 'Element instance key of the enclosing scope (subprocess), if any.',
      state: 'active, completed or terminated.',
      started_at: 'When the element was activated.',
      ended_at: 'When the element completed or was terminated.',
    },
  },
  jobs: {
    table: 'Work items for service tasks, claimed by workers under a lease (FOR UPDATE SKIP LOCKED).',
    columns: {
      id: 'Job id (UUID).',
      process_instance_id: 'The process instance.',
      element_instance_key: 'The service task activation this job belongs to.',
      element_id: 'BPMN element id of the service task.',
      bpmn_process_id: 'Process id, for external workers.',
      type: 'zeebe:taskDefinition type, e.g. http, bot:credit-bureau, or a custom type for external workers.',
      state:
        'ready (claimable at run_at), leased (a worker holds it), completed, failed (no retries left: incident), cancelled.',
      retries: 'Retries left.',
      max_retries: 'zeebe:taskDefinition retries; resolving an incident gives the job this many again.',
      attempt: 'Incremented on every claim; completion is fenced on owner + attempt.',
      owner: 'Worker id holding the current lease.',
      lease_expires_at: 'When the lease expires; an expired lease can be claimed by another worker.',
      run_at: 'Earliest time the job may be claimed (retry backoff).',
      headers: 'zeebe:taskHeaders of the element.',
      variables: 'Input variables of the job (after the input mapping).',
      error_message: 'The latest failure message.',
      created_at: 'When the job was created.',
      updated_at: 'When the job row last changed.',
      ended_at: 'When the job completed, failed for good or was cancelled.',
    },
  },
  timers: {
    table: 'Durable timers: intermediate/boundary timers of instances and timer start events of definitions.',
    columns: {
      id: 'Timer id (UUID).',
      process_instance_id: 'The process instance; NULL for a timer start event.',
      definition_id: 'The process definition (for timer start events, the one to start).',
      timer_key: 'Key the runtime gave the timer (unique within the instance).',
      element_instance_key: 'The waiting element instance (catch event or boundary event host).',
      element_id: 'BPMN element id of the timer event.',
      due_at: 'When the timer fires.',
      cycle: 'Remaining repetition spec (R/.../PT...) for cycle timers.',
      state: 'scheduled, fired or cancelled.',
      created_at: 'When the timer was scheduled.',
      fired_at: 'When the timer fired (exactly once).',
    },
  },
  message_subscriptions: {
    table:
      'Open waits for a message: message catch events, receive tasks, message boundary events, message start events.',
    columns: {
      id: 'Subscription id (UUID).',
      process_instance_id: 'The waiting process instance; NULL for a message start event.',
      definition_id: 'The process definition.',
      element_instance_key: 'The waiting element instance; NULL for a message start event.',
      element_id: 'BPMN element id of the catching element.',
      message_name: 'Message name.',
      correlation_key: 'Evaluated correlation key; NULL for a message start event.',
      state: 'open or closed.',
      created_at: 'When the subscription opened.',
      closed_at: 'When it closed (correlated or the element ended).',
    },
  },
  messages: {
    table: 'Published messages buffered for a subscription that opens later (until expires_at).',
    columns: {
      id: 'Message row id (UUID).',
      process_instance_id: 'The instance the message correlated to, once it did.',
      name: 'Message name.',
      correlation_key: 'Correlation key.',
      message_id: 'Optional publisher id; a second message with the same name and id is ignored while buffered.',
      variables: 'Message payload merged into the instance on correlation.',
      state: 'buffered, correlated or expired.',
      created_at: 'When the message was published.',
      expires_at: 'After this the message is not correlated any more.',
      correlated_at: 'When the message correlated.',
    },
  },
  incidents: {
    table: 'Problems that stop an element until an operator resolves them (failed jobs, bad conditions...).',
    columns: {
      id: 'Incident id (UUID).',
      process_instance_id: 'The process instance.',
      element_instance_key: 'The stuck element instance.',
      element_id: 'BPMN element id of the stuck element.',
      job_id: 'The failed job, if the incident came from a job.',
      code: 'OPERON_ERR_* code (see docs/errors.md).',
      message: 'Human-readable reason.',
      details: 'Extra facts (expression, variables names, error).',
      retry_event: 'For incidents raised by the engine itself: the event re-applied on resolve.',
      state: 'open or resolved.',
      created_at: 'When the incident was raised.',
      resolved_at: 'When an operator resolved it (or the element ended).',
    },
  },
  user_tasks: {
    table: 'Tasks waiting for a person; completed through the API with variables.',
    columns: {
      id: 'User task id (UUID).',
      process_instance_id: 'The process instance.',
      element_instance_key: 'The user task activation.',
      element_id: 'BPMN element id.',
      name: 'Task name from the model.',
      assignee: 'zeebe:assignmentDefinition assignee.',
      candidate_groups: 'zeebe:assignmentDefinition candidate groups.',
      form_key: 'zeebe:formDefinition form key.',
      state: 'open, completed or cancelled.',
      variables: 'Input variables shown to the person.',
      result: 'Variables the person completed the task with.',
      completed_by: 'Who completed the task.',
      created_at: 'When the task was created.',
      completed_at: 'When the task was completed or cancelled.',
    },
  },
  history: {
    table: 'Append-only lifecycle events of every instance (partitioned by created_at; retention = drop a partition).',
    columns: {
      id: 'Event id, increasing.',
      process_instance_id: 'The process instance.',
      element_instance_key: 'The element instance, if the event concerns one.',
      element_id: 'BPMN element id or sequence flow id.',
      event_type:
        'What happened, e.g. instance.started, element.activated, flow.taken, job.completed, incident.raised.',
      payload: 'Facts about the event (no secrets).',
      created_at: 'When it happened.',
    },
  },
};

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('process_definitions', (t) => {
    t.uuid('id').primary();
    t.text('bpmn_process_id').notNullable();
    t.integer('version').notNullable();
    t.text('name');
    t.text('resource_name').notNullable();
    t.text('xml').notNullable();
    t.text('xml_hash').notNullable();
    t.timestamp('deployed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['bpmn_process_id', 'version']);
  });

  await knex.schema.createTable('process_instances', (t) => {
    t.uuid('id').primary();
    t.uuid('definition_id').notNullable().references('process_definitions.id');
    t.text('bpmn_process_id').notNullable();
    t.integer('version').notNullable();
    t.text('business_key');
    t.text('state').notNullable();
    t.jsonb('variables').notNullable().defaultTo('{}');
    t.jsonb('snapshot').notNullable();
    t.integer('row_version').notNullable().defaultTo(1);
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('ended_at', { useTz: true });
    t.index(['bpmn_process_id', 'state']);
    t.index(['state', 'started_at']);
    t.index(['business_key']);
  });
  await knex.raw(
    `ALTER TABLE process_instances ADD CONSTRAINT process_instances_state_check CHECK (state IN ('active','completed','terminated'))`,
  );

  await knex.schema.createTable('element_instances', (t) => {
    t.uuid('process_instance_id').notNullable().references('process_instances.id').onDelete('CASCADE');
    t.text('element_instance_key').notNullable();
    t.bigIncrements('seq', { primaryKey: false });
    t.text('element_id').notNullable();
    t.text('element_type').notNullable();
    t.text('element_name');
    t.text('parent_key');
    t.text('state').notNullable();
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('ended_at', { useTz: true });
    t.primary(['process_instance_id', 'element_instance_key']);
    t.index(['process_instance_id', 'seq']);
  });
  await knex.raw(
    `ALTER TABLE element_instances ADD CONSTRAINT element_instances_state_check CHECK (state IN ('active','completed','terminated'))`,
  );

  await knex.schema.createTable('jobs', (t) => {
    t.uuid('id').primary();
    t.uuid('process_instance_id').notNullable().references('process_instances.id').onDelete('CASCADE');
    t.text('element_instance_key').notNullable();
    t.text('element_id').notNullable();
    t.text('bpmn_process_id').notNullable();
    t.text('type').notNullable();
    t.text('state').notNullable();
    t.integer('retries').notNullable();
    t.integer('max_retries').notNullable();
    t.integer('attempt').notNullable().defaultTo(0);
    t.text('owner');
    t.timestamp('lease_expires_at', { useTz: true });
    t.timestamp('run_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.jsonb('headers').notNullable().defaultTo('{}');
    t.jsonb('variables').notNullable().defaultTo('{}');
    t.text('error_message');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('ended_at', { useTz: true });
    t.index(['process_instance_id', 'element_instance_key']);
  });
  await knex.raw(
    `ALTER TABLE jobs ADD CONSTRAINT jobs_state_check CHECK (state IN ('ready','leased','completed','failed','cancelled'))`,
  );
  await knex.raw(`CREATE INDEX jobs_claimable_idx ON jobs (type, run_at) WHERE state = 'ready'`);
  await knex.raw(`CREATE INDEX jobs_leased_idx ON jobs (lease_expires_at) WHERE state = 'leased'`);

  await knex.schema.createTable('timers', (t) => {
    t.uuid('id').primary();
    t.uuid('process_instance_id').references('process_instances.id').onDelete('CASCADE');
    t.uuid('definition_id').notNullable().references('process_definitions.id');
    t.text('timer_key').notNullable();
    t.text('element_instance_key');
    t.text('element_id').notNullable();
    t.timestamp('due_at', { useTz: true }).notNullable();
    t.text('cycle');
    t.text('state').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('fired_at', { useTz: true });
    t.index(['process_instance_id', 'timer_key']);
  });
  await knex.raw(
    `ALTER TABLE timers ADD CONSTRAINT timers_state_check CHECK (state IN ('scheduled','fired','cancelled'))`,
  );
  await knex.raw(`CREATE INDEX timers_due_idx ON timers (due_at) WHERE state = 'scheduled'`);

  await knex.schema.createTable('message_subscriptions', (t) => {
    t.uuid('id').primary();
    t.uuid('process_instance_id').references('process_instances.id').onDelete('CASCADE');
    t.uuid('definition_id').notNullable().references('process_definitions.id');
    t.text('element_instance_key');
    t.text('element_id').notNullable();
    t.text('message_name').notNullable();
    t.text('correlation_key');
    t.text('state').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('closed_at', { useTz: true });
    t.index(['process_instance_id', 'element_instance_key']);
  });
  await knex.raw(
    `ALTER TABLE message_subscriptions ADD CONSTRAINT message_subscriptions_state_check CHECK (state IN ('open','closed'))`,
  );
  await knex.raw(
    `CREATE INDEX message_subscriptions_open_idx ON message_subscriptions (message_name, correlation_key) WHERE state = 'open'`,
  );

  await knex.schema.createTable('messages', (t) => {
    t.uuid('id').primary();
    t.uuid('process_instance_id').references('process_instances.id').onDelete('SET NULL');
    t.text('name').notNullable();
    t.text('correlation_key').notNullable();
    t.text('message_id');
    t.jsonb('variables').notNullable().defaultTo('{}');
    t.text('state').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('correlated_at', { useTz: true });
  });
  await knex.raw(
    `ALTER TABLE messages ADD CONSTRAINT messages_state_check CHECK (state IN ('buffered','correlated','expired'))`,
  );
  await knex.raw(
    `CREATE INDEX messages_buffered_idx ON messages (name, correlation_key, created_at) WHERE state = 'buffered'`,
  );
  await knex.raw(
    `CREATE UNIQUE INDEX messages_message_id_idx ON messages (name, message_id) WHERE state = 'buffered' AND message_id IS NOT NULL`,
  );

  await knex.schema.createTable('incidents', (t) => {
    t.uuid('id').primary();
    t.uuid('process_instance_id').notNullable().references('process_instances.id').onDelete('CASCADE');
    t.text('element_instance_key').notNullable();
    t.text('element_id').notNullable();
    t.uuid('job_id');
    t.text('code').notNullable();
    t.text('message').notNullable();
    t.jsonb('details');
    t.jsonb('retry_event');
    t.text('state').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('resolved_at', { useTz: true });
    t.index(['process_instance_id', 'state']);
  });
  await knex.raw(`ALTER TABLE incidents ADD CONSTRAINT incidents_state_check CHECK (state IN ('open','resolved'))`);
  await knex.raw(`CREATE INDEX incidents_open_idx ON incidents (created_at) WHERE state = 'open'`);

  await knex.schema.createTable('user_tasks', (t) => {
    t.uuid('id').primary();
    t.uuid('process_instance_id').notNullable().references('process_instances.id').onDelete('CASCADE');
    t.text('element_instance_key').notNullable();
    t.text('element_id').notNullable();
    t.text('name');
    t.text('assignee');
    t.specificType('candidate_groups', 'text[]');
    t.text('form_key');
    t.text('state').notNullable();
    t.jsonb('variables').notNullable().defaultTo('{}');
    t.jsonb('result');
    t.text('completed_by');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('completed_at', { useTz: true });
    t.index(['process_instance_id', 'element_instance_key']);
  });
  await knex.raw(
    `ALTER TABLE user_tasks ADD CONSTRAINT user_tasks_state_check CHECK (state IN ('open','completed','cancelled'))`,
  );
  await knex.raw(`CREATE INDEX user_tasks_open_idx ON user_tasks (created_at) WHERE state = 'open'`);

  await knex.raw(`
    CREATE TABLE history (
      id bigint GENERATED ALWAYS AS IDENTITY,
      process_instance_id uuid NOT NULL,
      element_instance_key text,
      element_id text,
      event_type text NOT NULL,
      payload jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (id, created_at)
    ) PARTITION BY RANGE (created_at)`);
  await knex.raw(`CREATE TABLE history_default PARTITION OF history DEFAULT`);
  await knex.raw(`CREATE INDEX history_instance_idx ON history (process_instance_id, id)`);
  await knex.raw(`
    CREATE FUNCTION operon_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'history is append-only (drop a partition for retention)';
    END $$`);
  await knex.raw(
    `CREATE TRIGGER history_append_only BEFORE UPDATE ON history FOR EACH ROW EXECUTE FUNCTION operon_history_append_only()`,
  );

  for (const [table, { table: tableComment, columns }] of Object.entries(comments)) {
    await knex.raw(`COMMENT ON TABLE ?? IS ${quote(tableComment)}`, [table]);
    for (const [column, comment] of Object.entries(columns)) {
      await knex.raw(`COMMENT ON COLUMN ??.?? IS ${quote(comment)}`, [table, column]);
    }
  }

  await knex.raw(`
    CREATE VIEW open_incidents AS
      SELECT i.id, i.process_instance_id, p.bpmn_process_id, i.element_id, i.code, i.message, i.job_id, i.created_at
      FROM incidents i JOIN process_instances p ON p.id = i.process_instance_id
      WHERE i.state = 'open'`);
  await knex.raw(
    `COMMENT ON VIEW open_incidents IS 'Incidents waiting for an operator, with the process they belong to.'`,
  );
  await knex.raw(`
    CREATE VIEW instance_overview AS
      SELECT p.id, p.bpmn_process_id, p.version, p.business_key, p.state, p.started_at, p.ended_at,
        (SELECT count(*) FROM incidents i WHERE i.process_instance_id = p.id AND i.state = 'open') AS open_incidents,
        (SELECT string_agg(e.element_id, ', ' ORDER BY e.seq) FROM element_instances e
          WHERE e.process_instance_id = p.id AND e.state = 'active') AS active_elements
      FROM process_instances p`);
  await knex.raw(
    `COMMENT ON VIEW instance_overview IS 'One line per instance: state, open incident count and the elements it currently waits in.'`,
  );
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP VIEW IF EXISTS instance_overview, open_incidents');
  for (const table of [
    'history',
    'user_tasks',
    'incidents',
    'messages',
    'message_subscriptions',
    'timers',
    'jobs',
    'element_instances',
    'process_instances',
    'process_definitions',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
  await knex.raw('DROP FUNCTION IF EXISTS operon_history_append_only()');
}
