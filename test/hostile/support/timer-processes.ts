/** Small BPMN processes whose timers hostile tests turn into floods. */
const HEAD =
  '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" ' +
  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://operon.test">';

const timer = (kind: 'timeCycle' | 'timeDuration' | 'timeDate', expression: string) =>
  `<bpmn:timerEventDefinition><bpmn:${kind} xsi:type="bpmn:tFormalExpression">${expression}</bpmn:${kind}></bpmn:timerEventDefinition>`;

/** `id`: a timer start event `tick` with `cycle`, straight to an end event. `name` makes a new version's XML differ. */
export function startTimerProcess(id: string, cycle: string, name = id): string {
  return `${HEAD}<bpmn:process id="${id}" name="${name}" isExecutable="true">
    <bpmn:startEvent id="tick"><bpmn:outgoing>f1</bpmn:outgoing>${timer('timeCycle', cycle)}</bpmn:startEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="tick" targetRef="end" />
  </bpmn:process></bpmn:definitions>`;
}

/**
 * `id`: a user task `approve` with a non-interrupting boundary timer `remind` whose cycle is
 * `cycle` (FEEL allowed), each firing runs to an end event.
 */
export function boundaryCycleProcess(id: string, cycle: string): string {
  return `${HEAD}<bpmn:process id="${id}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="approve"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="remind" attachedToRef="approve" cancelActivity="false">
      <bpmn:outgoing>f3</bpmn:outgoing>${timer('timeCycle', cycle)}
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="reminded"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve" />
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end" />
    <bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="reminded" />
  </bpmn:process></bpmn:definitions>`;
}

/** `id`: an intermediate catch event `wait` with a cycle timer between start and end. */
export function catchCycleProcess(id: string, cycle: string): string {
  return `${HEAD}<bpmn:process id="${id}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>${timer('timeCycle', cycle)}
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end" />
  </bpmn:process></bpmn:definitions>`;
}

/** `id` with a none start event only: deploying it as a new version retires the start timers of earlier ones. */
export function noneStartProcess(id: string): string {
  return `${HEAD}<bpmn:process id="${id}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" />
  </bpmn:process></bpmn:definitions>`;
}
