// Forward and reverse passes over a Graph, for any engine scalar S (float,
// double, and their Dual<> for Hessian-vector products).
//
// Forward keeps every value (what backward needs) plus the BN statistics it
// used. Backward starts from a cotangent on the graph output that may hold B
// copies ([K][B·N]) and hands each parameter's gradient rows to a ParamSink,
// which decides what to do with them: keep the batch gradient, write Jacobian
// rows, or fold them into Θ and forget them. A sink may also observe the
// gradient of chosen nodes' outputs (per-layer metrics such as fisher).
//
// The walk itself is engine/pass_walk.h, shared with the CUDA executor
// (cuda/device_executor.h); this is its CPU backend.
#pragma once
#include <memory>
#include <vector>

#include "engine/graph.h"
#include "engine/pass_walk.h"

namespace hnas {

// SampleScales, PassState, BasicParamSink and BackwardOptions: engine/pass_walk.h.
template <typename S>
using ForwardState = PassState<Tensor<S>, std::vector<S>>;
template <typename S>
using ParamSink = BasicParamSink<S, Tensor<S>>;

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
