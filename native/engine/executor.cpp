#include "engine/executor.h"

#include "core/dual.h"
#include "engine/cpu_backend.h"

namespace hnas {

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
