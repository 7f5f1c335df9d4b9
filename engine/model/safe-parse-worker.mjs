// The BPMN parser thread for safe-parse.ts: pre-scan + parseDefinitions on large files, so the
// main event loop stays free. Plain JS that registers tsx itself (workers get no loader).
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { prescanBpmn, bpmnLimits } = await import('./safe-parse.ts');
const { parseDefinitions } = await import('./parse.ts');
// A slow start, as on a busy machine (tests): parses sent meanwhile wait in the port's queue.
if (workerData?.startDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, workerData.startDelayMs));

parentPort.on('message', async ({ id, xml, file, options }) => {
  // The caller's time limit runs from here: loading this thread does not count as parsing.
  parentPort.postMessage({ id, started: true });
  try {
    prescanBpmn(xml, file, bpmnLimits());
    const graphs = await parseDefinitions(xml, file, options);
    parentPort.postMessage({ id, graphs });
  } catch (error) {
    parentPort.postMessage({
      id,
      error: { code: error?.code, message: error?.message ?? String(error), details: error?.details },
    });
  }
});
