/**
 * Views for people who inspect Operon in SQL (psql, a BI tool, a read replica). They add to the
 * instance_overview and open_incidents views of 000001: what every instance waits on right now,
 * per-process statistics, and the decision log over `decisions` (000002).
 */
import type { Knex } from 'knex';

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

async function comment(knex: Knex, view: string, viewComment: string, columns: Record<string, string>): Promise<void> {
  await knex.raw(`COMMENT ON VIEW ?? IS ${quote(viewComment)}`, [view]);
  for (const [column, text] of Object.entries(columns))
    await knex.raw(`COMMENT ON COLUMN ??.?? IS ${quote(text)}`, [view, column]);
}

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE VIEW active_elements AS
      SELECT e.process_instance_id, p.bpmn_process_id, p.version, p.business_key,
        e.element_instance_key, e.element_id, e.element_type, e.element_name,
        e.started_at, now() - e.started_at AS waiting_for,
        j.id AS job_id, j.type AS job_type, j.state AS job_state, j.retries AS job_retries, j.owner AS job_worker, j.error_message AS job_error,
        u.id AS user_task_id, u.assignee AS user_task_assignee,
        t.due_at AS timer_due_at,
        s.message_name, s.correlation_key,
        EXISTS (SELECT 1 FROM incidents i WHERE i.process_instance_id = e.process_instance_id
                AND i.element_instance_key = e.element_instance_key AND i.state = 'open') AS has_open_incident
      FROM element_instances e
      JOIN process_instances p ON p.id = e.process_instance_id
      LEFT JOIN LATERAL (SELECT * FROM jobs j WHERE j.process_instance_id = e.process_instance_id
                         AND j.element_instance_key = e.element_instance_key ORDER BY j.created_at DESC LIMIT 1) j ON true
      LEFT JOIN LATERAL (SELECT * FROM user_tasks u WHERE u.process_instance_id = e.process_instance_id
                         AND u.element_instance_key = e.element_instance_key AND u.state = 'open' LIMIT 1) u ON true
      LEFT JOIN LATERAL (SELECT * FROM timers t WHERE t.process_instance_id = e.process_instance_id
                         AND t.element_instance_key = e.element_instance_key AND t.state = 'scheduled' ORDER BY t.due_at LIMIT 1) t ON true
      LEFT JOIN LATERAL (SELECT * FROM message_subscriptions s WHERE s.process_instance_id = e.process_instance_id
                         AND s.element_instance_key = e.element_instance_key AND s.state = 'open' LIMIT 1) s ON true
      WHERE e.state = 'active'`);
  await comment(
    knex,
    'active_elements',
    'Every element instance that is active right now and what it waits on: a job (and its worker), a person, a timer or a message.',
    {
      process_instance_id: 'The process instance.',
      bpmn_process_id: 'BPMN process id of the instance.',
      version: 'Process version the instance runs.',
      business_key: 'Business key of the instance.',
      element_instance_key: 'Key of the activation, unique within the instance.',
      element_id: 'BPMN element id.',
      element_type: 'BPMN element type, e.g. serviceTask, userTask.',
      element_name: 'Element name from the model.',
      started_at: 'When the element was activated.',
      waiting_for: 'How long it has been active (interval).',
      job_id: 'The latest job of a service task.',
      job_type: 'Task type of the job (http, bot:..., decision:..., or an external worker type).',
      job_state: 'ready, leased, completed, failed or cancelled.',
      job_retries: 'Retries left.',
      job_worker: 'Worker holding the job lease, if leased.',
      job_error: 'Latest failure message of the job.',
      user_task_id: 'Open user task id (complete it with POST /api/tasks/{id}/complete).',
      user_task_assignee: 'Assignee of the open user task.',
      timer_due_at: 'When the scheduled timer of this element fires.',
      message_name: 'Message the element waits for.',
      correlation_key: 'Correlation key the message must carry.',
      has_open_incident: 'true when an open incident stops this element.',
    },
  );

  await knex.raw(`
    CREATE VIEW process_statistics AS
      SELECT p.bpmn_process_id, p.version,
        count(*) AS instances,
        count(*) FILTER (WHERE p.state = 'active') AS active,
        count(*) FILTER (WHERE p.state = 'completed') AS completed,
        count(*) FILTER (WHERE p.state = 'terminated') AS terminated,
        count(*) FILTER (WHERE EXISTS (SELECT 1 FROM incidents i WHERE i.process_instance_id = p.id AND i.state = 'open')) AS with_open_incidents,
        avg(p.ended_at - p.started_at) FILTER (WHERE p.state = 'completed') AS avg_duration,
        percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM p.ended_at - p.started_at)) FILTER (WHERE p.state = 'completed') AS p95_duration_seconds,
        min(p.started_at) AS first_started_at,
        max(p.started_at) AS last_started_at
      FROM process_instances p
      GROUP BY p.bpmn_process_id, p.version`);
  await comment(
    knex,
    'process_statistics',
    'Per process version: how many instances are active, completed, terminated or stuck on an incident, and how long completed ones took.',
    {
      bpmn_process_id: 'BPMN process id.',
      version: 'Process version.',
      instances: 'Instances started.',
      active: 'Instances still running.',
      completed: 'Instances that reached an end event.',
      terminated: 'Instances cancelled or ended by a terminate end event.',
      with_open_incidents: 'Instances with at least one open incident.',
      avg_duration: 'Average start-to-end time of completed instances (interval).',
      p95_duration_seconds: '95th percentile start-to-end time of completed instances, in seconds.',
      first_started_at: 'Start of the oldest instance.',
      last_started_at: 'Start of the newest instance.',
    },
  );

  await knex.raw(`
    CREATE VIEW decision_log AS
      SELECT d.created_at AS decided_at, d.id AS decision_id, d.process_instance_id, p.bpmn_process_id, p.business_key,
        d.element_id, d.model_name, d.model_version, d.label, d.confidence, d.threshold, d.needs_review,
        d.reviewed_label, d.reviewed_by, d.reviewed_at,
        (d.reviewed_label IS NOT NULL AND d.reviewed_label <> d.label) AS overruled,
        d.latency_ms, d.truncated, d.scores, d.inputs
      FROM decisions d LEFT JOIN process_instances p ON p.id = d.process_instance_id`);
  await comment(
    knex,
    'decision_log',
    'Every decision a decision: node (or operon decide) made, newest last, with the process and business key of its instance and whether a reviewer overruled it.',
    {
      decided_at: 'When the decision was made.',
      decision_id: 'Decision id (decisions.id).',
      process_instance_id: 'The process instance; null for decisions made with operon decide.',
      bpmn_process_id: 'BPMN process id of the instance.',
      business_key: 'Business key of the instance.',
      element_id: 'BPMN element id of the decision task.',
      model_name: 'Model name (the part after decision:).',
      model_version: 'Model version that decided.',
      label: 'The chosen label.',
      confidence: 'Probability of the chosen label, 0..1.',
      threshold: 'Confidence threshold in force.',
      needs_review: 'true when confidence was below the threshold and a person had to review.',
      reviewed_label: 'The label the reviewer gave, if reviewed.',
      reviewed_by: 'Who reviewed.',
      reviewed_at: 'When it was reviewed.',
      overruled: 'true when the reviewer chose another label than the model.',
      latency_ms: 'Time to classify in milliseconds.',
      truncated: 'true when over-long input text was cut.',
      scores: 'Probability per label (JSON).',
      inputs: 'Input variables the prompt was built from (JSON).',
    },
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP VIEW IF EXISTS decision_log, process_statistics, active_elements');
}
