// The forward and reverse passes of engine/executor.h on the CUDA device:
// the very walk of the CPU executor (engine/pass_walk.h) with a CUDA backend
// — every tensor in device memory, every op its `_cuda` twin — so the order
// of operations and the contracts (sink rows, copies, per-sample modes,
// drop-path scales) are the same by construction;
// test/native/cudaEngineParity.test.ts compares the two engines end to end.
//
// Scalars are float and double, and Dual<float> / Dual<double> for the
// forward-over-reverse passes of Hessian-vector products. All work is queued
// on cuda::current_stream().
#pragma once
#include <memory>
#include <vector>

#include "core/tensor.h"
#include "cuda/device_memory.h"
#include "engine/executor.h"
#include "engine/graph.h"

namespace hnas {
namespace cuda {

// Tensor<S> with its data in device memory.
template <typename S>
struct DeviceTensor {
  Shape4 shape;
  DeviceBuffer<S> data;

  DeviceTensor() = default;
  // zero = false leaves the contents undefined, for outputs written whole.
  void reset(const Shape4& s, bool zero = true) {
    shape = s;
    data.resize(checked_size(s.numel(), "device tensor"));
    if (zero && s.numel() > 0) data.zero();
  }
  void release() { data.reset(); }
  bool empty() const { return data.empty(); }
  S* ptr() { return data.data(); }
  const S* ptr() const { return data.data(); }
  // A host copy (waits for the stream).
  Tensor<S> to_host() const {
    Tensor<S> t;
    t.reset(shape, false);
    if (shape.numel() > 0) data.download(t.ptr(), static_cast<size_t>(shape.numel()));
    return t;
  }
  static DeviceTensor from_host(const Tensor<S>& t) {
    DeviceTensor d;
    d.shape = t.shape;
    if (t.shape.numel() > 0) d.data.upload(t.ptr(), static_cast<size_t>(t.shape.numel()));
    return d;
  }
};

template <typename S>
using DeviceForwardState = PassState<DeviceTensor<S>, DeviceBuffer<S>>;
// ParamSink with device rows and device output gradients.
template <typename S>
using DeviceParamSink = BasicParamSink<S, DeviceTensor<S>>;

// input: CNHW on the device. params / running_update: device parameter vectors.
template <typename S>
void device_forward_pass(const Graph& g, const S* params, const S* input, int64_t n, BnMode bn,
                         DeviceForwardState<S>& state, S* running_update = nullptr,
                         const SampleScales* scales = nullptr);

// cotangent: [K][copies·N] on the device. Returns the input gradient (CNHW,
// copies·N planes) when options.input_grad, else an empty tensor.
template <typename S>
DeviceTensor<S> device_backward_pass(const Graph& g, const S* params, const DeviceForwardState<S>& state,
                                     DeviceTensor<S> cotangent, const BackwardOptions& options,
                                     DeviceParamSink<S>& sink);

}  // namespace cuda
}  // namespace hnas
