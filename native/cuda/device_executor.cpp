#include "cuda/device_executor.h"

#include "cuda/cuda_backend.h"

namespace hnas {
namespace cuda {

template <typename S>
void device_forward_pass(const Graph& g, const S* params, const S* input, int64_t n, BnMode bn,
                         DeviceForwardState<S>& st, S* running_update, const SampleScales* scales) {
  walk::forward<CudaBackend>(g, params, input, n, bn, st, running_update, scales);
}

template <typename S>
DeviceTensor<S> device_backward_pass(const Graph& g, const S* params, const DeviceForwardState<S>& st,
                                     DeviceTensor<S> cot, const BackwardOptions& opt, DeviceParamSink<S>& sink) {
  return walk::backward<CudaBackend>(g, params, st, std::move(cot), opt, sink);
}

#define HNAS_INSTANTIATE_DEVICE_EXECUTOR(S)                                                            \
  template void device_forward_pass<S>(const Graph&, const S*, const S*, int64_t, BnMode,              \
                                       DeviceForwardState<S>&, S*, const SampleScales*);               \
  template DeviceTensor<S> device_backward_pass<S>(const Graph&, const S*, const DeviceForwardState<S>&, \
                                                   DeviceTensor<S>, const BackwardOptions&,            \
                                                   DeviceParamSink<S>&);
HNAS_INSTANTIATE_DEVICE_EXECUTOR(float)
HNAS_INSTANTIATE_DEVICE_EXECUTOR(double)
HNAS_INSTANTIATE_DEVICE_EXECUTOR(Dual<float>)
HNAS_INSTANTIATE_DEVICE_EXECUTOR(Dual<double>)

}  // namespace cuda
}  // namespace hnas
