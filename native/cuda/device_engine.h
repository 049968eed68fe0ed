// The engine's requests (engine/engine.h) served on the CUDA device: the
// forward and backward passes, per-sample gradient rows and Θ = J·Jᵀ run in
// device memory with the `_cuda` ops; the objective (cross-entropy,
// cotangents: [K][N] numbers) is computed on the host from the downloaded
// logits, exactly as the CPU engine computes it.
//
// What stays on the host, by design:
//  - the NASWOT code kernel: the forward runs on the device, the ReLU inputs
//    are downloaded and their ±1 codes counted by the CPU GEMM (exact
//    integers in float, as on the CPU);
//  - the per-layer fisher sums Σ_hw a·δ: forward and backward run on the
//    device, each layer's output and gradient are downloaded and reduced on
//    the host.
// Hessian-vector products run forward-over-reverse on the device, every
// kernel instantiated for Dual<T> (twice the memory of a gradient pass).
//
// Engine<T> validates every request before it gets here and owns the host
// copy of the parameters; this class holds the device copy (uploaded when the
// parameters change) and one CUDA stream, on which all its work runs. Device
// memory comes from the caching allocator, so it is reused across requests
// and across the networks of a search.
#pragma once
#include <memory>
#include <vector>

#include "core/dual.h"
#include "cuda/device_executor.h"
#include "cuda/device_memory.h"
#include "cuda/runtime.h"
#include "engine/engine.h"

namespace hnas {
namespace cuda {

template <typename T>
class DeviceEngine {
 public:
  // Throws DeviceUnavailableError when no device can serve it.
  explicit DeviceEngine(std::shared_ptr<const Graph> graph);
  ~DeviceEngine();

  // The parameters changed on the host: uploaded before the next request.
  void params_changed() { params_dirty_ = true; }

  // input: NCHW on the host, validated. `params` is the engine's host copy;
  // with update_running its BN running statistics are updated in place (the
  // device copy is downloaded after the pass).
  PoolVector<T> forward(std::vector<T>& params, const T* input, int64_t n, BnMode bn, bool update_running);
  GradientResult<T> gradient(std::vector<T>& params, const T* input, const int32_t* labels, int64_t n,
                             const GradientRequest& request);
  JacobianResult<T> jacobian(std::vector<T>& params, const T* input, const int32_t* labels, int64_t n, BnMode bn,
                             const JacobianRequest& request);
  ReluKernelResult relu_kernel(std::vector<T>& params, const T* input, int64_t n, BnMode bn);
  LayerFisherResult layer_fisher(std::vector<T>& params, const T* input, const int32_t* labels, int64_t n, BnMode bn);
  // dual_params: the parameters with their tangent seeded (tangent_seeded_params).
  HvpResult<T> hvp(const std::vector<Dual<T>>& dual_params, const T* input, const int32_t* labels, int64_t n,
                   BnMode bn, const std::vector<int>& sel);

 private:
  void sync_params(const std::vector<T>& params);
  // Uploads the batch (and the parameters when stale) and runs the forward pass into st.
  void run_forward(std::vector<T>& params, const T* input, int64_t n, BnMode bn, DeviceForwardState<T>& st,
                   bool update_running = false, const SampleScales* scales = nullptr);

  std::shared_ptr<const Graph> graph_;
  std::unique_ptr<Stream> stream_;
  DeviceBuffer<T> params_;
  bool params_dirty_ = true;
};

}  // namespace cuda
}  // namespace hnas
