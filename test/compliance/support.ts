/** BPMN for the compliance tests: a user task process (with a time to live) and a process that ends at once. */
export function reviewProcess(id: string, retention?: string): string {
  const properties = retention
    ? `<bpmn:extensionElements><zeebe:properties><zeebe:property name="operon:retention" value="${retention}" /></zeebe:properties></bpmn:extensionElements>`
    : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs-${id}" targetNamespace="http://operon.dev/test">
  <bpmn:process id="${id}" isExecutable="true">
    ${properties}
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" name="Review"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>`;
}

export function instantProcess(id: string, retention?: string): string {
  const properties = retention
    ? `<bpmn:extensionElements><zeebe:properties><zeebe:property name="operon:retention" value="${retention}" /></zeebe:properties></bpmn:extensionElements>`
    : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs-${id}" targetNamespace="http://operon.dev/test">
  <bpmn:process id="${id}" isExecutable="true">
    ${properties}
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>`;
}

/** Start -> external job (`type`) -> user task -> end. */
export function checkProcess(id: string, type: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs-${id}" targetNamespace="http://operon.dev/test">
  <bpmn:process id="${id}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
    <bpmn:serviceTask id="check"><bpmn:extensionElements><zeebe:taskDefinition type="${type}" retries="1" /></bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="review" />
    <bpmn:userTask id="review" name="Review"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>`;
}

/** Every table and text/json column of the current schema holding `marker`, as `table.column`. */
export async function columnsHolding(knex: import('knex').Knex, marker: string): Promise<string[]> {
  const { rows } = (await knex.raw(
    `SELECT c.table_name, c.column_name FROM information_schema.columns c
       JOIN information_schema.tables t USING (table_schema, table_name)
      WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
        AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY', 'bytea')`,
  )) as { rows: { table_name: string; column_name: string }[] };
  const found: string[] = [];
  for (const { table_name, column_name } of rows) {
    const { rows: hits } = (await knex.raw(
      `SELECT count(*)::int AS n FROM ?? WHERE position(? in convert_from(convert_to(??::text, 'UTF8'), 'UTF8')) > 0`,
      [table_name, marker, column_name],
    )) as { rows: { n: number }[] };
    if (hits[0]!.n > 0) found.push(`${table_name}.${column_name}`);
  }
  return found;
}
