// The CUDA backend of the graph walk (engine/pass_walk.h): device tensors and
// the `_cuda` ops under their plain names, all on the current stream.
#pragma once
#include <vector>

#include "cuda/device_executor.h"
#include "cuda/device_memory.h"
#include "cuda/ops_cuda.h"
#include "cuda/runtime.h"
#include "engine/pass_walk.h"

namespace hnas {
namespace cuda {

struct CudaBackend {
  template <typename S>
  using Tensor = DeviceTensor<S>;
  template <typename S>
  using Buffer = DeviceBuffer<S>;
  template <typename S>
  static void upload(Buffer<S>& b, const std::vector<S>& host) {
    b.upload(host.data(), host.size());
  }
  template <typename S>
  static void copy(S* dst, const S* src, int64_t count) {
    copy_on_device(dst, src, size_t(count) * sizeof(S), current_stream());
  }
#define HNAS_CUDA_OP(name) HNAS_BACKEND_OP(name, _cuda)
  HNAS_WALK_OPS(HNAS_CUDA_OP)
#undef HNAS_CUDA_OP
};

}  // namespace cuda
}  // namespace hnas
