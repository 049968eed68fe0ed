// The one place CUDA sources get the CUDA language and runtime from: the
// real <cuda_runtime.h> under nvcc (and for the host .cpp files of a CUDA
// build), or the host emulator in the HNAS_CUDA=EMULATE build. Also the
// launch macro, which is `kernel<<<grid, block, 0, stream>>>` for real:
//   HNAS_LAUNCH(kernel, grid, block, stream)(args...);
//   check_launch("what");
// `kernel` must be a single token (bind template kernels to a local first).
#pragma once
#if defined(HNAS_CUDA_EMULATED)
#include "cuda/emulator/emulator.h"
#define HNAS_LAUNCH(kernel, grid, block, stream) ::hnas::emu::launch(kernel, grid, block, stream, #kernel)
#define HNAS_UNROLL
#else
#include <cuda_runtime.h>
#define HNAS_LAUNCH(kernel, grid, block, stream) kernel<<<grid, block, 0, stream>>>
#define HNAS_UNROLL _Pragma("unroll")
#endif

#include <cstdint>

#include "core/error.h"

namespace hnas {
namespace cuda {

// Throws the hnas::Error for a failed CUDA call: kOutOfMemory for allocation
// failures, DeviceUnavailableError for "no driver/device", kInternal else.
[[noreturn]] void throw_cuda_error(cudaError_t err, const char* what, const char* file, int line);

// Raises launch errors (bad configuration, no device) right after a launch.
void check_launch(const char* what);

// Threads per block of the 1-D element-wise kernels, and their grid: enough
// blocks to cover n with a grid-stride loop, capped (each thread then loops).
constexpr int kThreads = 256;
inline unsigned grid_for(int64_t n, int threads = kThreads) {
#if defined(HNAS_CUDA_EMULATED)
  const int64_t cap = 4;  // the emulator runs blocks one after another
#else
  const int64_t cap = int64_t(1) << 16;
#endif
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks < 1) blocks = 1;
  return static_cast<unsigned>(blocks < cap ? blocks : cap);
}

}  // namespace cuda
}  // namespace hnas

#define HNAS_CUDA_CHECK(call)                                                     \
  do {                                                                            \
    const cudaError_t hnas_cuda_err_ = (call);                                    \
    if (hnas_cuda_err_ != cudaSuccess)                                            \
      ::hnas::cuda::throw_cuda_error(hnas_cuda_err_, #call, __FILE__, __LINE__);  \
  } while (0)
