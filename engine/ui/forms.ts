/**
 * Camunda 8 embedded forms: `zeebe:formDefinition formKey="camunda-forms:bpmn:<id>"` on a user task
 * points at a `zeebe:userTaskForm id="<id>"` in the process, whose body is a form-js schema (JSON).
 */
import type { Knex } from 'knex';
import { BpmnModdle } from 'bpmn-moddle';
import zeebeSchema from 'zeebe-bpmn-moddle/resources/zeebe.json' with { type: 'json' };

const moddle = new BpmnModdle({ zeebe: zeebeSchema });
const formsByDefinition = new Map<string, Promise<Map<string, Record<string, unknown>>>>();

type Element = {
  $type: string;
  id?: string;
  body?: string;
  extensionElements?: { values?: Element[] };
  rootElements?: Element[];
};

/** The form-js schemas embedded in a deployed definition, by userTaskForm id. Definitions never change, so this is cached. */
async function formsOf(db: Knex, definitionId: string): Promise<Map<string, Record<string, unknown>>> {
  const row = (await db('process_definitions').where({ id: definitionId }).first('xml')) as { xml: string } | undefined;
  const forms = new Map<string, Record<string, unknown>>();
  if (!row) return forms;
  const { rootElement } = await moddle.fromXML(row.xml, 'bpmn:Definitions');
  for (const process of ((rootElement as Element).rootElements ?? []).filter((e) => e.$type === 'bpmn:Process')) {
    for (const extension of process.extensionElements?.values ?? []) {
      if (extension.$type !== 'zeebe:UserTaskForm' || !extension.id || !extension.body) continue;
      try {
        forms.set(extension.id, JSON.parse(extension.body) as Record<string, unknown>);
      } catch {
        // A form that is not JSON is left out: the cockpit falls back to a generated form.
      }
    }
  }
  return forms;
}

/** The form-js schema a user task's form key refers to, if the definition embeds it. */
export async function embeddedForm(
  db: Knex,
  definitionId: string,
  formKey: string,
): Promise<Record<string, unknown> | undefined> {
  let forms = formsByDefinition.get(definitionId);
  if (!forms) {
    forms = formsOf(db, definitionId);
    formsByDefinition.set(definitionId, forms);
    forms.catch(() => formsByDefinition.delete(definitionId));
  }
  const id = formKey.startsWith('camunda-forms:bpmn:') ? formKey.slice('camunda-forms:bpmn:'.length) : formKey;
  return (await forms).get(id);
}
