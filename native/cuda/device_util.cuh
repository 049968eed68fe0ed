// Device-side helpers shared by the .cu files (included by them only).
#pragma once
#include <cstdint>

#include "cuda/cuda_api.h"

namespace hnas {
namespace cuda {

// Grid-stride loop over [0, n) with 64-bit indices.
#define HNAS_GRID_LOOP(i, n)                                                         \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);          \
       i += int64_t(gridDim.x) * blockDim.x)

// Largest block size used by the block reductions below.
constexpr int kMaxReduceThreads = 256;

// Threads for a block that reduces `len` values: a power of two in [32, 256].
inline int reduce_threads(int64_t len) {
  int t = 32;
  while (t < kMaxReduceThreads && t < len) t <<= 1;
  return t;
}

// Sum of v over the block (blockDim.x a power of two <= 256), returned to
// every thread. Every thread of the block must call it (it synchronises).
__device__ __forceinline__ double block_sum(double v) {
  __shared__ double shm[kMaxReduceThreads];
  const int t = threadIdx.x;
  shm[t] = v;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (t < s) shm[t] += shm[t + s];
    __syncthreads();
  }
  const double r = shm[0];
  __syncthreads();
  return r;
}

// Two sums at once (one pass of synchronisation for both).
__device__ __forceinline__ void block_sum2(double& a, double& b) {
  __shared__ double sa[kMaxReduceThreads];
  __shared__ double sb[kMaxReduceThreads];
  const int t = threadIdx.x;
  sa[t] = a;
  sb[t] = b;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (t < s) {
      sa[t] += sa[t + s];
      sb[t] += sb[t + s];
    }
    __syncthreads();
  }
  a = sa[0];
  b = sb[0];
  __syncthreads();
}

}  // namespace cuda
}  // namespace hnas
