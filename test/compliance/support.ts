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
