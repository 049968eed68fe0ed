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
  cudaCompiled: boolean;
  paramKinds: Record<string, number>;
}

export interface RawAddon {
  Network: new (spec: unknown, options: { dtype: 'float32' | 'float64' }) => RawNetwork;
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

/** Where the addon is looked for, in order (HNAS_ADDON_PATH first when set). */
export function addonCandidates(): string[] {
  const list = [join(packageRoot, 'build', 'Release', 'hnas.node'), join(packageRoot, 'build', 'Debug', 'hnas.node')];
  const override = process.env.HNAS_ADDON_PATH;
  return override ? [override, ...list] : list;
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
  throw new NativeUnavailableError(
    `the hnas native addon could not be loaded; run "npm run build:native". Tried: ${tried.join('; ')}`,
  );
}
