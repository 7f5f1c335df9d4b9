// The ONNX session lives in this worker thread: onnxruntime-node's run() is synchronous native
// code, and a batch on the main thread would stall the event loop (HTTP, job leases, timers).
// Plain JavaScript on purpose: workers do not inherit a loader registered through tsx's API.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

const session = await ort.InferenceSession.create(workerData.modelPath, {
  intraOpNumThreads: workerData.threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
});
parentPort.postMessage({ type: 'ready', inputNames: session.inputNames, outputNames: session.outputNames });

parentPort.on('message', async (message) => {
  try {
    const feeds = {};
    for (const [name, { data, dims }] of Object.entries(message.feeds)) feeds[name] = new ort.Tensor('int64', data, dims);
    const outputs = await session.run(feeds);
    const result = {};
    const transfer = [];
    for (const [name, tensor] of Object.entries(outputs)) {
      const data = tensor.data;
      result[name] = { data, dims: tensor.dims };
      transfer.push(data.buffer);
    }
    parentPort.postMessage({ type: 'result', id: message.id, outputs: result }, transfer);
  } catch (error) {
    parentPort.postMessage({ type: 'error', id: message.id, message: error instanceof Error ? error.message : String(error) });
  }
});
