#include "engine/executor.h"

#include <algorithm>

#include "core/dual.h"
#include "ops/ops.h"

namespace hnas {
namespace {

// The CPU backend of the walk: host tensors and the `_cpu` ops.
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

}  // namespace

template <typename S>
void forward_pass(const Graph& g, const S* params, const S* input, int64_t n, BnMode bn,
                  ForwardState<S>& st, S* running_update, const SampleScales* scales) {
  walk::forward<CpuBackend>(g, params, input, n, bn, st, running_update, scales);
}

template <typename S>
Tensor<S> backward_pass(const Graph& g, const S* params, const ForwardState<S>& st, Tensor<S> cot,
                        const BackwardOptions& opt, ParamSink<S>& sink) {
  return walk::backward<CpuBackend>(g, params, st, std::move(cot), opt, sink);
}

#define HNAS_INSTANTIATE_EXECUTOR(S)                                                               \
  template void forward_pass<S>(const Graph&, const S*, const S*, int64_t, BnMode, ForwardState<S>&, \
                                S*, const SampleScales*);                                          \
  template Tensor<S> backward_pass<S>(const Graph&, const S*, const ForwardState<S>&, Tensor<S>,   \
                                      const BackwardOptions&, ParamSink<S>&);
HNAS_INSTANTIATE_EXECUTOR(float)
HNAS_INSTANTIATE_EXECUTOR(double)
HNAS_INSTANTIATE_EXECUTOR(Dual<float>)
HNAS_INSTANTIATE_EXECUTOR(Dual<double>)

}  // namespace hnas
