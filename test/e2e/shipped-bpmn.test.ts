/**
 * The shipped processes open cleanly in Camunda Modeler: Camunda 8 files whose diagram has a shape
 * for every node and an edge with waypoints for every sequence flow, boundary events on their
 * task's border, and no warnings from bpmn-moddle.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { BpmnModdle } from 'bpmn-moddle';
import zeebe from 'zeebe-bpmn-moddle/resources/zeebe.json' with { type: 'json' };

type Bounds = { x: number; y: number; width: number; height: number };
type Element = { $type: string; id: string; attachedToRef?: { id: string }; flowElements?: Element[] };

for (const file of ['loan-approval', 'order-routing']) {
  it(`${file}.bpmn has a complete diagram`, async () => {
    const xml = await readFile(fileURLToPath(new URL(`../../processes/${file}.bpmn`, import.meta.url)), 'utf8');
    assert.match(xml, /modeler:executionPlatform="Camunda Cloud"/);
    const moddle = new BpmnModdle({ zeebe });
    const { rootElement, warnings } = (await moddle.fromXML(xml)) as unknown as {
      rootElement: {
        rootElements: Element[];
        diagrams: {
          plane: {
            bpmnElement: Element;
            planeElement: {
              $type: string;
              bpmnElement: Element;
              bounds?: Bounds;
              waypoint?: { x: number; y: number }[];
            }[];
          };
        }[];
      };
      warnings: unknown[];
    };
    assert.deepEqual(warnings, []);
    const process = rootElement.rootElements.find((e) => e.$type === 'bpmn:Process')!;
    assert.equal(process.id, file);
    const [diagram] = rootElement.diagrams;
    assert.equal(diagram!.plane.bpmnElement.id, file);
    const shapes = new Map(
      diagram!.plane.planeElement
        .filter((d) => d.$type === 'bpmndi:BPMNShape')
        .map((d) => [d.bpmnElement.id, d.bounds!]),
    );
    const edges = new Map(
      diagram!.plane.planeElement
        .filter((d) => d.$type === 'bpmndi:BPMNEdge')
        .map((d) => [d.bpmnElement.id, d.waypoint ?? []]),
    );
    for (const element of process.flowElements!) {
      if (element.$type === 'bpmn:SequenceFlow') {
        assert.ok((edges.get(element.id)?.length ?? 0) >= 2, `edge with waypoints for ${element.id}`);
      } else {
        const bounds = shapes.get(element.id);
        assert.ok(bounds && bounds.width > 0 && bounds.height > 0, `shape for ${element.id}`);
        if (element.attachedToRef) {
          const host = shapes.get(element.attachedToRef.id)!;
          const centreY = bounds.y + bounds.height / 2;
          assert.ok(
            Math.abs(centreY - (host.y + host.height)) <= 1 || Math.abs(centreY - host.y) <= 1,
            `${element.id} sits on the border of ${element.attachedToRef.id}`,
          );
        }
      }
    }
    assert.equal(shapes.size + edges.size, process.flowElements!.length, 'no diagram element without a model element');
  });
}

it("both open in bpmn-js (the modeler's renderer) in Chromium without warnings", { timeout: 60_000 }, async () => {
  const { chromium } = await import('playwright-core');
  const script = await readFile(
    fileURLToPath(new URL('../../node_modules/bpmn-js/dist/bpmn-modeler.production.min.js', import.meta.url)),
    'utf8',
  );
  const browser = await chromium.launch({
    executablePath: process.env.OPERON_CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage();
    await page.setContent('<div id="canvas" style="width:1400px;height:700px"></div>');
    await page.addScriptTag({ content: script });
    for (const file of ['loan-approval', 'order-routing']) {
      const xml = await readFile(fileURLToPath(new URL(`../../processes/${file}.bpmn`, import.meta.url)), 'utf8');
      const result = await page.evaluate(async (text) => {
        const modeler = new (
          window as unknown as {
            BpmnJS: new (
              o: object,
            ) => {
              importXML(x: string): Promise<{ warnings: unknown[] }>;
              get(name: string): { getAll(): { type: string }[] };
              destroy(): void;
            };
          }
        ).BpmnJS({ container: '#canvas' });
        const { warnings } = await modeler.importXML(text);
        const rendered = modeler.get('elementRegistry').getAll().length;
        modeler.destroy();
        return { warnings: warnings.map(String), rendered };
      }, xml);
      assert.deepEqual(result.warnings, [], `${file}: no import warnings`);
      assert.ok(result.rendered > 20, `${file}: the diagram is drawn (${result.rendered} elements)`);
    }
  } finally {
    await browser.close();
  }
});
