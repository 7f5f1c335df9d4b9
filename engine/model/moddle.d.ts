// bpmn-moddle ships no typings for its entry point; the model reads its objects through the small
// `ModdleElement` view in parse.ts.
declare module 'bpmn-moddle' {
  export class BpmnModdle {
    constructor(packages?: Record<string, unknown>, options?: Record<string, unknown>);
    fromXML(
      xml: string,
      typeName?: string,
    ): Promise<{
      rootElement: any;
      warnings: Array<{ message: string; element?: any; property?: string; value?: unknown; error?: Error }>;
    }>;
  }
}
