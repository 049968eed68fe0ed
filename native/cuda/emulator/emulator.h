// A host emulator for the CUDA subset hnas' kernels use, for the
// HNAS_CUDA=EMULATE build: machines without a GPU (CI, these workstations)
// compile the very same kernel sources as C++ and run them against the CPU
// ops (test/native/cudaParity.test.ts). It checks the kernels' logic (index
// math, tiling, bounds, barriers), not their speed or memory model.
//
// Execution model: a launch runs its blocks one after another; inside a
// block every CUDA thread is a fiber on the launching thread (emulator.cpp), run
// until it returns or reaches __syncthreads(), which is a real barrier: no
// thread passes it before every thread of the block has arrived. __shared__
// arrays (function statics here) are shared exactly by the threads of one
// block. A __syncthreads() reached by only some of a block's threads (after
// others returned) is undefined behaviour on a GPU; the emulator raises it as
// an error. "Device" memory is host memory, and the runtime calls are
// synchronous. One launch runs at a time.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

// --- the CUDA language -------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}  // NOLINT
};
struct uint3 {
  unsigned x, y, z;
};
extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern thread_local dim3 blockDim;
extern thread_local dim3 gridDim;
void __syncthreads();

// --- the CUDA runtime subset -------------------------------------------------
struct CUstream_st {
  int id;
};
typedef CUstream_st* cudaStream_t;
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInsufficientDriver = 35,
  cudaErrorNoDevice = 100,
  cudaErrorLaunchFailure = 719,
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
constexpr unsigned cudaStreamNonBlocking = 0x01;

cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorName(cudaError_t err);
const char* cudaGetErrorString(cudaError_t err);
cudaError_t cudaMalloc(void** p, size_t bytes);
cudaError_t cudaFree(void* p);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr);
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t stream = nullptr);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaGetDevice(int* d);
cudaError_t cudaSetDevice(int d);

namespace hnas {
namespace emu {

// Runs body() as every thread of every block of the grid (see above).
// Throws hnas::Error (kInternal) for a bad configuration or a divergent
// barrier.
void run_grid(dim3 grid, dim3 block, const char* name, const std::function<void()>& body);

template <typename... P>
struct Launch {
  void (*kernel)(P...);
  dim3 grid, block;
  const char* name;
  template <typename... A>
  void operator()(A&&... args) const {
    static_assert(sizeof...(A) == sizeof...(P), "kernel launched with the wrong number of arguments");
    // Kernel parameters are copied once, like a launch's parameter buffer.
    const std::tuple<std::decay_t<P>...> params(std::forward<A>(args)...);
    run_grid(grid, block, name, [&] { std::apply(kernel, params); });
  }
};

template <typename... P>
Launch<P...> launch(void (*kernel)(P...), dim3 grid, dim3 block, cudaStream_t, const char* name) {
  return Launch<P...>{kernel, grid, block, name};
}

}  // namespace emu
}  // namespace hnas
