// The ONNX session lives in this worker thread: onnxruntime-node's run() is synchronous native
// code, and a batch on the main thread would stall the event loop (HTTP, job leases, timers).
// Plain JavaScript on purpose: workers do not inherit a loader registered through tsx's API.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

const session = await ort.InferenceSession.create(workerData.modelPath, workerData.options);
parentPort.postMessage({ type: 'ready', inputNames: session.inputNames, outputNames: session.outputNames });

async function answer(message) {
  try {
    // A batch's runs (rows of similar length, see classifier.ts) back to back, answered in one message.
    const results = [];
    const transfer = [];
    for (const run of message.runs) {
      const feeds = {};
      for (const [name, { data, dims }] of Object.entries(run)) feeds[name] = new ort.Tensor('int64', data, dims);
      const outputs = await session.run(feeds);
      const result = {};
      for (const [name, tensor] of Object.entries(outputs)) {
        result[name] = { data: tensor.data, dims: tensor.dims };
        transfer.push(tensor.data.buffer);
      }
      results.push(result);
    }
    parentPort.postMessage({ type: 'result', id: message.id, outputs: results }, transfer);
  } catch (error) {
    parentPort.postMessage({
      type: 'error',
      id: message.id,
      message: error instanceof Error ? error.message : String(error),
    });
  }
}

// One batch after another: interleaving two batches' runs would hold back the first one's answer.
let previous = Promise.resolve();
parentPort.on('message', (message) => {
  previous = previous.then(() => answer(message));
});
