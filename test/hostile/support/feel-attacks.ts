/**
 * The FEEL attacks of issue 15, finding 3, as deployable models: a gateway condition over
 * `distinct values(items)`, an input mapping over `union(items, items)`, a loop without a wait state,
 * and an ordinary process with iteration; and the 12,000-item payload the attack posted. Shared by
 * the fast hostile test and the long flood.
 */
const HEADER = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" targetNamespace="http://operon.test"`;

/** A gateway whose condition compares every item with every other. */
export const DISTINCT_CONDITION = `${HEADER} id="d-distinct">
  <bpmn:process id="distinct-condition" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="dedupe" default="f3"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="unique"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="duplicates"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="dedupe" />
    <bpmn:sequenceFlow id="f2" sourceRef="dedupe" targetRef="unique"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">=count(distinct values(items)) = count(items)</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="dedupe" targetRef="duplicates" />
  </bpmn:process>
</bpmn:definitions>`;

/** A service task whose input mapping merges the items with themselves. */
export const UNION_MAPPING = `${HEADER} id="d-union">
  <bpmn:process id="union-mapping" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="ship"><bpmn:extensionElements><zeebe:taskDefinition type="hostile-ship" />
      <zeebe:ioMapping><zeebe:input source="=union(items, items)" target="lines" /></zeebe:ioMapping></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ship" />
    <bpmn:sequenceFlow id="f2" sourceRef="ship" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>`;

/** A script task and a gateway that send the token round forever: no wait state anywhere. */
export const ENDLESS_LOOP = `${HEADER} id="d-loop">
  <bpmn:process id="endless-loop" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="bump"><bpmn:extensionElements><zeebe:script expression="=round + 1" resultVariable="round" /></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>again</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="more" default="done"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>again</bpmn:outgoing><bpmn:outgoing>done</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>done</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="bump" />
    <bpmn:sequenceFlow id="f2" sourceRef="bump" targetRef="more" />
    <bpmn:sequenceFlow id="again" sourceRef="more" targetRef="bump"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">=round &gt; 0</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="done" sourceRef="more" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>`;

/** An ordinary process with iteration: must still complete after the attacks. */
export const ORDINARY = `${HEADER} id="d-ordinary">
  <bpmn:process id="ordinary-sum" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="sum"><bpmn:extensionElements><zeebe:script expression="=sum(for n in numbers return n * 2)" resultVariable="total" /></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sum" />
    <bpmn:sequenceFlow id="f2" sourceRef="sum" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>`;

/** 12,000 distinct line items, about 400 KB of JSON: what the attack posted. */
export function lineItems(count = 12_000): { sku: string; qty: number }[] {
  return Array.from({ length: count }, (_, i) => ({ sku: `sku-${i}`, qty: i % 7 }));
}
