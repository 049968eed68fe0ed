#include "engine/graph.h"

#include <algorithm>

namespace hnas {
namespace {

const std::map<std::string, OpKind>& op_table() {
  static const std::map<std::string, OpKind> table = {
      {"conv2d", OpKind::kConv2d},       {"batch_norm", OpKind::kBatchNorm},
      {"relu", OpKind::kRelu},           {"avg_pool2d", OpKind::kAvgPool},
      {"max_pool2d", OpKind::kMaxPool},  {"global_avg_pool", OpKind::kGlobalAvgPool},
      {"linear", OpKind::kLinear},       {"add", OpKind::kAdd},
      {"concat", OpKind::kConcat},       {"slice", OpKind::kSlice},
      {"mul_const", OpKind::kMulConst},  {"flatten", OpKind::kFlatten},
      {"zeros_like", OpKind::kZerosLike}, {"identity", OpKind::kIdentity},
  };
  return table;
}

ParamKind parse_kind(const std::string& k, const std::string& name) {
  static const std::map<std::string, ParamKind> kinds = {
      {"conv_weight", ParamKind::kConvWeight},     {"conv_bias", ParamKind::kConvBias},
      {"linear_weight", ParamKind::kLinearWeight}, {"linear_bias", ParamKind::kLinearBias},
      {"bn_weight", ParamKind::kBnWeight},         {"bn_bias", ParamKind::kBnBias},
      {"bn_running_mean", ParamKind::kBnRunningMean}, {"bn_running_var", ParamKind::kBnRunningVar},
  };
  auto it = kinds.find(k);
  HNAS_CHECK(it != kinds.end(), kInvalidArgument, "parameter \"" + name + "\": unknown kind \"" + k + "\"");
  return it->second;
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

std::vector<int64_t> get_ints(const NodeDesc& nd, const std::string& key, size_t count,
                              std::vector<int64_t> fallback) {
  auto it = nd.ints.find(key);
  if (it == nd.ints.end()) {
    HNAS_CHECK(!fallback.empty(), kInvalidArgument,
               "node \"" + nd.name + "\" (" + nd.op + "): missing \"" + key + "\"");
    return fallback;
  }
  HNAS_CHECK(it->second.size() == count, kInvalidArgument,
             "node \"" + nd.name + "\" (" + nd.op + "): \"" + key + "\" needs " +
                 std::to_string(count) + " values");
  return it->second;
}

}  // namespace

const char* op_name(OpKind op) {
  for (const auto& [name, kind] : op_table())
    if (kind == op) return name.c_str();
  return "?";
}

std::string Node::label() const { return "node \"" + name + "\" (" + op_name(op) + ")"; }

int Graph::find_param(const std::string& name) const {
  auto it = param_ids_.find(name);
  return it == param_ids_.end() ? -1 : it->second;
}

int Graph::find_value(const std::string& name) const {
  auto it = value_ids_.find(name);
  return it == value_ids_.end() ? -1 : it->second;
}

int Graph::value_id(const std::string& name, const std::string& where) {
  auto it = value_ids_.find(name);
  HNAS_CHECK(it != value_ids_.end(), kInvalidArgument,
             where + ": input tensor \"" + name + "\" is not produced by an earlier node");
  return it->second;
}

int Graph::param_id(const NodeDesc& nd, const std::string& key, bool required) {
  auto it = nd.refs.find(key);
  if (it == nd.refs.end() || it->second.empty()) {
    HNAS_CHECK(!required, kInvalidArgument,
               "node \"" + nd.name + "\" (" + nd.op + "): missing parameter \"" + key + "\"");
    return -1;
  }
  auto p = param_ids_.find(it->second);
  HNAS_CHECK(p != param_ids_.end(), kInvalidArgument,
             "node \"" + nd.name + "\" (" + nd.op + "): unknown parameter \"" + it->second + "\"");
  return p->second;
}

Graph::Graph(const GraphDesc& desc) {
  HNAS_CHECK(desc.input_shape.size() == 3 || desc.input_shape.size() == 1, kInvalidArgument,
             "graph input \"" + desc.input_name + "\" must have a per-sample shape [C,H,W] or [F]");
  for (int64_t d : desc.input_shape)
    HNAS_CHECK(d > 0, kInvalidArgument, "graph input \"" + desc.input_name + "\": non-positive dimension");
  for (const ParamDesc& pd : desc.params) {
    ParamInfo p;
    p.name = pd.name;
    p.kind = parse_kind(pd.kind, pd.name);
    p.shape = pd.shape;
    p.size = 1;
    for (int64_t d : pd.shape) {
      HNAS_CHECK(d > 0, kInvalidArgument, "parameter \"" + pd.name + "\": non-positive dimension");
      p.size *= d;
    }
    p.offset = total_param_size_;
    total_param_size_ += p.size;
    HNAS_CHECK(param_ids_.emplace(p.name, static_cast<int>(params_.size())).second, kInvalidArgument,
               "parameter \"" + p.name + "\" is defined twice");
    params_.push_back(std::move(p));
  }
  ValueInfo in;
  in.name = desc.input_name;
  in.shape = desc.input_shape.size() == 3
                 ? Shape4{desc.input_shape[0], 1, desc.input_shape[1], desc.input_shape[2]}
                 : Shape4{desc.input_shape[0], 1, 1, 1};
  values_.push_back(in);
  value_ids_[in.name] = input_ = 0;

  for (const NodeDesc& nd : desc.nodes) {
    auto op = op_table().find(nd.op);
    HNAS_CHECK(op != op_table().end(), kUnsupported,
               "node \"" + nd.name + "\": unsupported op \"" + nd.op + "\"");
    Node node;
    node.op = op->second;
    node.name = nd.name;
    HNAS_CHECK(nd.outputs.size() == 1, kInvalidArgument, node.label() + ": needs exactly one output");
    for (const std::string& name : nd.inputs) node.inputs.push_back(value_id(name, node.label()));
    infer(node, nd);
    node.output = static_cast<int>(values_.size()) - 1;  // infer() appended it
    HNAS_CHECK(value_ids_.emplace(nd.outputs[0], node.output).second, kInvalidArgument,
               node.label() + ": output \"" + nd.outputs[0] + "\" is already defined");
    values_.back().name = nd.outputs[0];
    values_.back().producer = static_cast<int>(nodes_.size());
    nodes_.push_back(std::move(node));
  }
  auto out = value_ids_.find(desc.output_name);
  HNAS_CHECK(out != value_ids_.end(), kInvalidArgument,
             "graph output \"" + desc.output_name + "\" is not produced by any node");
  output_ = out->second;
  const Shape4& os = values_[output_].shape;
  HNAS_CHECK(os.h == 1 && os.w == 1, kUnsupported,
             "graph output \"" + desc.output_name + "\" must be [N, K] (got per-sample " + os.str() + ")");
}

// Checks the node's inputs and parameters and appends its output value.
void Graph::infer(Node& node, const NodeDesc& nd) {
  const std::string where = node.label();
  auto need_inputs = [&](size_t k) {
    HNAS_CHECK(node.inputs.size() == k, kInvalidArgument,
               where + ": expects " + std::to_string(k) + " input(s), got " + std::to_string(node.inputs.size()));
  };
  auto param_shape = [&](int p) -> const std::vector<int64_t>& { return params_[p].shape; };
  Shape4 out;
  switch (node.op) {
    case OpKind::kConv2d: {
      need_inputs(1);
      const Shape4 x = values_[node.inputs[0]].shape;
      node.weight = param_id(nd, "weight", true);
      node.bias = param_id(nd, "bias", false);
      const auto& ws = param_shape(node.weight);
      HNAS_CHECK(ws.size() == 4, kInvalidArgument, where + ": weight must be 4-D, got " + shape_str(ws));
      const auto stride = get_ints(nd, "stride", 2, {1, 1});
      const auto pads = get_ints(nd, "pads", 4, {0, 0, 0, 0});
      const auto dil = get_ints(nd, "dilation", 2, {1, 1});
      const auto groups = get_ints(nd, "groups", 1, {1});
      Conv2dParams& p = node.conv;
      p.kh = ws[2]; p.kw = ws[3];
      p.stride_h = stride[0]; p.stride_w = stride[1];
      p.pad_t = pads[0]; p.pad_l = pads[1]; p.pad_b = pads[2]; p.pad_r = pads[3];
      p.dil_h = dil[0]; p.dil_w = dil[1];
      p.groups = groups[0];
      HNAS_CHECK(p.groups > 0 && x.c % p.groups == 0 && ws[0] % p.groups == 0 && ws[1] * p.groups == x.c,
                 kInvalidArgument,
                 where + ": weight " + shape_str(ws) + " does not fit input channels " + std::to_string(x.c) +
                     " with groups " + std::to_string(p.groups));
      if (node.bias >= 0)
        HNAS_CHECK(params_[node.bias].size == ws[0], kInvalidArgument, where + ": bias size differs from Cout");
      out = Shape4{ws[0], 1, window_out(x.h, p.kh, p.stride_h, p.pad_t, p.pad_b, p.dil_h),
                   window_out(x.w, p.kw, p.stride_w, p.pad_l, p.pad_r, p.dil_w)};
      macs_ += out.c * out.h * out.w * ws[1] * p.kh * p.kw;
      break;
    }
    case OpKind::kBatchNorm: {
      need_inputs(1);
      out = values_[node.inputs[0]].shape;
      node.weight = param_id(nd, "weight", false);
      node.bias = param_id(nd, "bias", false);
      node.run_mean = param_id(nd, "runningMean", true);
      node.run_var = param_id(nd, "runningVar", true);
      for (int p : {node.weight, node.bias, node.run_mean, node.run_var})
        if (p >= 0)
          HNAS_CHECK(params_[p].size == out.c, kInvalidArgument,
                     where + ": parameter \"" + params_[p].name + "\" has " + std::to_string(params_[p].size) +
                         " values for " + std::to_string(out.c) + " channels");
      auto eps = nd.reals.find("eps");
      auto mom = nd.reals.find("momentum");
      node.eps = eps == nd.reals.end() ? 1e-5 : eps->second;
      node.momentum = mom == nd.reals.end() ? 0.1 : mom->second;
      HNAS_CHECK(node.eps >= 0, kInvalidArgument, where + ": eps must be >= 0");
      break;
    }
    case OpKind::kRelu:
    case OpKind::kIdentity:
    case OpKind::kZerosLike:
      need_inputs(1);
      out = values_[node.inputs[0]].shape;
      break;
    case OpKind::kMulConst: {
      need_inputs(1);
      out = values_[node.inputs[0]].shape;
      auto v = nd.reals.find("value");
      HNAS_CHECK(v != nd.reals.end(), kInvalidArgument, where + ": missing \"value\"");
      node.value = v->second;
      break;
    }
    case OpKind::kAvgPool:
    case OpKind::kMaxPool: {
      need_inputs(1);
      const Shape4 x = values_[node.inputs[0]].shape;
      const auto k = get_ints(nd, "kernel", 2, {});
      const auto stride = get_ints(nd, "stride", 2, k);
      const auto pads = get_ints(nd, "pads", 4, {0, 0, 0, 0});
      const auto dil = get_ints(nd, "dilation", 2, {1, 1});
      Pool2dParams& p = node.pool;
      p.kh = k[0]; p.kw = k[1];
      p.stride_h = stride[0]; p.stride_w = stride[1];
      p.pad_t = pads[0]; p.pad_l = pads[1]; p.pad_b = pads[2]; p.pad_r = pads[3];
      p.dil_h = dil[0]; p.dil_w = dil[1];
      auto cip = nd.flags.find("countIncludePad");
      p.count_include_pad = cip != nd.flags.end() && cip->second;
      HNAS_CHECK(p.pad_t < p.kh && p.pad_b < p.kh && p.pad_l < p.kw && p.pad_r < p.kw, kInvalidArgument,
                 where + ": padding must be smaller than the kernel");
      if (node.op == OpKind::kAvgPool)
        HNAS_CHECK(p.dil_h == 1 && p.dil_w == 1, kUnsupported, where + ": dilated average pooling");
      out = Shape4{x.c, 1, window_out(x.h, p.kh, p.stride_h, p.pad_t, p.pad_b, p.dil_h),
                   window_out(x.w, p.kw, p.stride_w, p.pad_l, p.pad_r, p.dil_w)};
      break;
    }
    case OpKind::kGlobalAvgPool:
      need_inputs(1);
      out = Shape4{values_[node.inputs[0]].shape.c, 1, 1, 1};
      break;
    case OpKind::kFlatten: {
      need_inputs(1);
      const Shape4 x = values_[node.inputs[0]].shape;
      out = Shape4{x.c * x.h * x.w, 1, 1, 1};
      break;
    }
    case OpKind::kLinear: {
      need_inputs(1);
      const Shape4 x = values_[node.inputs[0]].shape;
      HNAS_CHECK(x.h == 1 && x.w == 1, kInvalidArgument,
                 where + ": input must be [N, F] (flatten first), got per-sample " + x.str());
      node.weight = param_id(nd, "weight", true);
      node.bias = param_id(nd, "bias", false);
      const auto& ws = param_shape(node.weight);
      HNAS_CHECK(ws.size() == 2 && ws[1] == x.c, kInvalidArgument,
                 where + ": weight " + shape_str(ws) + " does not fit " + std::to_string(x.c) + " input features");
      if (node.bias >= 0)
        HNAS_CHECK(params_[node.bias].size == ws[0], kInvalidArgument, where + ": bias size differs from outputs");
      out = Shape4{ws[0], 1, 1, 1};
      macs_ += ws[0] * ws[1];
      break;
    }
    case OpKind::kAdd: {
      need_inputs(2);
      const Shape4 a = values_[node.inputs[0]].shape, b = values_[node.inputs[1]].shape;
      HNAS_CHECK(a.c == b.c && a.h == b.h && a.w == b.w, kInvalidArgument,
                 where + ": shapes " + a.str() + " and " + b.str() + " differ");
      out = a;
      break;
    }
    case OpKind::kConcat: {
      HNAS_CHECK(!node.inputs.empty(), kInvalidArgument, where + ": no inputs");
      out = values_[node.inputs[0]].shape;
      out.c = 0;
      for (int v : node.inputs) {
        const Shape4 s = values_[v].shape;
        HNAS_CHECK(s.h == out.h && s.w == out.w, kInvalidArgument,
                   where + ": spatial sizes differ (" + s.str() + " vs " + values_[node.inputs[0]].shape.str() + ")");
        out.c += s.c;
      }
      break;
    }
    case OpKind::kSlice: {
      need_inputs(1);
      const Shape4 x = values_[node.inputs[0]].shape;
      const auto starts = get_ints(nd, "starts", 2, {});
      const auto ends = get_ints(nd, "ends", 2, {});
      const auto steps = get_ints(nd, "steps", 2, {1, 1});
      SliceParams& p = node.slice;
      p.start_h = starts[0]; p.start_w = starts[1];
      p.end_h = std::min(ends[0], x.h); p.end_w = std::min(ends[1], x.w);
      p.step_h = steps[0]; p.step_w = steps[1];
      HNAS_CHECK(p.start_h >= 0 && p.start_w >= 0 && p.start_h < p.end_h && p.start_w < p.end_w,
                 kInvalidArgument, where + ": empty or out-of-range slice of " + x.str());
      out = Shape4{x.c, 1, slice_out(p.start_h, p.end_h, p.step_h), slice_out(p.start_w, p.end_w, p.step_w)};
      break;
    }
  }
  ValueInfo v;
  v.shape = out;
  values_.push_back(v);
}

}  // namespace hnas
