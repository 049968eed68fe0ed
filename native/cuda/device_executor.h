// The forward and reverse passes of engine/executor.h on the CUDA device:
// the same walk over the Graph, the same order of operations and the same
// contracts (ParamSink rows, copies, per-sample modes, drop-path scales),
// with every tensor in device memory and every op its `_cuda` twin. It
// mirrors executor.cpp node for node — a change to one is a change to both;
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
struct DeviceForwardState {
  int64_t n = 0;
  BnMode bn_mode = BnMode::kTrain;
  std::vector<DeviceTensor<S>> values;
  std::vector<DeviceBuffer<S>> bn_mean, bn_rstd;  // indexed by node
  std::vector<DeviceBuffer<S>> sample_scale;      // indexed by value; empty: none
};

// ParamSink with device rows and device output gradients.
template <typename S>
class DeviceParamSink {
 public:
  virtual ~DeviceParamSink() = default;
  virtual bool wants(int p) const = 0;
  // Device rows of parameter p (zeroed by the sink; the executor adds).
  virtual GradRows<S> rows(int p) = 0;
  virtual void complete(int p) {}
  virtual bool observes(int node) const { return false; }
  virtual void output_grad(int node, const DeviceTensor<S>& dy) {}
};

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
