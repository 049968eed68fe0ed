#include "cuda/device_executor.h"

#include <cmath>
#include <string>

#include "cuda/ops_cuda.h"
#include "cuda/runtime.h"

namespace hnas {
namespace cuda {

template <typename S>
void device_forward_pass(const Graph& g, const S* params, const S* input, int64_t n, BnMode bn,
                         DeviceForwardState<S>& st, S* running_update, const SampleScales* scales) {
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
  if (scales && !scales->empty()) {
    const size_t count = scales->values.size();
    HNAS_CHECK(scales->factors.size() == count * static_cast<size_t>(n), kInvalidArgument,
               "sample scales: " + std::to_string(scales->factors.size()) + " factors for " +
                   std::to_string(count) + " tensors of a batch of " + std::to_string(n));
    std::vector<S> f(static_cast<size_t>(n));
    for (size_t k = 0; k < count; ++k) {
      const int v = scales->values[k];
      HNAS_CHECK(v >= 0 && v < static_cast<int>(values.size()), kInvalidArgument,
                 "sample scales: tensor index " + std::to_string(v) + " is out of range");
      HNAS_CHECK(values[v].producer >= 0, kInvalidArgument,
                 "sample scales: tensor \"" + values[v].name + "\" is the graph input, not an op output");
      HNAS_CHECK(st.sample_scale[v].empty(), kInvalidArgument,
                 "sample scales: tensor \"" + values[v].name + "\" is named twice");
      for (int64_t s = 0; s < n; ++s) {
        const double x = scales->factors[k * n + s];
        HNAS_CHECK(std::isfinite(x), kNonFinite,
                   "sample scales: factor of sample " + std::to_string(s) + " on tensor \"" + values[v].name +
                       "\" is NaN or Inf");
        f[s] = S(x);
      }
      st.sample_scale[v].upload(f.data(), f.size());
    }
  }
  auto shape_of = [&](int v) {
    Shape4 s = values[v].shape;
    s.n = n;
    return s;
  };
  DeviceTensor<S>& in = st.values[g.input_value()];
  in.reset(shape_of(g.input_value()), false);
  copy_on_device(in.ptr(), input, size_t(in.shape.numel()) * sizeof(S), current_stream());
  auto P = [&](int p) -> const S* { return p < 0 ? nullptr : params + g.params()[p].offset; };

  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& node = g.nodes()[i];
    DeviceTensor<S>& y = st.values[node.output];
    const bool zero = node.op == OpKind::kZerosLike;
    y.reset(shape_of(node.output), zero);
    const DeviceTensor<S>& x = st.values[node.inputs[0]];
    switch (node.op) {
      case OpKind::kConv2d:
        conv2d_forward_cuda(y.ptr(), x.ptr(), P(node.weight), P(node.bias), x.shape, y.shape.c, node.conv);
        break;
      case OpKind::kBatchNorm:
        st.bn_mean[i].resize(static_cast<size_t>(x.shape.c));
        st.bn_rstd[i].resize(static_cast<size_t>(x.shape.c));
        batch_norm_forward_cuda(y.ptr(), st.bn_mean[i].data(), st.bn_rstd[i].data(), x.ptr(), P(node.weight),
                                P(node.bias), P(node.run_mean), P(node.run_var), x.shape, bn, node.eps);
        if (running_update && bn == BnMode::kTrain) {
          batch_norm_update_running_cuda(running_update + g.params()[node.run_mean].offset,
                                         running_update + g.params()[node.run_var].offset, x.ptr(), x.shape,
                                         node.momentum);
        }
        break;
      case OpKind::kRelu:
        relu_forward_cuda(y.ptr(), x.ptr(), x.shape.numel());
        break;
      case OpKind::kAvgPool:
        avg_pool2d_forward_cuda(y.ptr(), x.ptr(), x.shape, node.pool);
        break;
      case OpKind::kMaxPool:
        max_pool2d_forward_cuda(y.ptr(), x.ptr(), x.shape, node.pool);
        break;
      case OpKind::kGlobalAvgPool:
        global_avg_pool_forward_cuda(y.ptr(), x.ptr(), x.shape);
        break;
      case OpKind::kLinear:
        linear_forward_cuda(y.ptr(), x.ptr(), P(node.weight), P(node.bias), x.shape.c, y.shape.c, n);
        break;
      case OpKind::kAdd:
        add_forward_cuda(y.ptr(), x.ptr(), st.values[node.inputs[1]].ptr(), y.shape.numel());
        break;
      case OpKind::kConcat: {
        std::vector<const S*> parts;
        std::vector<int64_t> sizes;
        for (int v : node.inputs) {
          parts.push_back(st.values[v].ptr());
          sizes.push_back(st.values[v].shape.numel());
        }
        concat_forward_cuda(y.ptr(), parts.data(), sizes.data(), static_cast<int64_t>(parts.size()));
        break;
      }
      case OpKind::kSlice:
        slice_forward_cuda(y.ptr(), x.ptr(), x.shape, node.slice);
        break;
      case OpKind::kMulConst:
        mul_const_forward_cuda(y.ptr(), x.ptr(), node.value, x.shape.numel());
        break;
      case OpKind::kFlatten:
        flatten_forward_cuda(y.ptr(), x.ptr(), x.shape);
        break;
      case OpKind::kZerosLike:
        break;  // y is already zero
      case OpKind::kIdentity:
        copy_on_device(y.ptr(), x.ptr(), size_t(x.shape.numel()) * sizeof(S), current_stream());
        break;
    }
    if (!st.sample_scale[node.output].empty())
      sample_scale_cuda(y.ptr(), st.sample_scale[node.output].data(), y.shape.c, n, y.shape.plane(), int64_t(1));
  }
}

namespace {

// As in executor.cpp: the values on a path from a wanted parameter (or the
// input) to the output.
template <typename S>
std::vector<bool> needs_gradient(const Graph& g, const DeviceParamSink<S>& sink, bool input_grad) {
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

}  // namespace

template <typename S>
DeviceTensor<S> device_backward_pass(const Graph& g, const S* params, const DeviceForwardState<S>& st,
                                     DeviceTensor<S> cot, const BackwardOptions& opt, DeviceParamSink<S>& sink) {
  const int64_t n = st.n, copies = opt.copies;
  const auto& values = g.values();
  const auto& nodes = g.nodes();
  HNAS_CHECK(cot.shape.c == values[g.output_value()].shape.c && cot.shape.n == copies * n, kInternal,
             "backward: cotangent shape does not match the output");
  const std::vector<bool> need = needs_gradient(g, sink, opt.input_grad);

  std::vector<int> first_use(g.params().size(), -1);
  for (size_t i = 0; i < nodes.size(); ++i)
    for (int p : {nodes[i].weight, nodes[i].bias})
      if (p >= 0 && first_use[p] < 0) first_use[p] = static_cast<int>(i);

  std::vector<DeviceTensor<S>> grads(values.size());
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
    const DeviceTensor<S>& dy = grads[node.output];
    const bool had_grad = !dy.empty();
    if (had_grad && !st.sample_scale[node.output].empty())
      sample_scale_cuda(grads[node.output].ptr(), st.sample_scale[node.output].data(), dy.shape.c, n,
                        dy.shape.plane(), copies);
    if (had_grad && sink.observes(i)) sink.output_grad(i, dy);
    if (had_grad && node.op != OpKind::kZerosLike) {
      const DeviceTensor<S>& x = st.values[node.inputs[0]];
      const Shape4& xs = x.shape;
      S* dx = grad_of(node.inputs[0]);
      switch (node.op) {
        case OpKind::kConv2d:
          conv2d_backward_cuda(dx, rows(node.weight), rows(node.bias), dy.ptr(), x.ptr(), P(node.weight), xs,
                               dy.shape.c, node.conv, copies, opt.mode);
          break;
        case OpKind::kBatchNorm:
          batch_norm_backward_cuda(dx, rows(node.weight), rows(node.bias), dy.ptr(), x.ptr(), st.bn_mean[i].data(),
                                   st.bn_rstd[i].data(), P(node.weight), xs, st.bn_mode, copies, opt.mode);
          break;
        case OpKind::kRelu:
          if (dx) relu_backward_cuda(dx, dy.ptr(), x.ptr(), xs, copies);
          break;
        case OpKind::kAvgPool:
          if (dx) avg_pool2d_backward_cuda(dx, dy.ptr(), xs, node.pool, copies);
          break;
        case OpKind::kMaxPool:
          if (dx) max_pool2d_backward_cuda(dx, dy.ptr(), x.ptr(), xs, node.pool, copies);
          break;
        case OpKind::kGlobalAvgPool:
          if (dx) global_avg_pool_backward_cuda(dx, dy.ptr(), xs, copies);
          break;
        case OpKind::kLinear:
          linear_backward_cuda(dx, rows(node.weight), rows(node.bias), dy.ptr(), x.ptr(), P(node.weight), xs.c,
                               dy.shape.c, n, copies, opt.mode);
          break;
        case OpKind::kAdd: {
          if (dx) scale_accumulate_cuda(dx, dy.ptr(), 1.0, dy.shape.numel());
          S* db = grad_of(node.inputs[1]);
          if (db) scale_accumulate_cuda(db, dy.ptr(), 1.0, dy.shape.numel());
          break;
        }
        case OpKind::kMulConst:
          if (dx) scale_accumulate_cuda(dx, dy.ptr(), node.value, dy.shape.numel());
          break;
        case OpKind::kIdentity:
          if (dx) scale_accumulate_cuda(dx, dy.ptr(), 1.0, dy.shape.numel());
          break;
        case OpKind::kConcat: {
          std::vector<S*> parts;
          std::vector<int64_t> sizes;
          for (int v : node.inputs) {
            parts.push_back(grad_of(v));
            sizes.push_back(values[v].shape.c * copies * n * values[v].shape.plane());
          }
          concat_backward_cuda(parts.data(), dy.ptr(), sizes.data(), static_cast<int64_t>(parts.size()));
          break;
        }
        case OpKind::kSlice:
          if (dx) slice_backward_cuda(dx, dy.ptr(), xs, node.slice, copies);
          break;
        case OpKind::kFlatten:
          if (dx) flatten_backward_cuda(dx, dy.ptr(), xs, copies);
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
  DeviceTensor<S> input_grad;
  if (opt.input_grad) {
    grad_of(g.input_value());
    input_grad = std::move(grads[g.input_value()]);
  }
  return input_grad;
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
