/**
 * Loads the native addon and declares its raw interface. Nothing outside
 * src/native and src/engine should touch these types: the public API is
 * src/engine/network.ts.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeUnavailableError } from '../errors.js';

export type FloatArray = Float32Array | Float64Array;
export type BnModeName = 'train' | 'eval' | 'identity';
export type OutputName = 'true_class' | 'sum' | 'all' | 'loss' | 'mean_loss';

export interface RawParamInfo {
  name: string;
  kind: number;
  size: number;
  offset: number;
}

export interface RawDescription {
  dtype: 'float32' | 'float64';
  device: 'cpu' | 'cuda';
  totalParamSize: number;
  macsPerSample: number;
  numClasses: number;
  params: RawParamInfo[];
  values: { name: string; shape: [number, number, number] }[];
}

export interface RawGradientResult {
  loss: number;
  logits: FloatArray;
  grad: FloatArray;
  inputGrad?: FloatArray;
}

export interface RawJacobianResult {
  rows: number;
  cols: number;
  chunk: number;
  logits: FloatArray;
  jacobian?: FloatArray;
  theta?: Float64Array;
}

export interface RawHvpResult {
  loss: number;
  grad: FloatArray;
  hvp: FloatArray;
}

/**
 * The NASWOT kernel of one forward pass. For every Relu node with input x,
 * c = (x > 0) per sample over its C·H·W units and K = c cᵀ + (1−c)(1−c)ᵀ
 * (K_ij = the units where samples i and j agree). Entries are exact integers.
 */
export interface RawReluKernelResult {
  /**
   * [N][N] Σ over Relu nodes of (number of nodes reading its output) · K:
   * one term per ReLU *module* when an exporter merged equal ReLUs into one
   * node (torch hooks on nn.ReLU, the peers' `naswot`).
   */
  weighted: Float64Array;
  /** [N][N] Σ over distinct ReLU input tensors of K, each once (`naswot_distinct`). */
  distinct: Float64Array;
  /** Relu nodes in the graph. */
  reluNodes: number;
  /** Σ of the weights in `weighted`: ReLU modules in the peers' count. */
  reluModules: number;
  /** Distinct tensors read by Relu nodes (the terms of `distinct`). */
  distinctInputs: number;
  /** Units per sample under the `weighted` convention: Σ weight · C·H·W. */
  unitsPerSample: number;
  /** Units per sample under the `distinct` convention: Σ C·H·W over distinct inputs. */
  distinctUnitsPerSample: number;
}

export interface RawLayerFisherResult {
  loss: number;
  /** Weight parameter index of each Conv2d / Linear node, in graph order. */
  params: Int32Array;
  scores: Float64Array;
  total: number;
}

export interface RawNetwork {
  describe(): RawDescription;
  getParams(): FloatArray;
  setParams(values: FloatArray): void;
  forward(input: FloatArray, n: number, options: { bn?: BnModeName; updateRunning?: boolean }): Promise<FloatArray>;
  gradient(
    input: FloatArray,
    labels: Int32Array,
    n: number,
    options: { bn?: BnModeName; objective?: OutputName; inputGrad?: boolean },
  ): Promise<RawGradientResult>;
  jacobian(
    input: FloatArray,
    labels: Int32Array,
    n: number,
    options: {
      bn?: BnModeName;
      mode?: 'decomposed' | 'exact';
      output?: OutputName;
      params: Int32Array;
      jacobian?: boolean;
      theta?: boolean;
      chunk?: number;
    },
  ): Promise<RawJacobianResult>;
  hvp(
    input: FloatArray,
    labels: Int32Array,
    n: number,
    options: { bn?: BnModeName; params: Int32Array; vector: FloatArray },
  ): Promise<RawHvpResult>;
  reluKernel(input: FloatArray, n: number, options: { bn?: BnModeName }): Promise<RawReluKernelResult>;
  layerFisher(
    input: FloatArray,
    labels: Int32Array,
    n: number,
    options: { bn?: BnModeName },
  ): Promise<RawLayerFisherResult>;
  dispose(): void;
}

export interface RawBuildInfo {
  gemmKernel: string;
  cpuFeatures: string;
  threads: number;
  /** CUDA kernels compiled for a GPU (HNAS_WITH_CUDA). */
  cudaCompiled: boolean;
  /** CUDA kernels compiled for the host emulator (HNAS_CUDA=EMULATE). */
  cudaEmulated: boolean;
  /** CUDA runtime linked in, e.g. 13000 for 13.0; 0 without CUDA. */
  cudaRuntimeVersion: number;
  /** CMake's architecture list ("90-real;90-virtual"), "emulated" or "". */
  cudaArchitectures: string;
  /** nvcc version that built the kernels, or "". */
  cudaCompilerVersion: string;
  paramKinds: Record<string, number>;
}

export type RawCudaStatusName = 'available' | 'not-compiled' | 'no-driver' | 'no-device' | 'driver-error';

/** What the CUDA runtime found (probed once per process). */
export interface RawCudaStatus {
  status: RawCudaStatusName;
  deviceCount: number;
  /** e.g. 13000; 0 without a driver. */
  driverVersion: number;
  runtimeVersion: number;
  /** The runtime's words when status is not "available". */
  message: string;
}

export interface RawCudaDevice {
  index: number;
  name: string;
  /** "9.0" */
  computeCapability: string;
  multiprocessors: number;
  totalMemory: number;
  freeMemory: number;
}

/** [C, N, H, W] of a CNHW tensor (see native/core/tensor.h). */
export type RawShape = [number, number, number, number];
/** Gradient rows (native ops.h GradRows): null = not wanted. */
export type RawGradRows = { data: FloatArray; rowStride: number } | null;
export interface RawConvOptions {
  kh?: number;
  kw?: number;
  strideH?: number;
  strideW?: number;
  padT?: number;
  padL?: number;
  padB?: number;
  padR?: number;
  dilH?: number;
  dilW?: number;
  groups?: number;
}
export interface RawPoolOptions {
  kh?: number;
  kw?: number;
  strideH?: number;
  strideW?: number;
  padT?: number;
  padL?: number;
  padB?: number;
  padR?: number;
  dilH?: number;
  dilW?: number;
  countIncludePad?: boolean;
}
export type RawBnMode = 'train' | 'eval' | 'identity';
export type RawParamGradMode = 'sum' | 'perSample';

/**
 * The native ops one by one, for parity tests and benchmarks: the same
 * arguments as the C++ `<op>_cpu` / `<op>_cuda` functions (outputs first,
 * then inputs, then dimensions). Arrays are host arrays of one float type per
 * call; outputs are updated in place and backward ops accumulate into them.
 */
export interface RawKernelOps {
  gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, a: FloatArray, b: FloatArray, beta: number, c: FloatArray): void;
  reluForward(y: FloatArray, x: FloatArray): void;
  reluBackward(dx: FloatArray, dy: FloatArray, x: FloatArray, shape: RawShape, copies: number): void;
  addForward(y: FloatArray, a: FloatArray, b: FloatArray): void;
  scaleAccumulate(dx: FloatArray, dy: FloatArray, scale: number): void;
  mulConstForward(y: FloatArray, x: FloatArray, value: number): void;
  batchNormForward(
    y: FloatArray,
    saveMean: FloatArray,
    saveRstd: FloatArray,
    x: FloatArray,
    gamma: FloatArray | null,
    beta: FloatArray | null,
    runMean: FloatArray | null,
    runVar: FloatArray | null,
    shape: RawShape,
    mode: RawBnMode,
    eps: number,
  ): void;
  batchNormBackward(
    dx: FloatArray | null,
    dgamma: RawGradRows,
    dbeta: RawGradRows,
    dy: FloatArray,
    x: FloatArray,
    saveMean: FloatArray,
    saveRstd: FloatArray,
    gamma: FloatArray | null,
    shape: RawShape,
    mode: RawBnMode,
    copies: number,
    paramGradMode: RawParamGradMode,
  ): void;
  avgPool2dForward(y: FloatArray, x: FloatArray, shape: RawShape, pool: RawPoolOptions): void;
  avgPool2dBackward(dx: FloatArray, dy: FloatArray, shape: RawShape, pool: RawPoolOptions, copies: number): void;
  maxPool2dForward(y: FloatArray, x: FloatArray, shape: RawShape, pool: RawPoolOptions): void;
  maxPool2dBackward(dx: FloatArray, dy: FloatArray, x: FloatArray, shape: RawShape, pool: RawPoolOptions, copies: number): void;
  flattenForward(y: FloatArray, x: FloatArray, shape: RawShape): void;
  flattenBackward(dx: FloatArray, dy: FloatArray, shape: RawShape, copies: number): void;
  /** x [C][copies·N][plane] *= scale[n] (drop-path), in place. */
  sampleScale(x: FloatArray, scale: FloatArray, shape: RawShape, copies: number): void;
  batchNormUpdateRunning(runMean: FloatArray, runVar: FloatArray, x: FloatArray, shape: RawShape, momentum: number): void;
  /** slice: [startH, startW, endH, endW, stepH, stepW]. */
  sliceForward(y: FloatArray, x: FloatArray, shape: RawShape, slice: number[]): void;
  sliceBackward(dx: FloatArray, dy: FloatArray, shape: RawShape, slice: number[], copies: number): void;
  globalAvgPoolForward(y: FloatArray, x: FloatArray, shape: RawShape): void;
  globalAvgPoolBackward(dx: FloatArray, dy: FloatArray, shape: RawShape, copies: number): void;
  linearForward(y: FloatArray, x: FloatArray, w: FloatArray, bias: FloatArray | null, f: number, k: number, n: number): void;
  linearBackward(
    dx: FloatArray | null,
    dw: RawGradRows,
    dbias: RawGradRows,
    dy: FloatArray,
    x: FloatArray,
    w: FloatArray,
    f: number,
    k: number,
    n: number,
    copies: number,
    paramGradMode: RawParamGradMode,
  ): void;
  conv2dForward(y: FloatArray, x: FloatArray, w: FloatArray, bias: FloatArray | null, shape: RawShape, cout: number, conv: RawConvOptions): void;
  conv2dBackward(
    dx: FloatArray | null,
    dw: RawGradRows,
    dbias: RawGradRows,
    dy: FloatArray,
    x: FloatArray,
    w: FloatArray,
    shape: RawShape,
    cout: number,
    conv: RawConvOptions,
    copies: number,
    paramGradMode: RawParamGradMode,
  ): void;
}

/** The device ops; every call throws ERR_HNAS_DEVICE_UNAVAILABLE without a device. */
export interface RawCudaKernelOps extends RawKernelOps {
  /** Fastest of `reps` device-resident GEMMs C = A·B (M×K by K×N), in seconds, and the tile used. */
  benchGemm(double: boolean, m: number, n: number, k: number, reps: number): { seconds: number; tile: string };
  /** Forces the float GEMM tile ("128x128", "64x64", "32x128") for every size; "auto" restores the choice by size. */
  forceGemmTile(tile: string): string;
}

export interface RawAddon {
  Network: new (spec: unknown, options: { dtype: 'float32' | 'float64'; device?: 'cpu' | 'cuda' }) => RawNetwork;
  buildInfo(): RawBuildInfo;
  setNumThreads(n: number): number;
  forceGemmKernel(name: string): string;
  /** GFLOP/s of a register-resident FMA loop on `threads` threads (0 = all). */
  measurePeak(threads: number, seconds: number, double: boolean): number;
  /** Gives cached tensor memory back to the system; returns the bytes released. */
  releaseMemory(): number;
  gemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: FloatArray,
    b: FloatArray,
    beta: number,
    c: FloatArray,
  ): void;
  /** What the CUDA runtime found; "not-compiled" in a CPU-only build. Never throws. */
  cudaStatus(): RawCudaStatus;
  /** The CUDA devices with their memory now; [] without one (or without CUDA). */
  cudaDevices(): RawCudaDevice[];
  /** Gives cached device memory back; present in builds with the CUDA path. */
  cudaReleaseMemory?(): number;
  /** Raw device kernels (tests, benchmarks); present in builds with the CUDA path (real or emulated). */
  cudaOps?: RawCudaKernelOps;
  /** The CPU ops behind the same interface: the references of cudaOps. Present where cudaOps is. */
  cpuOps?: RawKernelOps;
}

const packageRoot = (() => {
  // src/native/binding.ts and dist/src/native/binding.js both sit below the root.
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return dir;
})();

/**
 * Where the addon is looked for, in order. HNAS_ADDON_PATH, when set, is the
 * only candidate: an explicit choice (the emulated build the CUDA parity tests
 * run against, say) never silently falls back to another build.
 */
export function addonCandidates(): string[] {
  const override = process.env.HNAS_ADDON_PATH;
  if (override) return [override];
  return [join(packageRoot, 'build', 'Release', 'hnas.node'), join(packageRoot, 'build', 'Debug', 'hnas.node')];
}

let cached: RawAddon | undefined;

/** The loaded addon; throws NativeUnavailableError with a fix when it is missing. */
export function loadAddon(): RawAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const path of addonCandidates()) {
    if (!existsSync(path)) {
      tried.push(`${path} (missing)`);
      continue;
    }
    try {
      cached = require(path) as RawAddon;
      return cached;
    } catch (cause) {
      tried.push(`${path} (${(cause as Error).message})`);
    }
  }
  const fix = process.env.HNAS_ADDON_PATH ? 'HNAS_ADDON_PATH names it; unset it to use the installed build' : 'run "npm run build:native"';
  throw new NativeUnavailableError(`the hnas native addon could not be loaded; ${fix}. Tried: ${tried.join('; ')}`);
}
