// Device-side helpers shared by the .cu files (included by them only).
#pragma once
#include <cstdint>

#include "core/dual.h"
#include "cuda/cuda_api.h"

namespace hnas {
namespace cuda {

// What a kernel sums S in: double for float and double data, Dual<double>
// for the dual numbers of Hessian-vector products (both parts in double, as
// the real case). Conversions both ways are explicit constructors: A(x), S(a).
template <typename S> struct device_accumulate_of { using type = double; };
template <typename T> struct device_accumulate_of<Dual<T>> { using type = Dual<double>; };
template <typename S> using dacc_t = typename device_accumulate_of<S>::type;

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
template <typename A>
__device__ __forceinline__ A block_sum(A v) {
  __shared__ A shm[kMaxReduceThreads];
  const int t = threadIdx.x;
  shm[t] = v;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (t < s) shm[t] += shm[t + s];
    __syncthreads();
  }
  const A r = shm[0];
  __syncthreads();
  return r;
}

// Two sums at once (one pass of synchronisation for both).
template <typename A>
__device__ __forceinline__ void block_sum2(A& a, A& b) {
  __shared__ A sa[kMaxReduceThreads];
  __shared__ A sb[kMaxReduceThreads];
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
