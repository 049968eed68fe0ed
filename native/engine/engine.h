// The requests the engine serves, on a Graph and its parameters in T (float
// or double): forward, gradient, per-sample Jacobian / NTK Θ, and the
// Hessian-vector product of the loss. Every request runs its own forward pass;
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
  double loss = 0;             // mean cross-entropy of the batch
  PoolVector<T> logits;        // [N][K]
  PoolVector<T> grad;         // flat, like the parameter vector (0 for non-trainable)
  PoolVector<T> input_grad;   // [N][C][H][W] when asked for
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

template <typename T>
class Engine {
 public:
  Engine(std::shared_ptr<const Graph> graph, std::vector<T> params);

  const Graph& graph() const { return *graph_; }
  const std::vector<T>& params() const { return params_; }
  void set_params(std::vector<T> params);

  // Logits [N][K]. update_running (kTrain only) updates BN running statistics.
  PoolVector<T> forward(const T* input, int64_t n, BnMode bn, bool update_running);
  GradientResult<T> gradient(const T* input, const int32_t* labels, int64_t n, BnMode bn,
                             OutputSelect objective, bool input_grad);
  JacobianResult<T> jacobian(const T* input, const int32_t* labels, int64_t n, BnMode bn,
                             const JacobianRequest& request);
  // H·v of the mean cross-entropy w.r.t. the selected parameters.
  HvpResult<T> hvp(const T* input, const int32_t* labels, int64_t n, BnMode bn,
                   const std::vector<int>& params, const T* v);

 private:
  void check_batch(const T* input, const int32_t* labels, int64_t n) const;

  std::shared_ptr<const Graph> graph_;
  std::vector<T> params_;
};

}  // namespace hnas
