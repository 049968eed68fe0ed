/** What the native addon was built with and what it found on this machine. */
import { InvalidArgumentError } from '../errors.js';
import { loadAddon } from './binding.js';

export interface BuildInfo {
  /** GEMM kernel family in use: avx512, avx2 or portable. */
  gemmKernel: string;
  /** CPU features detected at run time. */
  cpuFeatures: string;
  /** Threads of the native pool (HNAS_NUM_THREADS, default: one per core). */
  threads: number;
  /** Whether the CUDA path was compiled in. */
  cudaCompiled: boolean;
}

export function buildInfo(): BuildInfo {
  const { gemmKernel, cpuFeatures, threads, cudaCompiled } = loadAddon().buildInfo();
  return { gemmKernel, cpuFeatures, threads, cudaCompiled };
}

/** Sets the native thread count (0 = one per hardware thread); returns the count in effect. */
export function setNumThreads(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 1024) {
    throw new InvalidArgumentError(`thread count must be an integer in [0, 1024], got ${n}`);
  }
  return loadAddon().setNumThreads(n);
}
