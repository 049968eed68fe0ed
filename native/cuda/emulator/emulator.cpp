// The host emulator behind emulator.h (HNAS_CUDA=EMULATE builds only).
#include "cuda/emulator/emulator.h"

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"

thread_local uint3 threadIdx{0, 0, 0};
thread_local uint3 blockIdx{0, 0, 0};
thread_local dim3 blockDim{1, 1, 1};
thread_local dim3 gridDim{1, 1, 1};

namespace hnas {
namespace emu {
namespace {

// The block barrier. `alive` counts the threads of the current block that
// have not returned from the kernel; a barrier opens when all of them have
// arrived. block_end() waits for the whole block before the next one starts.
struct BlockState {
  std::mutex mutex;
  std::condition_variable cv;
  int threads = 0;
  int alive = 0;
  int arrived = 0;
  uint64_t generation = 0;
  int ended = 0;
  uint64_t end_generation = 0;
  bool divergent = false;
};

BlockState* g_block = nullptr;     // the running launch's block state
std::mutex g_launch_mutex;         // one launch at a time

}  // namespace

void run_grid(dim3 grid, dim3 block, const char* name, const std::function<void()>& body) {
  const uint64_t nthreads = uint64_t(block.x) * block.y * block.z;
  const uint64_t nblocks = uint64_t(grid.x) * grid.y * grid.z;
  if (nthreads == 0 || nthreads > 1024 || block.z > 64 || grid.y > 65535 || grid.z > 65535)
    fail(ErrorCode::kInternal, std::string("emulator: invalid launch configuration for ") + name);
  if (nblocks == 0) fail(ErrorCode::kInternal, std::string("emulator: empty grid for ") + name);
  std::lock_guard<std::mutex> launch_lock(g_launch_mutex);
  BlockState state;
  state.threads = state.alive = static_cast<int>(nthreads);
  g_block = &state;
  auto thread_main = [&](unsigned t) {
    threadIdx = uint3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
    blockDim = block;
    gridDim = grid;
    for (uint64_t b = 0; b < nblocks; ++b) {
      blockIdx = uint3{static_cast<unsigned>(b % grid.x), static_cast<unsigned>((b / grid.x) % grid.y),
                       static_cast<unsigned>(b / (uint64_t(grid.x) * grid.y))};
      body();
      std::unique_lock<std::mutex> lock(state.mutex);
      // This thread returned: a barrier still waiting for it is divergent.
      --state.alive;
      if (state.arrived > 0) {
        state.divergent = true;
        state.arrived = 0;
        ++state.generation;
      }
      const uint64_t eg = state.end_generation;
      if (++state.ended == state.threads) {
        state.ended = 0;
        state.alive = state.threads;
        ++state.end_generation;
        state.cv.notify_all();
      } else {
        state.cv.wait(lock, [&] { return state.end_generation != eg; });
      }
    }
  };
  std::vector<std::thread> workers;
  workers.reserve(nthreads);
  for (unsigned t = 1; t < nthreads; ++t) workers.emplace_back(thread_main, t);
  // The calling thread is thread 0; save its own indices around the launch.
  const uint3 ti = threadIdx, bi = blockIdx;
  const dim3 bd = blockDim, gd = gridDim;
  thread_main(0);
  for (auto& w : workers) w.join();
  threadIdx = ti;
  blockIdx = bi;
  blockDim = bd;
  gridDim = gd;
  g_block = nullptr;
  if (state.divergent)
    fail(ErrorCode::kInternal, std::string("emulator: __syncthreads() not reached by every thread of a block in ") + name);
}

}  // namespace emu
}  // namespace hnas

void __syncthreads() {
  auto& s = *hnas::emu::g_block;
  std::unique_lock<std::mutex> lock(s.mutex);
  if (s.alive < s.threads) s.divergent = true;  // someone already returned
  const uint64_t g = s.generation;
  if (++s.arrived == s.alive) {
    s.arrived = 0;
    ++s.generation;
    s.cv.notify_all();
  } else {
    s.cv.wait(lock, [&] { return s.generation != g; });
  }
}

// --- runtime -------------------------------------------------------------------
namespace {
std::mutex g_stream_mutex;
int g_next_stream = 1;
}  // namespace

cudaError_t cudaGetLastError() { return cudaSuccess; }
cudaError_t cudaPeekAtLastError() { return cudaSuccess; }
const char* cudaGetErrorName(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}
const char* cudaGetErrorString(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
  }
  return "unknown error";
}
cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaFree(void* p) {
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t) {
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) {
  if (bytes) std::memset(p, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  std::lock_guard<std::mutex> lock(g_stream_mutex);
  *s = new CUstream_st{g_next_stream++};
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete s;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaGetDevice(int* d) {
  *d = 0;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidValue; }
