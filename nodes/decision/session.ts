/**
 * An ONNX inference session in a worker thread (see session-worker.mjs), so inference never blocks
 * the event loop. The worker is unref'd while idle, so a loaded model does not keep a process alive.
 * startInlineSession: the same model on the calling thread, for isolated decisions (classifier.ts).
 */
import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';

export interface Int64Feed {
  data: BigInt64Array;
  dims: number[];
}

export interface FloatOutput {
  data: Float32Array;
  dims: readonly number[];
}

export type Feeds = Record<string, Int64Feed>;
export type Outputs = Record<string, FloatOutput>;

export interface ModelSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs the model on each feed set, one after another (in the worker thread: one message each way). */
  run(runs: Feeds[]): Promise<Outputs[]>;
  close(): Promise<void>;
}

type WorkerMessage =
  | { type: 'ready'; inputNames: string[]; outputNames: string[] }
  | { type: 'result'; id: number; outputs: Outputs[] }
  | { type: 'error'; id: number; message: string };

const WORKER_URL = new URL('./session-worker.mjs', import.meta.url);

/**
 * ONNX Runtime for Linux (1.30) has usage telemetry on by default: every session it creates is
 * recorded, with a device id, in an event store under ~/.cache/Microsoft/DeveloperTools/.onnxruntime
 * (its binary names a Microsoft collector URL), and each process leaves /tmp/mat-debug-<pid>.log.
 * Operon turns it off before the first session unless ORT_DISABLE_TELEMETRY is set already; the
 * variable is read when a session is created, and a worker thread's environment is copied from here.
 */
export function disableOnnxTelemetry(): void {
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
}

/** The same options for the worker thread's session, the inline one and the bare session of bench/decision.ts. */
export function sessionOptions(threads = 1): InferenceSession.SessionOptions {
  return { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
}

export function startSession(modelPath: string, options: { threads?: number } = {}): Promise<ModelSession> {
  disableOnnxTelemetry();
  const worker = new Worker(WORKER_URL, {
    workerData: { modelPath, options: sessionOptions(options.threads) },
    execArgv: [],
  });
  const pending = new Map<number, { resolve(outputs: Outputs[]): void; reject(error: Error): void }>();
  let nextId = 1;
  let closed = false;

  const failAll = (error: Error) => {
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };

  return new Promise<ModelSession>((resolve, reject) => {
    worker.once('error', (error) => {
      reject(error);
      failAll(error);
    });
    worker.once('exit', (code) => {
      if (!closed) failAll(new Error(`inference worker exited with code ${code}`));
    });
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') {
        worker.unref();
        resolve({
          inputNames: message.inputNames,
          outputNames: message.outputNames,
          run(runs) {
            if (closed) return Promise.reject(new Error('the model session is closed'));
            return new Promise((resolveRun, rejectRun) => {
              const id = nextId++;
              if (pending.size === 0) worker.ref();
              pending.set(id, { resolve: resolveRun, reject: rejectRun });
              worker.postMessage(
                { id, runs },
                runs.flatMap((feeds) => Object.values(feeds).map((f) => f.data.buffer as ArrayBuffer)),
              );
            });
          },
          async close() {
            closed = true;
            failAll(new Error('the model session is closed'));
            await worker.terminate();
          },
        });
        return;
      }
      const waiting = pending.get(message.id);
      if (!waiting) return;
      pending.delete(message.id);
      if (pending.size === 0) worker.unref();
      if (message.type === 'result') waiting.resolve(message.outputs);
      else waiting.reject(new Error(message.message));
    });
  });
}

/** The model on the calling thread: each run blocks the event loop for as long as it takes. */
export async function startInlineSession(modelPath: string, options: { threads?: number } = {}): Promise<ModelSession> {
  disableOnnxTelemetry();
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(modelPath, sessionOptions(options.threads));
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(runs) {
      const results: Outputs[] = [];
      for (const feeds of runs) {
        const outputs = await session.run(
          Object.fromEntries(
            Object.entries(feeds).map(([name, { data, dims }]) => [name, new ort.Tensor('int64', data, dims)]),
          ),
        );
        results.push(
          Object.fromEntries(
            Object.entries(outputs).map(([name, tensor]) => [
              name,
              { data: tensor.data as Float32Array, dims: tensor.dims },
            ]),
          ),
        );
      }
      return results;
    },
    close: () => session.release(),
  };
}
