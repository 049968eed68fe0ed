// The requests the engine serves, on a Graph and its parameters in T (float
// or double): forward, gradient, per-sample Jacobian / NTK Θ, the
// Hessian-vector product of the loss, the NASWOT ReLU kernel and per-layer
// fisher scores. Every request runs its own forward pass;
// inputs cross as NCHW, labels as int32.
#pragma once
#include <memory>
#include <vector>

#include "core/buffer_pool.h"

#include "engine/executor.h"

namespace hnas {

// Which scalar outputs f the gradients are taken of.
//   kTrueClass  f_{y_i}(x_i), the true-class logit (HNAS/NASI ntk_trace)
//   kSum        Σ_k f_k(x_i), the sum of logits (TE-NAS)
//   kAll        every logit: one row per (sample, class), sample-major
//   kLoss       CE(f(x_i), y_i), the per-sample loss
//   kMeanLoss   (1/N)·CE(f(x_i), y_i): rows sum to the mean-loss gradient
enum class OutputSelect { kTrueClass = 0, kSum = 1, kAll = 2, kLoss = 3, kMeanLoss = 4 };

// How per-sample gradients are formed (see docs/engine.md):
//   kDecomposed  one backward of the summed outputs; sample i's row is its
//                activations times its own back-propagated gradient
//   kExact       ∂f(x_i)/∂θ through the batch-coupled forward: one cotangent
//                per row, back-propagated in chunks
enum class JacobianMode { kDecomposed = 0, kExact = 1 };

template <typename T>
struct GradientResult {
  double loss = 0;             // mean cross-entropy of the batch (label-smoothed when asked)
  PoolVector<T> logits;        // [N][K]
  PoolVector<T> grad;         // flat, like the parameter vector (0 for non-trainable)
  PoolVector<T> input_grad;   // [N][C][H][W] when asked for
};

// One term of a multi-head loss: the cross-entropy of the output columns
// [offset, offset + count) against the labels, times weight. DARTS' training
// with an auxiliary head is {0, K, 1} + {K, K, 0.4} on the concatenated
// logits [main | auxiliary].
struct LossHead {
  int64_t offset = 0;
  int64_t count = 0;
  double weight = 1;
};

// One gradient request. The training step is this with the loss objective,
// label smoothing, running-statistics update and drop-path scales: one
// forward and one backward pass.
struct GradientRequest {
  BnMode bn = BnMode::kTrain;
  OutputSelect objective = OutputSelect::kMeanLoss;  // not kAll
  bool input_grad = false;
  // Label smoothing ε ∈ [0, 1) for the loss objectives: targets
  // q = (1 − ε)·onehot(y) + ε/K, loss −Σ_k q_k log softmax(f)_k (PyTorch's
  // CrossEntropyLoss(label_smoothing=ε)); the reported loss is the smoothed one.
  double label_smoothing = 0;
  // Update BN running statistics from this batch (kTrain only), in place.
  bool update_running = false;
  SampleScales scales;  // per-sample factors on chosen values (drop-path)
  // The loss objectives over several heads (kLoss / kMeanLoss only): loss =
  // Σ_h weight_h · CE(head h). Empty: one head over every output, weight 1.
  std::vector<LossHead> heads;
};

struct JacobianRequest {
  JacobianMode mode = JacobianMode::kDecomposed;
  OutputSelect output = OutputSelect::kTrueClass;
  std::vector<int> params;     // parameter indices (ascending); columns of J in this order
  bool want_jacobian = false;
  bool want_theta = true;
  int64_t chunk = 0;           // exact mode: cotangents per backward pass; 0 = automatic
};

template <typename T>
struct JacobianResult {
  int64_t rows = 0, cols = 0;
  PoolVector<T> jacobian;      // [rows][cols] when asked for
  PoolVector<double> theta;   // [rows][rows], accumulated in float64
  PoolVector<T> logits;        // [N][K]
  int64_t chunk = 0;           // exact mode: the chunk used
};

template <typename T>
struct HvpResult {
  double loss = 0;
  PoolVector<T> grad;  // ∂L/∂θ over the selected parameters (concatenated)
  PoolVector<T> hvp;   // H·v over the same
};

// The NASWOT kernel (docs/engine.md): for a ReLU input x, c = (x > 0) per
// sample over its D = C·H·W units, K = c cᵀ + (1−c)(1−c)ᵀ (K_ij = units where
// samples i and j agree; exact integers).
//   weighted  Σ over Relu nodes of (its consumer nodes) · K: one term per
//             ReLU *module* when an exporter merged equal ReLUs (NASWOT's
//             `naswot`, hooks on nn.ReLU modules)
//   distinct  Σ over distinct ReLU input tensors of K (`naswot_distinct`)
struct ReluKernelResult {
  int64_t n = 0;
  PoolVector<double> weighted;  // [N][N]
  PoolVector<double> distinct;  // [N][N]
  int64_t relu_nodes = 0;       // Relu nodes in the graph
  int64_t relu_modules = 0;     // Σ consumer counts: the weights of `weighted`
  int64_t distinct_inputs = 0;  // distinct tensors read by Relu nodes
  int64_t units_per_sample = 0;           // Σ weight · D (the `weighted` convention)
  int64_t distinct_units_per_sample = 0;  // Σ D over distinct inputs
};

// zero-cost-nas `fisher` per Conv2d / Linear node, in graph order: with a the
// node's output and δ = ∂L/∂a (L = mean cross-entropy), s_nk = Σ_hw a·δ,
// F_k = ½·mean_n s_nk², score = Σ_k F_k · (weight size / C_out).
struct LayerFisherResult {
  double loss = 0;
  std::vector<int> nodes;        // node indices
  std::vector<int> weights;      // their weight parameter indices
  std::vector<double> scores;
  double total = 0;
};

namespace cuda {
template <typename T>
class DeviceEngine;
}

// Where an engine runs its passes. kCuda needs a build with the CUDA path
// and a device (or the HNAS_CUDA=EMULATE build); see cuda/device_engine.h.
enum class EngineDevice { kCpu = 0, kCuda = 1 };

template <typename T>
class Engine {
 public:
  // Throws DeviceUnavailableError (kUnsupported) when kCuda cannot be served.
  Engine(std::shared_ptr<const Graph> graph, std::vector<T> params, EngineDevice device = EngineDevice::kCpu);

  const Graph& graph() const { return *graph_; }
  EngineDevice device() const { return device_ ? EngineDevice::kCuda : EngineDevice::kCpu; }
  const std::vector<T>& params() const { return params_; }
  void set_params(std::vector<T> params);

  // Logits [N][K]. update_running (kTrain only) updates BN running statistics.
  PoolVector<T> forward(const T* input, int64_t n, BnMode bn, bool update_running);
  GradientResult<T> gradient(const T* input, const int32_t* labels, int64_t n, const GradientRequest& request);
  JacobianResult<T> jacobian(const T* input, const int32_t* labels, int64_t n, BnMode bn,
                             const JacobianRequest& request);
  // H·v of the mean cross-entropy w.r.t. the selected parameters (on the
  // engine's device: dual-number passes on the CPU or on CUDA).
  HvpResult<T> hvp(const T* input, const int32_t* labels, int64_t n, BnMode bn,
                   const std::vector<int>& params, const T* v);
  // One forward; the NASWOT kernels over every ReLU's input.
  ReluKernelResult relu_kernel(const T* input, int64_t n, BnMode bn);
  // One forward and one backward of the mean cross-entropy; per-layer fisher.
  LayerFisherResult layer_fisher(const T* input, const int32_t* labels, int64_t n, BnMode bn);

 private:
  void check_batch(const T* input, const int32_t* labels, int64_t n) const;

  std::shared_ptr<const Graph> graph_;
  std::vector<T> params_;
  std::shared_ptr<cuda::DeviceEngine<T>> device_;  // null: the CPU
};

}  // namespace hnas
