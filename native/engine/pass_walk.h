// The forward and reverse walks over a Graph, written once for the CPU
// executor (engine/executor.cpp) and the CUDA one (cuda/device_executor.cpp):
// which op each node runs with which arguments, the order, which values need
// a gradient, when a parameter's rows are final, drop-path scaling in both
// directions. A backend B supplies storage and the ops:
//
//   template <typename S> using Tensor = …;   reset(shape, zero), ptr(), shape, empty(), release()
//   template <typename S> using Buffer = …;   resize(n), data(), empty()
//   template <typename S> static void upload(Buffer<S>&, const std::vector<S>& host);
//   template <typename S> static void copy(S* dst, const S* src, int64_t count);
//   one static function per name of HNAS_WALK_OPS, forwarding to the op of
//   that name with the backend's suffix (`_cpu`, `_cuda`: same arguments).
#pragma once
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "core/dual.h"
#include "engine/graph.h"

namespace hnas {

// The ops a walk calls, by their names without the backend suffix.
#define HNAS_WALK_OPS(X)                                                                            \
  X(conv2d_forward) X(conv2d_backward) X(batch_norm_forward) X(batch_norm_backward)                 \
  X(batch_norm_update_running) X(relu_forward) X(relu_backward) X(avg_pool2d_forward)                \
  X(avg_pool2d_backward) X(max_pool2d_forward) X(max_pool2d_backward) X(global_avg_pool_forward)    \
  X(global_avg_pool_backward) X(linear_forward) X(linear_backward) X(add_forward)                    \
  X(scale_accumulate) X(mul_const_forward) X(concat_forward) X(concat_backward) X(slice_forward)     \
  X(slice_backward) X(flatten_forward) X(flatten_backward) X(sample_scale)

// A backend's op `name`, forwarding to name##suffix; inside a backend struct:
//   #define HNAS_CPU_OP(name) HNAS_BACKEND_OP(name, _cpu)
//   HNAS_WALK_OPS(HNAS_CPU_OP)
#define HNAS_BACKEND_OP(name, suffix)    \
  template <typename... A>               \
  static void name(A&&... a) {           \
    name##suffix(std::forward<A>(a)...); \
  }

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

// What forward keeps for backward: every value, and the BN statistics used.
template <typename TensorT, typename BufferT>
struct PassState {
  int64_t n = 0;
  BnMode bn_mode = BnMode::kTrain;
  std::vector<TensorT> values;
  std::vector<BufferT> bn_mean, bn_rstd;  // indexed by node
  std::vector<BufferT> sample_scale;      // indexed by value; empty: none
};

// Where backward hands each parameter's gradient rows.
template <typename S, typename TensorT>
class BasicParamSink {
 public:
  virtual ~BasicParamSink() = default;
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
  virtual void output_grad(int node, const TensorT& dy) {}
};

struct BackwardOptions {
  int64_t copies = 1;
  ParamGradMode mode = ParamGradMode::kSum;
  bool input_grad = false;
};

namespace walk {

template <typename B, typename S>
using State = PassState<typename B::template Tensor<S>, typename B::template Buffer<S>>;
template <typename B, typename S>
using Sink = BasicParamSink<S, typename B::template Tensor<S>>;

// Validates the drop-path factors and stores them per value in st.sample_scale.
template <typename B, typename S>
void set_sample_scales(const Graph& g, const SampleScales& scales, int64_t n, State<B, S>& st) {
  const auto& values = g.values();
  const size_t count = scales.values.size();
  HNAS_CHECK(scales.factors.size() == count * static_cast<size_t>(n), kInvalidArgument,
             "sample scales: " + std::to_string(scales.factors.size()) + " factors for " + std::to_string(count) +
                 " tensors of a batch of " + std::to_string(n));
  std::vector<S> f(static_cast<size_t>(n));
  for (size_t k = 0; k < count; ++k) {
    const int v = scales.values[k];
    HNAS_CHECK(v >= 0 && v < static_cast<int>(values.size()), kInvalidArgument,
               "sample scales: tensor index " + std::to_string(v) + " is out of range");
    HNAS_CHECK(values[v].producer >= 0, kInvalidArgument,
               "sample scales: tensor \"" + values[v].name + "\" is the graph input, not an op output");
    HNAS_CHECK(st.sample_scale[v].empty(), kInvalidArgument,
               "sample scales: tensor \"" + values[v].name + "\" is named twice");
    for (int64_t s = 0; s < n; ++s) {
      const double x = scales.factors[k * n + s];
      HNAS_CHECK(std::isfinite(x), kNonFinite,
                 "sample scales: factor of sample " + std::to_string(s) + " on tensor \"" + values[v].name +
                     "\" is NaN or Inf");
      f[s] = S(static_cast<primal_t<S>>(x));
    }
    B::upload(st.sample_scale[v], f);
  }
}

// input: CNHW [C][N][H][W] in the backend's memory. running_update (kTrain
// only): BN running statistics updated in place (may alias params).
template <typename B, typename S>
void forward(const Graph& g, const S* params, const S* input, int64_t n, BnMode bn, State<B, S>& st,
             S* running_update, const SampleScales* scales) {
  HNAS_CHECK(n > 0, kInvalidArgument, "forward: batch size must be positive");
  const auto& values = g.values();
  st.n = n;
  st.bn_mode = bn;
  st.values.clear();
  st.values.resize(values.size());
  st.bn_mean.clear();
  st.bn_mean.resize(g.nodes().size());
  st.bn_rstd.clear();
  st.bn_rstd.resize(g.nodes().size());
  st.sample_scale.clear();
  st.sample_scale.resize(values.size());
  if (scales && !scales->empty()) set_sample_scales<B, S>(g, *scales, n, st);
  auto shape_of = [&](int v) {
    Shape4 s = values[v].shape;
    s.n = n;
    return s;
  };
  auto& in = st.values[g.input_value()];
  in.reset(shape_of(g.input_value()), false);
  B::copy(in.ptr(), input, in.shape.numel());
  auto P = [&](int p) -> const S* { return p < 0 ? nullptr : params + g.params()[p].offset; };

  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& node = g.nodes()[i];
    auto& y = st.values[node.output];
    // Ops that write every element get uninitialised memory.
    y.reset(shape_of(node.output), node.op == OpKind::kZerosLike);
    const auto& x = st.values[node.inputs[0]];
    switch (node.op) {
      case OpKind::kConv2d:
        B::conv2d_forward(y.ptr(), x.ptr(), P(node.weight), P(node.bias), x.shape, y.shape.c, node.conv);
        break;
      case OpKind::kBatchNorm:
        st.bn_mean[i].resize(static_cast<size_t>(x.shape.c));
        st.bn_rstd[i].resize(static_cast<size_t>(x.shape.c));
        B::batch_norm_forward(y.ptr(), st.bn_mean[i].data(), st.bn_rstd[i].data(), x.ptr(), P(node.weight),
                              P(node.bias), P(node.run_mean), P(node.run_var), x.shape, bn, node.eps);
        if (running_update && bn == BnMode::kTrain) {
          B::batch_norm_update_running(running_update + g.params()[node.run_mean].offset,
                                       running_update + g.params()[node.run_var].offset, x.ptr(), x.shape,
                                       node.momentum);
        }
        break;
      case OpKind::kRelu:
        B::relu_forward(y.ptr(), x.ptr(), x.shape.numel());
        break;
      case OpKind::kAvgPool:
        B::avg_pool2d_forward(y.ptr(), x.ptr(), x.shape, node.pool);
        break;
      case OpKind::kMaxPool:
        B::max_pool2d_forward(y.ptr(), x.ptr(), x.shape, node.pool);
        break;
      case OpKind::kGlobalAvgPool:
        B::global_avg_pool_forward(y.ptr(), x.ptr(), x.shape);
        break;
      case OpKind::kLinear:
        B::linear_forward(y.ptr(), x.ptr(), P(node.weight), P(node.bias), x.shape.c, y.shape.c, n);
        break;
      case OpKind::kAdd:
        B::add_forward(y.ptr(), x.ptr(), st.values[node.inputs[1]].ptr(), y.shape.numel());
        break;
      case OpKind::kConcat: {
        std::vector<const S*> parts;
        std::vector<int64_t> sizes;
        for (int v : node.inputs) {
          parts.push_back(st.values[v].ptr());
          sizes.push_back(st.values[v].shape.numel());
        }
        B::concat_forward(y.ptr(), parts.data(), sizes.data(), static_cast<int64_t>(parts.size()));
        break;
      }
      case OpKind::kSlice:
        B::slice_forward(y.ptr(), x.ptr(), x.shape, node.slice);
        break;
      case OpKind::kMulConst:
        B::mul_const_forward(y.ptr(), x.ptr(), node.value, x.shape.numel());
        break;
      case OpKind::kFlatten:
        B::flatten_forward(y.ptr(), x.ptr(), x.shape);
        break;
      case OpKind::kZerosLike:
        break;  // y is already zero
      case OpKind::kIdentity:
        B::copy(y.ptr(), x.ptr(), x.shape.numel());
        break;
    }
    if (!st.sample_scale[node.output].empty())
      B::sample_scale(y.ptr(), st.sample_scale[node.output].data(), y.shape.c, n, y.shape.plane(), int64_t(1));
  }
}

// Which values need a gradient: those on a path from a wanted parameter (or
// the input, when its gradient is asked for) to the output.
template <typename S, typename TensorT>
std::vector<bool> needs_gradient(const Graph& g, const BasicParamSink<S, TensorT>& sink, bool input_grad) {
  std::vector<bool> need(g.values().size(), false);
  need[g.input_value()] = input_grad;
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& node = g.nodes()[i];
    bool any = sink.observes(static_cast<int>(i));
    if (node.op != OpKind::kZerosLike) {
      for (int v : node.inputs) any = any || need[v];
      for (int p : {node.weight, node.bias})
        if (p >= 0 && sink.wants(p)) any = true;
    }
    need[node.output] = any;
  }
  return need;
}

// cotangent: [K][copies·N]. Returns the input gradient (CNHW, copies·N
// planes) when options.input_grad, else an empty tensor.
template <typename B, typename S>
typename B::template Tensor<S> backward(const Graph& g, const S* params, const State<B, S>& st,
                                        typename B::template Tensor<S> cot, const BackwardOptions& opt,
                                        Sink<B, S>& sink) {
  using TensorT = typename B::template Tensor<S>;
  const int64_t n = st.n, copies = opt.copies;
  const auto& values = g.values();
  const auto& nodes = g.nodes();
  HNAS_CHECK(cot.shape.c == values[g.output_value()].shape.c && cot.shape.n == copies * n, kInternal,
             "backward: cotangent shape does not match the output");
  const std::vector<bool> need = needs_gradient(g, sink, opt.input_grad);

  // The node after which each parameter's gradient is final: its first use
  // in forward order is its last in backward order.
  std::vector<int> first_use(g.params().size(), -1);
  for (size_t i = 0; i < nodes.size(); ++i)
    for (int p : {nodes[i].weight, nodes[i].bias})
      if (p >= 0 && first_use[p] < 0) first_use[p] = static_cast<int>(i);

  std::vector<TensorT> grads(values.size());
  grads[g.output_value()] = std::move(cot);
  auto grad_of = [&](int v) -> S* {
    if (!need[v]) return nullptr;
    if (grads[v].empty()) {
      Shape4 s = values[v].shape;
      s.n = copies * n;
      grads[v].reset(s);
    }
    return grads[v].ptr();
  };
  auto P = [&](int p) -> const S* { return p < 0 ? nullptr : params + g.params()[p].offset; };
  auto rows = [&](int p) { return p >= 0 && sink.wants(p) ? sink.rows(p) : GradRows<S>{}; };

  for (int i = static_cast<int>(nodes.size()) - 1; i >= 0; --i) {
    const Node& node = nodes[i];
    const TensorT& dy = grads[node.output];
    const bool had_grad = !dy.empty();
    // A value scaled per sample in forward: its gradient w.r.t. the node's
    // own (unscaled) output carries the same factor.
    if (had_grad && !st.sample_scale[node.output].empty())
      B::sample_scale(grads[node.output].ptr(), st.sample_scale[node.output].data(), dy.shape.c, n,
                      dy.shape.plane(), copies);
    if (had_grad && sink.observes(i)) sink.output_grad(i, dy);
    if (had_grad && node.op != OpKind::kZerosLike) {
      const TensorT& x = st.values[node.inputs[0]];
      const Shape4& xs = x.shape;
      S* dx = grad_of(node.inputs[0]);
      switch (node.op) {
        case OpKind::kConv2d:
          B::conv2d_backward(dx, rows(node.weight), rows(node.bias), dy.ptr(), x.ptr(), P(node.weight), xs,
                             dy.shape.c, node.conv, copies, opt.mode);
          break;
        case OpKind::kBatchNorm:
          B::batch_norm_backward(dx, rows(node.weight), rows(node.bias), dy.ptr(), x.ptr(), st.bn_mean[i].data(),
                                 st.bn_rstd[i].data(), P(node.weight), xs, st.bn_mode, copies, opt.mode);
          break;
        case OpKind::kRelu:
          if (dx) B::relu_backward(dx, dy.ptr(), x.ptr(), xs, copies);
          break;
        case OpKind::kAvgPool:
          if (dx) B::avg_pool2d_backward(dx, dy.ptr(), xs, node.pool, copies);
          break;
        case OpKind::kMaxPool:
          if (dx) B::max_pool2d_backward(dx, dy.ptr(), x.ptr(), xs, node.pool, copies);
          break;
        case OpKind::kGlobalAvgPool:
          if (dx) B::global_avg_pool_backward(dx, dy.ptr(), xs, copies);
          break;
        case OpKind::kLinear:
          B::linear_backward(dx, rows(node.weight), rows(node.bias), dy.ptr(), x.ptr(), P(node.weight), xs.c,
                             dy.shape.c, n, copies, opt.mode);
          break;
        case OpKind::kAdd: {
          if (dx) B::scale_accumulate(dx, dy.ptr(), 1.0, dy.shape.numel());
          S* db = grad_of(node.inputs[1]);
          if (db) B::scale_accumulate(db, dy.ptr(), 1.0, dy.shape.numel());
          break;
        }
        case OpKind::kMulConst:
          if (dx) B::scale_accumulate(dx, dy.ptr(), node.value, dy.shape.numel());
          break;
        case OpKind::kIdentity:
          if (dx) B::scale_accumulate(dx, dy.ptr(), 1.0, dy.shape.numel());
          break;
        case OpKind::kConcat: {
          std::vector<S*> parts;
          std::vector<int64_t> sizes;
          for (int v : node.inputs) {
            parts.push_back(grad_of(v));
            sizes.push_back(values[v].shape.c * copies * n * values[v].shape.plane());
          }
          B::concat_backward(parts.data(), dy.ptr(), sizes.data(), static_cast<int64_t>(parts.size()));
          break;
        }
        case OpKind::kSlice:
          if (dx) B::slice_backward(dx, dy.ptr(), xs, node.slice, copies);
          break;
        case OpKind::kFlatten:
          if (dx) B::flatten_backward(dx, dy.ptr(), xs, copies);
          break;
        case OpKind::kZerosLike:
          break;
      }
    }
    grads[node.output].release();
    for (int p : {node.weight, node.bias})
      if (p >= 0 && first_use[p] == i && sink.wants(p)) {
        if (!had_grad) sink.rows(p);  // no gradient reached it: rows stay zero
        sink.complete(p);
      }
  }
  TensorT input_grad;
  if (opt.input_grad) {
    grad_of(g.input_value());
    input_grad = std::move(grads[g.input_value()]);
  }
  return input_grad;
}

}  // namespace walk
}  // namespace hnas
