// Forward and reverse passes over a Graph, for any engine scalar S (float,
// double, and their Dual<> for Hessian-vector products).
//
// Forward keeps every value (what backward needs) plus the BN statistics it
// used. Backward starts from a cotangent on the graph output that may hold B
// copies ([K][B·N]) and hands each parameter's gradient rows to a ParamSink,
// which decides what to do with them: keep the batch gradient, write Jacobian
// rows, or fold them into Θ and forget them. A sink may also observe the
// gradient of chosen nodes' outputs (per-layer metrics such as fisher).
#pragma once
#include <memory>
#include <vector>

#include "engine/graph.h"

namespace hnas {

// Per-sample factors on chosen values, DARTS' drop-path with a mask the
// caller draws: sample s of value values[k] is multiplied by factors[k·N + s]
// as soon as the value is computed, and the gradient reaching that value by
// the same factor, so backward differentiates the scaled graph. Each value
// must be produced by a node (not the graph input) and named once.
struct SampleScales {
  std::vector<int> values;
  std::vector<double> factors;  // [values.size()][N]
  bool empty() const { return values.empty(); }
};

template <typename S>
struct ForwardState {
  int64_t n = 0;
  BnMode bn_mode = BnMode::kTrain;
  std::vector<Tensor<S>> values;
  std::vector<std::vector<S>> bn_mean, bn_rstd;  // indexed by node
  std::vector<std::vector<S>> sample_scale;      // indexed by value; empty: none
};

template <typename S>
class ParamSink {
 public:
  virtual ~ParamSink() = default;
  // Whether the gradient of parameter p is wanted at all.
  virtual bool wants(int p) const = 0;
  // Where parameter p's rows go (zeroed by the sink; the executor adds).
  virtual GradRows<S> rows(int p) = 0;
  // Called once p's rows are final (after its last use in backward order).
  virtual void complete(int p) {}
  // Whether the gradient of node i's output is wanted. Backward then carries
  // gradients down to node i even when no parameter is wanted.
  virtual bool observes(int node) const { return false; }
  // dy = the gradient of node i's output ([C][copies·N][H][W]), final, handed
  // over just before node i's backward step runs and releases it. Not called
  // when no gradient reached node i (it is then zero).
  virtual void output_grad(int node, const Tensor<S>& dy) {}
};

struct BackwardOptions {
  int64_t copies = 1;
  ParamGradMode mode = ParamGradMode::kSum;
  bool input_grad = false;
};

// input: CNHW [C][N][H][W]. params: the flat parameter vector. When
// running_update is non-null (kTrain only) BN running statistics in it are
// updated in place (it may alias params). scales: per-sample factors on
// chosen values (see SampleScales), or nullptr.
template <typename S>
void forward_pass(const Graph& g, const S* params, const S* input, int64_t n, BnMode bn,
                  ForwardState<S>& state, S* running_update = nullptr,
                  const SampleScales* scales = nullptr);

// cotangent: [K][copies·N]. Returns the input gradient (CNHW, copies·N
// planes) when options.input_grad, else an empty tensor.
template <typename S>
Tensor<S> backward_pass(const Graph& g, const S* params, const ForwardState<S>& state,
                        Tensor<S> cotangent, const BackwardOptions& options, ParamSink<S>& sink);

}  // namespace hnas
