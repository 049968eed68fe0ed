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
  /** Whether the CUDA path was compiled in (nvcc found, HNAS_CUDA not OFF). */
  cudaCompiled: boolean;
  /** Whether the CUDA kernels were compiled for the host emulator instead (HNAS_CUDA=EMULATE). */
  cudaEmulated: boolean;
  /** Version of the CUDA runtime linked in (statically), e.g. "13.0"; undefined without CUDA. */
  cudaRuntimeVersion: string | undefined;
  /** GPU architectures the kernels were built for, e.g. ["90-real", "90-virtual"]; [] without CUDA. */
  cudaArchitectures: string[];
  /** nvcc version that built the kernels, e.g. "13.0.88"; undefined without CUDA. */
  cudaCompilerVersion: string | undefined;
}

/** 13000 -> "13.0", 12040 -> "12.4"; undefined for 0. */
export function formatCudaVersion(v: number): string | undefined {
  if (!v) return undefined;
  return `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
}

export function buildInfo(): BuildInfo {
  const raw = loadAddon().buildInfo();
  const compiled = raw.cudaCompiled;
  return {
    gemmKernel: raw.gemmKernel,
    cpuFeatures: raw.cpuFeatures,
    threads: raw.threads,
    cudaCompiled: compiled,
    cudaEmulated: raw.cudaEmulated,
    cudaRuntimeVersion: compiled ? formatCudaVersion(raw.cudaRuntimeVersion) : undefined,
    cudaArchitectures: compiled ? raw.cudaArchitectures.split(';').filter((a) => a.length > 0) : [],
    cudaCompilerVersion: compiled && raw.cudaCompilerVersion ? raw.cudaCompilerVersion : undefined,
  };
}

/** Sets the native thread count (0 = one per hardware thread); returns the count in effect. */
export function setNumThreads(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 1024) {
    throw new InvalidArgumentError(`thread count must be an integer in [0, 1024], got ${n}`);
  }
  return loadAddon().setNumThreads(n);
}
