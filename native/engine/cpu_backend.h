// The CPU backend of the graph walk (engine/pass_walk.h): host tensors and
// the `_cpu` ops under their plain names. Also how code that must pick the
// CPU or the CUDA twin of an op by a template flag calls it (cuda_addon.cpp).
#pragma once
#include <algorithm>
#include <vector>

#include "core/tensor.h"
#include "engine/pass_walk.h"
#include "ops/ops.h"

namespace hnas {

struct CpuBackend {
  template <typename S>
  using Tensor = ::hnas::Tensor<S>;
  template <typename S>
  using Buffer = std::vector<S>;
  template <typename S>
  static void upload(Buffer<S>& b, const std::vector<S>& host) {
    b = host;
  }
  template <typename S>
  static void copy(S* dst, const S* src, int64_t count) {
    std::copy(src, src + count, dst);
  }
#define HNAS_CPU_OP(name) HNAS_BACKEND_OP(name, _cpu)
  HNAS_WALK_OPS(HNAS_CPU_OP)
#undef HNAS_CPU_OP
};

}  // namespace hnas
