// The BPMN parser thread for safe-parse.ts: pre-scan + parseDefinitions on large files, so the
// main event loop stays free. Plain JS that registers tsx itself (workers get no loader).
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { prescanBpmn, bpmnLimits } = await import('./safe-parse.ts');
const { parseDefinitions } = await import('./parse.ts');

parentPort.on('message', async ({ id, xml, file, options }) => {
  try {
    prescanBpmn(xml, file, bpmnLimits());
    const graphs = await parseDefinitions(xml, file, options);
    parentPort.postMessage({ id, graphs });
  } catch (error) {
    parentPort.postMessage({ id, error: { code: error?.code, message: error?.message ?? String(error), details: error?.details } });
  }
});
