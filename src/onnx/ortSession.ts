/**
 * A thin, typed wrapper over onnxruntime-node for classifier models
 * (one float32 input [N, C, H, W], one float32 output [N, K]): load,
 * run a batch, run many samples in bounded batches, dispose.
 *
 * Everything hnas can check is checked before onnxruntime sees it (input
 * type and length, batch size), so those failures name the model and the
 * shapes. What onnxruntime itself rejects is wrapped in hnas' typed errors:
 * OnnxFormatError for a model it cannot load or run, UnsupportedError for
 * an execution provider it cannot provide. A requested CUDA provider is
 * never replaced by the CPU one.
 *
 * onnxruntime-node runs a session synchronously on the main thread (after a
 * setImmediate), so one run blocks the event loop for its duration:
 * runBatched keeps each call bounded and awaits between calls.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import * as ort from 'onnxruntime-node';

import {
  DisposedError,
  FileNotFoundError,
  HnasError,
  InvalidArgumentError,
  OnnxFormatError,
  OnnxUnsupportedError,
  ShapeMismatchError,
  UnsupportedError,
} from '../errors.js';

export type ExecutionProvider = 'cpu' | 'cuda';
export type GraphOptimization = 'disabled' | 'basic' | 'extended' | 'all';

export interface OrtModelOptions {
  /** Default `cpu`. `cuda` fails with UnsupportedError when onnxruntime cannot provide it. */
  executionProvider?: ExecutionProvider;
  /** Threads inside one op (onnxruntime's intraOpNumThreads); default: onnxruntime's choice. */
  intraOpThreads?: number;
  /** onnxruntime's graph optimization level; default `all`, as onnxruntime's own default. */
  graphOptimization?: GraphOptimization;
  /** Used in error messages; default the path, or "ONNX model" for bytes. */
  name?: string;
}

export interface RunBatchedOptions {
  /** Samples per onnxruntime call; default 64. A model with a static batch runs in batches of that size. */
  batchSize?: number;
}

const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'cuda'];
const GRAPH_OPTIMIZATIONS: readonly GraphOptimization[] = ['disabled', 'basic', 'extended', 'all'];
const DEFAULT_BATCH_SIZE = 64;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isPosInt(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) > 0;
}

export class OrtModel {
  readonly name: string;
  readonly executionProvider: ExecutionProvider;
  readonly inputName: string;
  readonly outputName: string;
  /** Per-sample input shape [C, H, W]. */
  readonly inputShape: readonly number[];
  /** The input's static batch size, or null when it is symbolic (any batch runs). */
  readonly staticBatch: number | null;
  /** K when the model declares it statically, else null (known after the first run). */
  readonly numClasses: number | null;
  #session: ort.InferenceSession | undefined;

  private constructor(session: ort.InferenceSession, name: string, executionProvider: ExecutionProvider) {
    this.#session = session;
    this.name = name;
    this.executionProvider = executionProvider;
    const io = describeIo(session, name);
    this.inputName = io.inputName;
    this.outputName = io.outputName;
    this.inputShape = io.inputShape;
    this.staticBatch = io.staticBatch;
    this.numClasses = io.numClasses;
  }

  /**
   * Creates an onnxruntime session for a model file or ONNX bytes.
   *
   * @throws FileNotFoundError when the file cannot be read.
   * @throws OnnxFormatError when onnxruntime cannot load the model.
   * @throws OnnxUnsupportedError when the model is not one float32 [N, C, H, W] input -> one float32 output.
   * @throws UnsupportedError when `cuda` is requested and onnxruntime cannot provide it.
   */
  static async load(pathOrBytes: string | Uint8Array, options: OrtModelOptions = {}): Promise<OrtModel> {
    const executionProvider = options.executionProvider ?? 'cpu';
    if (!EXECUTION_PROVIDERS.includes(executionProvider)) {
      throw new InvalidArgumentError(`executionProvider must be "cpu" or "cuda", got "${String(executionProvider)}"`);
    }
    if (options.intraOpThreads !== undefined && !isPosInt(options.intraOpThreads)) {
      throw new InvalidArgumentError(`intraOpThreads must be a positive integer, got ${String(options.intraOpThreads)}`);
    }
    const graphOptimization = options.graphOptimization ?? 'all';
    if (!GRAPH_OPTIMIZATIONS.includes(graphOptimization)) {
      throw new InvalidArgumentError(
        `graphOptimization must be one of ${GRAPH_OPTIMIZATIONS.map((g) => `"${g}"`).join(', ')}, got "${String(graphOptimization)}"`,
      );
    }
    let bytes: Uint8Array;
    let name: string;
    if (typeof pathOrBytes === 'string') {
      name = options.name ?? pathOrBytes;
      try {
        bytes = await readFile(pathOrBytes);
      } catch (cause) {
        throw new FileNotFoundError(pathOrBytes, { cause });
      }
    } else if (pathOrBytes instanceof Uint8Array) {
      name = options.name ?? 'ONNX model';
      bytes = pathOrBytes;
    } else {
      throw new InvalidArgumentError('OrtModel.load expects a file path or the model bytes as a Uint8Array');
    }

    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [executionProvider],
      graphOptimizationLevel: graphOptimization,
      ...(options.intraOpThreads !== undefined ? { intraOpNumThreads: options.intraOpThreads } : {}),
    };
    if (executionProvider === 'cuda') {
      const missing = missingCudaProvider();
      if (missing) throw cudaUnavailable(name, missing);
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, sessionOptions);
    } catch (error) {
      if (executionProvider === 'cuda') await throwIfCudaIsTheProblem(bytes, sessionOptions, name, error);
      throw new OnnxFormatError(`${name}: onnxruntime cannot load the model: ${message(error)}`, { cause: error });
    }
    try {
      return new OrtModel(session, name, executionProvider);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  get disposed(): boolean {
    return this.#session === undefined;
  }

  /** Releases the onnxruntime session; later calls throw DisposedError. */
  async dispose(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    await session?.release();
  }

  /** Per-sample input length C·H·W. */
  get inputSize(): number {
    return this.inputShape.reduce((p, d) => p * d, 1);
  }

  /**
   * Logits [batch][K] of an NCHW float32 batch, in one onnxruntime call
   * (which blocks the event loop while it runs: keep batches bounded, or
   * use runBatched).
   */
  async run(input: Float32Array, batch: number): Promise<Float32Array> {
    const session = this.#live();
    this.#checkInput(input, batch);
    if (this.staticBatch !== null && batch !== this.staticBatch) {
      throw new ShapeMismatchError(`${this.name}: the model has a static batch of ${this.staticBatch}, got a batch of ${batch}`);
    }
    const feeds = { [this.inputName]: new ort.Tensor('float32', input, [batch, ...this.inputShape]) };
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = await session.run(feeds);
    } catch (error) {
      if (error instanceof HnasError) throw error;
      throw new OnnxFormatError(`${this.name}: onnxruntime failed to run a batch of ${batch}: ${message(error)}`, { cause: error });
    }
    const output = results[this.outputName];
    if (!output || output.type !== 'float32' || !(output.data instanceof Float32Array)) {
      throw new OnnxUnsupportedError(`${this.name}: output "${this.outputName}" is not a float32 tensor`);
    }
    if (output.dims.length !== 2 || output.dims[0] !== batch || output.data.length !== batch * output.dims[1]) {
      throw new OnnxUnsupportedError(
        `${this.name}: output "${this.outputName}" is [${output.dims.join(', ')}] for a batch of ${batch}; logits [N, K] are expected`,
      );
    }
    return output.data;
  }

  /**
   * Logits [n][K] of n samples, run in batches of at most `batchSize`
   * (default 64) with an await between batches. A model with a static
   * batch runs in batches of that size, the last one zero-padded (inference
   * samples do not interact).
   */
  async runBatched(input: Float32Array, n: number, options: RunBatchedOptions = {}): Promise<Float32Array> {
    this.#live();
    this.#checkInput(input, n);
    let batchSize = options.batchSize ?? this.staticBatch ?? DEFAULT_BATCH_SIZE;
    if (!isPosInt(batchSize)) throw new InvalidArgumentError(`${this.name}: batchSize must be a positive integer, got ${String(batchSize)}`);
    if (this.staticBatch !== null) {
      if (options.batchSize !== undefined && options.batchSize !== this.staticBatch) {
        throw new InvalidArgumentError(
          `${this.name}: the model has a static batch of ${this.staticBatch}; batchSize ${options.batchSize} cannot be used`,
        );
      }
      batchSize = this.staticBatch;
    }
    const per = this.inputSize;
    let result: Float32Array | undefined;
    let k = 0;
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start);
      let chunk = input.subarray(start * per, (start + count) * per);
      let runBatch = count;
      if (this.staticBatch !== null && count < this.staticBatch) {
        const padded = new Float32Array(this.staticBatch * per);
        padded.set(chunk);
        chunk = padded;
        runBatch = this.staticBatch;
      }
      // Each run starts after a setImmediate inside onnxruntime-node, so pending I/O is served between batches.
      const logits = await this.run(chunk, runBatch);
      if (!result) {
        k = logits.length / runBatch;
        result = new Float32Array(n * k);
      } else if (logits.length !== runBatch * k) {
        throw new OnnxUnsupportedError(`${this.name}: the number of classes changed between batches`);
      }
      result.set(logits.subarray(0, count * k), start * k);
    }
    return result as Float32Array;
  }

  #live(): ort.InferenceSession {
    const session = this.#session;
    if (!session) throw new DisposedError(this.name);
    return session;
  }

  #checkInput(input: Float32Array, n: number): void {
    if (!(input instanceof Float32Array)) {
      throw new InvalidArgumentError(`${this.name}: input must be a Float32Array (onnxruntime runs the model in float32)`);
    }
    if (!isPosInt(n)) throw new InvalidArgumentError(`${this.name}: the batch size must be a positive integer, got ${String(n)}`);
    const per = this.inputSize;
    if (input.length !== n * per) {
      throw new ShapeMismatchError(
        `${this.name}: input has ${input.length} values, but ${n} samples of [${this.inputShape.join(', ')}] need ${n * per}`,
      );
    }
  }
}

interface ModelIo {
  inputName: string;
  outputName: string;
  inputShape: number[];
  staticBatch: number | null;
  numClasses: number | null;
}

/** Checks the session's declared input and output against the classifier contract. */
function describeIo(session: ort.InferenceSession, name: string): ModelIo {
  const unsupported = (reason: string): never => {
    throw new OnnxUnsupportedError(`${name}: ${reason}`);
  };
  if (session.inputNames.length !== 1) unsupported(`the model has ${session.inputNames.length} inputs; exactly one image input is supported`);
  if (session.outputNames.length !== 1) unsupported(`the model has ${session.outputNames.length} outputs; exactly one (logits) output is supported`);
  const input = session.inputMetadata[0];
  const output = session.outputMetadata[0];
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  if (!input.isTensor || input.type !== 'float32') unsupported(`input "${inputName}" must be a float32 tensor`);
  if (!output.isTensor || output.type !== 'float32') unsupported(`output "${outputName}" must be a float32 tensor`);
  const dims = input.isTensor ? input.shape : [];
  if (dims.length !== 4) {
    unsupported(`input "${inputName}" must declare a shape [N, C, H, W], got [${dims.join(', ')}]`);
  }
  const inputShape = dims.slice(1).map((d, i) => {
    if (typeof d !== 'number' || d < 1) unsupported(`input "${inputName}" has a dynamic or empty ${'CHW'[i]} dimension (${String(d)})`);
    return d as number;
  });
  const batch = dims[0];
  const staticBatch = typeof batch === 'number' && batch > 0 ? batch : null;
  const outDims = output.isTensor ? output.shape : [];
  const numClasses = outDims.length === 2 && typeof outDims[1] === 'number' ? outDims[1] : null;
  return { inputName, outputName, inputShape, staticBatch, numClasses };
}

/**
 * onnxruntime-node loads the CUDA provider from a library beside its own
 * binary, which its install script downloads. When that folder is found
 * and the library is not in it, CUDA cannot work: say so without asking
 * onnxruntime (which would log the failed load to stderr). Returns what is
 * missing, or null when the provider may be available.
 */
function missingCudaProvider(): string | null {
  if (process.platform !== 'linux' && process.platform !== 'win32') {
    return `onnxruntime-node has no CUDA provider on ${process.platform}`;
  }
  let binDir: string;
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    binDir = join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return null;
  }
  if (!existsSync(join(binDir, 'onnxruntime_binding.node'))) return null;
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return existsSync(join(binDir, lib)) ? null : `${lib} is not installed in ${binDir}`;
}

function cudaUnavailable(name: string, why: string, cause?: unknown): UnsupportedError {
  return new UnsupportedError(
    `${name}: the CUDA execution provider is not available (${why}). It needs an NVIDIA GPU with CUDA 12 and ` +
      'onnxruntime-node installed with its install script, which downloads the CUDA provider. ' +
      'Use executionProvider "cpu" to run on the CPU.',
    cause === undefined ? undefined : { cause },
  );
}

/**
 * A CUDA session failed: when the same model loads on the CPU, the CUDA
 * provider is what failed (UnsupportedError); otherwise the model is, and
 * the caller reports that.
 */
async function throwIfCudaIsTheProblem(
  bytes: Uint8Array,
  sessionOptions: ort.InferenceSession.SessionOptions,
  name: string,
  error: unknown,
): Promise<void> {
  let cpu: ort.InferenceSession;
  try {
    cpu = await ort.InferenceSession.create(bytes, { ...sessionOptions, executionProviders: ['cpu'] });
  } catch {
    return;
  }
  await cpu.release();
  throw cudaUnavailable(name, message(error), error);
}
